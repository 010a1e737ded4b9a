package ghapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Retry bounds how hard a client tries.
type Retry struct {
	// Attempts is the most attempts for one request on 5xx answers and network faults (default 3).
	Attempts int
	// BaseDelay is the first backoff; each retry doubles it, with full jitter (default 500ms).
	BaseDelay time.Duration
	// MaxDelay caps one backoff (default 10s).
	MaxDelay time.Duration
	// SecondaryRetries is how many times a secondary rate limit's Retry-After is honoured (default 1).
	SecondaryRetries int
	// MaxRetryAfter is the longest Retry-After honoured; a longer one is reported at once (default 2m).
	MaxRetryAfter time.Duration
	// WaitForPrimary waits for an exhausted primary rate limit to reset (up to MaxPrimaryWait) instead
	// of returning the 403/429.
	WaitForPrimary bool
	// MaxPrimaryWait caps that wait (default 1h).
	MaxPrimaryWait time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 3
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = 500 * time.Millisecond
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = 10 * time.Second
	}
	if r.SecondaryRetries < 0 {
		r.SecondaryRetries = 0
	} else if r.SecondaryRetries == 0 {
		r.SecondaryRetries = 1
	}
	if r.MaxRetryAfter <= 0 {
		r.MaxRetryAfter = 2 * time.Minute
	}
	if r.MaxPrimaryWait <= 0 {
		r.MaxPrimaryWait = time.Hour
	}
	return r
}

// defaultSecondaryWait is GitHub's advice when a secondary limit names no Retry-After: wait a minute.
const defaultSecondaryWait = time.Minute

// retrier retries 5xx answers and transient network faults with exponential backoff and jitter,
// honours Retry-After on secondary rate limits, and optionally waits out a primary limit. What it
// gives up on is returned as is, for the caller to classify.
type retrier struct {
	next   http.RoundTripper
	policy Retry
}

func (r *retrier) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	secondary, primaryWaited := 0, false
	for attempt := 1; ; attempt++ {
		try, err := rewind(req)
		if err != nil {
			return nil, err
		}
		resp, err := r.next.RoundTrip(try)
		if err != nil {
			if ctx.Err() != nil || !retryableNetError(err) || attempt >= r.policy.Attempts {
				return nil, err
			}
			if err := sleep(ctx, r.backoff(attempt)); err != nil {
				return nil, err
			}
			continue
		}
		switch {
		case retryableStatus(resp.StatusCode) && attempt < r.policy.Attempts:
			discard(resp)
			if err := sleep(ctx, r.backoff(attempt)); err != nil {
				return nil, err
			}
			continue
		case isPrimaryLimit(resp):
			if !r.policy.WaitForPrimary || primaryWaited {
				return resp, nil
			}
			wait := time.Until(resetTime(resp)) + time.Second
			if wait > r.policy.MaxPrimaryWait || !fitsDeadline(ctx, wait) {
				return resp, nil
			}
			discard(resp)
			if err := sleep(ctx, wait); err != nil {
				return nil, err
			}
			primaryWaited = true
			attempt--
			continue
		case isSecondaryLimit(resp):
			wait := retryAfter(resp)
			if secondary >= r.policy.SecondaryRetries || wait > r.policy.MaxRetryAfter || !fitsDeadline(ctx, wait) {
				return resp, nil
			}
			discard(resp)
			if err := sleep(ctx, wait); err != nil {
				return nil, err
			}
			secondary++
			attempt--
			continue
		}
		return resp, nil
	}
}

// backoff is full-jitter exponential backoff: a random wait in [base·2^(n-1)/2, base·2^(n-1)].
func (r *retrier) backoff(attempt int) time.Duration {
	d := r.policy.BaseDelay << (attempt - 1)
	if d > r.policy.MaxDelay || d <= 0 {
		d = r.policy.MaxDelay
	}
	return d/2 + rand.N(d/2+1)
}

// rewind gives each attempt a fresh request body.
func rewind(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody || req.GetBody == nil {
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	try := req.Clone(req.Context())
	try.Body = body
	return try, nil
}

func retryableStatus(code int) bool {
	return code == http.StatusInternalServerError || code == http.StatusBadGateway ||
		code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
}

// retryableNetError is true for faults a second attempt may not meet: timeouts, resets, refused or
// dropped connections. DNS and TLS failures are not retried: they will fail the same way.
func retryableNetError(err error) bool {
	if dnsError(err) != nil || tlsFailure(err) != "" || errors.Is(err, ErrRefused) {
		return false
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE)
}

// dnsError is the DNS failure in err, if it is one.
func dnsError(err error) *net.DNSError {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr
	}
	return nil
}

// tlsFailure names a TLS failure in err ("" if it is none): an untrusted certificate or a server
// that does not speak TLS.
func tlsFailure(err error) string {
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownAuthority), errors.As(err, &hostnameErr):
		return "TLS certificate not trusted: " + innermost(err)
	case errors.As(err, &recordErr):
		return "TLS handshake failed (is it an https server?)"
	}
	return ""
}

// isPrimaryLimit: a 403 or 429 with no requests left in the window.
func isPrimaryLimit(resp *http.Response) bool {
	return (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests) &&
		resp.Header.Get("X-RateLimit-Remaining") == "0"
}

// isSecondaryLimit: a 403 or 429 carrying Retry-After, or whose body names the secondary limit.
func isSecondaryLimit(resp *http.Response) bool {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return false
	}
	if resp.Header.Get("Retry-After") != "" {
		return true
	}
	body := peek(resp)
	return bytes.Contains(body, []byte("secondary rate limit")) || bytes.Contains(body, []byte("secondary-rate-limits")) ||
		bytes.Contains(body, []byte("abuse-rate-limits"))
}

// retryAfter reads Retry-After (seconds or an HTTP date); a minute when absent.
func retryAfter(resp *http.Response) time.Duration {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return defaultSecondaryWait
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return defaultSecondaryWait
}

// resetTime reads X-RateLimit-Reset (epoch seconds).
func resetTime(resp *http.Response) time.Time {
	n, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// peek reads up to 64 KiB of the body and puts it back.
func peek(resp *http.Response) []byte {
	if resp.Body == nil {
		return nil
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	return head
}

func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
}

func fitsDeadline(ctx context.Context, wait time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > wait
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
