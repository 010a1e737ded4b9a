package policy

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// Footprint paths read from the token's Go fields. A memoised group's cache key is the encoding of
// the input's value at each path of its footprint; encoding straight from the facts.Token costs a
// fraction of building the Rego value and printing it. An encoding is self-delimiting and tagged
// with its kind (u: undefined, s: string, a: array, m/o: object, n: number, t: time, v: any other
// value, printed), and two equal encodings of a path are always two equal values at that path;
// paths the encoders do not know fall back to the Rego value (tokenView.at). memo_paths_test.go
// checks every encoder against the policy input that Evaluator.input builds.

// memoPath is one input path of a footprint, compiled.
type memoPath struct {
	terms []*ast.Term
	// enc appends the encoding of the input's value at the path.
	enc func(v *tokenView, b []byte) []byte
	// truth reports whether the value is defined and not false (a truth test in Rego).
	truth func(v *tokenView) bool
	// str, for paths whose value is a string or undefined: the string, and whether it is defined.
	str func(v *tokenView) (string, bool)
	// shape appends, for each proper ancestor below the root, whether it is undefined (u), an
	// object (o) or another value (x): a rule may test that an ancestor is there (object.get on it)
	// without reading the path's siblings.
	shape func(v *tokenView, b []byte) []byte
}

func compileMemoPath(p []string) *memoPath {
	mp := &memoPath{terms: termPath(p)}
	mp.enc, mp.truth, mp.str = pathCodec(p)
	terms := mp.terms
	if mp.enc == nil {
		mp.enc = func(v *tokenView, b []byte) []byte { return appendValue(b, v.at(terms)) }
	}
	if mp.truth == nil {
		mp.truth = func(v *tokenView) bool { return truthy(v.at(terms)) }
	}
	var ancestors [][]*ast.Term
	for i := 2; i < len(p); i++ {
		switch pathKey(p[:i]) {
		case pathKey([]string{"token", "source"}), pathKey([]string{"derived", "ns"}):
			continue // always objects
		}
		ancestors = append(ancestors, mp.terms[:i])
	}
	if len(ancestors) > 0 {
		mp.shape = func(v *tokenView, b []byte) []byte {
			for _, a := range ancestors {
				switch v.shapeAt(a) {
				case shapeUndefined:
					b = append(b, 'u')
				case shapeObject:
					b = append(b, 'o')
				default:
					b = append(b, 'x')
				}
			}
			return b
		}
	}
	return mp
}

type shape uint8

const (
	shapeUndefined shape = iota
	shapeObject
	shapeOther
)

// shapeAt is whether the input has an object at path, another value, or nothing.
func (v *tokenView) shapeAt(path []*ast.Term) shape {
	if len(path) == 2 {
		root, _ := path[0].Value.(ast.String)
		name, _ := path[1].Value.(ast.String)
		switch {
		case root == "derived" && name == "replacement":
			if v.tok.Type == facts.TypeClassic {
				return shapeObject
			}
			return shapeUndefined
		case root == "token" && name == "permissions":
			if v.tok.Permissions != nil {
				return shapeObject
			}
			return shapeUndefined
		}
	}
	switch v.at(path).(type) {
	case nil:
		return shapeUndefined
	case ast.Object:
		return shapeObject
	}
	return shapeOther
}

func appendUndefined(b []byte) []byte { return append(b, 'u') }

func appendStr(b []byte, s string) []byte {
	b = append(b, 's')
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendInt(b []byte, n int64) []byte {
	b = append(b, 'n')
	return binary.BigEndian.AppendUint64(b, uint64(n))
}

func appendStrs(b []byte, ss []string) []byte {
	b = append(b, 'a')
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendStr(b, s)
	}
	return b
}

func appendMap(b []byte, m map[string]string) []byte {
	var arr [16]string
	keys := arr[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, 'm')
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendStr(b, k)
		b = appendStr(b, m[k])
	}
	return b
}

// appendTime encodes a token time as its RFC 3339 text is determined: the clamped instant and
// the zone offset.
func appendTime(b []byte, t *time.Time) []byte {
	if t == nil {
		return appendUndefined(b)
	}
	c := facts.ClampTime(*t)
	_, off := c.Zone()
	b = append(b, 't')
	b = binary.BigEndian.AppendUint64(b, uint64(c.UnixNano()))
	return binary.BigEndian.AppendUint32(b, uint32(int32(off)))
}

// appendNs encodes derived.ns.<field>: the clamped instant in nanoseconds.
func appendNs(b []byte, t *time.Time) []byte {
	if t == nil {
		return appendUndefined(b)
	}
	return appendInt(b, facts.ClampTime(*t).UnixNano())
}

// appendValue encodes any Rego value (nil: undefined).
func appendValue(b []byte, x ast.Value) []byte {
	switch x := x.(type) {
	case nil:
		return appendUndefined(b)
	case ast.String:
		return appendStr(b, string(x))
	default:
		s := x.String()
		b = append(b, 'v')
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	}
}

type (
	encFunc   = func(v *tokenView, b []byte) []byte
	truthFunc = func(v *tokenView) bool
	strFunc   = func(v *tokenView) (string, bool)
)

func always(*tokenView) bool { return true }

// optString is a field omitted when empty.
func optString(get func(t *facts.Token) string) (encFunc, truthFunc, strFunc) {
	return func(v *tokenView, b []byte) []byte {
			if s := get(v.tok); s != "" {
				return appendStr(b, s)
			}
			return appendUndefined(b)
		}, func(v *tokenView) bool { return get(v.tok) != "" },
		func(v *tokenView) (string, bool) { s := get(v.tok); return s, s != "" }
}

// optStrings is a list omitted when empty.
func optStrings(get func(v *tokenView) []string) (encFunc, truthFunc, strFunc) {
	return func(v *tokenView, b []byte) []byte {
		if ss := get(v); len(ss) > 0 {
			return appendStrs(b, ss)
		}
		return appendUndefined(b)
	}, func(v *tokenView) bool { return len(get(v)) > 0 }, nil
}

func optTime(get func(t *facts.Token) *time.Time) (encFunc, truthFunc, strFunc) {
	return func(v *tokenView, b []byte) []byte { return appendTime(b, get(v.tok)) },
		func(v *tokenView) bool { return get(v.tok) != nil }, nil
}

func optMap(get func(t *facts.Token) map[string]string) (encFunc, truthFunc, strFunc) {
	return func(v *tokenView, b []byte) []byte {
		if m := get(v.tok); len(m) > 0 {
			return appendMap(b, m)
		}
		return appendUndefined(b)
	}, func(v *tokenView) bool { return len(get(v.tok)) > 0 }, nil
}

// permissionGroups are facts.Permissions' groups in the order of its JSON encoding.
var permissionGroups = []struct {
	name string
	get  func(p *facts.Permissions) map[string]string
}{
	{"repository", func(p *facts.Permissions) map[string]string { return p.Repository }},
	{"organization", func(p *facts.Permissions) map[string]string { return p.Organization }},
	{"account", func(p *facts.Permissions) map[string]string { return p.Account }},
	{"other", func(p *facts.Permissions) map[string]string { return p.Other }},
}

func appendPermissions(b []byte, p *facts.Permissions) []byte {
	if p == nil {
		return appendUndefined(b)
	}
	b = append(b, 'o')
	for _, g := range permissionGroups {
		if m := g.get(p); len(m) > 0 {
			b = appendMap(b, m)
		} else {
			b = appendUndefined(b)
		}
	}
	return b
}

// tokenCodecs are the encoders of input.token's fields (astinput.go's tokenFields); current and
// unknown names are left to the generic path.
var tokenCodecs = func() map[string]func() (encFunc, truthFunc, strFunc) {
	str := func(get func(t *facts.Token) string) func() (encFunc, truthFunc, strFunc) {
		return func() (encFunc, truthFunc, strFunc) { return optString(get) }
	}
	strs := func(get func(v *tokenView) []string) func() (encFunc, truthFunc, strFunc) {
		return func() (encFunc, truthFunc, strFunc) { return optStrings(get) }
	}
	tm := func(get func(t *facts.Token) *time.Time) func() (encFunc, truthFunc, strFunc) {
		return func() (encFunc, truthFunc, strFunc) { return optTime(get) }
	}
	return map[string]func() (encFunc, truthFunc, strFunc){
		"id":          str(func(t *facts.Token) string { return t.ID }),
		"name":        str(func(t *facts.Token) string { return t.Name }),
		"description": str(func(t *facts.Token) string { return t.Description }),
		"type": func() (encFunc, truthFunc, strFunc) { // always there, even empty
			return func(v *tokenView, b []byte) []byte { return appendStr(b, string(v.tok.Type)) }, always,
				func(v *tokenView) (string, bool) { return string(v.tok.Type), true }
		},
		"fingerprint":          str(func(t *facts.Token) string { return t.Fingerprint }),
		"last_four":            str(func(t *facts.Token) string { return t.LastFour }),
		"owner":                str(func(t *facts.Token) string { return t.Owner }),
		"resource_owner":       str(func(t *facts.Token) string { return t.ResourceOwner }),
		"scopes":               strs(func(v *tokenView) []string { return v.tok.Scopes }),
		"scopes_effective":     strs(func(v *tokenView) []string { return v.effectiveScopes() }),
		"repository_selection": str(func(t *facts.Token) string { return string(t.RepositorySelection) }),
		"repositories":         strs(func(v *tokenView) []string { return v.tok.Repositories }),
		"permissions": func() (encFunc, truthFunc, strFunc) {
			return func(v *tokenView, b []byte) []byte { return appendPermissions(b, v.tok.Permissions) },
				func(v *tokenView) bool { return v.tok.Permissions != nil }, nil
		},
		"created_at":   tm(func(t *facts.Token) *time.Time { return t.CreatedAt }),
		"expires_at":   tm(func(t *facts.Token) *time.Time { return t.ExpiresAt }),
		"last_used_at": tm(func(t *facts.Token) *time.Time { return t.LastUsedAt }),
		"approval":     str(func(t *facts.Token) string { return string(t.Approval) }),
		"sso":          str(func(t *facts.Token) string { return string(t.SSO) }),
		"needs": func() (encFunc, truthFunc, strFunc) {
			return optMap(func(t *facts.Token) map[string]string { return t.Needs })
		},
		"needs_scopes":   strs(func(v *tokenView) []string { return v.tok.NeedsScopes }),
		"classic_reason": str(func(t *facts.Token) string { return t.ClassicReason }),
		"accepted_permissions": func() (encFunc, truthFunc, strFunc) {
			return func(v *tokenView, b []byte) []byte {
				alts := v.tok.AcceptedPermissions
				if len(alts) == 0 {
					return appendUndefined(b)
				}
				b = append(b, 'a')
				b = binary.AppendUvarint(b, uint64(len(alts)))
				for _, m := range alts {
					b = appendMap(b, m)
				}
				return b
			}, func(v *tokenView) bool { return len(v.tok.AcceptedPermissions) > 0 }, nil
		},
		"accepted_scopes": strs(func(v *tokenView) []string { return v.tok.AcceptedScopes }),
		"unknown":         strs(func(v *tokenView) []string { return v.tok.Unknown }),
		"source": func() (encFunc, truthFunc, strFunc) {
			return func(v *tokenView, b []byte) []byte {
				s := v.tok.Source
				b = append(b, 'o')
				b = appendStr(b, string(s.Kind))
				if s.File != "" {
					b = appendStr(b, s.File)
				} else {
					b = appendUndefined(b)
				}
				if s.Line != 0 {
					return appendInt(b, int64(s.Line))
				}
				return appendUndefined(b)
			}, always, nil
		},
	}
}()

// pathCodec returns the encoders of a path read from the Go fields; those it returns nil are
// the generic path's.
func pathCodec(p []string) (encFunc, truthFunc, strFunc) {
	undefined := func() (encFunc, truthFunc, strFunc) {
		return func(_ *tokenView, b []byte) []byte { return appendUndefined(b) },
			func(*tokenView) bool { return false },
			func(*tokenView) (string, bool) { return "", false }
	}
	switch {
	case len(p) == 1 && p[0] == "now":
		return func(v *tokenView, b []byte) []byte { return appendStr(b, v.nowText) }, always,
			func(v *tokenView) (string, bool) { return v.nowText, true }
	case len(p) == 2 && p[0] == "derived" && p[1] == "now_ns":
		return func(v *tokenView, b []byte) []byte { return appendInt(b, v.now.UnixNano()) }, always, nil
	case len(p) == 2 && p[0] == "derived" && p[1] == "ns":
		return func(v *tokenView, b []byte) []byte {
			b = append(b, 'o')
			b = appendNs(b, v.tok.CreatedAt)
			b = appendNs(b, v.tok.ExpiresAt)
			return appendNs(b, v.tok.LastUsedAt)
		}, always, nil
	case len(p) >= 3 && p[0] == "derived" && p[1] == "ns":
		var get func(t *facts.Token) *time.Time
		switch p[2] {
		case "created_at":
			get = func(t *facts.Token) *time.Time { return t.CreatedAt }
		case "expires_at":
			get = func(t *facts.Token) *time.Time { return t.ExpiresAt }
		case "last_used_at":
			get = func(t *facts.Token) *time.Time { return t.LastUsedAt }
		}
		if get == nil || len(p) > 3 { // no such time, or a path into a number
			return undefined()
		}
		return func(v *tokenView, b []byte) []byte { return appendNs(b, get(v.tok)) },
			func(v *tokenView) bool { return get(v.tok) != nil }, nil
	case len(p) == 2 && p[0] == "derived" && p[1] == "replacement":
		// Its value, with the link, the generic way; there (an object) for classic tokens.
		return nil, func(v *tokenView) bool { return v.tok.Type == facts.TypeClassic }, nil
	case len(p) == 3 && p[0] == "derived" && p[1] == "replacement" && p[2] == "permissions":
		return func(v *tokenView, b []byte) []byte {
			if v.tok.Type != facts.TypeClassic {
				return appendUndefined(b)
			}
			return appendMap(b, v.replacementPermissions())
		}, func(v *tokenView) bool { return v.tok.Type == facts.TypeClassic }, nil
	case len(p) >= 2 && p[0] == "token":
		if _, known := tokenFieldIndex[p[1]]; !known {
			return undefined() // the input's token has only tokenFields
		}
		if len(p) == 2 {
			if c, ok := tokenCodecs[p[1]]; ok {
				return c()
			}
			return nil, nil, nil
		}
		switch {
		case p[1] == "source" && len(p) == 3:
			switch p[2] {
			case "kind":
				return func(v *tokenView, b []byte) []byte { return appendStr(b, string(v.tok.Source.Kind)) }, always,
					func(v *tokenView) (string, bool) { return string(v.tok.Source.Kind), true }
			case "file":
				return optString(func(t *facts.Token) string { return t.Source.File })
			case "line":
				return func(v *tokenView, b []byte) []byte {
					if l := v.tok.Source.Line; l != 0 {
						return appendInt(b, int64(l))
					}
					return appendUndefined(b)
				}, func(v *tokenView) bool { return v.tok.Source.Line != 0 }, nil
			}
			return undefined()
		case p[1] == "permissions" && len(p) == 3:
			for _, g := range permissionGroups {
				if g.name == p[2] {
					get := g.get
					return optMap(func(t *facts.Token) map[string]string {
						if t.Permissions == nil {
							return nil
						}
						return get(t.Permissions)
					})
				}
			}
			return undefined()
		}
	}
	return nil, nil, nil
}
