package ghapi

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// logger writes one line per HTTP attempt. It prints the method, URL, status, the rate-limit budget
// and the elapsed time: never a request header, so never a credential.
type logger struct {
	next http.RoundTripper
	mu   sync.Mutex
	w    io.Writer
}

func (l *logger) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := l.next.RoundTrip(req)
	elapsed := time.Since(start).Round(time.Millisecond)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		fmt.Fprintf(l.w, "tokencheck: %s %s: %v (%s)\n", req.Method, req.URL.Redacted(), err, elapsed)
		return nil, err
	}
	fmt.Fprintf(l.w, "tokencheck: %s %s → %s (%s", req.Method, req.URL.Redacted(), resp.Status, elapsed)
	if rem := resp.Header.Get("X-RateLimit-Remaining"); rem != "" {
		fmt.Fprintf(l.w, ", rate limit %s/%s left", rem, resp.Header.Get("X-RateLimit-Limit"))
	}
	fmt.Fprintln(l.w, ")")
	return resp, nil
}
