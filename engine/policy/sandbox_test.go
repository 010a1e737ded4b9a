package policy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
)

func userRule(id, body string) string {
	return "# METADATA\n# title: " + id + "\n# custom:\n#   id: " + id + "\n#   severity: high\n#   remediation: fix it\n" +
		"package tokencheck.rules[\"" + id + "\"]\n\n" + body + "\n"
}

func engineWith(t *testing.T, files map[string]string) (*Evaluator, error) {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return New(context.Background(), Options{Catalog: cat, PolicyDirs: []string{dir}})
}

func TestNetworkBuiltinsAreUnavailableToRules(t *testing.T) {
	for name, call := range map[string]string{
		"http.send":          `r := http.send({"method": "POST", "url": "http://127.0.0.1:9/", "body": input})`,
		"net.lookup_ip_addr": `r := net.lookup_ip_addr("metadata.google.internal")`,
		"opa.runtime":        `r := opa.runtime()`,
	} {
		_, err := engineWith(t, map[string]string{"exfil.rego": userRule("exfil", "deny contains f if {\n\t"+call+"\n\tf := {\"msg\": sprintf(\"%v\", [r])}\n}")})
		if err == nil {
			t.Errorf("%s: a rule calling it compiled", name)
			continue
		}
		if !strings.Contains(err.Error(), "exfil.rego:") || !strings.Contains(err.Error(), name+" is not available to rules") {
			t.Errorf("%s: error %q does not name the file, line and the sandbox", name, err)
		}
	}
}

func TestUserModulesCannotRedefineTokencheckPackagesOrBuiltinRules(t *testing.T) {
	for name, src := range map[string]string{
		"config.rego":  "package tokencheck.config\n\nmax_lifetime_days := 100000\n",
		"lib.rego":     "package tokencheck.lib\n\nknown(x) := false\n",
		"catalog.rego": "package tokencheck.catalog.levels\n\nadmin := 0\n",
		"root.rego":    "package tokencheck\n\nconfig := {}\n",
		"builtin.rego": userRule("no-expiration", "deny contains f if { false; f := \"x\" }"),
	} {
		_, err := engineWith(t, map[string]string{name: src})
		if err == nil || !strings.Contains(err.Error(), name+":") {
			t.Errorf("%s: err = %v, want a refusal naming the file", name, err)
		}
	}
}

func TestUserFileAtABuiltinModulePathDoesNotReplaceIt(t *testing.T) {
	// A user directory holding policies/no-expiration/no_expiration.rego must not take the
	// embedded module's key: it is keyed by its absolute path and judged beside the built-in rule.
	e, err := engineWith(t, map[string]string{"policies/no-expiration/no_expiration.rego": userRule("mine", "deny contains f if { false; f := \"x\" }")})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Rule("no-expiration"); !ok {
		t.Fatal("the built-in no-expiration rule was replaced")
	}
	fs, err := e.Evaluate(context.Background(), []facts.Token{{ID: "t", Type: facts.TypeClassic, Scopes: []string{"repo"}}}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range fs {
		found = found || f.Rule == "no-expiration"
	}
	if !found {
		t.Error("no-expiration no longer fires")
	}
}

func TestUnknownSeverityFromOneRuleKeepsEveryOtherFinding(t *testing.T) {
	e, err := engineWith(t, map[string]string{"bad.rego": userRule("bad-sev", "deny contains f if {\n\tf := {\"msg\": \"x\", \"severity\": \"apocalyptic\"}\n}")})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := e.Evaluate(context.Background(), []facts.Token{{ID: "t", Type: facts.TypeClassic, Scopes: []string{"repo", "delete_repo"}}}, testNow)
	var re *RuleErrors
	if !errors.As(err, &re) || len(re.Problems) != 1 {
		t.Fatalf("err = %v, want one rule error", err)
	}
	if p := re.Problems[0]; !strings.HasSuffix(p.File, "bad.rego") || p.Line != 7 || !strings.Contains(p.Message, "apocalyptic") {
		t.Errorf("problem = %+v, want bad.rego line 7 (its package) naming the severity", p)
	}
	rules := map[string]bool{}
	for _, f := range fs {
		rules[f.Rule] = true
	}
	if !rules["dangerous-scope"] || !rules["no-expiration"] || rules["bad-sev"] {
		t.Errorf("findings by rule %v: want the built-in findings kept and none of bad-sev", rules)
	}
}

func TestBuiltinErrorInARuleIsThatRulesErrorOthersStillJudge(t *testing.T) {
	e, err := engineWith(t, map[string]string{"boom.rego": userRule("boom", "deny contains f if {\n\tn := to_number(\"not a number\")\n\tf := sprintf(\"%v\", [n])\n}")})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := e.Evaluate(context.Background(), []facts.Token{{ID: "t", Type: facts.TypeClassic, Scopes: []string{"delete_repo"}}}, testNow)
	var re *RuleErrors
	if !errors.As(err, &re) || len(re.Problems) != 1 || !strings.Contains(re.Problems[0].Message, "rule boom: builtin error") || re.Problems[0].Line != 10 {
		t.Fatalf("err = %#v, want boom's builtin error at line 10", err)
	}
	if len(fs) == 0 {
		t.Error("the other rules' findings were dropped")
	}
}

func TestExpensiveRuleEndsWithTheRuleNamedNotAHang(t *testing.T) {
	e, err := engineWith(t, map[string]string{"slow.rego": userRule("slow", "deny contains f if {\n\tsome i in numbers.range(1, 1000000000)\n\ti < 0\n\tf := \"never\"\n}")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = e.Evaluate(ctx, []facts.Token{{ID: "t", Type: facts.TypeClassic, Scopes: []string{"repo"}}}, testNow)
	if err == nil || !strings.Contains(err.Error(), "rule slow (") || !strings.Contains(err.Error(), "slow.rego:7") {
		t.Errorf("err = %v, want a timeout naming rule slow and its file", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %v", d)
	}
}

// Memoised judging (large runs) reports a failing rule as the plain path does: the token on which
// it fails is judged plainly, and no failure is cached as "no finding".
func TestBuiltinErrorIsReportedWhenMemoised(t *testing.T) {
	e, err := engineWith(t, map[string]string{"boom.rego": userRule("boom", "deny contains f if {\n\tn := to_number(\"not a number\")\n\tf := sprintf(\"%v\", [n])\n}")})
	if err != nil {
		t.Fatal(err)
	}
	e.memo.seen.Store(memoAfter)
	for range 2 { // the second time would be a cache hit
		fs, err := e.Evaluate(context.Background(), []facts.Token{{ID: "t", Type: facts.TypeClassic, Scopes: []string{"delete_repo"}}}, testNow)
		var re *RuleErrors
		if !errors.As(err, &re) || len(re.Problems) != 1 || !strings.Contains(re.Problems[0].Message, "rule boom: builtin error") {
			t.Fatalf("err = %#v, want boom's builtin error", err)
		}
		if len(fs) == 0 {
			t.Error("the other rules' findings were dropped")
		}
	}
}
