package policy

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// throughputBatch is the CLI's batch size (source.DefaultBatch): check judges a facts document in
// batches of it, with one evaluator for the run.
const throughputBatch = 2048

// BenchmarkThroughput is bench/compare's in-process measurement: a new evaluator per iteration (the
// memo caches start empty, as in each run of the CLI), the default configuration, every token
// judged in the CLI's batches, or in one call as bench/compare does. TOKENCHECK_BENCH_FACTS names a facts document to judge (bench/compare's
// `gen 100000 FILE` writes its workload); without it, 100,000 tokens from generatedTokens.
func BenchmarkThroughput(b *testing.B) {
	var tokens []facts.Token
	if file := os.Getenv("TOKENCHECK_BENCH_FACTS"); file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		var doc facts.Document
		if err := json.Unmarshal(raw, &doc); err != nil {
			b.Fatalf("%s: %v", file, err)
		}
		tokens = doc.Tokens
	} else {
		tokens = generatedTokens(100000, 42)
	}
	cat, err := LoadCatalog()
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := DefaultConfig()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, mode := range []string{"batches", "once"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				e, err := New(ctx, Options{Config: cfg, Catalog: cat})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				size := throughputBatch
				if mode == "once" {
					size = len(tokens)
				}
				for i := 0; i < len(tokens); i += size {
					if _, err := e.Evaluate(ctx, tokens[i:min(i+size, len(tokens))], testNow); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(len(tokens)*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
