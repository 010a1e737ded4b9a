package policy

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// The policy input built directly as Rego values is the token's JSON encoding, field for field, so
// rules read the names a facts document shows.
func TestTokenTermIsTheTokensJSON(t *testing.T) {
	at := time.Date(2026, 11, 22, 1, 2, 3, 4, time.UTC)
	tok := facts.Token{
		ID: "live:x", Name: "n", Description: "d", Type: facts.TypeFineGrained, Fingerprint: "sha256:0", LastFour: "abcd",
		Owner: "o", ResourceOwner: "acme", Scopes: []string{"repo"}, ScopesEffective: []string{"repo", "repo:status"},
		RepositorySelection: facts.SelectSubset, Repositories: []string{"acme/app"},
		Permissions: &facts.Permissions{Repository: map[string]string{"contents": "read"}, Other: map[string]string{"x": "read"}},
		CreatedAt:   &at, ExpiresAt: &at, LastUsedAt: &at, Approval: facts.ApprovalApproved, SSO: facts.SSORequired,
		Needs: map[string]string{"contents": "read"}, NeedsScopes: []string{"repo"}, ClassicReason: "packages",
		AcceptedPermissions: []map[string]string{{"pull_requests": "read", "contents": "read"}, {}},
		AcceptedScopes:      []string{"repo", "read:org"},
		Unknown:             []string{"owner"}, Source: facts.Source{Kind: facts.SourceHeaders, File: "f", Line: 3},
	}
	raw, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ast.ParseTerm(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := tokenTerm(&tok); got.Value.Compare(want.Value) != 0 {
		t.Errorf("tokenTerm differs from the JSON encoding:\n got %v\nwant %v", got, want)
	}
}
