package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
)

// Options configures an Engine.
type Options struct {
	Config     Config   // settings, waivers, disabled rules
	PolicyDirs []string // user rule directories, judged like the built-in rules
	DataFiles  []string // extra JSON/YAML data for user rules, merged at the root of data
	Disable    []string // rule ids turned off, besides Config.Disable
	Catalog    *facts.Catalog
	// Now is the run's clock, for checks of the configuration such as how far ahead a waiver may
	// expire; zero means the wall clock.
	Now time.Time
}

// Evaluator judges tokens with compiled rules. Build it once per run; Evaluate is safe for
// concurrent use.
type Evaluator struct {
	rules    []Rule
	byID     map[string]Rule
	query    rego.PreparedEvalQuery
	compiler *ast.Compiler
	store    storage.Store
	caps     *ast.Capabilities
	catalog  *facts.Catalog
	config   Config
	replDays int

	unknownDisabled []string
	disabled        map[string]bool
	configProblems  []finding.Problem
	// memo is memoised judging of large runs (memo.go); nil: every token is evaluated plainly.
	memo *memo
}

// ConfigProblems are input errors in the configuration found once the rules are known: a waiver
// whose rule does not exist, a waiver that expires too far ahead. Those waivers are dropped; the
// run reports each problem (exit 2) and judges on.
func (e *Evaluator) ConfigProblems() []finding.Problem { return e.configProblems }

// UnknownDisabled lists the rule ids asked to be disabled that no loaded rule has.
func (e *Evaluator) UnknownDisabled() []string { return e.unknownDisabled }

const findingsQuery = "data.tokencheck.main.findings"

// New loads and compiles every rule once. Errors name the policy file and line.
func New(ctx context.Context, opts Options) (*Evaluator, error) {
	if opts.Catalog == nil {
		return nil, errors.New("engine: no catalogue")
	}
	if opts.Config.Settings == nil {
		def, err := DefaultConfig()
		if err != nil {
			return nil, err
		}
		opts.Config.Settings = def.Settings
	}
	if err := validateSettings(opts.Config.Settings); err != nil {
		return nil, err
	}
	modules, builtin, err := loadModules(opts.PolicyDirs, false)
	if err != nil {
		return nil, err
	}
	e := &Evaluator{byID: map[string]Rule{}, catalog: opts.Catalog, config: opts.Config}
	if n, ok := opts.Config.Settings["replacement_expires_in_days"].(float64); ok {
		e.replDays = int(n)
	}
	for name, m := range modules {
		r, ok, err := ruleFromModule(m, builtin[name])
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if prev, dup := e.byID[r.ID]; dup {
			return nil, fmt.Errorf("%s: rule %s is already defined in %s", r.File, r.ID, prev.File)
		}
		e.byID[r.ID] = r
		e.rules = append(e.rules, r)
	}
	e.byID[waiverExpired.ID] = waiverExpired
	e.rules = append(e.rules, waiverExpired)
	sort.Slice(e.rules, func(i, j int) bool { return e.rules[i].ID < e.rules[j].ID })
	disabled := map[string]bool{}
	for _, id := range append(append([]string{}, opts.Config.Disable...), opts.Disable...) {
		if _, ok := e.byID[id]; !ok {
			e.unknownDisabled = append(e.unknownDisabled, id)
			continue
		}
		disabled[id] = true
	}
	e.disabled = disabled
	e.configProblems, e.config.Waivers = checkWaivers(opts.Config, e.byID, opts.Now)
	userRules := len(modules) > len(builtin)
	modules["tokencheck/main.rego"] = mainModule(e.rules, disabled)

	store, err := buildStore(opts)
	if err != nil {
		return nil, err
	}
	// Rules are sandboxed (no network builtins), and user rules are type-checked against the policy
	// input's schema: a rule on a field the input never has fails to compile at its line instead of
	// silently never firing. The built-in rules pass that check (TestBuiltinRulesCompileWithInputSchema),
	// so a run without user rules is spared it, a sixth of compiling them.
	caps := sandboxCapabilities()
	compiler := ast.NewCompiler().WithEnablePrintStatements(false).WithCapabilities(caps)
	if userRules {
		if compiler, err = withInputSchema(compiler); err != nil {
			return nil, err
		}
	}
	compiler.Compile(modules)
	if compiler.Failed() {
		return nil, fmt.Errorf("compile policies: %w", explainCompileErrors(compiler.Errors))
	}
	q, err := rego.New(
		rego.Query(findingsQuery),
		rego.Compiler(compiler),
		rego.Capabilities(caps),
		rego.Store(store),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare policy query: %w", err)
	}
	e.query, e.compiler, e.store, e.caps = q, compiler, store, caps
	e.memo = newMemo(compiler, store, e.rules, disabled)
	return e, nil
}

// mainModule gathers every enabled rule's deny and warn sets into one query, so one evaluation per
// token runs all rules.
func mainModule(rules []Rule, disabled map[string]bool) *ast.Module {
	var b strings.Builder
	b.WriteString("package tokencheck.main\n\n")
	for _, r := range rules {
		if disabled[r.ID] || r.path == nil {
			continue
		}
		for _, level := range r.levels { // only the sets the package defines: no empty look-ups per token
			fmt.Fprintf(&b, "findings contains {\"rule\": %q, \"level\": %q, \"f\": f} if {\n\tsome f in %s.%s\n}\n\n", r.ID, level, r.path, level)
		}
	}
	return ast.MustParseModuleWithOpts(b.String(), ast.ParserOptions{RegoVersion: ast.RegoV1})
}

// buildStore lays out data.tokencheck.{catalog,config} and any user data files.
func buildStore(opts Options) (storage.Store, error) {
	var catalog any = opts.Catalog.Data()
	// The scope tree as an adjacency list for graph.reachable, built once here instead of per token in Rego.
	graph := map[string]any{}
	for scope, info := range opts.Catalog.Scopes {
		graph[scope] = info.Implies
	}
	catalog.(map[string]any)["scope_graph"] = normalize(graph)
	// And each scope's closure (itself and everything it implies), so lib.implied is a look-up.
	closure := map[string]any{}
	for scope := range opts.Catalog.Scopes {
		closure[scope] = opts.Catalog.EffectiveScopes([]string{scope})
	}
	catalog.(map[string]any)["scope_closure"] = normalize(closure)
	root, err := readDataFiles(opts.DataFiles)
	if err != nil {
		return nil, err
	}
	root["tokencheck"] = map[string]any{"catalog": catalog, "config": normalize(opts.Config.Settings)}
	return inmem.NewFromObjectWithOpts(root, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true)), nil
}

// readDataFiles merges the top-level keys of JSON/YAML data files; tokencheck is reserved.
func readDataFiles(files []string) (map[string]any, error) {
	root := map[string]any{}
	for _, f := range files {
		doc, err := readDataFile(f)
		if err != nil {
			return nil, err
		}
		for k, v := range doc {
			if k == "tokencheck" {
				return nil, fmt.Errorf("data file %s: the top-level key tokencheck is reserved", f)
			}
			root[k] = v
		}
	}
	return root, nil
}

func validateSettings(s map[string]any) error {
	if ds, ok := s["dangerous_scopes"].(map[string]any); ok {
		for scope, sev := range ds {
			if str, _ := sev.(string); !finding.Severity(str).Valid() {
				return fmt.Errorf("setting dangerous_scopes: %s: %v is not a severity", scope, sev)
			}
		}
	}
	return nil
}

func toJSONValue(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode data: %w", err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("decode data: %w", err)
	}
	return out, nil
}

// Rules lists the loaded rules, built-in and user, by id.
func (e *Evaluator) Rules() []finding.Rule {
	out := make([]finding.Rule, len(e.rules))
	for i, r := range e.rules {
		out[i] = r.Rule
	}
	return out
}

// Config is the configuration the engine judges with (settings and waivers).
func (e *Evaluator) Config() Config { return e.config }

// Rule looks a rule up by id.
func (e *Evaluator) Rule(id string) (finding.Rule, bool) {
	r, ok := e.byID[id]
	return r.Rule, ok
}

// Evaluate judges every token at the given time, in parallel across cores, and returns findings
// ordered by token (input order), then severity, then rule.
func (e *Evaluator) Evaluate(ctx context.Context, tokens []facts.Token, now time.Time) ([]finding.Finding, error) {
	perToken := make([][]finding.Finding, len(tokens))
	nowText := now.UTC().Format(time.RFC3339)
	workers := runtime.GOMAXPROCS(0)
	if workers > len(tokens) {
		workers = len(tokens)
	}
	next := make(chan int)
	errs := make([]error, workers)
	problems := make([]ruleProblems, workers)
	judged := make([]bool, len(tokens))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var scratch memoScratch
			for i := range next {
				if errs[w] != nil {
					continue
				}
				perToken[i], errs[w] = e.evaluateOne(ctx, &tokens[i], now, nowText, &problems[w], &scratch)
				judged[i] = errs[w] == nil
			}
		}(w)
	}
feed:
	for i := range tokens {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, e.timedOut(tokens, judged, err)
		}
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("evaluation stopped: %w", err)
	}
	n := 0
	for _, fs := range perToken {
		n += len(fs)
	}
	out := make([]finding.Finding, 0, n)
	for _, fs := range perToken {
		out = append(out, fs...)
	}
	var all ruleProblems
	for i := range problems {
		all.merge(&problems[i])
	}
	// A *RuleErrors beside the findings: the failing rules are input errors, the rest judged.
	return out, all.err()
}

func (e *Evaluator) evaluateOne(ctx context.Context, t *facts.Token, now time.Time, nowText string, problems *ruleProblems, scratch *memoScratch) ([]finding.Finding, error) {
	if m, err := e.memo.active(ctx); m != nil || err != nil {
		if err != nil {
			return nil, err
		}
		// A token on which a rule fails goes the plain way, which reports the rule's error.
		if out, err := m.evaluateOne(ctx, e, t, now, nowText, scratch); !errors.Is(err, errPlainPath) {
			return out, err
		}
	}
	input, err := e.input(t, now, nowText)
	if err != nil {
		return nil, fmt.Errorf("token %s: %w", t.ID, err)
	}
	var builtinErrs []topdown.Error
	rs, err := e.query.Eval(ctx, rego.EvalParsedInput(input), rego.EvalBuiltinErrorList(&builtinErrs))
	if err != nil {
		return nil, fmt.Errorf("evaluate token %s: %w", t.ID, err)
	}
	// A builtin that errors leaves its expression undefined: the rule may have missed a finding, so
	// the error is the rule's, reported, and its findings for this token are not trusted.
	failed := map[string]bool{}
	for _, be := range builtinErrs {
		if r, line, ok := e.builtinErrorRule(be); ok {
			problems.add(r, line, t.ID, "builtin error: "+be.Message)
			failed[r.ID] = true
		}
	}
	var out []finding.Finding
	for _, r := range rs {
		for _, expr := range r.Expressions {
			set, _ := expr.Value.([]any)
			for _, item := range set {
				f, err := e.finding(item, t)
				if err != nil {
					problems.add(e.byID[f.Rule], 0, t.ID, err.Error())
					failed[f.Rule] = true
					continue
				}
				out = append(out, f)
			}
		}
	}
	if len(failed) > 0 {
		out = slices.DeleteFunc(out, func(f finding.Finding) bool { return failed[f.Rule] })
	}
	return e.settle(out, now), nil
}

// settle orders one token's findings (severity, then rule, then message) and applies the
// waivers, adding a waiver-expired finding for each expired waiver that would have covered one.
// The plain and the memoised paths end here, so their findings are the same.
func (e *Evaluator) settle(out []finding.Finding, now time.Time) []finding.Finding {
	slices.SortStableFunc(out, func(a, b finding.Finding) int {
		if ra, rb := a.Severity.Rank(), b.Severity.Rank(); ra != rb {
			return rb - ra
		}
		if c := strings.Compare(a.Rule, b.Rule); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	if expired := e.applyWaivers(out, now); len(expired) > 0 && !e.disabled[waiverExpired.ID] {
		out = append(out, expired...)
	}
	return out
}

// finding turns one {"rule", "level", "f"} result into a Finding with the rule's metadata.
func (e *Evaluator) finding(item any, t *facts.Token) (finding.Finding, error) {
	m, _ := item.(map[string]any)
	ruleID, _ := m["rule"].(string)
	level, _ := m["level"].(string)
	rule := e.byID[ruleID]
	f := finding.Finding{Rule: ruleID, Level: finding.Level(level), Severity: rule.Severity, Token: t.ID, TokenName: t.Name, Remediation: rule.Remediation}
	switch body := m["f"].(type) {
	case map[string]any:
		f.Message, _ = body["msg"].(string)
		f.FixURL, _ = body["fix_url"].(string)
		f.Subject, _ = body["subject"].(string)
		if sev, ok := body["severity"].(string); ok {
			if !finding.Severity(sev).Valid() {
				return f, fmt.Errorf("returned severity %q, not one of %s", sev, finding.SeverityNames())
			}
			f.Severity = finding.Severity(sev)
		}
	case string:
		f.Message = body
	}
	if f.Message == "" {
		return f, errors.New("returned a finding without msg")
	}
	if t.Source.File != "" {
		f.Location = &finding.Location{File: filepath.ToSlash(t.Source.File), Line: t.Source.Line}
	}
	return f, nil
}

// waiverExpired is the one rule the engine itself applies: waivers are configuration, not token facts.
var waiverExpired = Rule{Rule: finding.Rule{
	ID:          "waiver-expired",
	Title:       "Waiver has expired",
	Description: "A waiver in the configuration covered this finding, but its expiry date has passed, so the finding counts again.",
	Severity:    finding.Medium,
	Remediation: "Fix what the waived finding reports, or renew the waiver with a new expiry after reviewing its reason.",
	// The README's section on waivers: SARIF's helpUri and `explain` point there.
	Resources: []finding.Resource{{Ref: "https://github.com/tokencheck/tokencheck#waivers-and-baselines", Description: "Waivers and baselines (tokencheck README)"}},
	File:      "engine/policy/evaluator.go",
	Builtin:   true,
}}

// applyWaivers marks findings that a live waiver covers, and returns one waiver-expired finding for
// each expired waiver that would have covered a finding.
func (e *Evaluator) applyWaivers(fs []finding.Finding, now time.Time) []finding.Finding {
	var expired []finding.Finding
	for i := range fs {
		for _, w := range e.config.Waivers {
			if !w.Matches(fs[i].Rule, fs[i].Token) {
				continue
			}
			if now.Before(w.Expires) {
				fs[i].Waived = true
				fs[i].WaiverReason = w.Reason
				break
			}
			f := finding.Finding{
				Rule: waiverExpired.ID, Severity: waiverExpired.Severity, Level: finding.Deny, Token: fs[i].Token, TokenName: fs[i].TokenName,
				Subject:     expiredSubject(fs[i]),
				Message:     fmt.Sprintf("waiver of %s (owner %s: %s) expired on %s", w.Rule, w.Owner, w.Reason, w.Expires.Format("2006-01-02")),
				Remediation: waiverExpired.Remediation, Location: fs[i].Location,
			}
			if e.config.File != "" {
				f.Location = &finding.Location{File: filepath.ToSlash(e.config.File), Line: w.Line}
			}
			expired = append(expired, f)
		}
	}
	return expired
}

// expiredSubject is a waiver-expired finding's subject: the rule and subject of the finding the
// waiver would have covered, so each has its own identity.
func expiredSubject(f finding.Finding) string {
	if f.Subject == "" {
		return f.Rule
	}
	return f.Rule + ":" + f.Subject
}

// input builds the policy input: the token with derived facts filled in, the clock, and facts
// derived in Go so rules stay cheap look-ups.
func (e *Evaluator) input(t *facts.Token, now time.Time, nowText string) (ast.Value, error) {
	tok := *t
	if len(tok.Scopes) > 0 && len(tok.ScopesEffective) == 0 {
		tok.ScopesEffective = e.catalog.EffectiveScopes(tok.Scopes)
	}
	// Facts derived in Go, so rules are look-ups: the clock and the token's times in nanoseconds
	// (what lib.now_ns and lib.ts would otherwise parse once per rule), and a classic token's
	// least-privilege replacement.
	ns := nsObject(&tok)
	derived := ast.NewObject(
		ast.Item(ast.InternedTerm("now_ns"), ast.NewTerm(ast.Number(strconv.FormatInt(now.UnixNano(), 10)))),
		ast.Item(ast.InternedTerm("ns"), ast.NewTerm(ns)),
	)
	if tok.Type == facts.TypeClassic {
		perms := e.replacementPermissions(&tok)
		link := e.replacementLink(&tok, perms)
		derived.Insert(ast.InternedTerm("replacement"), ast.ObjectTerm(
			ast.Item(ast.InternedTerm("permissions"), stringMapTerm(perms)),
			ast.Item(ast.InternedTerm("link"), ast.StringTerm(link)),
		))
	}
	return ast.NewObject(
		ast.Item(ast.InternedTerm("token"), tokenTerm(&tok)),
		ast.Item(ast.InternedTerm("now"), ast.StringTerm(nowText)),
		ast.Item(ast.InternedTerm("derived"), ast.NewTerm(derived)),
	), nil
}

// nsObject is derived.ns: the token's times in nanoseconds, clamped.
func nsObject(t *facts.Token) ast.Object {
	ns := ast.NewObject()
	for _, f := range []struct {
		name string
		at   *time.Time
	}{{"created_at", t.CreatedAt}, {"expires_at", t.ExpiresAt}, {"last_used_at", t.LastUsedAt}} {
		if f.at != nil {
			ns.Insert(ast.InternedTerm(f.name), ast.NewTerm(ast.Number(strconv.FormatInt(facts.ClampTime(*f.at).UnixNano(), 10))))
		}
	}
	return ns
}

// replacementPermissions are the permissions of the least-privilege fine-grained token that would
// do a classic token's work (its replacement).
func (e *Evaluator) replacementPermissions(t *facts.Token) map[string]string {
	switch {
	case len(t.Needs) > 0:
		perms := map[string]string{}
		for name, level := range t.Needs {
			if e.catalog.LevelAccepted(name, level) {
				perms[name] = level
			}
		}
		return perms
	case len(t.NeedsScopes) > 0:
		return e.catalog.Replacement(t.NeedsScopes)
	default:
		return e.catalog.Replacement(t.Scopes)
	}
}

// replacementLink is the template link that creates a classic token's replacement.
func (e *Evaluator) replacementLink(t *facts.Token, perms map[string]string) string {
	name, desc := t.Name, "Replaces classic token "+t.ID
	switch {
	case name != "":
	case t.LastFour != "":
		// A token known by its value (scan) has no name; its last four characters are how its owner
		// finds it on the tokens settings page.
		name = "Replaces classic token …" + t.LastFour
		desc = "Replaces classic token …" + t.LastFour
		if t.Fingerprint != "" {
			desc += " (" + t.Fingerprint + ")"
		}
	default:
		name = t.ID
	}
	return e.catalog.URL(facts.TemplateLink{
		Name:          name,
		Description:   desc,
		TargetName:    t.ResourceOwner,
		ExpiresInDays: e.replDays,
		Permissions:   perms,
	})
}
