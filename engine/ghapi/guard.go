package ghapi

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// installationTokenPath is the one path a POST may go to: minting the tool's own installation token.
var installationTokenPath = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`/app/installations/[0-9]+/access_tokens$`) })

// reviewWritePath is what a POST may go to under AllowReviewWrites: reviewing one token request or
// revoking one grant, relative to the API base.
var reviewWritePath = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^orgs/[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?/(?:personal-access-token-requests|personal-access-tokens)/[0-9]+$`)
})

// ErrRefused marks a request the guard would not send.
var ErrRefused = fmt.Errorf("request refused")

// guard enforces the read-only, one-host invariants before any credential is attached: a request
// it refuses never leaves the process and never carries the token.
type guard struct {
	next                       http.RoundTripper
	base                       *url.URL
	allowInstallationTokenPOST bool
	allowReviewWrites          bool
	auth                       func(*http.Request) error
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if !sameHost(req.URL, g.base) {
		return nil, fmt.Errorf("%w: %s %s: only %s://%s is configured", ErrRefused, req.Method, req.URL.Host, g.base.Scheme, g.base.Host)
	}
	if err := checkScheme(req.URL); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	switch {
	case req.Method == http.MethodGet || req.Method == http.MethodHead:
	case req.Method == http.MethodPost && g.allowInstallationTokenPOST && installationTokenPath().MatchString(req.URL.Path):
	case req.Method == http.MethodPost && g.allowReviewWrites && g.isReviewWrite(req.URL):
	default:
		return nil, fmt.Errorf("%w: %s %s: tokencheck is read-only and sends only GET and HEAD", ErrRefused, req.Method, req.URL.Path)
	}
	req = req.Clone(req.Context())
	req.Header.Del("Authorization")
	if g.auth != nil {
		if err := g.auth(req); err != nil {
			return nil, err
		}
	}
	return g.next.RoundTrip(req)
}

// isReviewWrite reports whether u is exactly a review or revoke endpoint under the API base (no
// query, no encoded path tricks).
func (g *guard) isReviewWrite(u *url.URL) bool {
	if u.RawQuery != "" || u.RawPath != "" && u.RawPath != u.Path {
		return false
	}
	rel, ok := strings.CutPrefix(u.Path, g.base.Path)
	return ok && reviewWritePath().MatchString(rel)
}
