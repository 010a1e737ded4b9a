package policy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
)

// Memoised judging. Most tokens of a fleet agree on what a given rule reads (the same scopes, the
// same permissions, the same day of expiry), so each rule set's results are cached on the values
// of its footprint (footprint.go) and the rule is evaluated only for footprints not seen before.
// Rule sets with the same footprint share one prepared query and one cache. A rule that cannot be
// analysed, reads the whole input or token, or calls a non-deterministic builtin is evaluated for
// every token; so is a group whose cache hardly hits. Results are identical to evaluating
// data.tokencheck.main.findings (memo_test.go compares them).

const (
	// memoAfter is how many tokens an evaluator judges plainly before memoising: a CI gate of a
	// few tokens pays neither the analysis nor the extra queries.
	memoAfter = 512
	// memoMaxEntries bounds each group's cache, so memory stays bounded on any fleet.
	memoMaxEntries = 1 << 16
	// memoProbe lookups decide whether a group's cache pays: below memoMinHits of them hitting,
	// the group is evaluated plainly from then on.
	memoProbe   = 4096
	memoMinHits = memoProbe / 5
)

// memo is an Evaluator's memoising judge, built on first use.
type memo struct {
	compiler *ast.Compiler
	store    storage.Store
	rules    []Rule
	disabled map[string]bool

	seen   atomic.Int64
	once   sync.Once
	groups []*memoGroup
	err    error
}

// memoSet is one rule set (a rule's deny or warn) within a group, bound to a query variable.
type memoSet struct {
	rule, level string
	variable    string
}

// memoGroup is the rule sets sharing a footprint: one query, one cache.
type memoGroup struct {
	fp    *footprint
	sets  []memoSet
	query rego.PreparedEvalQuery
	plain bool // never memoised (fp.bad)

	reads, truths, guards [][]*ast.Term // paths as terms, in signature order
	skip                  [][]skipTerms

	cache         sync.Map // key string -> [][]ast.Value (per set, the findings' f values)
	entries       atomic.Int64
	lookups, hits atomic.Int64
	off           atomic.Bool
}

type skipTerms struct {
	path  []*ast.Term
	value ast.Value
}

func newMemo(compiler *ast.Compiler, store storage.Store, rules []Rule, disabled map[string]bool) *memo {
	return &memo{compiler: compiler, store: store, rules: rules, disabled: disabled}
}

// active returns the memo once enough tokens were judged for it to pay, nil before.
func (m *memo) active(ctx context.Context) (*memo, error) {
	if m == nil || m.seen.Add(1) <= memoAfter {
		return nil, nil
	}
	m.once.Do(func() { m.err = m.build(ctx) })
	if m.err != nil {
		return nil, m.err
	}
	return m, nil
}

// build derives every enabled rule set's footprint and prepares one query per footprint.
func (m *memo) build(ctx context.Context) error {
	bySig := map[string]*memoGroup{}
	var plain *memoGroup
	for _, r := range m.rules {
		if m.disabled[r.ID] || r.path == nil {
			continue
		}
		for _, level := range r.levels {
			ref := r.path.Append(ast.StringTerm(string(level)))
			fp := analyzeRuleSet(m.compiler, ref)
			set := memoSet{rule: r.ID, level: string(level)}
			var g *memoGroup
			switch {
			case fp.bad != "" && plain == nil:
				plain = &memoGroup{fp: fp, plain: true}
				g = plain
			case fp.bad != "":
				g = plain
			default:
				sig := fp.signature()
				if g = bySig[sig]; g == nil {
					g = newMemoGroup(fp)
					bySig[sig] = g
				}
			}
			g.sets = append(g.sets, set)
		}
	}
	var sigs []string
	for s := range bySig {
		sigs = append(sigs, s)
	}
	sort.Strings(sigs)
	for _, s := range sigs {
		m.groups = append(m.groups, bySig[s])
	}
	if plain != nil {
		m.groups = append(m.groups, plain)
	}
	for gi, g := range m.groups {
		var q []string
		for i := range g.sets {
			s := &g.sets[i]
			s.variable = fmt.Sprintf("s%d", i)
			r := m.ruleByID(s.rule)
			q = append(q, fmt.Sprintf("%s := %s.%s", s.variable, r.path, s.level))
		}
		pq, err := rego.New(
			rego.Query(strings.Join(q, "; ")),
			rego.Compiler(m.compiler),
			rego.Store(m.store),
		).PrepareForEval(ctx)
		if err != nil {
			return fmt.Errorf("prepare memoised query %d: %w", gi, err)
		}
		g.query = pq
	}
	return nil
}

func (m *memo) ruleByID(id string) Rule {
	for _, r := range m.rules {
		if r.ID == id {
			return r
		}
	}
	return Rule{}
}

var linkTerms = termPath(linkPath)

func termPath(p []string) []*ast.Term {
	out := make([]*ast.Term, len(p))
	for i, s := range p {
		out[i] = ast.StringTerm(s)
	}
	return out
}

func sortedPaths(m map[string][]string) [][]*ast.Term {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]*ast.Term, len(keys))
	for i, k := range keys {
		out[i] = termPath(m[k])
	}
	return out
}

func newMemoGroup(fp *footprint) *memoGroup {
	g := &memoGroup{fp: fp, reads: sortedPaths(fp.reads), truths: sortedPaths(fp.truths), guards: sortedPaths(fp.guards)}
	for _, alt := range fp.skip {
		var st []skipTerms
		for _, t := range alt {
			st = append(st, skipTerms{path: termPath(t.path), value: t.value})
		}
		g.skip = append(g.skip, st)
	}
	return g
}

// lookup follows a path of object keys; nil when it is not there.
func lookup(v ast.Value, path []*ast.Term) ast.Value {
	for _, k := range path {
		obj, ok := v.(ast.Object)
		if !ok {
			return nil
		}
		t := obj.Get(k)
		if t == nil {
			return nil
		}
		v = t.Value
	}
	return v
}

func truthy(v ast.Value) bool {
	if v == nil {
		return false
	}
	b, isBool := v.(ast.Boolean)
	return !isBool || bool(b)
}

// skipped reports that every body of every set in the group has an input test the token fails.
func (g *memoGroup) skipped(input *tokenView) bool {
	if len(g.skip) == 0 {
		return false
	}
	for _, alt := range g.skip {
		fails := false
		for _, t := range alt {
			if v := input.at(t.path); v == nil || ast.Compare(v, t.value) != 0 {
				fails = true
				break
			}
		}
		if !fails {
			return false
		}
	}
	return true
}

// key is the token's values on the group's footprint, or ok=false when a guard does not hold.
func (g *memoGroup) key(v *tokenView, buf *strings.Builder) (string, bool) {
	for _, p := range g.guards {
		if !truthy(v.at(p)) {
			return "", false
		}
	}
	buf.Reset()
	for _, p := range g.reads {
		switch x := v.at(p).(type) {
		case nil:
			buf.WriteString("\x00u")
		case ast.String:
			buf.WriteString("\x00s")
			buf.WriteString(strconv.Itoa(len(x)))
			buf.WriteByte(':')
			buf.WriteString(string(x))
		default:
			buf.WriteString("\x00v")
			buf.WriteString(x.String())
		}
	}
	for _, p := range g.truths {
		if truthy(v.at(p)) {
			buf.WriteString("\x00t")
		} else {
			buf.WriteString("\x00f")
		}
	}
	return buf.String(), true
}

// tokenView answers footprint look-ups from the token itself, field by field, building the whole
// policy input only when a rule must be evaluated.
type tokenView struct {
	e       *Evaluator
	tok     facts.Token // with scopes_effective filled in, as the input has it
	now     time.Time
	nowText string

	fields   [32]*ast.Term
	built    [32]bool
	repl     ast.Value
	replDone bool
	input    ast.Value
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

func newTokenView(e *Evaluator, t *facts.Token, now time.Time, nowText string) *tokenView {
	v := &tokenView{e: e, tok: *t, now: now, nowText: nowText}
	if len(v.tok.Scopes) > 0 && len(v.tok.ScopesEffective) == 0 {
		v.tok.ScopesEffective = e.catalog.EffectiveScopes(v.tok.Scopes)
	}
	return v
}

// full is the policy input, as Evaluator.input builds it.
func (v *tokenView) full() (ast.Value, error) {
	if v.input == nil {
		in, err := v.e.input(&v.tok, v.now, v.nowText)
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
			v.fields[i], v.built[i] = tokenFields[i].term(&v.tok), true
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
			return lookup(ast.Number(strconv.FormatInt(v.now.UnixNano(), 10)), path[2:])
		case "ns":
			if len(path) == 2 {
				return ast.NewObject() // always there: truthy
			}
			var at *time.Time
			switch name, _ := path[2].Value.(ast.String); name {
			case "created_at":
				at = v.tok.CreatedAt
			case "expires_at":
				at = v.tok.ExpiresAt
			case "last_used_at":
				at = v.tok.LastUsedAt
			}
			if at == nil {
				return nil
			}
			return lookup(ast.Number(strconv.FormatInt(at.UnixNano(), 10)), path[3:])
		case "replacement":
			if !v.replDone {
				v.replDone = true
				if v.tok.Type == facts.TypeClassic {
					r := v.e.replacement(&v.tok)
					perms, _ := r["permissions"].(map[string]string)
					link, _ := r["link"].(string)
					v.repl = ast.NewObject(
						ast.Item(ast.InternedTerm("permissions"), stringMapTerm(perms)),
						ast.Item(ast.InternedTerm("link"), ast.StringTerm(link)),
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

// memoItem is one finding as the findings query would return it.
type memoItem struct {
	rule, level string
	f           ast.Value
}

// evaluateOne judges one token as Evaluator.evaluateOne does, through the group caches.
func (m *memo) evaluateOne(ctx context.Context, e *Evaluator, t *facts.Token, now time.Time, nowText string) ([]finding.Finding, error) {
	view := newTokenView(e, t, now, nowText)
	var items []memoItem
	var buf strings.Builder
	var placeholderInput ast.Value
	var link ast.Value
	for _, g := range m.groups {
		if g.skipped(view) {
			continue
		}
		var key string
		memoised := !g.plain && !g.off.Load()
		if memoised {
			key, memoised = g.key(view, &buf)
		}
		if !memoised {
			input, err := view.full()
			if err != nil {
				return nil, fmt.Errorf("token %s: %w", t.ID, err)
			}
			sets, err := g.eval(ctx, input)
			if errors.Is(err, errPlainPath) {
				return nil, err
			}
			if err != nil {
				return nil, fmt.Errorf("evaluate token %s: %w", t.ID, err)
			}
			items = g.appendItems(items, sets, nil)
			continue
		}
		n := g.lookups.Add(1)
		cached, hit := g.cache.Load(key)
		if hit {
			g.hits.Add(1)
		} else {
			in, err := view.full()
			if err != nil {
				return nil, fmt.Errorf("token %s: %w", t.ID, err)
			}
			if g.fp.placeholder {
				if placeholderInput == nil {
					placeholderInput = replaceAt(in, linkPath, ast.String(placeholderLink))
				}
				in = placeholderInput
			}
			sets, err := g.eval(ctx, in)
			if errors.Is(err, errPlainPath) {
				return nil, err
			}
			if err != nil {
				return nil, fmt.Errorf("evaluate token %s: %w", t.ID, err)
			}
			cached = sets
			if g.entries.Load() < memoMaxEntries {
				if _, loaded := g.cache.LoadOrStore(key, sets); !loaded {
					g.entries.Add(1)
				}
			}
		}
		if n == memoProbe && g.hits.Load() < memoMinHits {
			g.off.Store(true)
			g.cache.Clear()
		}
		var fill ast.Value
		if g.fp.placeholder {
			if link == nil {
				link = view.at(linkTerms)
			}
			fill = link
		}
		items = g.appendItems(items, cached.([][]ast.Value), fill)
	}
	// The order of the findings query: its set of {"f", "level", "rule"} objects, sorted.
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if c := ast.Compare(a.f, b.f); c != 0 {
			return c < 0
		}
		if a.level != b.level {
			return a.level < b.level
		}
		return a.rule < b.rule
	})
	var out []finding.Finding
	for i, it := range items {
		if i > 0 && it.rule == items[i-1].rule && it.level == items[i-1].level && ast.Compare(it.f, items[i-1].f) == 0 {
			continue // a set: equal findings of two sets of one group are one
		}
		fv, err := ast.JSON(it.f)
		if err != nil {
			return nil, fmt.Errorf("token %s: %w", t.ID, err)
		}
		f, err := e.finding(map[string]any{"rule": it.rule, "level": it.level, "f": fv}, t)
		if err != nil {
			return nil, errPlainPath // a bad finding (no msg, unknown severity): reported by the plain path
		}
		out = append(out, f)
	}
	return e.settle(out, now), nil
}

// errPlainPath sends a token to plain evaluation: a rule failed on it (a builtin error, a finding
// the engine refuses), and the plain path reports that as the rule's input error, at its line.
var errPlainPath = errors.New("judge this token plainly")

// eval runs the group's query; per set, the f values of its findings.
func (g *memoGroup) eval(ctx context.Context, input ast.Value) ([][]ast.Value, error) {
	var builtinErrs []topdown.Error
	rs, err := g.query.Eval(ctx, rego.EvalParsedInput(input), rego.EvalBuiltinErrorList(&builtinErrs))
	if err != nil {
		return nil, err
	}
	if len(builtinErrs) > 0 {
		return nil, errPlainPath // never cached: the plain path reports the rule's error
	}
	out := make([][]ast.Value, len(g.sets))
	if len(rs) == 0 {
		return out, nil
	}
	for i, s := range g.sets {
		vals, _ := rs[0].Bindings[s.variable].([]any)
		for _, v := range vals {
			av, err := ast.InterfaceToValue(v)
			if err != nil {
				return nil, err
			}
			out[i] = append(out[i], av)
		}
	}
	return out, nil
}

// appendItems adds a group's results, with the placeholder link replaced by fill.
func (g *memoGroup) appendItems(items []memoItem, sets [][]ast.Value, fill ast.Value) []memoItem {
	for i, vals := range sets {
		for _, v := range vals {
			if fill != nil {
				v = substitute(v, ast.String(placeholderLink), fill)
			}
			items = append(items, memoItem{rule: g.sets[i].rule, level: g.sets[i].level, f: v})
		}
	}
	return items
}

// substitute replaces every value equal to from by to, copying only what changes.
func substitute(v, from, to ast.Value) ast.Value {
	switch x := v.(type) {
	case ast.String:
		if x.Equal(from) {
			return to
		}
	case ast.Object:
		changed := false
		out := ast.NewObject()
		x.Foreach(func(k, val *ast.Term) {
			nv := substitute(val.Value, from, to)
			if nv != val.Value {
				changed = true
			}
			out.Insert(k, ast.NewTerm(nv))
		})
		if changed {
			return out
		}
	case *ast.Array:
		changed := false
		terms := make([]*ast.Term, x.Len())
		for i := range terms {
			e := x.Elem(i)
			nv := substitute(e.Value, from, to)
			changed = changed || nv != e.Value
			terms[i] = ast.NewTerm(nv)
		}
		if changed {
			return ast.NewArray(terms...)
		}
	case ast.Set:
		changed := false
		var terms []*ast.Term
		x.Foreach(func(e *ast.Term) {
			nv := substitute(e.Value, from, to)
			changed = changed || nv != e.Value
			terms = append(terms, ast.NewTerm(nv))
		})
		if changed {
			return ast.NewSet(terms...)
		}
	}
	return v
}

// replaceAt returns the input with the value at path replaced, copying the objects along it.
func replaceAt(v ast.Value, path []string, val ast.Value) ast.Value {
	obj, ok := v.(ast.Object)
	if !ok || len(path) == 0 {
		return v
	}
	k := ast.StringTerm(path[0])
	cur := obj.Get(k)
	if cur == nil {
		return v
	}
	nv := val
	if len(path) > 1 {
		nv = replaceAt(cur.Value, path[1:], val)
	}
	out := ast.NewObject()
	obj.Foreach(func(key, x *ast.Term) {
		if key.Equal(k) {
			out.Insert(key, ast.NewTerm(nv))
			return
		}
		out.Insert(key, x)
	})
	return out
}
