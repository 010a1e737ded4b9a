package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/policies"
)

// generate makes n tokens, a mix seen in real organisations: fine-grained grants (most of them,
// some limited to a few repositories with declared needs, some pending), classic tokens with
// broad or narrow scopes, packages tokens, and a few with unknown names.
func generate(n int, seed uint64) []facts.Token {
	rng := rand.New(rand.NewPCG(seed, seed*7+1))
	now, _ := time.Parse(time.RFC3339, nowText)
	day := 24 * time.Hour
	at := func(d int) *time.Time { t := now.Add(time.Duration(d) * day); return &t }
	classicScopes := [][]string{{"repo"}, {"repo", "delete_repo", "admin:org"}, {"repo", "workflow"}, {"read:org", "repo"}, {"write:packages", "read:packages"}, {"gist"}, {"repo", "read_org"}}
	repoPerms := []map[string]string{{"contents": "read", "metadata": "read"}, {"contents": "write", "pull_requests": "write", "metadata": "read"}, {"administration": "write", "metadata": "read"}, {"issues": "write", "metadata": "read"}, {"workflows": "write", "contents": "write"}}
	out := make([]facts.Token, n)
	for i := range out {
		t := facts.Token{ID: fmt.Sprintf("org:acme/pat:%d", 100000+i), Name: fmt.Sprintf("integration %d", i), Owner: fmt.Sprintf("user%d", i%97),
			Source: facts.Source{Kind: facts.SourceOrgAudit}}
		switch k := rng.IntN(100); {
		case k < 55: // approved fine-grained grant
			t.Type, t.ResourceOwner, t.Approval = facts.TypeFineGrained, "acme", facts.ApprovalApproved
			t.RepositorySelection = []facts.RepositorySelection{facts.SelectAll, facts.SelectSubset, facts.SelectSubset}[rng.IntN(3)]
			t.Permissions = &facts.Permissions{Repository: repoPerms[rng.IntN(len(repoPerms))]}
			if rng.IntN(4) == 0 {
				t.Permissions.Organization = map[string]string{"members": "read"}
			}
			if rng.IntN(3) == 0 {
				t.Needs = map[string]string{"contents": "read"}
			}
			t.CreatedAt = at(-rng.IntN(500))
			if rng.IntN(5) > 0 {
				t.ExpiresAt = at(-30 + rng.IntN(400))
			}
			if rng.IntN(4) > 0 {
				t.LastUsedAt = at(-rng.IntN(200))
			}
		case k < 62: // pending request
			t.ID = fmt.Sprintf("org:acme/request:%d", 100000+i)
			t.Type, t.ResourceOwner, t.Approval, t.RepositorySelection = facts.TypeFineGrained, "acme", facts.ApprovalPending, "all"
			t.Permissions = &facts.Permissions{Repository: repoPerms[rng.IntN(len(repoPerms))]}
			t.CreatedAt, t.ExpiresAt = at(-rng.IntN(10)), at(30+rng.IntN(300))
		default: // classic token seen through SAML credential authorizations
			t.ID = fmt.Sprintf("org:acme/credential:%d", 100000+i)
			t.Type, t.SSO = facts.TypeClassic, "authorized"
			t.Scopes = classicScopes[rng.IntN(len(classicScopes))]
			if rng.IntN(2) == 0 {
				t.ExpiresAt = at(rng.IntN(200))
			}
			t.LastUsedAt = at(-rng.IntN(300))
		}
		out[i] = t
	}
	return out
}

func writeFacts(file string, tokens []facts.Token) error {
	b, err := json.Marshal(facts.Document{Schema: facts.Schema, Tokens: tokens})
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

// writeOPAInput writes the same facts for opa and conftest, with the classic tokens' replacement
// (which tokencheck computes in Go before Rego) precomputed, so the Rego does the same work.
func writeOPAInput(file string, tokens []facts.Token, cat *facts.Catalog) error {
	type item struct {
		Token   facts.Token    `json:"token"`
		Derived map[string]any `json:"derived"`
	}
	items := make([]item, len(tokens))
	for i, t := range tokens {
		items[i] = item{Token: t, Derived: map[string]any{}}
		if t.Type == facts.TypeClassic {
			perms := cat.Replacement(t.Scopes)
			items[i].Derived["replacement"] = map[string]any{"permissions": perms, "link": cat.URL(facts.TemplateLink{
				Name: t.Name, Description: "Replaces classic token " + t.ID, ExpiresInDays: 90, Permissions: perms})}
		}
	}
	b, err := json.Marshal(map[string]any{"now": nowText, "items": items})
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

// wrapper adapts the rules to conftest's deny convention and to one opa eval query: each rule
// judges each token, exactly as tokencheck's engine asks them to.
const wrapper = `package main

import data.tokencheck.rules

deny contains msg if {
	some item in input.items
	some id
	some f in rules[id].deny with input as {"token": item.token, "now": input.now, "derived": item.derived}
	msg := sprintf("%s: %s: %s", [item.token.id, id, f.msg])
}
`

const opaQuery = `package bench

import data.tokencheck.rules

findings contains x if {
	some item in input.items
	some id
	some f in rules[id].deny with input as {"token": item.token, "now": input.now, "derived": item.derived}
	x := {"token": item.token.id, "rule": id, "msg": f.msg}
}
`

// writeOPAFixtures lays out bench/out/policy (the shipped rules, without their tests, plus the
// wrappers) and bench/out/data (the catalogue and default settings as tokencheck's engine lays
// them out under data.tokencheck).
func writeOPAFixtures(out string, cat *facts.Catalog) error {
	dir := filepath.Join(out, "policy")
	os.RemoveAll(dir)
	err := fs.WalkDir(policies.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".rego") || strings.HasSuffix(path, "_test.rego") {
			return err
		}
		b, err := fs.ReadFile(policies.FS, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dir, path)
		os.MkdirAll(filepath.Dir(target), 0o755)
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench_conftest.rego"), []byte(wrapper), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench_opa.rego"), []byte(opaQuery), 0o644); err != nil {
		return err
	}
	var catalog map[string]any
	raw, _ := json.Marshal(cat)
	json.Unmarshal(raw, &catalog)
	graph, closure := map[string]any{}, map[string]any{}
	for scope, info := range cat.Scopes {
		graph[scope] = info.Implies
		closure[scope] = cat.EffectiveScopes([]string{scope})
	}
	catalog["scope_graph"], catalog["scope_closure"] = graph, closure
	var defaults map[string]any
	rawDefaults, err := fs.ReadFile(policies.FS, policies.DefaultsFile)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(rawDefaults, &defaults); err != nil {
		return err
	}
	data, _ := json.Marshal(map[string]any{"tokencheck": map[string]any{"catalog": catalog, "config": defaults}})
	os.MkdirAll(filepath.Join(out, "data"), 0o755)
	return os.WriteFile(filepath.Join(out, "data", "data.json"), data, 0o644)
}
