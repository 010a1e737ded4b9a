package source

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// writeBenchFacts writes a minified facts document of n generated tokens (about 300 bytes each, as
// bench/compare's generator writes them: fine-grained grants, requests and classic tokens) and
// returns its path.
func writeBenchFacts(tb testing.TB, n int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "facts.json")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, `{"schema":%q,"tokens":[`, facts.Schema)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		created, expires := base.AddDate(0, 0, -(i%500)), base.AddDate(0, 0, i%400)
		t := facts.Token{ID: fmt.Sprintf("org:acme/pat:%d", 100000+i), Name: fmt.Sprintf("integration %d", i), Owner: fmt.Sprintf("user%d", i%97),
			Source: facts.Source{Kind: facts.SourceOrgAudit}, CreatedAt: &created, ExpiresAt: &expires}
		switch i % 3 {
		case 0, 1:
			t.Type, t.ResourceOwner, t.Approval, t.RepositorySelection = facts.TypeFineGrained, "acme", facts.ApprovalApproved, facts.SelectSubset
			t.Permissions = &facts.Permissions{Repository: map[string]string{"contents": "write", "pull_requests": "write", "metadata": "read"}}
			t.Needs = map[string]string{"contents": "read"}
		default:
			t.ID = fmt.Sprintf("org:acme/credential:%d", 100000+i)
			t.Type, t.SSO, t.Scopes = facts.TypeClassic, "authorized", []string{"repo", "read:org"}
		}
		if i > 0 {
			w.WriteByte(',')
		}
		b, err := json.Marshal(&t)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(b)
	}
	w.WriteString("]}\n")
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkStreamFactsFile streams a generated facts document of 100,000 and 300,000 tokens through
// Stream into a sink that drops every batch: what the source itself costs. peak-inuse-MB is the
// largest HeapInuse seen at a batch; live-MB the heap still reachable halfway through the document
// (after a collection), which is what the source holds while the engine judges.
func BenchmarkStreamFactsFile(b *testing.B) {
	cat := catalog(b)
	for _, n := range []int{100000, 300000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			path := writeBenchFacts(b, n)
			info, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(info.Size())
			b.ReportAllocs()
			var peak, live uint64
			var ms runtime.MemStats
			for b.Loop() {
				runtime.GC()
				seen, batches := 0, 0
				res := Stream(context.Background(), []string{path}, cat, now, 0, func(ts []facts.Token) error {
					seen += len(ts)
					batches++
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapInuse)
					if batches == n/DefaultBatch/2 {
						runtime.GC()
						runtime.ReadMemStats(&ms)
						live = max(live, ms.HeapAlloc)
					}
					return nil
				})
				if seen != n || len(res.Errors) != 0 {
					b.Fatalf("%d tokens of %d, errors %v", seen, n, res.Errors)
				}
			}
			b.ReportMetric(float64(peak)/1e6, "peak-inuse-MB")
			b.ReportMetric(float64(live)/1e6, "live-MB")
		})
	}
}
