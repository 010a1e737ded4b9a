package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// A footprint is what one rule set (a rule's deny or warn) reads of the policy input, derived from
// the compiled rules with OPA's ast package: every input path it may read, followed through the
// helper rules and functions it calls, with function arguments specialised per call site (lib.ts
// ("expires_at") reads input.token.expires_at, not the whole token). Two tokens that agree on every
// path of a rule's footprint get the same result from it, so the result can be memoised on those
// values. Data (catalogue, settings, user data) is fixed for a run and is not part of a footprint.
type footprint struct {
	// reads are the input paths read for their value; truths are paths only tested for truth
	// (defined and not false), such as the guard `input.derived.replacement`.
	reads  map[string][]string
	truths map[string][]string
	// guards are paths that must be truthy in the input for the footprint to hold: an else
	// branch behind such a guard (lib.replacement's derivation from the whole token) is left out.
	guards map[string][]string
	// placeholder: the rule reads input.derived.replacement.link only to put it, unread, into a
	// finding, so it is evaluated with a placeholder there and the token's link filled in after.
	placeholder bool
	// bad, when set, says why the rule is never memoised.
	bad string
	// skip are conjunctions of `input.path == constant` tests: when, for every body of the rule,
	// one of its tests fails on a token, the rule yields nothing for it and is not evaluated.
	skip [][]skipTest
	// reached are the rule definitions the analysis followed, the rule set's own among them.
	reached []*ast.Rule
}

// skipTest is one `input.path == value` conjunct of a rule body.
type skipTest struct {
	path  []string
	value ast.Value
}

// linkPath is the engine-derived, token-specific value filled in after evaluation.
var linkPath = []string{"derived", "replacement", "link"}

// placeholderLink stands for a token's replacement link while a memoised rule is evaluated; it
// cannot occur in a real link (which is a URL) nor in other input.
const placeholderLink = "\x00tokencheck:replacement-link\x00"

func pathKey(p []string) string { return strings.Join(p, "\x1f") }

// signature is the footprint's canonical text: rules with equal signatures share a query and a cache.
func (f *footprint) signature() string {
	var b strings.Builder
	for _, part := range []struct {
		tag string
		m   map[string][]string
	}{{"r", f.reads}, {"t", f.truths}, {"g", f.guards}} {
		keys := make([]string, 0, len(part.m))
		for k := range part.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s:%q;", part.tag, k)
		}
	}
	if f.placeholder {
		b.WriteString("p;")
	}
	for _, alt := range f.skip {
		b.WriteString("s[")
		for _, t := range alt {
			fmt.Fprintf(&b, "%q=%v,", pathKey(t.path), t.value)
		}
		b.WriteString("]")
	}
	return b.String()
}

// analyzer derives footprints from a compiled policy.
type analyzer struct {
	c     *ast.Compiler
	fp    *footprint
	depth int
	// opaqueLink counts the uses of the link that only place it into a finding.
	opaqueLink int
}

// binding is what a variable stands for: a constant, or a path into the input.
type binding struct {
	constant ast.Value
	input    []string // nil: not an input path
	isInput  bool
}

type env map[ast.Var]binding

// analyzeRuleSet derives the footprint of the rule set at ref (e.g. data.tokencheck.rules["x"].deny).
func analyzeRuleSet(c *ast.Compiler, ref ast.Ref) *footprint {
	a := &analyzer{c: c, fp: &footprint{reads: map[string][]string{}, truths: map[string][]string{}, guards: map[string][]string{}}}
	rules := c.GetRulesExact(ref)
	if len(rules) == 0 {
		a.fp.bad = "no rules at " + ref.String()
		return a.fp
	}
	for _, r := range rules {
		a.fp.skip = append(a.fp.skip, skipTests(r.Body))
		if r.Else != nil {
			a.fp.bad = "else on a rule set"
		}
		a.rule(r, env{}, true)
	}
	for _, alt := range a.fp.skip {
		if len(alt) == 0 { // a body without a test: the rule cannot be skipped by tests
			a.fp.skip = nil
			break
		}
	}
	if _, read := a.fp.reads[pathKey(linkPath)]; read || a.coversLinkRead() {
		a.fp.placeholder = false
	} else {
		a.fp.placeholder = a.opaqueLink > 0
	}
	return a.fp
}

// coversLinkRead reports a read of a path the link is under (derived, derived.replacement).
func (a *analyzer) coversLinkRead() bool {
	for _, p := range a.fp.reads {
		if len(p) < len(linkPath) && isPrefix(p, linkPath) {
			return true
		}
	}
	return false
}

func isPrefix(p, of []string) bool {
	if len(p) > len(of) {
		return false
	}
	for i := range p {
		if p[i] != of[i] {
			return false
		}
	}
	return true
}

// skipTests lists a body's conjuncts of the form input.path = scalar.
func skipTests(body ast.Body) []skipTest {
	var out []skipTest
	for _, e := range body {
		if e.Negated || len(e.With) > 0 || !(e.IsEquality() || e.IsCall() && e.Operator().Equal(ast.Equal.Ref())) {
			continue
		}
		terms := e.Terms.([]*ast.Term)
		l, r := terms[1], terms[2]
		if _, ok := l.Value.(ast.Ref); !ok {
			l, r = r, l
		}
		ref, ok := l.Value.(ast.Ref)
		if !ok || !ref.HasPrefix(ast.InputRootRef) || !ast.IsScalar(r.Value) {
			continue
		}
		p, rest := constPath(ref[1:], nil)
		if len(rest) > 0 || len(p) == 0 {
			continue
		}
		out = append(out, skipTest{path: p, value: r.Value})
	}
	return out
}

// constPath splits ref segments into their constant string prefix and the rest, resolving
// variables bound to constants.
func constPath(segs ast.Ref, en env) ([]string, ast.Ref) {
	var p []string
	for i, s := range segs {
		switch v := s.Value.(type) {
		case ast.String:
			p = append(p, string(v))
			continue
		case ast.Var:
			if b, ok := en[v]; ok && b.constant != nil {
				if str, ok := b.constant.(ast.String); ok {
					p = append(p, string(str))
					continue
				}
			}
		}
		return p, segs[i:]
	}
	return p, nil
}

func (a *analyzer) fail(format string, args ...any) {
	if a.fp.bad == "" {
		a.fp.bad = fmt.Sprintf(format, args...)
	}
}

func (a *analyzer) read(p []string) {
	if len(p) == 0 {
		a.fail("reads the whole input")
		return
	}
	if p[0] == "token" && len(p) == 1 {
		a.fail("reads the whole token")
	}
	a.fp.reads[pathKey(p)] = p
}

// rule analyses one rule definition (with its else chain) under the bindings of its call site.
// top marks the memoised rule set itself, where a link placed into the finding stays opaque.
func (a *analyzer) rule(r *ast.Rule, en env, top bool) {
	a.depth++
	defer func() { a.depth-- }()
	if a.depth > 64 {
		a.fail("rules nested too deeply")
		return
	}
	for ; r != nil; r = r.Else {
		a.fp.reached = append(a.fp.reached, r)
		local := a.aliases(r.Body, en)
		for _, t := range r.Head.Args {
			if _, ok := t.Value.(ast.Var); !ok {
				a.term(t, local)
			}
		}
		if r.Head.Key != nil {
			a.term(r.Head.Key, local)
		}
		if r.Head.Value != nil && (r.Head.Key == nil || !r.Head.Value.Equal(ast.BooleanTerm(true))) {
			a.term(r.Head.Value, local)
		}
		var headKey ast.Var
		if top && r.Head.Key != nil {
			headKey, _ = r.Head.Key.Value.(ast.Var)
		}
		a.body(r.Body, local, headKey)
		if g := guardOf(r, local); g != nil && r.Else != nil {
			// The else branches run only when the guard is not truthy: the token must have it.
			a.fp.guards[pathKey(g)] = g
			return
		}
	}
}

// guardOf returns Q when a rule's body holds exactly when input path Q is truthy: every
// expression is a truth test of Q or binds a fresh variable to Q.
func guardOf(r *ast.Rule, en env) []string {
	var q []string
	for _, e := range r.Body {
		if e.Negated || len(e.With) > 0 {
			return nil
		}
		var p []string
		switch {
		case e.IsEquality():
			terms := e.Terms.([]*ast.Term)
			if _, ok := terms[1].Value.(ast.Var); !ok {
				return nil
			}
			b, ok := en[terms[1].Value.(ast.Var)]
			rhs, isRef := terms[2].Value.(ast.Ref)
			// Only a direct input look-up: a helper rule's value may be defined by its else branch.
			if !ok || !b.isInput || !isRef || !rhs.HasPrefix(ast.InputRootRef) {
				return nil
			}
			p = b.input
		default:
			t, ok := e.Terms.(*ast.Term)
			if !ok {
				return nil
			}
			ref, ok := t.Value.(ast.Ref)
			if !ok || !ref.HasPrefix(ast.InputRootRef) {
				return nil
			}
			var rest ast.Ref
			p, rest = constPath(ref[1:], en)
			if len(rest) > 0 {
				return nil
			}
		}
		if q != nil && pathKey(q) != pathKey(p) || len(p) == 0 {
			return nil
		}
		q = p
	}
	return q
}

// aliases finds `var = input.path` bindings (the compiler writes every look-up into one), so a
// later object.get(var, "scopes", []) reads input.token.scopes, not the whole token.
func (a *analyzer) aliases(body ast.Body, outer env) env {
	en := env{}
	for k, v := range outer {
		en[k] = v
	}
	seen := map[ast.Var]int{}
	ast.WalkExprs(body, func(e *ast.Expr) bool {
		if !e.IsEquality() || e.Negated {
			return false
		}
		terms := e.Terms.([]*ast.Term)
		v, ok := terms[1].Value.(ast.Var)
		if !ok {
			return false
		}
		seen[v]++
		ref, ok := terms[2].Value.(ast.Ref)
		if !ok {
			return false
		}
		if p, ok := a.inputPath(ref, en); ok {
			en[v] = binding{input: p, isInput: true}
		}
		return false
	})
	for v, n := range seen {
		if n > 1 {
			delete(en, v) // bound twice: every use reads what the binding reads
		}
	}
	return en
}

// inputPath resolves a ref to a constant input path: input.x.y, an alias variable's path extended,
// or a helper rule whose value is an input path (lib.replacement.link).
func (a *analyzer) inputPath(ref ast.Ref, en env) ([]string, bool) {
	head, ok := ref[0].Value.(ast.Var)
	if !ok {
		return nil, false
	}
	var base []string
	switch {
	case head.Equal(ast.InputRootDocument.Value):
	case en[head].isInput:
		base = en[head].input
	case head.Equal(ast.DefaultRootDocument.Value):
		p, suffix, ok := a.aliasRule(ref)
		if !ok {
			return nil, false
		}
		base, ref = p, append(ast.Ref{ref[0]}, suffix...)
	default:
		return nil, false
	}
	p, rest := constPath(ref[1:], en)
	if len(rest) > 0 {
		return nil, false
	}
	return append(append([]string{}, base...), p...), true
}

// aliasRule recognises a ref into a complete rule whose single definition binds its value to an
// input path behind a guard (lib.replacement): it returns that path and the ref's remaining
// segments. The rule's body and else chain are analysed at the point of use.
func (a *analyzer) aliasRule(ref ast.Ref) ([]string, ast.Ref, bool) {
	rules := a.c.GetRules(ref)
	if len(rules) != 1 {
		return nil, nil, false
	}
	r := rules[0]
	path := r.Path()
	if len(r.Head.Args) > 0 || r.Head.Key != nil || len(path) > len(ref) || !ref.HasPrefix(path) {
		return nil, nil, false
	}
	v, ok := r.Head.Value.Value.(ast.Var)
	if !ok {
		return nil, nil, false
	}
	local := a.aliases(r.Body, env{})
	b, ok := local[v]
	if !ok || !b.isInput || guardOf(r, local) == nil {
		return nil, nil, false
	}
	return b.input, ref[len(path):], true
}

// aliasRuleBody analyses the guard of an alias rule (see aliasRule); its else chain, which runs
// only when the guard fails, is covered by requiring the guard.
func (a *analyzer) aliasRuleBody(ref ast.Ref) {
	r := a.c.GetRules(ref)[0]
	for x := r; x != nil; x = x.Else {
		a.fp.reached = append(a.fp.reached, x)
	}
	local := a.aliases(r.Body, env{})
	a.body(r.Body, local, "")
	if g := guardOf(r, local); g != nil && r.Else != nil {
		a.fp.guards[pathKey(g)] = g
	}
}

// body analyses the expressions of a body. headKey is the finding variable of the memoised rule
// set: `headKey = {..., "fix_url": link}` places the link without reading it.
func (a *analyzer) body(body ast.Body, en env, headKey ast.Var) {
	for _, e := range body {
		a.expr(e, en, headKey)
	}
}

func (a *analyzer) expr(e *ast.Expr, en env, headKey ast.Var) {
	if len(e.With) > 0 {
		a.fail("uses with")
		return
	}
	switch ts := e.Terms.(type) {
	case *ast.Term:
		if ref, ok := ts.Value.(ast.Ref); ok {
			if p, ok := a.inputPath(ref, en); ok && ref[0].Value.Compare(ast.DefaultRootDocument.Value) != 0 {
				// A truth test of an input path reads whether it is there, not its value.
				a.fp.truths[pathKey(p)] = p
				return
			}
		}
		a.term(ts, en)
	case *ast.SomeDecl:
		for _, t := range ts.Symbols {
			a.term(t, en)
		}
	case *ast.Every:
		a.term(ts.Domain, en)
		a.body(ts.Body, a.aliases(ts.Body, en), "")
	case []*ast.Term:
		if e.IsEquality() {
			if v, ok := ts[1].Value.(ast.Var); ok {
				if b, ok := en[v]; ok && b.isInput {
					if ref, isRef := ts[2].Value.(ast.Ref); isRef {
						// An alias: read where it is used; an alias rule's guard is read here.
						if ref[0].Value.Compare(ast.DefaultRootDocument.Value) == 0 {
							a.aliasRuleBody(ref)
						}
						return
					}
				}
				if headKey != "" && v.Equal(headKey) {
					if obj, ok := ts[2].Value.(ast.Object); ok {
						a.findingObject(obj, en)
						return
					}
				}
			}
		}
		a.call(ts, en)
	}
}

// findingObject analyses the object a rule set emits; a value that is exactly the link is placed,
// not read.
func (a *analyzer) findingObject(obj ast.Object, en env) {
	obj.Foreach(func(k, v *ast.Term) {
		a.term(k, en)
		if vv, ok := v.Value.(ast.Var); ok {
			if b, ok := en[vv]; ok && b.isInput && pathKey(b.input) == pathKey(linkPath) {
				a.opaqueLink++
				return
			}
		}
		a.term(v, en)
	})
}

// call analyses a call: a builtin (refused when non-deterministic), or a function of the policy,
// analysed with its parameters bound to the call's constant and input-path arguments.
func (a *analyzer) call(ts []*ast.Term, en env) {
	op, ok := ts[0].Value.(ast.Ref)
	if !ok {
		a.fail("call of %v", ts[0])
		return
	}
	args := ts[1:]
	name := op.String()
	if bi, ok := ast.BuiltinMap[name]; ok {
		if bi.Nondeterministic {
			a.fail("calls non-deterministic %s", name)
			return
		}
		if name == ast.ObjectGet.Name && len(args) >= 2 {
			if v, ok := args[0].Value.(ast.Var); ok && en[v].isInput {
				if key, ok := args[1].Value.(ast.String); ok {
					a.read(append(append([]string{}, en[v].input...), string(key)))
					for _, t := range args[2:] {
						a.term(t, en)
					}
					return
				}
			}
		}
		for _, t := range args {
			a.term(t, en)
		}
		return
	}
	if !op.HasPrefix(ast.DefaultRootRef) {
		a.fail("call of unknown function %s", name)
		return
	}
	rules := a.c.GetRulesExact(op)
	if len(rules) == 0 {
		a.fail("call of unknown function %s", name)
		return
	}
	for _, r := range rules {
		params := env{}
		for i, p := range r.Head.Args {
			if i >= len(args) {
				break
			}
			pv, ok := p.Value.(ast.Var)
			if !ok {
				// A constant parameter is matched against the argument: its whole value is read.
				if av, ok := args[i].Value.(ast.Var); ok && en[av].isInput {
					a.read(en[av].input)
				}
				continue
			}
			switch av := args[i].Value.(type) {
			case ast.Var:
				if b, ok := en[av]; ok {
					params[pv] = b
				}
			default:
				if ast.IsScalar(av) {
					params[pv] = binding{constant: av}
				}
			}
		}
		a.rule(r, params, false)
	}
	for _, t := range args {
		if v, ok := t.Value.(ast.Var); ok && en[v].isInput {
			continue // bound to the parameter: read where the function reads it
		}
		a.term(t, en)
	}
}

// term analyses the reads of one term.
func (a *analyzer) term(t *ast.Term, en env) {
	switch v := t.Value.(type) {
	case ast.Var:
		if v.Equal(ast.InputRootDocument.Value) {
			a.fail("reads the whole input")
		} else if b, ok := en[v]; ok && b.isInput {
			a.read(b.input)
		}
	case ast.Ref:
		a.ref(v, en)
	case ast.Call:
		a.call(v, en)
	case *ast.Array:
		v.Foreach(func(x *ast.Term) { a.term(x, en) })
	case ast.Set:
		v.Foreach(func(x *ast.Term) { a.term(x, en) })
	case ast.Object:
		v.Foreach(func(k, x *ast.Term) { a.term(k, en); a.term(x, en) })
	case *ast.ArrayComprehension:
		inner := a.aliases(v.Body, en)
		a.term(v.Term, inner)
		a.body(v.Body, inner, "")
	case *ast.SetComprehension:
		inner := a.aliases(v.Body, en)
		a.term(v.Term, inner)
		a.body(v.Body, inner, "")
	case *ast.ObjectComprehension:
		inner := a.aliases(v.Body, en)
		a.term(v.Key, inner)
		a.term(v.Value, inner)
		a.body(v.Body, inner, "")
	}
}

// ref analyses a reference: into the input (a read of its constant prefix), into data (the rules
// it may name, analysed; plain data is fixed for the run), or into a local value.
func (a *analyzer) ref(ref ast.Ref, en env) {
	for _, s := range ref[1:] {
		if _, ok := s.Value.(ast.String); !ok {
			a.term(s, en)
		}
	}
	head, ok := ref[0].Value.(ast.Var)
	if !ok {
		a.term(ref[0], en)
		return
	}
	switch {
	case head.Equal(ast.InputRootDocument.Value):
		p, _ := constPath(ref[1:], en)
		a.read(p)
	case en[head].isInput:
		p, _ := constPath(ref[1:], en)
		a.read(append(append([]string{}, en[head].input...), p...))
	case head.Equal(ast.DefaultRootDocument.Value):
		if p, suffix, ok := a.aliasRule(ref); ok {
			a.aliasRuleBody(ref)
			sp, _ := constPath(suffix, en)
			a.read(append(append([]string{}, p...), sp...))
			return
		}
		if len(ref) < 3 {
			a.fail("reads all of data")
			return
		}
		for _, r := range a.c.GetRulesDynamicWithOpts(ref, ast.RulesOptions{}) {
			a.rule(r, env{}, false)
		}
	}
}
