package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
)

// BenchmarkServeDeliveryToPOST measures what a user of `tokencheck serve --apply` gets: the time
// from sending a signed delivery to the in-process server (real HTTP on loopback, the embedded
// rules, the CLI's wiring) to the fake GitHub receiving the decision's POST. Writes are paced a
// second apart as GitHub asks, so each delivery is sent once the pace allows the next write; the
// wait is not timed. Run with -benchtime=100x for the median of 100 (about 100 s).
func BenchmarkServeDeliveryToPOST(b *testing.B) {
	fake := ghapitest.New(b)
	ids := make([]int64, b.N)
	for i := range ids {
		ids[i] = int64(10000 + i)
	}
	reviews := fake.ServeReviews("acme", ids, nil)
	stderr := &syncBuffer{}
	env := map[string]string{"GH_TOKEN": serveToken, secretEnv: testWebhookSecret}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--api-url", fake.APIURL(), "--apply"},
			streams{In: strings.NewReader(""), Out: io.Discard, Err: stderr, Getenv: func(k string) string { return env[k] }})
	}()
	defer func() { cancel(); <-done }()
	addr := listenAddr(b, stderr.String)
	bodies := make([][]byte, b.N)
	for i, id := range ids {
		bodies[i] = requestPayload(b, id)
	}
	took := make([]time.Duration, 0, b.N)
	var last time.Time
	b.ResetTimer()
	for i, id := range ids {
		b.StopTimer()
		if wait := time.Until(last.Add(1010 * time.Millisecond)); wait > 0 {
			time.Sleep(wait)
		}
		b.StartTimer()
		changed := reviews.Changed()
		t0 := time.Now()
		if code := post(b, addr, "personal_access_token_request", fmt.Sprintf("bench-%d", id), bodies[i], signBody(bodies[i], testWebhookSecret)); code != http.StatusAccepted {
			b.Fatalf("answer %d", code)
		}
		select {
		case <-changed:
		case <-time.After(10 * time.Second):
			b.Fatal("no POST within 10s")
		}
		took = append(took, time.Since(t0))
		last = time.Now()
	}
	b.StopTimer()
	if n := len(reviews.Applied()); n != b.N {
		b.Fatalf("%d writes applied, want %d", n, b.N)
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(took[len(took)*9/10].Microseconds())/1000, "ms-p90")
}
