package source

import (
	"maps"
	"strings"
	"testing"
)

func TestInventoryUsesBecomeNeeds(t *testing.T) {
	tokens, errs := decodeInventory(t, `tokens:
  - id: pr-bot
    type: fine_grained
    uses:
      - GET /repos/{owner}/{repo}/pulls
      - POST /repos/acme/app/issues/12/comments
      - GET /repos/acme/app/contents/docs/index.md
  - id: both
    type: classic
    scopes: [repo]
    needs: {actions: read, issues: read}
    uses: [POST /repos/acme/app/issues, GET /user/packages, GET /user]
  - id: org-reader
    type: fine_grained
    uses: [GET /orgs/acme/members]
  - id: profile-reader
    type: fine_grained
    uses: [GET /user, GET /search/code]
  - id: publisher
    type: classic
    scopes: [write:packages]
    uses: [POST /user/packages/npm/x/restore]
`)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := map[string]map[string]string{
		"pr-bot":     {"pull_requests": "read", "issues": "write", "contents": "read", "metadata": "read"},
		"both":       {"actions": "read", "issues": "write", "metadata": "read"},
		"org-reader": {"members": "read"},
		// Calls that need no permission, or only a classic scope, need no more than metadata:read.
		"profile-reader": {"metadata": "read"},
		"publisher":      {"metadata": "read"},
	}
	if len(tokens) != len(want) {
		t.Fatalf("got %d tokens, want %d", len(tokens), len(want))
	}
	for _, tok := range tokens {
		if !maps.Equal(tok.Needs, want[tok.ID]) {
			t.Errorf("%s: needs = %v, want %v", tok.ID, tok.Needs, want[tok.ID])
		}
	}
}

func TestInventoryUsesErrorsAtTheirLine(t *testing.T) {
	tokens, errs := decodeInventory(t, `tokens:
  - id: typo
    type: fine_grained
    uses:
      - GET /repos/{owner}/{repo}/pulls
      - GET /repos/{owner}/{repo}/pullz
      - FETCH /user
      - GET /user/packages
  - id: not-a-list
    type: classic
    uses: GET /user
`)
	if len(tokens) != 2 {
		t.Fatalf("declarations with bad uses are still judged: got %d tokens", len(tokens))
	}
	if got := tokens[0].Needs; got["pull_requests"] != "read" {
		t.Errorf("the good call still counts: needs = %v", got)
	}
	want := []string{
		"inv.yaml:6: token typo: uses GET /repos/{owner}/{repo}/pullz: no such endpoint in GitHub's table (REST API 2026-03-10); nearest: GET /repos/{owner}/{repo}/pulls,",
		`inv.yaml:7: token typo: uses: "FETCH /user": method FETCH is not one of`,
		"inv.yaml:8: token typo: uses GET /user/packages, which a fine-grained token cannot call (a classic token with read:packages can)",
		`inv.yaml:11: uses: want a list of API calls`,
	}
	if len(errs) != len(want) {
		t.Fatalf("errors = %v", errs)
	}
	for i, w := range want {
		if !strings.Contains(errs[i].Error(), w) {
			t.Errorf("error %d = %q, want it to contain %q", i, errs[i], w)
		}
	}
}

func TestTemplateLinkMetadataOnlyWithRepositoryPermissions(t *testing.T) {
	cat := catalog(t)
	for _, tc := range []struct {
		query        string
		wantMetadata bool
	}{
		{"contents=read", true},
		{"issues=write&members=read", true},
		{"members=read", false},
		{"gists=write&organization_copilot_metrics=read", false},
		{"", false},
	} {
		link, _ := ParseTemplateLink("https://github.com/settings/personal-access-tokens/new?name=x&"+tc.query, cat)
		tok := link.Token(cat, now)
		_, got := tok.Permissions.Repository["metadata"]
		if got != tc.wantMetadata {
			t.Errorf("%s: metadata:read added = %v, want %v (permissions %+v)", tc.query, got, tc.wantMetadata, tok.Permissions)
		}
	}
}
