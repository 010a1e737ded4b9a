package ghapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"
)

// Kind sorts API failures by what the user should do about them.
type Kind int

// Failure kinds.
const (
	KindOther       Kind = iota
	KindRejected         // 401: the token is revoked, expired or mistyped
	KindSSORequired      // 403 with X-GitHub-SSO: required
	KindRateLimited      // primary rate limit exhausted
	KindSecondary        // secondary rate limit outlasted the retries
	KindForbidden        // 403 for any other reason (wrong kind of token, missing permission)
	KindNotFound         // 404 (no such org, or a feature the host lacks)
	KindServer           // 5xx after the retries
	KindNetwork          // DNS, TLS, refused or reset connections
	KindTimeout          // --timeout ran out
	KindCanceled         // interrupted
	KindMalformed        // an answer that is not the JSON GitHub documents
	KindRefused          // the guard refused to send the request
)

// Failure is an API call that did not give its answer, described for a person: it names the host
// and never the token.
type Failure struct {
	Kind       Kind
	Host       string
	Status     int
	Message    string // GitHub's message, when it sent one
	SSOURL     string // where to authorize the token, for KindSSORequired
	Reset      time.Time
	RetryAfter time.Duration
	// Accepted is what the refused endpoint accepts, from X-Accepted-GitHub-Permissions: the
	// permissions the token lacks, for KindForbidden.
	Accepted []map[string]string
	Err      error
}

func (f *Failure) Error() string {
	switch f.Kind {
	case KindRejected:
		return fmt.Sprintf("token rejected by %s (401 %s): it is revoked, expired or mistyped", f.Host, orDefault(f.Message, "Bad credentials"))
	case KindSSORequired:
		if f.SSOURL != "" {
			return fmt.Sprintf("%s requires SAML SSO authorization for this token (403); an owner of the token authorizes it at %s", f.Host, f.SSOURL)
		}
		return fmt.Sprintf("%s requires SAML SSO authorization for this token (403)", f.Host)
	case KindRateLimited:
		if f.Reset.IsZero() {
			return fmt.Sprintf("%s rate limit exhausted (%d)", f.Host, f.Status)
		}
		wait := ""
		if d := time.Until(f.Reset); d > 0 {
			wait = " (in " + d.Round(time.Second).String() + ")"
		}
		return fmt.Sprintf("%s rate limit exhausted until %s%s; run again after it resets", f.Host,
			f.Reset.UTC().Format(time.RFC3339), wait)
	case KindSecondary:
		return fmt.Sprintf("%s secondary rate limit (%d): still limited after waiting as asked; retry in %s", f.Host, f.Status, orDuration(f.RetryAfter))
	case KindForbidden:
		if need := f.needs(); need != "" {
			return fmt.Sprintf("%s refused access (403 %s); the endpoint accepts a token with %s", f.Host, orDefault(f.Message, "Forbidden"), need)
		}
		return fmt.Sprintf("%s refused access (403 %s)", f.Host, orDefault(f.Message, "Forbidden"))
	case KindNotFound:
		return fmt.Sprintf("%s answered 404 %s", f.Host, orDefault(f.Message, "Not Found"))
	case KindServer:
		return fmt.Sprintf("%s answered %d %s after retries", f.Host, f.Status, orDefault(f.Message, http.StatusText(f.Status)))
	case KindTimeout:
		return fmt.Sprintf("%s did not answer within the time limit", f.Host)
	case KindCanceled:
		return fmt.Sprintf("interrupted while talking to %s", f.Host)
	case KindMalformed:
		return fmt.Sprintf("%s sent an answer that is not the documented JSON: %v", f.Host, f.Err)
	case KindRefused:
		return fmt.Sprintf("%v", f.Err)
	case KindNetwork:
		return fmt.Sprintf("cannot reach %s: %s", f.Host, describeNetError(f.Err))
	}
	if f.Status != 0 {
		return fmt.Sprintf("%s answered %d %s", f.Host, f.Status, orDefault(f.Message, http.StatusText(f.Status)))
	}
	return fmt.Sprintf("%s: %v", f.Host, f.Err)
}

func (f *Failure) Unwrap() error { return f.Err }

// Classify describes an error from a go-github call (or from this package's transport).
func Classify(err error, host string) *Failure {
	if err == nil {
		return nil
	}
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	f = &Failure{Host: host, Err: err}
	var rl *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	var er *github.ErrorResponse
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var urlErr *url.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		f.Kind = KindTimeout
	case errors.Is(err, context.Canceled):
		f.Kind = KindCanceled
	case errors.Is(err, ErrRefused):
		f.Kind = KindRefused
	case errors.As(err, &rl):
		f.Kind, f.Status, f.Message, f.Reset = KindRateLimited, statusOf(rl.Response, 403), rl.Message, rl.Rate.Reset.Time
	case errors.As(err, &abuse):
		f.Kind, f.Status, f.Message = KindSecondary, statusOf(abuse.Response, 403), abuse.Message
		if abuse.RetryAfter != nil {
			f.RetryAfter = *abuse.RetryAfter
		}
	case errors.As(err, &er):
		f.fromResponse(er.Response, er.Message)
	case errors.As(err, &syntaxErr), errors.As(err, &typeErr),
		errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &urlErr):
		f.Kind = KindMalformed // a decoding error: transport errors come wrapped in *url.Error
	case isNetError(err):
		f.Kind = KindNetwork
	}
	return f
}

// FromResponse describes a non-2xx response read without go-github's error decoding.
func FromResponse(resp *http.Response, message, host string) *Failure {
	f := &Failure{Host: host}
	f.fromResponse(resp, message)
	return f
}

func (f *Failure) fromResponse(resp *http.Response, message string) {
	f.Message = message
	if resp == nil {
		return
	}
	f.Status = resp.StatusCode
	h := resp.Header
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		f.Kind = KindRejected
	case (resp.StatusCode == 403 || resp.StatusCode == 429) && h.Get("X-RateLimit-Remaining") == "0":
		f.Kind = KindRateLimited
		f.Reset = resetTime(resp)
	case resp.StatusCode == 403 && strings.HasPrefix(strings.ToLower(h.Get("X-GitHub-SSO")), "required"):
		f.Kind = KindSSORequired
		f.SSOURL = SSOURL(h.Get("X-GitHub-SSO"))
	case resp.StatusCode == 429 || (resp.StatusCode == 403 && (h.Get("Retry-After") != "" || strings.Contains(strings.ToLower(message), "secondary rate limit"))):
		f.Kind = KindSecondary
		f.RetryAfter = retryAfter(resp)
	case resp.StatusCode == 403:
		f.Kind = KindForbidden
		f.Accepted = AcceptedPermissions(h)
	case resp.StatusCode == 404:
		f.Kind = KindNotFound
	case resp.StatusCode >= 500:
		f.Kind = KindServer
	}
}

// needs names the permissions the refused endpoint accepts, when GitHub said and one is needed.
func (f *Failure) needs() string {
	for _, alt := range f.Accepted {
		if len(alt) == 0 {
			return "" // any token may call it: the refusal is not about permissions
		}
	}
	return DescribeAccepted(f.Accepted)
}

// SSOURL extracts the authorization URL from an X-GitHub-SSO header ("required; url=...").
func SSOURL(header string) string {
	for _, part := range strings.Split(header, ";") {
		part = strings.TrimSpace(part)
		if v, ok := strings.CutPrefix(part, "url="); ok {
			return v
		}
	}
	return ""
}

func statusOf(resp *http.Response, def int) int {
	if resp == nil {
		return def
	}
	return resp.StatusCode
}

func isNetError(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) || tlsFailure(err) != "" || retryableNetError(err)
}

// describeNetError names the kind of network failure in words, keeping the underlying detail.
func describeNetError(err error) string {
	if dnsErr := dnsError(err); dnsErr != nil {
		return "DNS lookup failed: " + dnsErr.Err
	}
	if msg := tlsFailure(err); msg != "" {
		return msg
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return "timed out: " + innermost(err)
	}
	return innermost(err)
}

// innermost drops the "Get URL:" wrappers and keeps the cause.
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		if _, ok := err.(*net.OpError); ok {
			return err.Error()
		}
		err = next
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orDuration(d time.Duration) string {
	if d <= 0 {
		return "a minute"
	}
	return d.String()
}
