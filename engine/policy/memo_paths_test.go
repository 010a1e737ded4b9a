package policy

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// memoPathsUnderTest are footprint paths of every kind: each token field, the paths under the
// source and the permissions, the derived facts, the clock, and paths the input never has.
func memoPathsUnderTest() [][]string {
	var out [][]string
	for _, f := range tokenFields {
		out = append(out, []string{"token", f.name})
	}
	for _, p := range []string{
		"token.source.kind", "token.source.file", "token.source.line", "token.source.nope",
		"token.permissions.repository", "token.permissions.organization", "token.permissions.account",
		"token.permissions.other", "token.permissions.nope", "token.permissions.repository.contents",
		"token.current.permissions", "token.current.id", "token.scopes.x", "token.name.x", "token.nope",
		"now", "now.x", "derived", "derived.now_ns", "derived.ns", "derived.ns.created_at",
		"derived.ns.expires_at", "derived.ns.last_used_at", "derived.ns.nope", "derived.ns.created_at.x",
		"derived.replacement", "derived.replacement.permissions", "derived.replacement.link",
		"derived.replacement.permissions.contents", "derived.nope", "nope",
	} {
		out = append(out, splitPath(p))
	}
	return out
}

func splitPath(p string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '.' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return out
}

// memoEdgeTokens are tokens at the edges of the input's encoding: empty fields, empty but present
// permissions, empty alternatives, an upgrade request, scopes_effective given, times in zones
// and beyond the clamped range.
func memoEdgeTokens() []facts.Token {
	z := time.FixedZone("X", 5*3600+1800)
	t1 := time.Date(2026, 3, 1, 12, 30, 15, 123, z)
	t2 := t1.UTC()                                         // the same instant in another zone
	t3 := time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC)      // clamped
	t4 := time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)      // the bound itself
	t5 := time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)      // clamped
	t6 := time.Date(2026, 3, 1, 12, 30, 15, 123, time.UTC) // same wall clock as t1, not the same instant
	return []facts.Token{
		{},
		{ID: "a", Type: facts.TypeClassic, Scopes: []string{"repo"}},
		{ID: "b", Type: facts.TypeClassic, Scopes: []string{"repo"}, ScopesEffective: []string{"repo"}},
		{ID: "c", Type: facts.TypeClassic, Scopes: []string{"repo"}, Name: "", LastFour: "abcd", Fingerprint: "sha256:x", Needs: map[string]string{"contents": "read"}},
		{ID: "d", Type: facts.TypeFineGrained, Permissions: &facts.Permissions{}},
		{ID: "e", Type: facts.TypeFineGrained, Permissions: &facts.Permissions{Repository: map[string]string{}, Other: map[string]string{"x": "read"}}},
		{ID: "f", Type: facts.TypeFineGrained, AcceptedPermissions: []map[string]string{{}, {"contents": "read"}}},
		{ID: "g", Type: facts.TypeFineGrained, AcceptedPermissions: []map[string]string{{"contents": "read"}, {}}},
		{ID: "h", Type: facts.TypeFineGrained, Current: &facts.Access{ID: "x", Permissions: &facts.Permissions{Repository: map[string]string{"contents": "read"}}, GrantedAt: &t1}},
		{ID: "i", CreatedAt: &t1, ExpiresAt: &t2, LastUsedAt: &t6, Source: facts.Source{Kind: facts.SourceInventory, File: "f.yaml", Line: 3}},
		{ID: "j", CreatedAt: &t2, ExpiresAt: &t1, LastUsedAt: &t1, Source: facts.Source{Kind: facts.SourceInventory, File: "f.yaml"}},
		{ID: "k", CreatedAt: &t3, ExpiresAt: &t4, LastUsedAt: &t5},
		{ID: "l", CreatedAt: &t4, ExpiresAt: &t3, LastUsedAt: &t5},
		{ID: "m", Type: facts.TypeClassic, Scopes: []string{"repo", "gist"}, NeedsScopes: []string{"gist"}, Unknown: []string{"scopes"}},
		{ID: "n", Type: facts.TypeClassic, Scopes: []string{"gist", "repo"}},
		{ID: "o", Type: facts.TypeClassic, Scopes: []string{"repo"}, Needs: map[string]string{"contents": "read", "made_up": "read"}},
	}
}

// Every path's encoders agree with the policy input Evaluator.input builds: the truth of the
// value there, its string, the view's value, and equal encodings only for equal values.
func TestMemoPathsMatchTheInput(t *testing.T) {
	_, e := plainAndMemo(t, Options{})
	tokens := append(memoEdgeTokens(), generatedTokens(3000, 7)...)
	now := testNow
	nowText := now.Format(time.RFC3339)
	for _, p := range memoPathsUnderTest() {
		mp := compileMemoPath(p)
		byEnc := map[string]ast.Value{}
		byEncToken := map[string]string{}
		for i := range tokens {
			tok := &tokens[i]
			in, err := e.input(tok, now, nowText)
			if err != nil {
				t.Fatal(err)
			}
			want := lookup(in, mp.terms)
			var v tokenView
			v.reset(e, tok, now, nowText, 0)
			if got := v.at(mp.terms); !sameValue(got, want) {
				t.Errorf("%v of token %d: view %v, input %v", p, i, got, want)
			}
			if got := mp.truth(&v); got != truthy(want) {
				t.Errorf("%v of token %d: truth %v, input %v", p, i, got, want)
			}
			if mp.str != nil {
				s, ok := mp.str(&v)
				ws, isStr := want.(ast.String)
				if ok != (want != nil) || ok && (!isStr || s != string(ws)) {
					t.Errorf("%v of token %d: string %q %v, input %v", p, i, s, ok, want)
				}
			}
			enc := string(mp.enc(&v, nil))
			if mp.shape != nil {
				enc = string(mp.shape(&v, nil)) + "|" + enc
				for j := 2; j < len(p); j++ {
					anc := lookup(in, mp.terms[:j])
					want := shapeOther
					switch anc.(type) {
					case nil:
						want = shapeUndefined
					case ast.Object:
						want = shapeObject
					}
					if got := v.shapeAt(mp.terms[:j]); got != want {
						t.Errorf("%v of token %d: shape %v, input %v", p[:j], i, got, anc)
					}
				}
			}
			if prev, seen := byEnc[enc]; seen && !sameValue(prev, want) {
				t.Errorf("%v: tokens %s and %d encode alike but differ: %v, %v", p, byEncToken[enc], i, prev, want)
			} else if !seen {
				byEnc[enc], byEncToken[enc] = want, fmt.Sprint(i)
			}
		}
	}
}

func sameValue(a, b ast.Value) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return ast.Compare(a, b) == 0
}

// The restricted input a group is evaluated on holds, at every path of its footprint, the value
// the whole input has there.
func TestRestrictedInputAgreesOnTheFootprint(t *testing.T) {
	_, e := plainAndMemo(t, Options{PolicyDirs: []string{"testdata/memo-user", "testdata/bundle-user"}, DataFiles: []string{"testdata/bundle-user-data.yaml"}})
	m, err := e.memo.active(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tokens := append(memoEdgeTokens(), generatedTokens(500, 9)...)
	nowText := testNow.Format(time.RFC3339)
	for _, g := range m.groups {
		if g.plain {
			continue
		}
		for i := range tokens {
			var v tokenView
			v.reset(e, &tokens[i], testNow, nowText, len(m.paths))
			full, _ := v.full()
			if g.fp.placeholder {
				full = replaceAt(full, linkPath, ast.String(placeholderLink))
			}
			in := g.restricted(&v)
			for _, paths := range []map[string][]string{g.fp.reads, g.fp.truths, g.fp.guards} {
				for _, p := range paths {
					terms := termPath(p)
					for j := 1; j <= len(p); j++ { // the path and the objects on the way
						w, got := lookup(full, terms[:j]), lookup(in, terms[:j])
						_, wObj := w.(ast.Object)
						_, gObj := got.(ast.Object)
						if j < len(p) && wObj && gObj || sameValue(w, got) {
							continue
						}
						t.Errorf("%v, token %d: %v restricted %v, whole %v", g.sets, i, p[:j], got, w)
					}
				}
			}
		}
	}
}
