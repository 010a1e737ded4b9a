# tokencheck: build, test, demo. Every target works offline once the Go modules are downloaded.
GO      ?= go
BIN     ?= bin/tokencheck
# A release build names its version here (make dist VERSION=v1.2.3). Left empty, the binary reports
# the version the go command records: the tag or pseudo-version of a git checkout, else "dev".
VERSION ?= $(shell git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null)
LDFLAGS := $(if $(VERSION),-X main.version=$(VERSION))
# The demo judges as of a fixed day so its output does not drift with the fixtures' dates.
DEMO_NOW ?= 2026-11-22T00:00:00Z
# What a release ships: GOOS/GOARCH pairs built by make dist.
PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64

.PHONY: build test lint demo bench fuzz dist clean catalog

build:
	$(GO) build -buildvcs=auto -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/tokencheck

# go vet, gofmt, every Go test (the Rego tests run inside them, one subtest each) under the race
# detector, the memoised-versus-plain differential test on 100,000 generated tokens without it (the
# race detector run judges 5,000), then the Rego tests once more through the CLI as users run them.
test: lint
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run TestMemoMatchesPlainEvaluation ./engine/policy
	$(GO) -C policies/gen test -count=1 ./...
	$(GO) run ./cmd/tokencheck policy test

# bench/ and policies/gen/ are modules of their own (so `go install ./...`, which pre-commit runs,
# builds only the tokencheck command); they are vetted here too.
lint:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) -C bench vet ./...
	$(GO) -C policies/gen vet ./...

# Regenerate policies/endpoints.json from GitHub's data in ../shared/github-data (when present) and
# policies/catalog.json from it and policies/catalog-seed.json. `go -C policies/gen test ./...` checks both.
catalog:
	$(GO) generate ./policies

# The main job on the bundled fixtures: no token, no network. Exit 1 means violations were found,
# which is what the fixtures are for, so the demo itself does not fail.
demo: build
	-./$(BIN) check --now $(DEMO_NOW) fixtures/inventory

# Go benchmarks (tokens/s, compile time, per-rule cost, scan, audit), then the comparison with
# conftest and opa eval (bench/compare; results in bench/results.md). QUICK=1: one iteration of
# each Go benchmark and the small workloads only.
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(if $(QUICK),-benchtime 1x,) ./...
	QUICK=$(QUICK) $(GO) -C bench run ./compare

fuzz:
	$(GO) test ./engine/source -run '^$$' -fuzz FuzzParseTemplateLink -fuzztime 30s
	$(GO) test ./engine/source -run '^$$' -fuzz FuzzInventory -fuzztime 30s
	$(GO) test ./engine/facts -run '^$$' -fuzz FuzzCheckFormat -fuzztime 30s
	$(GO) test ./engine/source -run '^$$' -fuzz FuzzFileTokens -fuzztime 30s
	$(GO) test ./engine/safe -run '^$$' -fuzz FuzzText -fuzztime 30s
	$(GO) test ./engine/safe -run '^$$' -fuzz FuzzJSON -fuzztime 30s
	$(GO) test ./engine/report -run '^$$' -fuzz FuzzWriters -fuzztime 30s

# What a release would ship: a -trimpath binary per platform in dist/ (tokencheck_OS_ARCH, .exe on
# Windows) and SHA256SUMS over them (check with: cd dist && sha256sum -c SHA256SUMS).
dist:
	rm -rf dist && mkdir -p dist
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ "$$os" = windows ] && ext=.exe; \
		echo "dist/tokencheck_$${os}_$${arch}$$ext"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -buildvcs=auto -ldflags "-s -w $(LDFLAGS)" \
			-o dist/tokencheck_$${os}_$${arch}$$ext ./cmd/tokencheck; \
	done
	cd dist && sha256sum tokencheck_* > SHA256SUMS

# Everything the targets above create: the binary, the release files, and bench's generated facts,
# installed conftest/opa and its build of tokencheck.
clean:
	rm -rf bin dist bench/out bench/.bin
