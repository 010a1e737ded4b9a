package policy

import (
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// The token as memoised judging sees it: its values at footprint paths, read from the Go fields,
// and the restricted input a group is evaluated on when its cache misses.

// coverNode is a node of the input a group is evaluated on: the paths of its footprint, each
// with the token's whole value there, under the same objects as in the whole input.
type coverNode struct {
	terms       []*ast.Term
	whole       bool // the token's value at terms, whole
	placeholder bool // the replacement link, placed unread: placeholderLink
	kids        []*coverNode
}

// coverTree is the tree of a footprint's read, tested and guarding paths (and the placeholder
// link): a path under another one is covered by it.
func coverTree(fp *footprint) []*coverNode {
	var paths [][]string
	for _, m := range []map[string][]string{fp.reads, fp.truths, fp.guards} {
		paths = append(paths, sortedPaths(m)...)
	}
	root := &coverNode{}
	insert := func(p []string, placeholder bool) {
		n := root
		for i := range p {
			var next *coverNode
			for _, k := range n.kids {
				if pathKey(termStrings(k.terms)) == pathKey(p[:i+1]) {
					next = k
				}
			}
			if next == nil {
				next = &coverNode{terms: termPath(p[:i+1])}
				n.kids = append(n.kids, next)
			}
			n = next
			if n.whole {
				return // covered by a shorter path
			}
		}
		if placeholder {
			n.placeholder = true
			return
		}
		n.whole, n.kids = true, nil
	}
	for _, p := range paths {
		insert(p, false)
	}
	if fp.placeholder {
		insert(linkPath, true)
	}
	return root.kids
}

func termStrings(ts []*ast.Term) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		s, _ := t.Value.(ast.String)
		out[i] = string(s)
	}
	return out
}

// restricted is the input the group is evaluated on: its footprint's values, and the objects on
// the way to them, as the whole input has them; the replacement link is the placeholder.
func (g *memoGroup) restricted(v *tokenView) ast.Value {
	root := ast.NewObject()
	for _, n := range g.cover {
		if x := n.value(v, g.fp.placeholder); x != nil {
			root.Insert(n.terms[len(n.terms)-1], ast.NewTerm(x))
		}
	}
	return root
}

func (n *coverNode) value(v *tokenView, placeholder bool) ast.Value {
	if n.placeholder {
		if v.tok.Type == facts.TypeClassic { // the link is there exactly when the replacement is
			return ast.String(placeholderLink)
		}
		return nil
	}
	if n.whole {
		x := v.at(n.terms)
		if x != nil && placeholder && len(n.terms) < len(linkPath) && isPrefix(termStrings(n.terms), linkPath) {
			x = replaceAt(x, linkPath[len(n.terms):], ast.String(placeholderLink))
		}
		return x
	}
	// An object on the way to covered paths: there when the whole input has it, with only their keys.
	if root, _ := n.terms[0].Value.(ast.String); len(n.terms) > 1 || root != "token" && root != "derived" {
		switch v.shapeAt(n.terms) {
		case shapeUndefined:
			return nil
		case shapeOther:
			return v.at(n.terms) // not an object: nothing under it is there, the value is as it is
		}
	}
	out := ast.NewObject()
	for _, k := range n.kids {
		if kx := k.value(v, placeholder); kx != nil {
			out.Insert(k.terms[len(k.terms)-1], ast.NewTerm(kx))
		}
	}
	return out
}

// tokenView answers footprint look-ups from the token itself, field by field, building the whole
// policy input only when a rule must be evaluated on it. One per worker, reset per token.
type tokenView struct {
	e       *Evaluator
	tok     *facts.Token
	now     time.Time
	nowText string

	effective     []string
	effectiveDone bool
	replPerms     map[string]string
	replPermsDone bool

	fields   [32]*ast.Term
	built    [32]bool
	ns       ast.Value
	repl     ast.Value
	replDone bool
	input    ast.Value

	// enc holds the token's path encodings; encAt[i] is where path i's ends (+1), 0 when not yet
	// encoded, and its start is encFrom[i].
	enc     []byte
	encFrom []int32
	encAt   []int32
}

var tokenFieldIndex = func() map[string]int {
	if len(tokenFields) > len(tokenView{}.fields) {
		panic("policy: tokenView holds fewer fields than tokenFields")
	}
	m := map[string]int{}
	for i, f := range tokenFields {
		m[f.name] = i
	}
	return m
}()

// reset points the view at another token.
func (v *tokenView) reset(e *Evaluator, t *facts.Token, now time.Time, nowText string, paths int) {
	enc, from, at := v.enc[:0], v.encFrom, v.encAt
	*v = tokenView{e: e, tok: t, now: now, nowText: nowText}
	if cap(from) < paths {
		from, at = make([]int32, paths), make([]int32, paths)
	}
	from, at = from[:paths], at[:paths]
	clear(at)
	v.enc, v.encFrom, v.encAt = enc, from, at
}

// encoding appends the token's encoding of one key path, encoded once per token.
func (v *tokenView) encoding(m *memo, k memoKeyPath, b []byte) []byte {
	p := m.paths[k.index]
	if k.truth {
		if p.truth(v) {
			return append(b, 'T')
		}
		return append(b, 'F')
	}
	if v.encAt[k.index] == 0 {
		from := len(v.enc)
		if p.shape != nil {
			v.enc = p.shape(v, v.enc)
		}
		v.enc = p.enc(v, v.enc)
		v.encFrom[k.index], v.encAt[k.index] = int32(from), int32(len(v.enc))+1
	}
	return append(b, v.enc[v.encFrom[k.index]:v.encAt[k.index]-1]...)
}

// effectiveScopes are the token's scopes_effective as the input has them.
func (v *tokenView) effectiveScopes() []string {
	if !v.effectiveDone {
		v.effectiveDone = true
		v.effective = v.tok.ScopesEffective
		if len(v.tok.Scopes) > 0 && len(v.effective) == 0 {
			v.effective = v.e.catalog.EffectiveScopes(v.tok.Scopes)
		}
	}
	return v.effective
}

// replacementPermissions are a classic token's derived.replacement.permissions.
func (v *tokenView) replacementPermissions() map[string]string {
	if !v.replPermsDone {
		v.replPermsDone = true
		v.replPerms = v.e.replacementPermissions(v.tok)
	}
	return v.replPerms
}

// full is the policy input, as Evaluator.input builds it.
func (v *tokenView) full() (ast.Value, error) {
	if v.input == nil {
		in, err := v.e.input(v.tok, v.now, v.nowText)
		if err != nil {
			return nil, err
		}
		v.input = in
	}
	return v.input, nil
}

// at is the input's value at path (nil: undefined), the same as lookup(full input, path).
func (v *tokenView) at(path []*ast.Term) ast.Value {
	root, _ := path[0].Value.(ast.String)
	switch {
	case root == "token" && len(path) > 1:
		name, _ := path[1].Value.(ast.String)
		i, ok := tokenFieldIndex[string(name)]
		if !ok {
			return nil
		}
		if !v.built[i] {
			if name == "scopes_effective" {
				t := *v.tok
				t.ScopesEffective = v.effectiveScopes()
				v.fields[i] = tokenFields[i].term(&t)
			} else {
				v.fields[i] = tokenFields[i].term(v.tok)
			}
			v.built[i] = true
		}
		if v.fields[i] == nil {
			return nil
		}
		return lookup(v.fields[i].Value, path[2:])
	case root == "now":
		return lookup(ast.String(v.nowText), path[1:])
	case root == "derived" && len(path) > 1:
		switch sub, _ := path[1].Value.(ast.String); sub {
		case "now_ns":
			return lookup(ast.Number(fmt.Sprint(v.now.UnixNano())), path[2:])
		case "ns":
			if v.ns == nil {
				v.ns = nsObject(v.tok)
			}
			return lookup(v.ns, path[2:])
		case "replacement":
			if !v.replDone {
				v.replDone = true
				if v.tok.Type == facts.TypeClassic {
					perms := v.replacementPermissions()
					v.repl = ast.NewObject(
						ast.Item(ast.InternedTerm("permissions"), stringMapTerm(perms)),
						ast.Item(ast.InternedTerm("link"), ast.StringTerm(v.e.replacementLink(v.tok, perms))),
					)
				}
			}
			if v.repl == nil {
				return nil
			}
			return lookup(v.repl, path[2:])
		}
	}
	in, err := v.full()
	if err != nil {
		return nil
	}
	return lookup(in, path)
}
