package webhook_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
	"github.com/tokencheck/tokencheck/engine/source/webhook"
	"github.com/tokencheck/tokencheck/policies"
)

func catalog(t *testing.T) *facts.Catalog {
	t.Helper()
	raw, err := fs.ReadFile(policies.FS, policies.CatalogFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := facts.ParseCatalog(raw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fixture(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(ghapitest.FixturesDir(), "webhooks", "personal_access_token_request.created.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestParseRequestFromGitHubsPayload(t *testing.T) {
	r, err := webhook.ParseRequest([]byte(fixture(t)), catalog(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.Action != "created" || r.Org != "acme" || r.InstallationID != 4242 || r.RequestID != 25381 || r.TokenID != 1847193 {
		t.Errorf("identity = %+v", r)
	}
	exp := time.Date(2027, 11, 20, 9, 15, 0, 0, time.UTC)
	created := time.Date(2026, 11, 20, 9, 15, 0, 0, time.UTC)
	want := facts.Token{
		ID: "org:acme/request:25381", Name: "release automation", Type: facts.TypeFineGrained, Owner: "octocat", ResourceOwner: "acme",
		RepositorySelection: facts.SelectSubset, Repositories: []string{"acme/app", "acme/docs"},
		Permissions: &facts.Permissions{Repository: map[string]string{"administration": "write", "contents": "write", "metadata": "read"}, Organization: map[string]string{"members": "read"}},
		CreatedAt:   &created, ExpiresAt: &exp, Approval: facts.ApprovalPending, Source: facts.Source{Kind: facts.SourceOrgAudit},
	}
	if !reflect.DeepEqual(r.Token, want) {
		t.Errorf("token =\n%+v\nwant\n%+v", r.Token, want)
	}
}

func TestParseRequestPartialFacts(t *testing.T) {
	cat := catalog(t)
	base := fixture(t)
	edit := func(old, new string) []byte {
		if !strings.Contains(base, old) {
			t.Fatalf("fixture lacks %q", old)
		}
		return []byte(strings.Replace(base, old, new, 1))
	}
	// Fewer repositories than repository_count: the list is partial.
	r, err := webhook.ParseRequest(edit(`"repository_count": 2`, `"repository_count": 3`), cat)
	if err != nil || !r.Token.IsUnknown("repositories") {
		t.Errorf("partial repositories: %v, unknown %v", err, r.Token.Unknown)
	}
	// No expiry: a token that never expires, not an unknown one.
	r, _ = webhook.ParseRequest(edit(`"token_expires_at": "2027-11-20T09:15:00Z"`, `"token_expires_at": null`), cat)
	if r.Token.ExpiresAt != nil || len(r.Token.Unknown) != 0 {
		t.Errorf("null expiry: %v, unknown %v", r.Token.ExpiresAt, r.Token.Unknown)
	}
	// No expiry key at all: unknown.
	r, _ = webhook.ParseRequest(edit(`"token_expires_at": "2027-11-20T09:15:00Z",`, ``), cat)
	if !r.Token.IsUnknown(facts.FactExpiresAt) {
		t.Errorf("absent expiry: unknown %v", r.Token.Unknown)
	}
	// Account permissions come in "other" and are placed by the catalogue; unknown names stay in other.
	r, _ = webhook.ParseRequest(edit(`"permissions_result": {`, `"permissions_result": {"other": {"gists": "write", "made_up": "read"},`), cat)
	if r.Token.Permissions.Account["gists"] != "write" || r.Token.Permissions.Other["made_up"] != "read" {
		t.Errorf("other permissions = %+v", r.Token.Permissions)
	}
	for _, c := range []struct{ old, new, err string }{
		{`"login": "acme"`, `"login": ""`, "organization.login"},
		{`"id": 25381,`, ``, "personal_access_token_request.id"},
		{`"action": "created",`, ``, "no action"},
		{`{`, `[`, "payload"},
	} {
		if _, err := webhook.ParseRequest(edit(c.old, c.new), cat); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: err = %v", c.err, err)
		}
	}
}
