package policy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
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
// of its footprint (footprint.go) and the rule is evaluated only for footprints not seen before,
// on an input holding only its footprint. Rule sets with the same footprint share one prepared
// query and one cache. A rule that cannot be analysed, reads the whole input or token, or calls a
// non-deterministic builtin is evaluated for every token on the whole input; so is a group whose
// cache hardly hits (on its footprint). Results are identical to evaluating
// data.tokencheck.main.findings (memo_test.go compares them).

const (
	// memoAfter is how many tokens an evaluator judges plainly before memoising: a CI gate of a
	// few tokens pays neither the analysis nor the extra queries.
	memoAfter = 64
	// memoMaxEntries bounds each group's cache, so memory stays bounded on any fleet: once full, a
	// group caches nothing more and evaluates the footprints it has not cached.
	memoMaxEntries = 1 << 14
	// memoProbe lookups decide whether a group's cache pays: below memoMinHits of them hitting,
	// the group is evaluated on every token from then on.
	memoProbe   = 4096
	memoMinHits = memoProbe / 5
)

// memo is an Evaluator's memoising judge, built on first use.
type memo struct {
	compiler *ast.Compiler
	store    storage.Store
	rules    []Rule
	disabled map[string]bool
	// maxEntries is memoMaxEntries, smaller in tests.
	maxEntries int

	seen   atomic.Int64
	on     atomic.Bool
	once   sync.Once
	groups []*memoGroup
	paths  []*memoPath // every group's key paths, each once
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

	keyPaths []memoKeyPath // into memo.paths, in key order
	guards   []*memoPath
	skip     [][]memoSkip
	cover    []*coverNode // the restricted input's tree
	// derived, when set, is the key instead of the footprint's values (memo_derived.go).
	derived func(v *tokenView, b []byte) []byte

	cache   memoCache
	lookups atomic.Int64
	hits    atomic.Int64
	probed  atomic.Bool
	off     atomic.Bool
}

// memoKeyPath is one part of a group's key: a path's value (or truth), and its ancestors' shapes.
type memoKeyPath struct {
	index int // into memo.paths and the token's encodings
	truth bool
}

// memoSkip is one `input.path == value` test of a rule body.
type memoSkip struct {
	path  *memoPath
	str   string // value, when it is a string and the path has a string accessor
	isStr bool
	value ast.Value
}

func newMemo(compiler *ast.Compiler, store storage.Store, rules []Rule, disabled map[string]bool) *memo {
	return &memo{compiler: compiler, store: store, rules: rules, disabled: disabled, maxEntries: memoMaxEntries}
}

// active returns the memo once enough tokens were judged for it to pay, nil before.
func (m *memo) active(ctx context.Context) (*memo, error) {
	if m == nil {
		return nil, nil
	}
	if !m.on.Load() {
		if m.seen.Add(1) <= memoAfter {
			return nil, nil
		}
		m.once.Do(func() {
			m.err = m.build(ctx)
			m.on.Store(true)
		})
	}
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
					g = &memoGroup{fp: fp}
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
	pathIndex := map[string]int{}
	intern := func(p []string) int {
		k := pathKey(p)
		i, ok := pathIndex[k]
		if !ok {
			i = len(m.paths)
			pathIndex[k] = i
			m.paths = append(m.paths, compileMemoPath(p))
		}
		return i
	}
	for gi, g := range m.groups {
		if !g.plain {
			for _, p := range sortedPaths(g.fp.reads) {
				g.keyPaths = append(g.keyPaths, memoKeyPath{index: intern(p)})
			}
			for _, p := range sortedPaths(g.fp.truths) {
				g.keyPaths = append(g.keyPaths, memoKeyPath{index: intern(p), truth: true})
			}
			for _, p := range sortedPaths(g.fp.guards) {
				g.guards = append(g.guards, m.paths[intern(p)])
			}
			for _, alt := range g.fp.skip {
				var st []memoSkip
				for _, t := range alt {
					s := memoSkip{path: m.paths[intern(t.path)], value: t.value}
					if str, ok := t.value.(ast.String); ok && s.path.str != nil {
						s.str, s.isStr = string(str), true
					}
					st = append(st, s)
				}
				g.skip = append(g.skip, st)
			}
			g.cover = coverTree(g.fp)
			if len(g.sets) == 1 {
				if d, ok := memoDerivedKeys[g.sets[0].rule+"."+g.sets[0].level]; ok && d.digest == reachedDigest(g.fp) {
					g.derived = d.key
				}
			}
		}
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

// sortedPaths lists a footprint map's paths in the order of their keys.
func sortedPaths(m map[string][]string) [][]string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]string, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
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
func (g *memoGroup) skipped(v *tokenView) bool {
	if len(g.skip) == 0 {
		return false
	}
	for _, alt := range g.skip {
		fails := false
		for _, t := range alt {
			if t.isStr {
				s, ok := t.path.str(v)
				fails = !ok || s != t.str
			} else {
				x := v.at(t.path.terms)
				fails = x == nil || ast.Compare(x, t.value) != 0
			}
			if fails {
				break
			}
		}
		if !fails {
			return false
		}
	}
	return true
}

// key appends the token's values on the group's footprint to b, or ok=false when a guard does
// not hold.
func (g *memoGroup) key(m *memo, v *tokenView, b []byte) ([]byte, bool) {
	for _, p := range g.guards {
		if !p.truth(v) {
			return b, false
		}
	}
	if g.derived != nil {
		return g.derived(v, b), true
	}
	for _, k := range g.keyPaths {
		b = v.encoding(m, k, b)
	}
	return b, true
}

// memoFinding is one finding of a rule set as evaluated, and what it becomes for a token.
type memoFinding struct {
	f ast.Value
	// proto is the finding without the token's facts; its message, fix URL and subject may be
	// the placeholder link, filled in per token (fill's bits 1, 2, 4).
	proto finding.Finding
	fill  uint8
	// hasLink: the placeholder link is somewhere in f.
	hasLink bool
	// bad: the engine refuses the finding (no message, unknown severity); the token goes the plain
	// way, which reports the rule's error.
	bad bool
}

// memoEntry is a group's findings for one footprint.
type memoEntry struct {
	findings []memoFinding
}

var emptyEntry = &memoEntry{}

// memoItem is one finding for the token being judged.
type memoItem struct {
	mf     *memoFinding
	f      ast.Value // mf.f with the token's link, once needed
	rank   int
	msg    string
	substd bool
}

// memoScratch is one worker's reusable state.
type memoScratch struct {
	view  tokenView
	key   []byte
	items []memoItem
}

// evaluateOne judges one token as Evaluator.evaluateOne does, through the group caches.
func (m *memo) evaluateOne(ctx context.Context, e *Evaluator, t *facts.Token, now time.Time, nowText string, sc *memoScratch) ([]finding.Finding, error) {
	view := &sc.view
	view.reset(e, t, now, nowText, len(m.paths))
	items := sc.items[:0]
	defer func() { sc.items = items[:0] }()
	var link string
	linkDone := false
	for _, g := range m.groups {
		if g.skipped(view) {
			continue
		}
		var entry *memoEntry
		var err error
		memoised := !g.plain
		if memoised {
			sc.key, memoised = g.key(m, view, sc.key[:0])
		}
		switch {
		case !memoised:
			// Not memoised, or a guard does not hold: the whole input.
			input, ierr := view.full()
			if ierr != nil {
				return nil, fmt.Errorf("token %s: %w", t.ID, ierr)
			}
			entry, err = g.evaluate(ctx, e, input)
		case g.off.Load():
			entry, err = g.evaluate(ctx, e, g.restricted(view))
		default:
			var hit bool
			entry, hit = g.cache.load(sc.key)
			if !g.probed.Load() {
				n := g.lookups.Add(1)
				if hit {
					g.hits.Add(1)
				}
				if n == memoProbe {
					g.probed.Store(true)
					if g.hits.Load() < memoMinHits {
						g.off.Store(true)
						g.cache.clear()
					}
				}
			}
			if !hit {
				entry, err = g.evaluate(ctx, e, g.restricted(view))
				if err == nil && !g.off.Load() {
					g.cache.store(sc.key, entry, m.maxEntries)
				}
			}
		}
		if errors.Is(err, errPlainPath) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("evaluate token %s: %w", t.ID, err)
		}
		for i := range entry.findings {
			mf := &entry.findings[i]
			if mf.bad {
				return nil, errPlainPath // a bad finding (no msg, unknown severity): reported by the plain path
			}
			it := memoItem{mf: mf, f: mf.f, rank: mf.proto.Severity.Rank(), msg: mf.proto.Message}
			if mf.hasLink {
				if !linkDone {
					linkDone = true
					link = e.replacementLink(t, view.replacementPermissions())
				}
				if mf.fill&1 != 0 {
					it.msg = link
				}
			}
			items = append(items, it)
		}
	}
	if len(items) == 0 {
		return e.settle(nil, now), nil
	}
	// The order settle gives, with ties in the order of the findings query (its set of {"f",
	// "level", "rule"} objects, sorted): severity, rule, message, then f and level.
	substituted := func(it *memoItem) ast.Value {
		if it.mf.hasLink && !it.substd {
			it.f, it.substd = substitute(it.mf.f, ast.String(placeholderLink), ast.String(link)), true
		}
		return it.f
	}
	slices.SortFunc(items, func(a, b memoItem) int {
		if a.rank != b.rank {
			return b.rank - a.rank
		}
		if c := strings.Compare(a.mf.proto.Rule, b.mf.proto.Rule); c != 0 {
			return c
		}
		if c := strings.Compare(a.msg, b.msg); c != 0 {
			return c
		}
		if c := ast.Compare(substituted(&a), substituted(&b)); c != 0 {
			return c
		}
		return strings.Compare(string(a.mf.proto.Level), string(b.mf.proto.Level))
	})
	out := make([]finding.Finding, 0, len(items))
	for i := range items {
		it := &items[i]
		if i > 0 {
			prev := &items[i-1]
			if it.mf.proto.Rule == prev.mf.proto.Rule && it.mf.proto.Level == prev.mf.proto.Level && ast.Compare(substituted(it), substituted(prev)) == 0 {
				continue // a set: equal findings of two sets of one group are one
			}
		}
		f := it.mf.proto
		f.Token, f.TokenName = t.ID, t.Name
		if it.mf.fill != 0 {
			if it.mf.fill&1 != 0 {
				f.Message = link
			}
			if it.mf.fill&2 != 0 {
				f.FixURL = link
			}
			if it.mf.fill&4 != 0 {
				f.Subject = link
			}
			if f.Message == "" {
				return nil, errPlainPath
			}
		}
		if t.Source.File != "" {
			f.Location = &finding.Location{File: filepath.ToSlash(t.Source.File), Line: t.Source.Line}
		}
		out = append(out, f)
	}
	return e.settle(out, now), nil
}

// errPlainPath sends a token to plain evaluation: a rule failed on it (a builtin error, a finding
// the engine refuses), and the plain path reports that as the rule's input error, at its line.
var errPlainPath = errors.New("judge this token plainly")

// evaluate runs the group's query on an input; its findings, ready for any token with the same
// footprint.
func (g *memoGroup) evaluate(ctx context.Context, e *Evaluator, input ast.Value) (*memoEntry, error) {
	var builtinErrs []topdown.Error
	rs, err := g.query.Eval(ctx, rego.EvalParsedInput(input), rego.EvalBuiltinErrorList(&builtinErrs))
	if err != nil {
		return nil, err
	}
	if len(builtinErrs) > 0 {
		return nil, errPlainPath // never cached: the plain path reports the rule's error
	}
	if len(rs) == 0 {
		return emptyEntry, nil
	}
	entry := &memoEntry{}
	for _, s := range g.sets {
		vals, _ := rs[0].Bindings[s.variable].([]any)
		for _, raw := range vals {
			f, err := ast.InterfaceToValue(raw)
			if err != nil {
				return nil, err
			}
			mf := memoFinding{f: f, hasLink: g.fp.placeholder && containsPlaceholder(f)}
			proto, ferr := e.finding(map[string]any{"rule": s.rule, "level": s.level, "f": raw}, &facts.Token{})
			if ferr != nil {
				mf.bad = true
			}
			if mf.hasLink {
				for bit, s := range []string{proto.Message, proto.FixURL, proto.Subject} {
					if s == placeholderLink {
						mf.fill |= 1 << bit
					}
				}
			}
			mf.proto = proto
			entry.findings = append(entry.findings, mf)
		}
	}
	if len(entry.findings) == 0 {
		return emptyEntry, nil
	}
	return entry, nil
}

func containsPlaceholder(v ast.Value) bool {
	found := false
	ast.WalkTerms(v, func(t *ast.Term) bool {
		if s, ok := t.Value.(ast.String); ok && s == placeholderLink {
			found = true
		}
		return found
	})
	return found
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

// replaceAt returns the value with the value at path replaced, copying the objects along it.
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
