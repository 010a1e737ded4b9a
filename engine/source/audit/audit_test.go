package audit_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/ghapi"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
	"github.com/tokencheck/tokencheck/engine/policy"
	"github.com/tokencheck/tokencheck/engine/source/audit"
)

func installationToken(n int) string {
	r := fmt.Sprintf("inst%026d", n)
	return "ghs_" + r + facts.Checksum(r)
}

var appToken = installationToken(1)

func catalog(t testing.TB) *facts.Catalog {
	cat, err := policy.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func newAPI(t testing.TB, fake *ghapitest.Server, allowPOST bool) *ghapi.API {
	api, err := ghapi.New(ghapi.Options{APIURL: fake.APIURL(), AllowInstallationTokenPOST: allowPOST,
		Retry: ghapi.Retry{BaseDelay: time.Millisecond, SecondaryRetries: 3}})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func acme(t testing.TB) *ghapitest.Org {
	return &ghapitest.Org{
		Login: "acme", ID: 652551,
		Grants:      ghapitest.FixtureList(t, "org-grants.json"),
		Requests:    ghapitest.FixtureList(t, "org-requests.json"),
		Credentials: ghapitest.FixtureList(t, "org-credential-authorizations.json"),
		Repositories: map[int64][]json.RawMessage{
			25382: ghapitest.FixtureList(t, "org-grant-repositories.json"),
			25383: ghapitest.FixtureList(t, "org-grant-repositories.json")[:1],
		},
		Allowed: []string{facts.Fingerprint(appToken)},
	}
}

func byID(ts []facts.Token) map[string]facts.Token {
	m := map[string]facts.Token{}
	for _, t := range ts {
		m[t.ID] = t
	}
	return m
}

func TestCollectMapsEveryEndpointToFacts(t *testing.T) {
	fake := ghapitest.New(t)
	fake.ServeOrg(acme(t))
	res := audit.Collect(context.Background(), newAPI(t, fake, false), audit.Credentials{Token: facts.NewSecret(appToken)}, catalog(t),
		audit.Options{Orgs: []string{"acme"}, Repositories: true, Credentials: true})
	if len(res.Problems) != 0 {
		t.Fatalf("problems %v", res.Problems)
	}
	ts := byID(res.Tokens)
	if len(ts) != 5 || res.Counts[audit.SourceGrants] != 3 || res.Counts[audit.SourceRequests] != 1 || res.Counts[audit.SourceCredentials] != 1 {
		t.Fatalf("tokens %d, counts %v (the SSH key must not become a token)", len(ts), res.Counts)
	}
	g := ts["org:acme/pat:98716"]
	if g.Type != facts.TypeFineGrained || g.Approval != facts.ApprovalApproved || g.ResourceOwner != "acme" || g.Owner != "octocat" ||
		g.Name != "Some Token" || g.CreatedAt == nil || !g.CreatedAt.Equal(time.Date(2026, 5, 16, 15, 47, 9, 0, time.UTC)) ||
		g.ExpiresAt == nil || g.LastUsedAt != nil || g.Permissions.Organization["members"] != "read" || g.Source.Kind != facts.SourceOrgAudit {
		t.Errorf("grant = %+v", g)
	}
	sub := ts["org:acme/pat:98717"]
	if sub.ExpiresAt != nil || sub.Permissions.Account["emails"] != "read" || len(sub.Permissions.Other) != 0 ||
		strings.Join(sub.Repositories, ",") != "acme/Hello-World,acme/docs" {
		t.Errorf("subset grant = %+v %+v", sub, sub.Permissions)
	}
	if r := ts["org:acme/pat:98718"].Repositories; len(r) != 1 {
		t.Errorf("second subset grant repositories = %v", r)
	}
	req := ts["org:acme/request:3001"]
	if req.Approval != facts.ApprovalPending || req.Owner != "jane-contractor" || req.CreatedAt == nil || req.Description == "" {
		t.Errorf("request = %+v", req)
	}
	cr := ts["org:acme/credential:161195"]
	if cr.Type != facts.TypeClassic || strings.Join(cr.Scopes, ",") != "user,repo,delete_repo" || cr.ExpiresAt != nil || cr.LastFour != "fc11" ||
		cr.LastUsedAt == nil || cr.Owner != "octocat" || cr.Name != "laptop release script" {
		t.Errorf("credential = %+v", cr)
	}
	for _, r := range fake.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("%s %s: the audit sends only GETs with a token", r.Method, r.Path)
		}
	}
}

// grants generates n grants in GitHub's shape.
func grants(n int) []json.RawMessage {
	out := make([]json.RawMessage, n)
	for i := range out {
		out[i] = json.RawMessage(fmt.Sprintf(`{"id":%d,"owner":{"login":"user%d","id":%d,"type":"User","site_admin":false},"repository_selection":"all","repositories_url":"https://api.github.com/organizations/1/personal-access-tokens/%d/repositories","permissions":{"organization":{},"repository":{"metadata":"read","contents":"read"},"other":{}},"access_granted_at":"2026-06-01T00:00:00Z","token_id":%d,"token_name":"token %d","token_expired":false,"token_expires_at":"2027-01-01T00:00:00Z","token_last_used_at":"2026-11-01T00:00:00Z"}`,
			100000+i, i%250, i%250, 100000+i, 500000+i, i))
	}
	return out
}

func bigOrg(t testing.TB, n int) *ghapitest.Org {
	return &ghapitest.Org{Login: "bigco", ID: 77, Grants: grants(n), Requests: []json.RawMessage{}, Credentials: []json.RawMessage{},
		Allowed: []string{facts.Fingerprint(appToken)}}
}

func TestTenThousandGrantsInHundredPages(t *testing.T) {
	fake := ghapitest.New(t)
	fake.ServeOrg(bigOrg(t, 10000))
	var streamed []string
	res := audit.Collect(context.Background(), newAPI(t, fake, false), audit.Credentials{Token: facts.NewSecret(appToken)}, catalog(t),
		audit.Options{Orgs: []string{"bigco"}, Credentials: true, Tokens: func(ts []facts.Token) error {
			if len(ts) > 100 {
				t.Errorf("a batch of %d tokens: want one page at a time", len(ts))
			}
			for _, tok := range ts {
				streamed = append(streamed, tok.ID)
			}
			return nil
		}})
	var collected []string
	for _, tok := range res.Tokens {
		collected = append(collected, tok.ID)
	}
	if strings.Join(streamed, ",") != strings.Join(collected, ",") {
		t.Errorf("the tokens handed over page by page (%d) are not the result's (%d), in order", len(streamed), len(collected))
	}
	if len(res.Problems) != 0 {
		t.Fatalf("incomplete: %v", res.Problems)
	}
	seen := map[string]bool{}
	for _, tok := range res.Tokens {
		seen[tok.ID] = true
	}
	if len(res.Tokens) != 10000 || len(seen) != 10000 {
		t.Errorf("%d tokens, %d distinct; want 10000", len(res.Tokens), len(seen))
	}
	// ceil(10000/100) grant pages + one page each of requests and credential authorizations.
	if n := len(fake.Requests()); n != 102 || res.Pages != 102 {
		t.Errorf("%d requests, %d pages; want 102", n, res.Pages)
	}
	followed := 0
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r.Path, "/organizations/77/") {
			followed++
		}
	}
	if followed != 99 {
		t.Errorf("%d requests followed the Link header's /organizations/ID/ path, want 99", followed)
	}
}

func TestFaultsDuringPagination(t *testing.T) {
	const path = "/orgs/bigco/personal-access-tokens"
	run := func(t *testing.T, setup func(*ghapitest.Server), ctx context.Context, opts ghapi.Retry) *audit.Result {
		fake := ghapitest.New(t)
		fake.ServeOrg(bigOrg(t, 350))
		setup(fake)
		opts.BaseDelay = time.Millisecond
		api, _ := ghapi.New(ghapi.Options{APIURL: fake.APIURL(), Retry: opts})
		return audit.Collect(ctx, api, audit.Credentials{Token: facts.NewSecret(appToken)}, catalog(t), audit.Options{Orgs: []string{"bigco"}, Credentials: true})
	}
	bg := context.Background()
	t.Run("502 on a page is retried", func(t *testing.T) {
		res := run(t, func(f *ghapitest.Server) { f.Fault(path, 2, ghapitest.Fixture(t, "server-error.http"), 2) }, bg, ghapi.Retry{})
		if len(res.Tokens) != 350 || len(res.Problems) != 0 {
			t.Errorf("%d tokens, incomplete %v", len(res.Tokens), res.Problems)
		}
	})
	t.Run("secondary limit is waited out", func(t *testing.T) {
		limited := ghapitest.Fixture(t, "secondary-rate-limit.http").With("Retry-After", "0")
		res := run(t, func(f *ghapitest.Server) { f.Fault(path, 3, limited, 2) }, bg, ghapi.Retry{SecondaryRetries: 3})
		if len(res.Tokens) != 350 || len(res.Problems) != 0 {
			t.Errorf("%d tokens, incomplete %v", len(res.Tokens), res.Problems)
		}
	})
	t.Run("exhausted primary limit stops the org as incomplete", func(t *testing.T) {
		res := run(t, func(f *ghapitest.Server) { f.Fault(path, 3, ghapitest.Fixture(t, "primary-rate-limit.http"), 1) }, bg, ghapi.Retry{})
		// Requests are read before grants (to join upgrade requests to their grant): only the
		// credential authorizations are left unread.
		if len(res.Tokens) != 200 || len(res.Problems) != 2 ||
			!strings.Contains(res.Problems[0].Message, "rate limit exhausted until 2026-11-22T02:45:00Z") ||
			res.Problems[1].Source != "org:bigco credential-authorizations" || !strings.Contains(res.Problems[1].Message, "stopped early") {
			t.Errorf("%d tokens, incomplete %+v", len(res.Tokens), res.Problems)
		}
	})
	t.Run("truncated JSON is an error, not a shorter list", func(t *testing.T) {
		truncated := ghapitest.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`[{"id":1,"token_id":2},{"id":`)}
		res := run(t, func(f *ghapitest.Server) { f.Fault(path, 2, truncated, 1) }, bg, ghapi.Retry{})
		if len(res.Tokens) != 100 || len(res.Problems) != 1 || res.Problems[0].Source != "org:bigco personal-access-tokens" ||
			!strings.Contains(res.Problems[0].Message, "not the documented JSON") {
			t.Errorf("%d tokens, incomplete %+v", len(res.Tokens), res.Problems)
		}
	})
	t.Run("a grant without token_id is malformed", func(t *testing.T) {
		bad := ghapitest.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`[{"id":1}]`)}
		res := run(t, func(f *ghapitest.Server) { f.Fault(path, 1, bad, 1) }, bg, ghapi.Retry{})
		if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Message, "item 1 of a page: a grant lacks id or token_id") {
			t.Errorf("incomplete %+v", res.Problems)
		}
	})
	t.Run("SSO 403", func(t *testing.T) {
		res := run(t, func(f *ghapitest.Server) { f.Fault(path, 1, ghapitest.Fixture(t, "sso-required.http"), 1) }, bg, ghapi.Retry{})
		if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Message, "SAML SSO authorization") {
			t.Errorf("incomplete %+v", res.Problems)
		}
	})
	t.Run("timeout keeps what was collected", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(bg, 2*time.Second)
		defer cancel()
		res := run(t, func(f *ghapitest.Server) { f.Fault(path, 2, ghapitest.Response{Block: true}, 1) }, ctx, ghapi.Retry{})
		if len(res.Tokens) != 100 || len(res.Problems) < 1 || !strings.Contains(res.Problems[0].Message, "did not answer within the time limit") {
			t.Errorf("%d tokens, incomplete %+v", len(res.Tokens), res.Problems)
		}
	})
}

func TestEndpointsThatRefuseAreIncompleteWithTheReason(t *testing.T) {
	fake := ghapitest.New(t)
	org := acme(t)
	org.Credentials = nil // not Enterprise Cloud: 404
	fake.ServeOrg(org)
	pat := "ghp_" + strings.Repeat("a", 30) + facts.Checksum(strings.Repeat("a", 30))
	res := audit.Collect(context.Background(), newAPI(t, fake, false), audit.Credentials{Token: facts.NewSecret(pat)}, catalog(t),
		audit.Options{Orgs: []string{"acme"}, Credentials: true})
	if len(res.Tokens) != 0 || len(res.Problems) != 3 {
		t.Fatalf("tokens %d, incomplete %+v", len(res.Tokens), res.Problems)
	}
	if !strings.Contains(res.Problems[0].Message, "answers GitHub Apps only") || !strings.Contains(res.Problems[2].Message, "only on Enterprise Cloud organisations with SAML SSO") {
		t.Errorf("reasons: %+v", res.Problems)
	}
}

func TestAppAuthMintsAndRefreshesInstallationTokens(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	fake := ghapitest.New(t)
	org := bigOrg(t, 300)
	org.Allowed = nil // only tokens the App mints
	fake.ServeOrg(org)
	fakeApp := &ghapitest.App{ID: 4242, Key: &key.PublicKey, Org: "bigco", InstallationID: 31337, TTL: 10 * time.Minute}
	fake.ServeApp(fakeApp, org)

	var clock atomic.Int64 // minutes past the start, advanced by 6 per page
	start := time.Now()
	app := &audit.App{ID: 4242, Key: key, Now: func() time.Time { return start.Add(time.Duration(clock.Load()) * time.Minute) }}
	res := audit.Collect(context.Background(), newAPI(t, fake, true), audit.Credentials{App: app}, catalog(t),
		audit.Options{Orgs: []string{"bigco"}, Credentials: false, Progress: func(audit.Progress) { clock.Add(6) }})
	if len(res.Tokens) != 300 || len(res.Problems) != 0 {
		t.Fatalf("%d tokens, incomplete %+v", len(res.Tokens), res.Problems)
	}
	// Three grant pages and one request page: the 10-minute token is replaced whenever less than
	// five minutes are left, so every page after the first needs a new one.
	if fakeApp.Minted() != 4 || res.Mints != 4 {
		t.Errorf("minted %d (result says %d), want 4", fakeApp.Minted(), res.Mints)
	}
	posts, installs := 0, 0
	for _, r := range fake.Requests() {
		switch {
		case r.Method == http.MethodPost && r.Path == "/app/installations/31337/access_tokens":
			posts++
		case r.Method == http.MethodGet && r.Path == "/orgs/bigco/installation":
			installs++
		case r.Method != http.MethodGet:
			t.Errorf("%s %s: only the installation-token POST may write", r.Method, r.Path)
		}
	}
	if posts != 4 || installs != 1 {
		t.Errorf("%d POSTs, %d installation lookups; want 4 and 1", posts, installs)
	}
}

func TestAppNotInstalled(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	fake := ghapitest.New(t)
	fake.Handle("/orgs/nowhere/installation", func(w http.ResponseWriter, r *http.Request) {
		ghapitest.Write(w, r, ghapitest.Response{Status: 404, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"message":"Not Found","status":"404"}`)})
	})
	res := audit.Collect(context.Background(), newAPI(t, fake, true), audit.Credentials{App: &audit.App{ID: 1, Key: key}}, catalog(t),
		audit.Options{Orgs: []string{"nowhere"}})
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Message, "the GitHub App 1 is not installed on nowhere") {
		t.Errorf("incomplete %+v", res.Problems)
	}
}

func TestPreviewMaxLifetime(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	tok := func(id string, typ facts.TokenType, created, expires *time.Time) facts.Token {
		return facts.Token{ID: id, Type: typ, CreatedAt: created, ExpiresAt: expires, Source: facts.Source{Kind: facts.SourceOrgAudit}}
	}
	ts := []facts.Token{
		tok("never", facts.TypeFineGrained, at(-10*day), nil),
		tok("long", facts.TypeFineGrained, at(-100*day), at(100*day)), // 200 days
		tok("short", facts.TypeFineGrained, at(-10*day), at(20*day)),  // 30 days
		tok("expired", facts.TypeFineGrained, at(-400*day), at(-1*day)),
		tok("classic-far", facts.TypeClassic, nil, at(200*day)),
		tok("classic-near", facts.TypeClassic, nil, at(30*day)),
	}
	var got []string
	for _, b := range audit.PreviewMaxLifetime(ts, 90, now) {
		got = append(got, b.Token.ID+": "+b.Reason)
	}
	want := "never: never expires|long: lives at least 200 days (granted 2026-08-14, expires 2027-03-02)|classic-far: expires in 200 days (2027-06-10)"
	if strings.Join(got, "|") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, "|"), want)
	}
}

// A token GitHub mints with less life than the refresh margin (a skewed clock, a short TTL) is used
// until halfway through its life, not minted again before every request.
func TestATokenMintedNearExpiryIsNotMintedBeforeEveryRequest(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	fake := ghapitest.New(t)
	org := bigOrg(t, 300)
	org.Allowed = nil
	fake.ServeOrg(org)
	fakeApp := &ghapitest.App{ID: 4242, Key: &key.PublicKey, Org: "bigco", InstallationID: 31337, TTL: 3 * time.Minute}
	fake.ServeApp(fakeApp, org)
	start := time.Now()
	app := &audit.App{ID: 4242, Key: key, Now: func() time.Time { return start }}
	res := audit.Collect(context.Background(), newAPI(t, fake, true), audit.Credentials{App: app}, catalog(t),
		audit.Options{Orgs: []string{"bigco"}})
	if len(res.Tokens) != 300 || len(res.Problems) != 0 {
		t.Fatalf("%d tokens, problems %+v", len(res.Tokens), res.Problems)
	}
	if fakeApp.Minted() != 1 {
		t.Errorf("minted %d tokens for 4 pages read within a minute, want 1", fakeApp.Minted())
	}
}
