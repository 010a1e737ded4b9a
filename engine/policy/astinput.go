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
	for _, f := range tokenFields {
		if v := f.term(t); v != nil {
			o.Insert(ast.InternedTerm(f.name), v)
		}
	}
	return ast.NewTerm(o)
}

// tokenField is one key of the policy's token document, in the order of the token's JSON encoding:
// term returns its value, nil when the field is omitted.
type tokenField struct {
	name string
	term func(t *facts.Token) *ast.Term
}

func strField(name string, get func(t *facts.Token) string) tokenField {
	return tokenField{name, func(t *facts.Token) *ast.Term {
		if v := get(t); v != "" {
			return ast.StringTerm(v)
		}
		return nil
	}}
}

func strsField(name string, get func(t *facts.Token) []string) tokenField {
	return tokenField{name, func(t *facts.Token) *ast.Term {
		vs := get(t)
		if len(vs) == 0 {
			return nil
		}
		terms := make([]*ast.Term, len(vs))
		for i, v := range vs {
			terms[i] = ast.StringTerm(v)
		}
		return ast.ArrayTerm(terms...)
	}}
}

func timeField(name string, get func(t *facts.Token) *time.Time) tokenField {
	return tokenField{name, func(t *facts.Token) *ast.Term {
		if v := get(t); v != nil {
			return ast.StringTerm(facts.ClampTime(*v).Format(time.RFC3339Nano))
		}
		return nil
	}}
}

// tokenFields builds the token document field by field; memoised judging reads single fields.
var tokenFields = []tokenField{
	strField("id", func(t *facts.Token) string { return t.ID }),
	strField("name", func(t *facts.Token) string { return t.Name }),
	strField("description", func(t *facts.Token) string { return t.Description }),
	{"type", func(t *facts.Token) *ast.Term { return ast.StringTerm(string(t.Type)) }},
	strField("fingerprint", func(t *facts.Token) string { return t.Fingerprint }),
	strField("last_four", func(t *facts.Token) string { return t.LastFour }),
	strField("owner", func(t *facts.Token) string { return t.Owner }),
	strField("resource_owner", func(t *facts.Token) string { return t.ResourceOwner }),
	strsField("scopes", func(t *facts.Token) []string { return t.Scopes }),
	strsField("scopes_effective", func(t *facts.Token) []string { return t.ScopesEffective }),
	strField("repository_selection", func(t *facts.Token) string { return string(t.RepositorySelection) }),
	strsField("repositories", func(t *facts.Token) []string { return t.Repositories }),
	{"permissions", func(t *facts.Token) *ast.Term {
		if t.Permissions == nil {
			return nil
		}
		return permissionsTerm(t.Permissions)
	}},
	timeField("created_at", func(t *facts.Token) *time.Time { return t.CreatedAt }),
	timeField("expires_at", func(t *facts.Token) *time.Time { return t.ExpiresAt }),
	timeField("last_used_at", func(t *facts.Token) *time.Time { return t.LastUsedAt }),
	strField("approval", func(t *facts.Token) string { return string(t.Approval) }),
	strField("sso", func(t *facts.Token) string { return string(t.SSO) }),
	{"needs", func(t *facts.Token) *ast.Term {
		if len(t.Needs) > 0 {
			return stringMapTerm(t.Needs)
		}
		return nil
	}},
	strsField("needs_scopes", func(t *facts.Token) []string { return t.NeedsScopes }),
	strField("classic_reason", func(t *facts.Token) string { return t.ClassicReason }),
	{"accepted_permissions", func(t *facts.Token) *ast.Term {
		if len(t.AcceptedPermissions) == 0 {
			return nil
		}
		alts := make([]*ast.Term, len(t.AcceptedPermissions))
		for i, alt := range t.AcceptedPermissions {
			alts[i] = stringMapTerm(alt)
		}
		return ast.ArrayTerm(alts...)
	}},
	strsField("accepted_scopes", func(t *facts.Token) []string { return t.AcceptedScopes }),
	{"current", currentTerm},
	strsField("unknown", func(t *facts.Token) []string { return t.Unknown }),
	{"source", func(t *facts.Token) *ast.Term {
		src := ast.NewObject(ast.Item(ast.InternedTerm("kind"), ast.StringTerm(string(t.Source.Kind))))
		if t.Source.File != "" {
			src.Insert(ast.InternedTerm("file"), ast.StringTerm(t.Source.File))
		}
		if t.Source.Line != 0 {
			src.Insert(ast.InternedTerm("line"), ast.IntNumberTerm(t.Source.Line))
		}
		return ast.NewTerm(src)
	}},
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

// currentTerm is an upgrade request's current access (the approved grant), nil for other tokens.
func currentTerm(t *facts.Token) *ast.Term {
	c := t.Current
	if c == nil {
		return nil
	}
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
	return ast.NewTerm(co)
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
