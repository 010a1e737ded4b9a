# tokencheck: build, test, demo. Every target works offline once the Go modules are downloaded.
GO      ?= go
BIN     ?= bin/tokencheck
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# The demo judges as of a fixed day so its output does not drift with the fixtures' dates.
DEMO_NOW ?= 2026-11-22T00:00:00Z

.PHONY: build test lint demo bench fuzz clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/tokencheck

# go vet, gofmt, every Go test (the Rego tests run inside them, one subtest each) under the race
# detector, then the Rego tests once more through the CLI as users run them.
test: lint
	$(GO) test -race -count=1 ./...
	$(GO) run ./cmd/tokencheck policy test

lint:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

# The main job on the bundled fixtures: no token, no network. Exit 1 means violations were found,
# which is what the fixtures are for, so the demo itself does not fail.
demo: build
	-./$(BIN) check --now $(DEMO_NOW) fixtures/inventory

# Go benchmarks (tokens/s, compile time, per-rule cost, scan, audit), then the comparison with
# conftest and opa eval (bench/compare; results in bench/results.md). QUICK=1: one iteration of
# each Go benchmark and the small workloads only.
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(if $(QUICK),-benchtime 1x,) ./...
	QUICK=$(QUICK) $(GO) run ./bench/compare

fuzz:
	$(GO) test ./engine/source -run '^$$' -fuzz FuzzParseTemplateLink -fuzztime 30s
	$(GO) test ./engine/source -run '^$$' -fuzz FuzzInventory -fuzztime 30s
	$(GO) test ./engine/source -run '^$$' -fuzz FuzzFileTokens -fuzztime 30s
	$(GO) test ./engine/safe -run '^$$' -fuzz FuzzText -fuzztime 30s
	$(GO) test ./engine/safe -run '^$$' -fuzz FuzzJSON -fuzztime 30s
	$(GO) test ./engine/report -run '^$$' -fuzz FuzzWriters -fuzztime 30s

clean:
	rm -rf bin
