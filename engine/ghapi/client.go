// Package ghapi builds the read-only GitHub API client every live source uses. It resolves the API
// base from a host name, sends a token only to that host and only over HTTPS (plain HTTP only to
// loopback, for tests), refuses every method but GET and HEAD (save the one POST that mints a GitHub
// App installation token), retries what is worth retrying, and turns API failures into messages that
// name the host and never the token.
package ghapi

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"
)

// DefaultHost is github.com's web host; its API lives at api.github.com.
const DefaultHost = "github.com"

// Options configure an API endpoint and its client.
type Options struct {
	// Hostname is the GitHub host: github.com (default), a GHE.com subdomain (API at api.HOST) or
	// an Enterprise Server host (API at https://HOST/api/v3/).
	Hostname string
	// APIURL overrides the API base derived from Hostname.
	APIURL string
	// Retry bounds retries; zero fields take the defaults.
	Retry Retry
	// Verbose, when set, receives one line per HTTP attempt: method, URL, status, time. Never a header
	// that carries a credential.
	Verbose io.Writer
	// AllowInstallationTokenPOST lets POST /app/installations/{id}/access_tokens through, the one
	// write the tool may send (it mints the tool's own credential and changes nothing on GitHub).
	AllowInstallationTokenPOST bool
	// AllowReviewWrites lets the two decision writes through (review --apply, serve --apply):
	// POST /orgs/{org}/personal-access-token-requests/{pat_request_id} and
	// POST /orgs/{org}/personal-access-tokens/{pat_id}. Nothing else is opened by it.
	AllowReviewWrites bool
	// Transport is the base round tripper (nil: a tuned http.Transport); tests pass one that trusts
	// their TLS server.
	Transport http.RoundTripper
	// UserAgent names the tool in requests.
	UserAgent string
}

// API is one resolved GitHub API endpoint.
type API struct {
	base       *url.URL
	enterprise bool
	opts       Options
}

// New resolves the API base and checks it may carry a token.
func New(opts Options) (*API, error) {
	base, enterprise, err := Resolve(opts.Hostname, opts.APIURL)
	if err != nil {
		return nil, err
	}
	opts.Retry = opts.Retry.withDefaults()
	if opts.UserAgent == "" {
		opts.UserAgent = "tokencheck"
	}
	return &API{base: base, enterprise: enterprise, opts: opts}, nil
}

// Resolve turns a host name or an explicit API URL into the API base URL (with a trailing slash),
// and reports whether it is an Enterprise Server. Only https is accepted, except http to a loopback
// address.
func Resolve(hostname, apiURL string) (*url.URL, bool, error) {
	if apiURL != "" {
		u, err := url.Parse(apiURL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return nil, false, fmt.Errorf("API URL %q: want an absolute http(s) URL such as https://github.example.com/api/v3/", apiURL)
		}
		if err := checkScheme(u); err != nil {
			return nil, false, fmt.Errorf("API URL: %w", err)
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		u.RawQuery, u.Fragment = "", ""
		return u, false, nil
	}
	host := strings.ToLower(strings.TrimSpace(hostname))
	if host == "" || host == DefaultHost || host == "api.github.com" {
		u, _ := url.Parse("https://api.github.com/")
		return u, false, nil
	}
	if strings.Contains(host, "/") || strings.Contains(host, "@") {
		return nil, false, fmt.Errorf("hostname %q: want a bare host name such as github.example.com, not a URL (give a URL as the API URL instead)", hostname)
	}
	if strings.HasSuffix(host, ".ghe.com") {
		u, _ := url.Parse("https://api." + strings.TrimPrefix(host, "api.") + "/")
		return u, false, nil
	}
	u, err := url.Parse("https://" + host + "/api/v3/")
	if err != nil {
		return nil, false, fmt.Errorf("hostname %q: %w", hostname, err)
	}
	return u, true, nil
}

// checkScheme refuses plain http anywhere but loopback: a token must not cross a network in clear.
func checkScheme(u *url.URL) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("refusing plain http to %s: a token is sent over https only (http only to loopback addresses)", u.Host)
	}
	return fmt.Errorf("refusing scheme %q for %s: want https", u.Scheme, u.Host)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Host is the API host every request goes to, the name used in messages.
func (a *API) Host() string { return a.base.Host }

// BaseURL is the API base URL.
func (a *API) BaseURL() string { return a.base.String() }

// Credential is a bearer token as the client needs it: facts.Secret is one. Reveal is called only
// once a request has passed the guard, to set its Authorization header.
type Credential interface {
	Empty() bool
	Reveal() string
}

// Client returns a go-github client that authenticates with token (an empty token sends none) and
// can reach only this API's host, read-only.
func (a *API) Client(token Credential) *github.Client {
	return a.client(func(req *http.Request) error {
		if !token.Empty() {
			req.Header.Set("Authorization", "Bearer "+token.Reveal())
		}
		return nil
	})
}

// ClientWithAuth returns a client whose requests are authenticated by auth (for GitHub App JWTs and
// refreshed installation tokens); auth runs after the host and method checks passed, and an error
// from it stops the request.
func (a *API) ClientWithAuth(auth func(*http.Request) error) *github.Client {
	return a.client(auth)
}

func (a *API) client(auth func(*http.Request) error) *github.Client {
	base := a.opts.Transport
	if base == nil {
		base = defaultTransport()
	}
	var rt http.RoundTripper = base
	if a.opts.Verbose != nil {
		rt = &logger{next: rt, w: a.opts.Verbose}
	}
	rt = &retrier{next: rt, policy: a.opts.Retry}
	rt = &guard{next: rt, base: a.base, allowInstallationTokenPOST: a.opts.AllowInstallationTokenPOST, allowReviewWrites: a.opts.AllowReviewWrites, auth: auth}
	hc := &http.Client{
		Transport: rt,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !sameHost(req.URL, a.base) {
				return fmt.Errorf("refusing redirect to %s: only %s is configured", req.URL.Host, a.base.Host)
			}
			if len(via) >= 5 {
				return fmt.Errorf("stopped after %d redirects", len(via))
			}
			return nil
		},
	}
	c := github.NewClient(hc)
	if a.enterprise {
		if ec, err := c.WithEnterpriseURLs(a.base.String(), a.base.String()); err == nil {
			c = ec
		}
	} else {
		u := *a.base
		c.BaseURL, c.UploadURL = &u, &u
	}
	c.UserAgent = a.opts.UserAgent
	return c
}

func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 30 * time.Second
	t.Proxy = http.ProxyFromEnvironment
	return t
}

func sameHost(a, b *url.URL) bool {
	return strings.EqualFold(a.Host, b.Host) && a.Scheme == b.Scheme
}
