package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/fsguard"
)

// DeniedBuiltins are the OPA builtins no rule may call: they reach the network (http.send,
// net.lookup_ip_addr) or read the process environment (opa.runtime). A rule that calls one fails to
// compile, with its file and line. There is no opt-in: a rule judges the facts it is given.
var DeniedBuiltins = []string{"http.send", "net.lookup_ip_addr", "opa.runtime"}

// sandboxCapabilities is this OPA version's capabilities without DeniedBuiltins and with no network
// host allowed.
func sandboxCapabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(caps.Builtins, func(b *ast.Builtin) bool { return slices.Contains(DeniedBuiltins, b.Name) })
	caps.AllowNet = []string{}
	return caps
}

// reservedPackages are the packages only tokencheck defines: its data, its helpers and its query.
var reservedPackages = []string{"data.tokencheck.config", "data.tokencheck.catalog", "data.tokencheck.lib", "data.tokencheck.main"}

// checkUserModule refuses a user module that would define or extend tokencheck's own documents
// (settings, catalogue, helpers, the findings query) or a built-in rule's package, or the package
// above them (package tokencheck could define config itself).
func checkUserModule(file string, m *ast.Module, builtinPkgs map[string]bool) error {
	pkg := m.Package.Path.String()
	loc := m.Package.Location
	line := 0
	if loc != nil {
		line = loc.Row
	}
	refuse := func(why string) error {
		return fmt.Errorf("%s:%d: package %s: %s", file, line, strings.TrimPrefix(pkg, "data."), why)
	}
	if pkg == "data.tokencheck" || pkg == "data.tokencheck.rules" {
		return refuse("user rules live in packages tokencheck.rules.<id> or outside tokencheck")
	}
	for _, r := range reservedPackages {
		if pkg == r || strings.HasPrefix(pkg, r+".") || strings.HasPrefix(pkg, r+"[") {
			return refuse("is tokencheck's own and cannot be defined or extended by a user module")
		}
	}
	for b := range builtinPkgs {
		if pkg == b || strings.HasPrefix(pkg, b+".") || strings.HasPrefix(pkg, b+"[") {
			return refuse("is a built-in rule's package; give the rule an id of its own")
		}
	}
	return nil
}

// explainCompileErrors adds to each compile error that calls a denied builtin why it is refused.
func explainCompileErrors(errs ast.Errors) error {
	var b strings.Builder
	for i, e := range errs {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(e.Error())
		for _, name := range DeniedBuiltins {
			if strings.Contains(e.Message, "undefined function "+name) {
				fmt.Fprintf(&b, " (tokencheck's rules are sandboxed: %s is not available to rules, which judge only the facts they are given)", name)
			}
		}
	}
	return errors.New(b.String())
}

// RuleErrors are rules that failed while judging (a builtin error, a finding with an unknown
// severity or no msg): each is an input error of that rule, at its file and line, and every other
// finding is kept. Evaluate returns it beside the findings.
type RuleErrors struct {
	Problems []finding.Problem
}

func (e *RuleErrors) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "\n")
}

// ruleProblems gathers rule errors across tokens, once per rule and message, counting tokens.
type ruleProblems struct {
	byKey map[string]*ruleProblem
}

type ruleProblem struct {
	p      finding.Problem
	token  string
	tokens int
}

func (rp *ruleProblems) add(r Rule, line int, token, msg string) {
	if rp.byKey == nil {
		rp.byKey = map[string]*ruleProblem{}
	}
	if line == 0 {
		line = r.line
	}
	key := r.ID + "\x00" + msg
	if p, ok := rp.byKey[key]; ok {
		p.tokens++
		return
	}
	rp.byKey[key] = &ruleProblem{p: finding.InputError(r.File, line, "rule %s: %s", r.ID, msg), token: token, tokens: 1}
}

func (rp *ruleProblems) merge(other *ruleProblems) {
	for k, p := range other.byKey {
		if rp.byKey == nil {
			rp.byKey = map[string]*ruleProblem{}
		}
		if mine, ok := rp.byKey[k]; ok {
			mine.tokens += p.tokens
			continue
		}
		rp.byKey[k] = p
	}
}

func (rp *ruleProblems) err() error {
	if len(rp.byKey) == 0 {
		return nil
	}
	out := &RuleErrors{}
	for _, p := range rp.byKey {
		q := p.p
		q.Message += fmt.Sprintf(" (judging token %s", p.token)
		if p.tokens > 1 {
			q.Message += fmt.Sprintf(" and %d other(s)", p.tokens-1)
		}
		q.Message += "; its findings for those tokens are not reported)"
		out.Problems = append(out.Problems, q)
	}
	sort.Slice(out.Problems, func(i, j int) bool { return out.Problems[i].Error() < out.Problems[j].Error() })
	return out
}

// builtinErrorRule finds the rule whose module a builtin error happened in.
func (e *Evaluator) builtinErrorRule(err topdown.Error) (Rule, int, bool) {
	if err.Location == nil {
		return Rule{}, 0, false
	}
	for _, r := range e.rules {
		if r.File == err.Location.File {
			return r, err.Location.Row, true
		}
	}
	return Rule{}, 0, false
}

// readPolicyFile reads a --policy file: a regular file of at most fsguard.MaxPolicyBytes.
func readPolicyFile(path string) ([]byte, error) {
	return fsguard.ReadRegular(path, fsguard.MaxPolicyBytes, "policy file")
}

// RuleProbeTime is how long each rule gets, when a run's deadline has passed, to show that it is
// not the one that kept evaluation from finishing.
const RuleProbeTime = 500 * time.Millisecond

// timedOut explains a run whose deadline passed during evaluation: it finds a token that was not
// judged and evaluates each enabled rule on it alone for RuleProbeTime, naming the rules that do not
// finish, with their files and lines.
func (e *Evaluator) timedOut(tokens []facts.Token, judged []bool, cause error) error {
	var tok *facts.Token
	for i := range tokens {
		if !judged[i] {
			tok = &tokens[i]
			break
		}
	}
	if tok == nil {
		return fmt.Errorf("evaluation timed out: %w", cause)
	}
	now := time.Now()
	input, err := e.input(tok, now, now.UTC().Format(time.RFC3339))
	if err != nil {
		return fmt.Errorf("evaluation timed out judging token %s: %w", tok.ID, cause)
	}
	var slow []string
	for _, r := range e.rules {
		if e.disabled[r.ID] || r.path == nil {
			continue
		}
		for _, level := range r.levels {
			ctx, cancel := context.WithTimeout(context.Background(), RuleProbeTime)
			_, err := rego.New(rego.Query(r.path.String()+"."+string(level)), rego.Compiler(e.compiler), rego.Store(e.store),
				rego.Capabilities(e.caps), rego.ParsedInput(input)).Eval(ctx)
			cancel()
			if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				slow = append(slow, fmt.Sprintf("%s (%s:%d)", r.ID, r.File, r.line))
				break
			}
		}
	}
	if len(slow) == 0 {
		return fmt.Errorf("evaluation timed out judging token %s (no single rule is slow on it; raise the time limit): %w", tok.ID, cause)
	}
	return fmt.Errorf("evaluation timed out judging token %s: rule %s did not finish: %w", tok.ID, strings.Join(slow, ", rule "), cause)
}
