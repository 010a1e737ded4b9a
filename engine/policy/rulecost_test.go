package policy

import (
	"context"
	"testing"

	"github.com/tokencheck/tokencheck/engine/finding"
)

// BenchmarkPerRule evaluates the mixed tokens with one rule enabled at a time ("none": the fixed
// cost of building the input and running an empty query), reporting wall µs per token on all cores.
func BenchmarkPerRule(b *testing.B) {
	all := newTestEngine(b, Config{}).Rules()
	tokens := mixedTokens(300)
	for _, keep := range append([]finding.Rule{{ID: "none"}}, all...) {
		var disable []string
		for _, r := range all {
			if r.ID != keep.ID {
				disable = append(disable, r.ID)
			}
		}
		b.Run(keep.ID, func(b *testing.B) {
			cat := newTestEngine(b, Config{}).catalog
			e, err := New(context.Background(), Options{Catalog: cat, Disable: disable})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				e.Evaluate(context.Background(), tokens, testNow)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(tokens)), "us/token")
		})
	}
}
