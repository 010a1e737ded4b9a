package ghapi_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/ghapi"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
)

const classic = "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"

func TestResolve(t *testing.T) {
	cases := []struct {
		host, apiURL, want string
		enterprise         bool
		err                string
	}{
		{"", "", "https://api.github.com/", false, ""},
		{"github.com", "", "https://api.github.com/", false, ""},
		{"GitHub.example.com", "", "https://github.example.com/api/v3/", true, ""},
		{"acme.ghe.com", "", "https://api.acme.ghe.com/", false, ""},
		{"", "http://127.0.0.1:8080", "http://127.0.0.1:8080/", false, ""},
		{"", "http://[::1]:9/api/", "http://[::1]:9/api/", false, ""},
		{"", "https://ghe.internal/api/v3", "https://ghe.internal/api/v3/", false, ""},
		{"", "http://ghe.internal/api/v3/", "", false, "refusing plain http to ghe.internal"},
		{"", "ftp://x/", "", false, "want an absolute http(s) URL"},
		{"https://ghe.internal", "", "", false, "want a bare host name"},
	}
	for _, c := range cases {
		u, ent, err := ghapi.Resolve(c.host, c.apiURL)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Resolve(%q, %q) error = %v, want %q", c.host, c.apiURL, err, c.err)
			}
			continue
		}
		if err != nil || u.String() != c.want || ent != c.enterprise {
			t.Errorf("Resolve(%q, %q) = %v, %v, %v; want %s, %v", c.host, c.apiURL, u, ent, err, c.want, c.enterprise)
		}
	}
}

func newAPI(t *testing.T, fake *ghapitest.Server, opts ghapi.Options) *ghapi.API {
	t.Helper()
	opts.APIURL = fake.APIURL()
	if opts.Retry.BaseDelay == 0 {
		opts.Retry.BaseDelay = time.Millisecond
	}
	api, err := ghapi.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func TestGuardRefusesWritesAndOtherHosts(t *testing.T) {
	fake := ghapitest.New(t)
	api := newAPI(t, fake, ghapi.Options{})
	c := api.Client(facts.NewSecret(classic))
	ctx := context.Background()
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		req, _ := c.NewRequest(m, "user/repos", map[string]string{"name": "x"})
		_, err := c.Do(ctx, req, nil)
		if !errors.Is(err, ghapi.ErrRefused) {
			t.Errorf("%s went through the guard: %v", m, err)
		}
	}
	// The installation-token POST is refused unless the client was built for it.
	req, _ := c.NewRequest(http.MethodPost, "app/installations/1/access_tokens", nil)
	if _, err := c.Do(ctx, req, nil); !errors.Is(err, ghapi.ErrRefused) {
		t.Errorf("installation-token POST allowed on a scan client: %v", err)
	}
	// Another host, even named in full, never sees a request.
	req, _ = c.NewRequest(http.MethodGet, "https://api.github.com/user", nil)
	if _, err := c.Do(ctx, req, nil); !errors.Is(err, ghapi.ErrRefused) {
		t.Errorf("request to another host allowed: %v", err)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("fake saw %d requests, want 0: %+v", n, fake.Requests())
	}
	if f := ghapi.Classify(errors.Join(ghapi.ErrRefused), "h"); f.Kind != ghapi.KindRefused {
		t.Errorf("refused request classified as %v", f.Kind)
	}

	app := newAPI(t, fake, ghapi.Options{AllowInstallationTokenPOST: true})
	ac := app.Client(facts.NewSecret(classic))
	req, _ = ac.NewRequest(http.MethodPost, "app/installations/42/access_tokens", nil)
	_, _ = ac.Do(ctx, req, nil)
	req, _ = ac.NewRequest(http.MethodPost, "app/installations/42/suspended", nil)
	if _, err := ac.Do(ctx, req, nil); !errors.Is(err, ghapi.ErrRefused) {
		t.Errorf("POST to another app path allowed: %v", err)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodPost || reqs[0].Path != "/app/installations/42/access_tokens" {
		t.Errorf("requests = %+v, want only the installation-token POST", reqs)
	}
}

func get(t *testing.T, api *ghapi.API, token, path string) error {
	t.Helper()
	c := api.Client(facts.NewSecret(token))
	req, err := c.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Do(context.Background(), req, nil)
	return err
}

func TestRetries(t *testing.T) {
	t.Run("5xx then success", func(t *testing.T) {
		fake := ghapitest.New(t)
		fake.Answer(classic, "/user", ghapitest.Fixture(t, "server-error.http"), ghapitest.Fixture(t, "server-error.http"), ghapitest.Fixture(t, "user-classic-broad.http"))
		if err := get(t, newAPI(t, fake, ghapi.Options{}), classic, "user"); err != nil {
			t.Fatalf("want success on the third attempt: %v", err)
		}
		if n := len(fake.Requests()); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
	t.Run("5xx gives up after the attempts", func(t *testing.T) {
		fake := ghapitest.New(t)
		fake.Answer(classic, "/user", ghapitest.Fixture(t, "server-error.http"))
		api := newAPI(t, fake, ghapi.Options{Retry: ghapi.Retry{Attempts: 4}})
		err := get(t, api, classic, "user")
		f := ghapi.Classify(err, api.Host())
		if f.Kind != ghapi.KindServer || f.Status != 502 || !strings.Contains(f.Error(), api.Host()) {
			t.Errorf("failure = %v (%v), want a 502 naming the host", f, f.Kind)
		}
		if n := len(fake.Requests()); n != 4 {
			t.Errorf("%d requests, want 4", n)
		}
	})
	t.Run("dropped connection is retried", func(t *testing.T) {
		fake := ghapitest.New(t)
		fake.Answer(classic, "/user", ghapitest.Response{Hijack: true}, ghapitest.Fixture(t, "user-classic-broad.http"))
		if err := get(t, newAPI(t, fake, ghapi.Options{}), classic, "user"); err != nil {
			t.Fatalf("want success after a dropped connection: %v", err)
		}
	})
	t.Run("secondary limit honours Retry-After once", func(t *testing.T) {
		fake := ghapitest.New(t)
		limited := ghapitest.Fixture(t, "secondary-rate-limit.http").With("Retry-After", "1")
		fake.Answer(classic, "/user", limited, ghapitest.Fixture(t, "user-classic-broad.http"))
		start := time.Now()
		if err := get(t, newAPI(t, fake, ghapi.Options{}), classic, "user"); err != nil {
			t.Fatalf("want success after waiting: %v", err)
		}
		if waited := time.Since(start); waited < time.Second {
			t.Errorf("retried after %s, before Retry-After's 1s", waited)
		}
	})
	t.Run("secondary limit reported after the retry", func(t *testing.T) {
		fake := ghapitest.New(t)
		fake.Answer(classic, "/user", ghapitest.Fixture(t, "secondary-rate-limit.http").With("Retry-After", "0"))
		api := newAPI(t, fake, ghapi.Options{})
		f := ghapi.Classify(get(t, api, classic, "user"), api.Host())
		if f.Kind != ghapi.KindSecondary || len(fake.Requests()) != 2 {
			t.Errorf("kind %v after %d requests, want secondary after 2", f.Kind, len(fake.Requests()))
		}
	})
	t.Run("Retry-After beyond the bound is not waited for", func(t *testing.T) {
		fake := ghapitest.New(t)
		fake.Answer(classic, "/user", ghapitest.Fixture(t, "secondary-rate-limit.http"))
		api := newAPI(t, fake, ghapi.Options{Retry: ghapi.Retry{MaxRetryAfter: 10 * time.Second}})
		f := ghapi.Classify(get(t, api, classic, "user"), api.Host())
		if f.Kind != ghapi.KindSecondary || f.RetryAfter != time.Minute || len(fake.Requests()) != 1 {
			t.Errorf("kind %v retry-after %v after %d requests", f.Kind, f.RetryAfter, len(fake.Requests()))
		}
	})
	t.Run("primary limit is reported with its reset time", func(t *testing.T) {
		fake := ghapitest.New(t)
		fake.Answer(classic, "/user", ghapitest.Fixture(t, "primary-rate-limit.http"))
		api := newAPI(t, fake, ghapi.Options{})
		f := ghapi.Classify(get(t, api, classic, "user"), api.Host())
		if f.Kind != ghapi.KindRateLimited || !f.Reset.Equal(time.Unix(1795315500, 0)) || !strings.Contains(f.Error(), "2026-11-22T02:45:00Z") {
			t.Errorf("failure %v (%v, reset %v)", f, f.Kind, f.Reset)
		}
		if len(fake.Requests()) != 1 {
			t.Errorf("%d requests, want 1 (no retry of an exhausted limit)", len(fake.Requests()))
		}
	})
}

func TestClassify(t *testing.T) {
	fake := ghapitest.New(t)
	fake.Answer(classic, "/user", ghapitest.Fixture(t, "sso-required.http"))
	api := newAPI(t, fake, ghapi.Options{})
	f := ghapi.Classify(get(t, api, classic, "user"), api.Host())
	if f.Kind != ghapi.KindSSORequired || f.SSOURL != "https://github.com/orgs/acme/sso?authorization_request=A3QXKNB6UGIQJ5T7ZKP4TLDHDIS3Y" {
		t.Errorf("SSO: %v %q", f.Kind, f.SSOURL)
	}
	f = ghapi.Classify(get(t, api, "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", "user"), api.Host())
	if f.Kind != ghapi.KindRejected || !strings.Contains(f.Error(), "token rejected by "+api.Host()) {
		t.Errorf("401: %v %v", f.Kind, f)
	}
}

func TestNetworkFailuresNameTheHost(t *testing.T) {
	tlsFake := ghapitest.NewTLS(t) // a certificate nobody trusts
	api, err := ghapi.New(ghapi.Options{APIURL: tlsFake.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	f := ghapi.Classify(get(t, api, classic, "user"), api.Host())
	if f.Kind != ghapi.KindNetwork || !strings.Contains(f.Error(), "TLS certificate not trusted") || !strings.Contains(f.Error(), api.Host()) {
		t.Errorf("TLS: %v: %v", f.Kind, f)
	}
	if n := len(tlsFake.Requests()); n != 0 {
		t.Errorf("a request reached the untrusted server")
	}

	closed := ghapitest.New(t)
	closedURL := closed.APIURL()
	closed.Close()
	api, _ = ghapi.New(ghapi.Options{APIURL: closedURL, Retry: ghapi.Retry{Attempts: 2, BaseDelay: time.Millisecond}})
	f = ghapi.Classify(get(t, api, classic, "user"), api.Host())
	if f.Kind != ghapi.KindNetwork || !strings.Contains(f.Error(), "cannot reach "+api.Host()) || !strings.Contains(f.Error(), "connection refused") {
		t.Errorf("refused: %v: %v", f.Kind, f)
	}

	dnsErr := &net.DNSError{Err: "no such host", Name: "ghe.invalid", IsNotFound: true}
	dns := ghapi.Classify(&url.Error{Op: "Get", URL: "https://ghe.invalid/api/v3/user", Err: &net.OpError{Op: "dial", Net: "tcp", Err: dnsErr}}, "ghe.invalid")
	if !strings.Contains(dns.Error(), "cannot reach ghe.invalid: DNS lookup failed: no such host") {
		t.Errorf("DNS: %v", dns)
	}
}

func TestTimeout(t *testing.T) {
	fake := ghapitest.New(t)
	fake.Answer(classic, "/user", ghapitest.Response{Block: true})
	api := newAPI(t, fake, ghapi.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c := api.Client(facts.NewSecret(classic))
	req, _ := c.NewRequest(http.MethodGet, "user", nil)
	_, err := c.Do(ctx, req, nil)
	if f := ghapi.Classify(err, api.Host()); f.Kind != ghapi.KindTimeout || !strings.Contains(f.Error(), api.Host()) {
		t.Errorf("timeout: %v: %v", f.Kind, f)
	}
}

func TestVerboseLogsNoCredential(t *testing.T) {
	fake := ghapitest.New(t)
	fake.Answer(classic, "/user", ghapitest.Fixture(t, "user-classic-broad.http"))
	var log strings.Builder
	api := newAPI(t, fake, ghapi.Options{Verbose: &log})
	if err := get(t, api, classic, "user"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "GET "+fake.URL+"/user → 200 OK") || strings.Contains(log.String(), classic) {
		t.Errorf("verbose log = %q", log.String())
	}
}

func TestReadDump(t *testing.T) {
	cases := []struct {
		name, in   string
		status     int
		scopes     string
		body, errS string
	}{
		{"curl -D with CRLF", "HTTP/2 200 \r\nx-oauth-scopes: repo, gist\r\n\r\n", 200, "repo, gist", "", ""},
		{"interim then final", "HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nX-OAuth-Scopes: repo\n\n", 200, "repo", "", ""},
		{"proxy then final", "HTTP/1.1 200 Connection established\n\nHTTP/2 401\nx-oauth-scopes:\n\n", 401, "", "", ""},
		{"curl -i with body", "HTTP/2 200\nx-oauth-scopes: user\n\n{\"login\":\"octocat\"}\n", 200, "user", `{"login":"octocat"}`, ""},
		{"curl -v drops request lines", "* Connected\n> GET /user HTTP/2\n> Authorization: Bearer " + classic + "\n>\n< HTTP/2 200\n< x-oauth-scopes: repo\n<\n", 200, "repo", "", ""},
		{"folded header", "HTTP/1.1 200 OK\nX-OAuth-Scopes: repo,\n  gist\n\n", 200, "repo, gist", "", ""},
		{"folded header, value on the next lines", "HTTP/1.1 200 OK\r\nX-OAuth-Scopes:\r\n\trepo,\r\n gist, admin:org\r\nX-Accepted-OAuth-Scopes: repo\r\n\r\n", 200, "repo, gist, admin:org", "", ""},
		{"folded header in curl -v", "< HTTP/2 200\n< x-oauth-scopes: repo,\n<   workflow\n<\n", 200, "repo, workflow", "", ""},
		{"folded Authorization dropped whole", "< HTTP/2 200\n< Authorization: Bearer\n<  " + classic + "\n< x-oauth-scopes: repo\n<\n", 200, "repo", "", ""},
		{"not a dump", "hello\n", 0, "", "", "line 1: not an HTTP status line"},
		{"bad header line", "HTTP/2 200\nx-oauth-scopes: repo\nAuthorization Bearer " + classic + "\n\n", 0, "", "", "line 3: not a header line"},
		{"empty", "", 0, "", "", "line 1: no HTTP response"},
	}
	for _, c := range cases {
		d, err := ghapi.ReadDump(strings.NewReader(c.in))
		if c.errS != "" {
			if err == nil || !strings.Contains(err.Error(), c.errS) || strings.Contains(err.Error(), classic) {
				t.Errorf("%s: error %v, want %q without the token", c.name, err, c.errS)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if d.Status != c.status || d.Header.Get("X-OAuth-Scopes") != c.scopes || strings.TrimSpace(string(d.Body)) != c.body {
			t.Errorf("%s: status %d scopes %q body %q", c.name, d.Status, d.Header.Get("X-OAuth-Scopes"), d.Body)
		}
		if d.Header.Get("Authorization") != "" {
			t.Errorf("%s: kept an Authorization header", c.name)
		}
		for name, vals := range d.Header {
			if strings.Contains(strings.Join(vals, " "), classic) {
				t.Errorf("%s: header %s holds the token", c.name, name)
			}
		}
	}
}

func TestWaitForPrimaryRateLimit(t *testing.T) {
	fake := ghapitest.New(t)
	reset := strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10)
	fake.Answer(classic, "/user", ghapitest.Fixture(t, "primary-rate-limit.http").With("X-RateLimit-Reset", reset), ghapitest.Fixture(t, "user-classic-broad.http"))
	api := newAPI(t, fake, ghapi.Options{Retry: ghapi.Retry{WaitForPrimary: true}})
	start := time.Now()
	if err := get(t, api, classic, "user"); err != nil {
		t.Fatalf("want success after the reset: %v", err)
	}
	if waited := time.Since(start); waited < 500*time.Millisecond {
		t.Errorf("retried after %s, before the reset", waited)
	}
	// Without the option, or when the reset is beyond the deadline, the limit is reported at once.
	fake.Answer(classic, "/user", ghapitest.Fixture(t, "primary-rate-limit.http").With("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c := api.Client(facts.NewSecret(classic))
	req, _ := c.NewRequest(http.MethodGet, "user", nil)
	start = time.Now()
	_, err := c.Do(ctx, req, nil)
	if f := ghapi.Classify(err, api.Host()); f.Kind != ghapi.KindRateLimited || time.Since(start) > time.Second {
		t.Errorf("reset beyond the deadline: %v after %s", f.Kind, time.Since(start))
	}
}

// A dump past the cap is refused, never cut: cut, it could lose X-OAuth-Scopes and pass.
func TestOversizedDumpIsRefusedNotCut(t *testing.T) {
	big := "HTTP/2 200\r\n" + strings.Repeat("x-filler: "+strings.Repeat("a", 1000)+"\r\n", ghapi.MaxDumpBytes/1000) + "x-oauth-scopes: delete_repo\r\n\r\n"
	_, err := ghapi.ReadDump(strings.NewReader(big))
	if err == nil || !strings.Contains(err.Error(), "larger than 8 MiB") {
		t.Fatalf("err = %v", err)
	}
}
