package decide_test

import (
	"testing"

	"github.com/tokencheck/tokencheck/engine/decide"
	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
)

func TestSubjectsFromOrgAudit(t *testing.T) {
	tokens := []facts.Token{{ID: "org:acme/request:31"}, {ID: "org:acme/pat:900"}, {ID: "org:acme/pat:901"}, {ID: "org:acme/credential:5"}}
	fs := []finding.Finding{{Rule: "no-expiration", Token: "org:acme/request:31"}, {Rule: "expired", Token: "org:acme/pat:900"}}
	got := decide.Subjects(tokens, fs, func(t facts.Token) (int64, bool) {
		if t.ID == "org:acme/pat:900" {
			return 17, true
		}
		return 0, false
	})
	if len(got) != 2 {
		t.Fatalf("subjects = %+v", got)
	}
	if r := got[0]; r.Kind != decide.KindRequest || r.Org != "acme" || r.ID != 31 || len(r.Findings) != 1 || r.Findings[0].Rule != "no-expiration" {
		t.Errorf("request = %+v", r)
	}
	if g := got[1]; g.Kind != decide.KindGrant || g.ID != 17 || g.TokenID != 900 || len(g.Findings) != 1 {
		t.Errorf("grant = %+v", g)
	}
	if _, _, _, ok := decide.ParseTokenID("tokens.yaml#3"); ok {
		t.Error("an inventory id parsed as an org token")
	}
}
