package policy

import (
	"sort"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// tokenTerm builds the policy's view of a token directly as a Rego value: the same document as
// the token's JSON encoding (same names, same omitted empty fields, times in RFC 3339), without
// the JSON round trip, which cost more than the policy evaluation of cheap rules.
func tokenTerm(t *facts.Token) *ast.Term {
	o := ast.NewObject()
	str := func(k, v string) {
		if v != "" {
			o.Insert(ast.InternedTerm(k), ast.StringTerm(v))
		}
	}
	strs := func(k string, vs []string) {
		if len(vs) > 0 {
			terms := make([]*ast.Term, len(vs))
			for i, v := range vs {
				terms[i] = ast.StringTerm(v)
			}
			o.Insert(ast.InternedTerm(k), ast.ArrayTerm(terms...))
		}
	}
	when := func(k string, v *time.Time) {
		if v != nil {
			o.Insert(ast.InternedTerm(k), ast.StringTerm(facts.ClampTime(*v).Format(time.RFC3339Nano)))
		}
	}
	str("id", t.ID)
	str("name", t.Name)
	str("description", t.Description)
	o.Insert(ast.InternedTerm("type"), ast.StringTerm(string(t.Type)))
	str("fingerprint", t.Fingerprint)
	str("last_four", t.LastFour)
	str("owner", t.Owner)
	str("resource_owner", t.ResourceOwner)
	strs("scopes", t.Scopes)
	strs("scopes_effective", t.ScopesEffective)
	str("repository_selection", string(t.RepositorySelection))
	strs("repositories", t.Repositories)
	if t.Permissions != nil {
		o.Insert(ast.InternedTerm("permissions"), permissionsTerm(t.Permissions))
	}
	when("created_at", t.CreatedAt)
	when("expires_at", t.ExpiresAt)
	when("last_used_at", t.LastUsedAt)
	str("approval", string(t.Approval))
	str("sso", string(t.SSO))
	if len(t.Needs) > 0 {
		o.Insert(ast.InternedTerm("needs"), stringMapTerm(t.Needs))
	}
	strs("needs_scopes", t.NeedsScopes)
	str("classic_reason", t.ClassicReason)
	if len(t.AcceptedPermissions) > 0 {
		alts := make([]*ast.Term, len(t.AcceptedPermissions))
		for i, alt := range t.AcceptedPermissions {
			alts[i] = stringMapTerm(alt)
		}
		o.Insert(ast.InternedTerm("accepted_permissions"), ast.ArrayTerm(alts...))
	}
	strs("accepted_scopes", t.AcceptedScopes)
	if c := t.Current; c != nil {
		co := ast.NewObject()
		if c.ID != "" {
			co.Insert(ast.InternedTerm("id"), ast.StringTerm(c.ID))
		}
		if c.RepositorySelection != "" {
			co.Insert(ast.InternedTerm("repository_selection"), ast.StringTerm(string(c.RepositorySelection)))
		}
		if len(c.Repositories) > 0 {
			terms := make([]*ast.Term, len(c.Repositories))
			for i, r := range c.Repositories {
				terms[i] = ast.StringTerm(r)
			}
			co.Insert(ast.InternedTerm("repositories"), ast.ArrayTerm(terms...))
		}
		if c.Permissions != nil {
			co.Insert(ast.InternedTerm("permissions"), permissionsTerm(c.Permissions))
		}
		if c.GrantedAt != nil {
			co.Insert(ast.InternedTerm("granted_at"), ast.StringTerm(facts.ClampTime(*c.GrantedAt).Format(time.RFC3339Nano)))
		}
		o.Insert(ast.InternedTerm("current"), ast.NewTerm(co))
	}
	strs("unknown", t.Unknown)
	src := ast.NewObject(ast.Item(ast.InternedTerm("kind"), ast.StringTerm(string(t.Source.Kind))))
	if t.Source.File != "" {
		src.Insert(ast.InternedTerm("file"), ast.StringTerm(t.Source.File))
	}
	if t.Source.Line != 0 {
		src.Insert(ast.InternedTerm("line"), ast.IntNumberTerm(t.Source.Line))
	}
	o.Insert(ast.InternedTerm("source"), ast.NewTerm(src))
	return ast.NewTerm(o)
}

// permissionsTerm is fine-grained permissions by group, the empty groups left out.
func permissionsTerm(p *facts.Permissions) *ast.Term {
	po := ast.NewObject()
	group := func(k string, m map[string]string) {
		if len(m) > 0 {
			po.Insert(ast.InternedTerm(k), stringMapTerm(m))
		}
	}
	group("repository", p.Repository)
	group("organization", p.Organization)
	group("account", p.Account)
	group("other", p.Other)
	return ast.NewTerm(po)
}

func stringMapTerm(m map[string]string) *ast.Term {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := ast.NewObject()
	for _, k := range keys {
		o.Insert(ast.StringTerm(k), ast.StringTerm(m[k]))
	}
	return ast.NewTerm(o)
}
