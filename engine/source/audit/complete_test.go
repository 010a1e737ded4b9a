package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/decide"
	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
	"github.com/tokencheck/tokencheck/engine/source/audit"
)

// acmeComplete is acme with the fixtures of the audit's completeness: an upgrade request for grant
// 25381's token, a subset request with its repositories, a grant with GitHub's new permissions,
// and OAuth app and SSH key credential authorizations.
func acmeComplete(t testing.TB) *ghapitest.Org {
	org := acme(t)
	org.Grants = append(org.Grants, ghapitest.FixtureList(t, "org-grants-new-permissions.json")...)
	org.Requests = append(org.Requests, ghapitest.FixtureList(t, "org-requests-upgrade.json")...)
	org.Credentials = ghapitest.FixtureList(t, "org-credential-authorizations-oauth.json")
	org.Repositories[25390] = ghapitest.FixtureList(t, "org-grant-repositories.json")[:1]
	org.RequestRepositories = map[int64][]json.RawMessage{3003: ghapitest.FixtureList(t, "org-request-repositories.json")}
	return org
}

func collect(t *testing.T, fake *ghapitest.Server, opts audit.Options) (*audit.Result, []string) {
	t.Helper()
	var streamed []string
	if opts.Orgs == nil {
		opts.Orgs = []string{"acme"}
	}
	opts.Tokens = func(ts []facts.Token) error {
		for _, tok := range ts {
			streamed = append(streamed, tok.ID)
		}
		return nil
	}
	res := audit.Collect(context.Background(), newAPI(t, fake, false), audit.Credentials{Token: facts.NewSecret(appToken)}, catalog(t), opts)
	return res, streamed
}

func ids(ts []facts.Token) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

// A pending request for a token the organisation already approved is that token, once: the
// request, judged on what the token would have once approved, with the approved access beside it
// and both of GitHub's ids for review.
func TestUpgradeRequestIsOneTokenWithItsGrant(t *testing.T) {
	for _, repositories := range []bool{false, true} {
		t.Run(fmt.Sprintf("repositories=%v", repositories), func(t *testing.T) {
			fake := ghapitest.New(t)
			fake.ServeOrg(acmeComplete(t))
			res, streamed := collect(t, fake, audit.Options{Repositories: repositories})
			if len(res.Problems) != 0 {
				t.Fatalf("problems %v", res.Problems)
			}
			want := "org:acme/pat:98717,org:acme/pat:98718,org:acme/pat:98790,org:acme/request:3001,org:acme/request:3002,org:acme/request:3003"
			if got := strings.Join(ids(res.Tokens), ","); got != want {
				t.Fatalf("tokens %s\nwant   %s (grant 25381's token only as request 3002)", got, want)
			}
			if strings.Join(streamed, ",") != want {
				t.Errorf("handed on %v, want the result's tokens in order, each once", streamed)
			}
			if res.Counts[audit.SourceGrants] != 3 || res.Counts[audit.SourceRequests] != 3 || res.Upgrades != 1 {
				t.Errorf("counts %v, upgrades %d", res.Counts, res.Upgrades)
			}
			up := byID(res.Tokens)["org:acme/request:3002"]
			granted := time.Date(2026, 5, 16, 15, 47, 9, 0, time.UTC)
			if up.Approval != facts.ApprovalPending || up.Description != "The release job now also needs to change branch protection" ||
				up.RepositorySelection != facts.SelectAll || up.CreatedAt == nil || !up.CreatedAt.Equal(granted) {
				t.Errorf("upgrade = %+v", up)
			}
			// Judged on the requested result: the grant's permissions and the ones asked for.
			if !reflect.DeepEqual(up.Permissions, &facts.Permissions{
				Repository: map[string]string{"metadata": "read", "administration": "write"}, Organization: map[string]string{"members": "read"}}) {
				t.Errorf("permissions %+v", up.Permissions)
			}
			if up.Current == nil || up.Current.ID != "org:acme/pat:98716" || up.Current.RepositorySelection != facts.SelectAll || up.Current.GrantedAt == nil || !up.Current.GrantedAt.Equal(granted) ||
				!reflect.DeepEqual(up.Current.Permissions, &facts.Permissions{Repository: map[string]string{"metadata": "read"}, Organization: map[string]string{"members": "read"}}) {
				t.Errorf("current = %+v", up.Current)
			}
			if got := res.GitHubIDs["org:acme/request:3002"]; got != (audit.GitHubIDs{Grant: 25381, Request: 3002, Token: 98716}) {
				t.Errorf("ids of the upgrade %+v", got)
			}
			if got := res.GitHubIDs["org:acme/request:3003"]; got != (audit.GitHubIDs{Request: 3003, Token: 99002}) {
				t.Errorf("ids of a new request %+v", got)
			}
			if got := res.GitHubIDs["org:acme/pat:98717"]; got != (audit.GitHubIDs{Grant: 25382, Token: 98717}) {
				t.Errorf("ids of a grant %+v", got)
			}
			if _, ok := res.GitHubIDs["org:acme/pat:98716"]; ok {
				t.Errorf("the grant taken into the upgrade request still has ids of its own token")
			}
			if g := byID(res.Tokens)["org:acme/pat:98717"]; g.Current != nil || g.Approval != facts.ApprovalApproved {
				t.Errorf("a grant without a request changed: %+v", g)
			}
			// Review decides the upgrade as the request it is, never as a grant to revoke.
			for _, sub := range decide.Subjects(res.Tokens, nil, func(tok facts.Token) (int64, bool) {
				ids, ok := res.GitHubIDs[tok.ID]
				return ids.Grant, ok
			}) {
				if sub.Token.ID == "org:acme/request:3002" && (sub.Kind != decide.KindRequest || sub.ID != 3002) {
					t.Errorf("review sees the upgrade as %s %d", sub.Kind, sub.ID)
				}
				if sub.Kind == decide.KindGrant && sub.TokenID == 98716 {
					t.Errorf("review sees the upgraded token as a grant of its own")
				}
			}
		})
	}
}

// An upgrade of a grant limited to some repositories: the token reaches the repositories of both
// lists, each permission at the higher level asked or granted, and the approved list stays as
// Current.
func TestUpgradeOfASubsetGrant(t *testing.T) {
	grant := `{"id":41,"owner":{"login":"mona"},"repository_selection":"subset","permissions":{"repository":{"contents":"write","metadata":"read"},"organization":{},"other":{}},"access_granted_at":"2026-06-01T00:00:00Z","token_id":900,"token_name":"ci","token_expired":false,"token_expires_at":"2026-12-01T00:00:00Z","token_last_used_at":"2026-11-01T00:00:00Z"}`
	request := `{"id":51,"reason":"also the docs","owner":{"login":"mona"},"repository_selection":"subset","permissions":{"repository":{"contents":"read","issues":"write","metadata":"read"},"organization":{},"other":{}},"created_at":"2026-11-20T00:00:00Z","token_id":900,"token_name":"ci","token_expired":false,"token_expires_at":"2026-12-01T00:00:00Z","token_last_used_at":"2026-11-21T00:00:00Z"}`
	repo := func(name string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"id":1,"name":%q,"full_name":"acme/%s"}`, name, name))
	}
	fake := ghapitest.New(t)
	fake.ServeOrg(&ghapitest.Org{Login: "acme", ID: 9, Grants: []json.RawMessage{json.RawMessage(grant)}, Requests: []json.RawMessage{json.RawMessage(request)},
		Repositories:        map[int64][]json.RawMessage{41: {repo("app"), repo("api")}},
		RequestRepositories: map[int64][]json.RawMessage{51: {repo("api"), repo("docs")}},
		Allowed:             []string{facts.Fingerprint(appToken)}})
	res, _ := collect(t, fake, audit.Options{Repositories: true})
	if len(res.Tokens) != 1 || len(res.Problems) != 0 {
		t.Fatalf("tokens %v, problems %v", ids(res.Tokens), res.Problems)
	}
	tok := res.Tokens[0]
	if strings.Join(tok.Repositories, ",") != "acme/app,acme/api,acme/docs" || tok.Current == nil || strings.Join(tok.Current.Repositories, ",") != "acme/app,acme/api" {
		t.Errorf("repositories %v, current %+v", tok.Repositories, tok.Current)
	}
	if got := tok.Permissions.Repository; !reflect.DeepEqual(got, map[string]string{"contents": "write", "issues": "write", "metadata": "read"}) {
		t.Errorf("permissions %v: want each at the higher level", got)
	}
	if tok.LastUsedAt == nil || tok.LastUsedAt.Day() != 21 {
		t.Errorf("last used %v, want the later of the two", tok.LastUsedAt)
	}
	if tok.ID != "org:acme/request:51" || tok.CreatedAt == nil || tok.CreatedAt.Month() != time.June {
		t.Errorf("id %s, created %v: want the request, created by the grant time", tok.ID, tok.CreatedAt)
	}
}

// The repositories a subset request asks for are read with --repositories; when they cannot be
// read the token says its repositories are unknown and the audit is incomplete, never a shorter
// list.
func TestSubsetRequestRepositories(t *testing.T) {
	fake := ghapitest.New(t)
	fake.ServeOrg(acmeComplete(t))
	res, _ := collect(t, fake, audit.Options{Repositories: true})
	req := byID(res.Tokens)["org:acme/request:3003"]
	if strings.Join(req.Repositories, ",") != "acme/release-notes,acme/Hello-World" || req.IsUnknown("repositories") {
		t.Errorf("request repositories %v (unknown %v)", req.Repositories, req.Unknown)
	}
	if g := byID(res.Tokens)["org:acme/pat:98790"]; strings.Join(g.Repositories, ",") != "acme/Hello-World" {
		t.Errorf("grant repositories %v", g.Repositories)
	}

	fake = ghapitest.New(t)
	fake.ServeOrg(acmeComplete(t))
	forbidden := ghapitest.Response{Status: http.StatusForbidden, Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(`{"message":"Resource not accessible by integration","status":"403"}`)}
	fake.Fault("/orgs/acme/personal-access-token-requests/3003/repositories", 1, forbidden, 1)
	res, _ = collect(t, fake, audit.Options{Repositories: true})
	req = byID(res.Tokens)["org:acme/request:3003"]
	if req.Repositories != nil || !req.IsUnknown("repositories") {
		t.Errorf("unreadable repositories: %v, unknown %v", req.Repositories, req.Unknown)
	}
	if len(res.Problems) != 1 || res.Problems[0].Kind != finding.Incomplete || res.Problems[0].Source != "org:acme personal-access-token-requests/3003/repositories" {
		t.Errorf("problems %+v", res.Problems)
	}
}

// OAuth app tokens authorized for SSO are judged with their scopes; SSH keys are counted, not
// judged; the time of the SSO authorization bounds each token's creation.
func TestCredentialAuthorizationsOfEachKind(t *testing.T) {
	fake := ghapitest.New(t)
	fake.ServeOrg(acmeComplete(t))
	res, _ := collect(t, fake, audit.Options{Credentials: true})
	if len(res.Problems) != 0 {
		t.Fatalf("problems %v", res.Problems)
	}
	if res.Counts[audit.SourceCredentials] != 3 || !reflect.DeepEqual(res.Skipped, map[string]int{"SSH key": 1}) {
		t.Errorf("counts %v, skipped %v", res.Counts, res.Skipped)
	}
	ts := byID(res.Tokens)
	oauth := ts["org:acme/credential:161197"]
	if oauth.Type != facts.TypeOAuth || strings.Join(oauth.Scopes, ",") != "repo,read:org" || oauth.Owner != "hubot" || oauth.SSO != facts.SSOAuthorized ||
		oauth.LastFour != "" || oauth.CreatedAt == nil || !oauth.CreatedAt.Equal(time.Date(2026, 3, 2, 8, 15, 0, 0, time.UTC)) {
		t.Errorf("oauth = %+v", oauth)
	}
	if c := ts["org:acme/credential:161198"]; c.Type != facts.TypeClassic || c.LastFour != "Ae4b" || c.CreatedAt == nil || c.ExpiresAt == nil {
		t.Errorf("classic = %+v", c)
	}
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	var got []string
	for _, b := range audit.PreviewMaxLifetime(res.Tokens, 90, now) {
		if strings.Contains(b.Token.ID, "credential") {
			got = append(got, b.Token.ID+": "+b.Reason)
		}
	}
	want := []string{
		"org:acme/credential:161195: never expires",
		"org:acme/credential:161197: never expires",
		"org:acme/credential:161198: lives at least 546 days (authorized for SSO 2026-02-01, expires 2027-08-01)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("preview\n got %q\nwant %q", got, want)
	}
}

// The grant with each permission GitHub added lately keeps every one, in its group; the account
// permission GitHub lists under "other" is placed by the catalogue.
func TestGrantWithGitHubsNewPermissions(t *testing.T) {
	fake := ghapitest.New(t)
	fake.ServeOrg(acmeComplete(t))
	res, _ := collect(t, fake, audit.Options{})
	g := byID(res.Tokens)["org:acme/pat:98790"]
	if g.Permissions == nil || len(g.Permissions.Other) != 0 || g.Permissions.Account["copilot_requests"] != "write" ||
		len(g.Permissions.Organization) != 8 || g.Permissions.Organization["org_copilot_content_exclusion"] != "read" ||
		len(g.Permissions.Repository) != 6 || g.Permissions.Repository["artifact_metadata"] != "write" {
		t.Errorf("permissions %+v", g.Permissions)
	}
	cat := catalog(t)
	for _, group := range []map[string]string{g.Permissions.Repository, g.Permissions.Organization, g.Permissions.Account} {
		for name := range group {
			if cat.PermissionGroup(name) == facts.GroupOther {
				t.Errorf("the catalogue does not know %s", name)
			}
		}
	}
}

// --owner: the grant and request lists are filtered with GitHub's owner[] parameter, ten logins a
// call, the filter kept on every page; credential authorizations with login, one call per owner.
func TestOwnersFilterTheLists(t *testing.T) {
	fake := ghapitest.New(t)
	org := bigOrg(t, 10000)       // owners user0..user249, 40 grants each
	for i, g := range grants(3) { // requests for new tokens of user0..user2
		var r map[string]any
		json.Unmarshal(g, &r)
		r["id"], r["token_id"] = 700000+i, 900000+i
		raw, _ := json.Marshal(r)
		org.Requests = append(org.Requests, raw)
	}
	fake.ServeOrg(org)
	var owners []string
	for i := 1; i <= 12; i++ {
		owners = append(owners, fmt.Sprintf("user%d", i))
	}
	owners = append(owners, "USER3") // the same login: asked for once
	res, streamed := collect(t, fake, audit.Options{Orgs: []string{"bigco"}, Owners: owners, Credentials: true})
	if len(res.Problems) != 0 {
		t.Fatalf("problems %v", res.Problems)
	}
	// 12 owners × 40 grants, and the requests of user1 and user2 (user0's is not asked for).
	if res.Counts[audit.SourceGrants] != 480 || res.Counts[audit.SourceRequests] != 2 || len(streamed) != 482 {
		t.Errorf("counts %v, %d handed on", res.Counts, len(streamed))
	}
	for _, tok := range res.Tokens {
		n := 0
		fmt.Sscanf(tok.Owner, "user%d", &n)
		if n < 1 || n > 12 {
			t.Fatalf("token %s of %s, who was not asked for", tok.ID, tok.Owner)
		}
	}
	calls := map[string][]string{}
	for _, r := range fake.Requests() {
		q, _ := url.ParseQuery(r.RawQuery)
		switch {
		case strings.HasSuffix(r.Path, "/personal-access-tokens"), strings.HasSuffix(r.Path, "/personal-access-token-requests"):
			got := q["owner[]"]
			if len(got) == 0 || len(got) > audit.MaxOwnersPerCall {
				t.Errorf("%s?%s: want 1 to %d owners on every page", r.Path, r.RawQuery, audit.MaxOwnersPerCall)
			}
			if q.Get("page") == "" || q.Get("page") == "1" {
				calls[r.Path] = append(calls[r.Path], strings.Join(got, ","))
			}
		case strings.HasSuffix(r.Path, "/credential-authorizations"):
			calls["credentials"] = append(calls["credentials"], q.Get("login"))
		}
	}
	chunks := []string{"user1,user2,user3,user4,user5,user6,user7,user8,user9,user10", "user11,user12"}
	if !reflect.DeepEqual(calls["/orgs/bigco/personal-access-tokens"], chunks) || !reflect.DeepEqual(calls["/orgs/bigco/personal-access-token-requests"], chunks) {
		t.Errorf("first pages %v", calls)
	}
	if strings.Join(calls["credentials"], ",") != strings.Join(owners[:12], ",") {
		t.Errorf("credential authorizations asked for %v", calls["credentials"])
	}
}

// A login GitHub cannot have is bad input, and a targeted audit whose every owner is bad reads
// nothing rather than everyone's tokens.
func TestBadOwners(t *testing.T) {
	fake := ghapitest.New(t)
	fake.ServeOrg(acmeComplete(t))
	res, _ := collect(t, fake, audit.Options{Owners: []string{"octocat", "not a login"}})
	if len(res.Problems) != 1 || res.Problems[0].Kind != finding.Input || !strings.Contains(res.Problems[0].Message, `"not a login" is not a GitHub login`) {
		t.Errorf("problems %+v", res.Problems)
	}
	for _, tok := range res.Tokens {
		if tok.Owner != "octocat" {
			t.Errorf("token %s of %s", tok.ID, tok.Owner)
		}
	}
	before := len(fake.Requests())
	res, _ = collect(t, fake, audit.Options{Owners: []string{"-bad-", "a/b"}})
	if len(res.Tokens) != 0 || len(res.Problems) != 2 || len(fake.Requests()) != before {
		t.Errorf("tokens %d, problems %+v, %d requests", len(res.Tokens), res.Problems, len(fake.Requests())-before)
	}
}
