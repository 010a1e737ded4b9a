package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
)

// acmeCompleteFake serves acme with an upgrade request, a subset request with its repositories, a
// grant with GitHub's new permissions and credential authorizations of each kind.
func acmeCompleteFake(t *testing.T) *ghapitest.Server {
	fake := ghapitest.New(t)
	org := &ghapitest.Org{
		Login: "acme", ID: 652551,
		Grants:      append(ghapitest.FixtureList(t, "org-grants.json"), ghapitest.FixtureList(t, "org-grants-new-permissions.json")...),
		Requests:    append(ghapitest.FixtureList(t, "org-requests.json"), ghapitest.FixtureList(t, "org-requests-upgrade.json")...),
		Credentials: ghapitest.FixtureList(t, "org-credential-authorizations-oauth.json"),
		Repositories: map[int64][]json.RawMessage{
			25382: ghapitest.FixtureList(t, "org-grant-repositories.json"),
			25383: ghapitest.FixtureList(t, "org-grant-repositories.json")[:1],
			25390: ghapitest.FixtureList(t, "org-grant-repositories.json")[:1],
		},
		RequestRepositories: map[int64][]json.RawMessage{3003: ghapitest.FixtureList(t, "org-request-repositories.json")},
		Allowed:             []string{facts.Fingerprint(auditToken)},
	}
	fake.ServeOrg(org)
	return fake
}

// block returns the text report's paragraph about a token ("" when it has none).
func block(report, id string) string {
	for _, b := range strings.Split(report, "\n\n") {
		if strings.HasPrefix(b, id+" ") {
			return b
		}
	}
	return ""
}

// What a user auditing acme sees: the upgrade request judged with its token on what it asks for,
// the new request's repositories, the OAuth app token, the SSH key said and not judged, the lifetime
// preview bounded by the SSO authorization, and no false alarm on GitHub's new permissions.
func TestAuditUpgradeRequestsOAuthTokensAndNewPermissions(t *testing.T) {
	fake := acmeCompleteFake(t)
	factsFile := filepath.Join(t.TempDir(), "facts.json")
	r := tokencheck(t, map[string]string{"GH_TOKEN": auditToken}, "audit", "--org", "acme", "--api-url", fake.APIURL(),
		"--now", fixedNow, "--repositories", "--preview-max-lifetime", "90", "--facts-out", factsFile)
	if r.code != exitViolations {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	up := block(r.stdout, "org:acme/request:3002")
	if !strings.Contains(up, "dangerous permission administration:write") || !strings.Contains(up, "approval-pending") {
		t.Errorf("the upgrade request is not judged on what it asks for:\n%s", up)
	}
	if strings.Contains(r.stdout, "org:acme/pat:98716") {
		t.Errorf("the token the upgrade request is for is also judged on its own:\n%s", r.stdout)
	}
	if b := block(r.stdout, "org:acme/credential:161197"); !strings.HasPrefix(b, "org:acme/credential:161197 [oauth]") || !strings.Contains(b, "no-expiration") {
		t.Errorf("OAuth app token:\n%s", b)
	}
	for _, absent := range []string{"invalid-permission", "catalogue-outdated", "unknown permission", "161196"} {
		if strings.Contains(r.stdout, absent) {
			t.Errorf("report mentions %q:\n%s", absent, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "tokens by source: credential_authorizations 3, grants 3, requests 3") ||
		!strings.Contains(r.stdout, "org:acme/credential:161198 (package mirror) [classic] owner hubot: lives at least 546 days (authorized for SSO 2026-02-01, expires 2027-08-01)") {
		t.Errorf("audit summary:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "credential authorizations that are not tokens, listed by GitHub but not judged: SSH key 1") {
		t.Errorf("the SSH key is not said:\n%s", r.stderr)
	}

	raw, err := os.ReadFile(factsFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc facts.Document
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	toks := map[string]facts.Token{}
	for _, tok := range doc.Tokens {
		toks[tok.ID] = tok
	}
	got := toks["org:acme/request:3002"]
	if got.Approval != facts.ApprovalPending || got.Permissions.Repository["administration"] != "write" ||
		got.Current == nil || got.Current.ID != "org:acme/pat:98716" || got.Current.Permissions.Repository["administration"] != "" || got.Current.Permissions.Organization["members"] != "read" {
		t.Errorf("facts of the upgrade: %s", mustJSON(got))
	}
	if repos := toks["org:acme/request:3003"].Repositories; strings.Join(repos, ",") != "acme/release-notes,acme/Hello-World" {
		t.Errorf("repositories of the subset request: %v", repos)
	}
	// The facts, current access included, read back by check judge the same.
	c := tokencheck(t, nil, "check", "--now", fixedNow, factsFile)
	if c.code != r.code || !strings.Contains(block(c.stdout, "org:acme/request:3002"), "dangerous permission administration:write") {
		t.Errorf("check of the audit's facts: exit %d\n%s", c.code, c.stdout)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// --owner audits the tokens of the named accounts only, with GitHub's own filters.
func TestAuditOwner(t *testing.T) {
	fake := acmeCompleteFake(t)
	env := map[string]string{"GH_TOKEN": auditToken}
	r := tokencheck(t, env, "audit", "--org", "acme", "--owner", "hubot", "--api-url", fake.APIURL(), "--now", fixedNow, "--format", "json")
	var rep struct {
		Tokens []struct{ ID string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s%s", err, r.stdout, r.stderr)
	}
	var got []string
	for _, tok := range rep.Tokens {
		got = append(got, tok.ID)
	}
	want := "org:acme/pat:98717,org:acme/request:3003,org:acme/credential:161197,org:acme/credential:161198"
	if r.code != exitViolations || strings.Join(got, ",") != want {
		t.Errorf("exit %d, tokens %v\nwant %s\n%s", r.code, got, want, r.stderr)
	}
	for _, req := range fake.Requests() {
		q, _ := url.ParseQuery(req.RawQuery)
		filter := q["owner[]"]
		if strings.HasSuffix(req.Path, "/credential-authorizations") {
			filter = q["login"]
		}
		if strings.Join(filter, ",") != "hubot" {
			t.Errorf("%s?%s: not filtered by the owner", req.Path, req.RawQuery)
		}
	}

	before := len(fake.Requests())
	r = tokencheck(t, env, "audit", "--org", "acme", "--owner", "not a login", "--api-url", fake.APIURL(), "--now", fixedNow)
	if r.code != exitError || !strings.Contains(r.stdout, `"not a login" is not a GitHub login`) || !strings.Contains(r.stdout, "--owner") {
		t.Errorf("bad --owner: exit %d\n%s", r.code, r.stdout)
	}
	if n := len(fake.Requests()) - before; n != 0 {
		t.Errorf("with no valid owner the audit still read %d page(s) (everyone's tokens)", n)
	}
}
