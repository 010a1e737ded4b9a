package serve_test

import (
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"
)

// BenchmarkDeliveryToPOST measures, on the fake GitHub, the time from sending a signed delivery to
// the fake receiving the decision's POST: signature check, payload decoding, judging with the
// embedded Rego rules, planning and the write (pace set out of the way). It reports the median and
// the 90th percentile; run with -benchtime=100x for the median of 100.
func BenchmarkDeliveryToPOST(b *testing.B) {
	ids := make([]int64, b.N)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	e := start(b, ids, setup{judge: policyJudge(b, catalog(b))})
	bodies := make([][]byte, b.N)
	for i, id := range ids {
		bodies[i] = payload(b, id, "created")
	}
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i, id := range ids {
		changed := e.reviews.Changed()
		t0 := time.Now()
		if code, _ := deliver(b, e.url, "personal_access_token_request", fmt.Sprintf("bench-%d", id), bodies[i], sign(bodies[i], secret)); code != http.StatusAccepted {
			b.Fatalf("answer %d", code)
		}
		select {
		case <-changed:
		case <-time.After(10 * time.Second):
			b.Fatal("no POST within 10s")
		}
		took = append(took, time.Since(t0))
	}
	b.StopTimer()
	if n := len(e.reviews.Applied()); n != b.N {
		b.Fatalf("%d writes applied, want %d", n, b.N)
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(took[len(took)*9/10].Microseconds())/1000, "ms-p90")
}
