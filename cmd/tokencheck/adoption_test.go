package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var flagPattern = regexp.MustCompile(`(?:^|[\s(\[,])(--[a-z][a-z0-9-]*)`)

// checkFlagExists fails the test for a flag the check command does not define.
func checkFlagExists(t *testing.T, where, flag string) {
	t.Helper()
	cmd := newCheckCmd(streams{})
	if flag == "--" {
		return
	}
	if cmd.Flags().Lookup(strings.TrimPrefix(flag, "--")) == nil {
		t.Errorf("%s passes %s, which tokencheck check does not define", where, flag)
	}
}

type actionFile struct {
	Inputs  map[string]struct{ Default string } `yaml:"inputs"`
	Outputs map[string]struct{ Value string }   `yaml:"outputs"`
	Runs    struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID  string            `yaml:"id"`
			Run string            `yaml:"run"`
			Env map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

func loadAction(t *testing.T) actionFile {
	t.Helper()
	raw, err := os.ReadFile("action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	if err := yaml.Unmarshal(raw, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a
}

func TestActionAndPreCommitPassOnlyRealFlags(t *testing.T) {
	a := loadAction(t)
	if a.Runs.Using != "composite" {
		t.Errorf("action runs using %q, want composite", a.Runs.Using)
	}
	found := 0
	for _, s := range a.Runs.Steps {
		if !strings.Contains(s.Run, "tokencheck") || !strings.Contains(s.Run, "args=") {
			continue
		}
		for _, m := range flagPattern.FindAllStringSubmatch(s.Run, -1) {
			checkFlagExists(t, "action.yml", m[1])
			found++
		}
		for name := range a.Inputs {
			if !strings.Contains(strings.Join(mapValues(s.Env), " "), "inputs."+name) && name != "go-version" {
				t.Errorf("input %s is not passed to the check step", name)
			}
		}
	}
	if found < 6 {
		t.Errorf("found %d flags in action.yml's check step, want the format, output, fail-on, config, baseline, also and summary flags", found)
	}
	if !strings.Contains(a.Outputs["sarif"].Value, "steps.check.outputs.sarif") {
		t.Errorf("the sarif output is not wired to the check step: %q", a.Outputs["sarif"].Value)
	}

	raw, err := os.ReadFile(".pre-commit-hooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var hooks []struct {
		ID       string   `yaml:"id"`
		Entry    string   `yaml:"entry"`
		Args     []string `yaml:"args"`
		Language string   `yaml:"language"`
		TypesOr  []string `yaml:"types_or"`
		Files    string   `yaml:"files"`
	}
	if err := yaml.Unmarshal(raw, &hooks); err != nil {
		t.Fatalf(".pre-commit-hooks.yaml: %v", err)
	}
	if len(hooks) != 1 || hooks[0].ID != "tokencheck" || hooks[0].Language != "golang" || hooks[0].Entry != "tokencheck check" {
		t.Fatalf("hooks = %+v", hooks)
	}
	for _, arg := range hooks[0].Args {
		if strings.HasPrefix(arg, "--") {
			checkFlagExists(t, ".pre-commit-hooks.yaml", arg)
		}
	}
	// pre-commit matches files by identify's tags: every kind of file check reads must be listed.
	types := strings.Join(hooks[0].TypesOr, " ")
	for _, tag := range []string{"yaml", "json", "markdown", "html", "plain-text", "rst", "asciidoc"} {
		if !strings.Contains(" "+types+" ", " "+tag+" ") {
			t.Errorf("the hook's types_or %v lacks %s", hooks[0].TypesOr, tag)
		}
	}
	if hooks[0].Files != "" {
		t.Errorf("the hook matches by files %q as well as types_or", hooks[0].Files)
	}
}

// pre-commit installs a golang hook with `go install ./...` at the repository root: that must build
// the tokencheck command and nothing else.
func TestPreCommitBuildsOnlyTokencheck(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if got := strings.Fields(string(out)); len(got) != 1 || got[0] != "github.com/tokencheck/tokencheck/cmd/tokencheck" {
		t.Errorf("go install ./... would build %v, want only cmd/tokencheck", got)
	}
}

var (
	usesPattern  = regexp.MustCompile(`(?m)^\s*-?\s*uses:\s*(\S+)(.*)$`)
	pinnedByHash = regexp.MustCompile(`^[\w.-]+/[\w./-]+@[0-9a-f]{40}$`)
	tagComment   = regexp.MustCompile(`^\s+# v\d+\.\d+\.\d+$`)
)

// Every action the composite action runs is pinned by a full commit SHA, with the release tag it
// stands for in a comment; the caches are restored for the Go modules and builds.
func TestActionPinsActionsBySHA(t *testing.T) {
	raw, err := os.ReadFile("action.yml")
	if err != nil {
		t.Fatal(err)
	}
	uses := usesPattern.FindAllStringSubmatch(string(raw), -1)
	if len(uses) < 2 {
		t.Fatalf("action.yml uses %d actions, want setup-go and cache", len(uses))
	}
	var setupGo bool
	for _, u := range uses {
		if !pinnedByHash.MatchString(u[1]) || !tagComment.MatchString(u[2]) {
			t.Errorf("uses: %s%s is not pinned by commit SHA with a # vX.Y.Z comment", u[1], u[2])
		}
		setupGo = setupGo || strings.HasPrefix(u[1], "actions/setup-go@")
	}
	if !setupGo {
		t.Error("action.yml does not set up Go with actions/setup-go")
	}
	for _, want := range []string{"steps.go-cache.outputs.modcache", "steps.go-cache.outputs.buildcache", "sha256sum go.sum"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("action.yml does not cache the Go modules and builds (no %q)", want)
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// actionStep is the action's check step, run with bash as the runner would, against a freshly
// built tokencheck.
type actionStep struct {
	script, gopath string
}

func newActionStep(t *testing.T) actionStep {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the composite step is a bash script")
	}
	a := loadAction(t)
	var script string
	for _, s := range a.Runs.Steps {
		if s.ID == "check" {
			script = s.Run
		}
	}
	gopath := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(gopath, "bin", "tokencheck"), "./cmd/tokencheck")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return actionStep{script: script, gopath: gopath}
}

// stepRun is what one run of the step left: its log, exit code, $GITHUB_OUTPUT and job summary.
type stepRun struct {
	log, outputs, summary string
	code                  int
}

// run runs the step with the action's defaults overridden by inputs (TC_ variables), from the
// repository root, writing GitHub's files into work.
func (a actionStep) run(t *testing.T, work string, inputs map[string]string) stepRun {
	t.Helper()
	env := map[string]string{"TC_PATHS": ".", "TC_FORMAT": "sarif", "TC_OUTPUT": "tokencheck.sarif", "TC_FAIL_ON": "high",
		"TC_ANNOTATIONS": "auto", "TC_SUMMARY": "true"}
	for k, v := range inputs {
		env[k] = v
	}
	ghOutput, summary := filepath.Join(work, "output"), filepath.Join(work, "summary.md")
	cmd := exec.Command("bash", "-e", "-c", a.script)
	cmd.Env = append(os.Environ(), "GOPATH="+a.gopath, "GITHUB_OUTPUT="+ghOutput, "GITHUB_STEP_SUMMARY="+summary)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	r := stepRun{log: string(out)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	o, _ := os.ReadFile(ghOutput)
	md, _ := os.ReadFile(summary)
	r.outputs, r.summary = string(o), string(md)
	return r
}

// TestActionCheckStepRuns runs the action's check step script and reads back the outputs it sets.
func TestActionCheckStepRuns(t *testing.T) {
	step := newActionStep(t)
	work := t.TempDir()
	r := step.run(t, work, map[string]string{
		"TC_PATHS": "fixtures/inventory/tokens.yaml\nfixtures/inventory/docs", "TC_OUTPUT": filepath.Join(work, "results.sarif"),
		"TC_CONFIG": "fixtures/ci/tokencheck.yaml", "TC_ANNOTATIONS": "true",
	})
	if r.code != exitViolations {
		t.Fatalf("step exit %d, want 1\n%s", r.code, r.log)
	}
	if !strings.Contains(r.log, "::error file=fixtures/inventory/docs/integrations.md,line=11,title=no-expiration::") {
		t.Errorf("no annotations in the step log:\n%s", r.log)
	}
	if !strings.Contains(r.outputs, "exit-code=1\n") || !strings.Contains(r.outputs, "sarif="+filepath.Join(work, "results.sarif")+"\n") {
		t.Errorf("step outputs = %q", r.outputs)
	}
	if sarif, err := os.ReadFile(filepath.Join(work, "results.sarif")); err != nil || !strings.Contains(string(sarif), `"version": "2.1.0"`) {
		t.Errorf("no SARIF report written: %v", err)
	}
	if !strings.HasPrefix(r.summary, "### tokencheck: FAIL") {
		t.Errorf("job summary = %q", r.summary)
	}
}

// With the SARIF uploaded, code scanning annotates the diff itself: by default the step adds no
// workflow-command annotations of its own then, and does for any other format.
func TestActionAnnotationsAreNotDoubled(t *testing.T) {
	step := newActionStep(t)
	for _, c := range []struct {
		format, annotations string
		want                bool
	}{
		{"sarif", "auto", false},
		{"json", "auto", true},
		{"sarif", "true", true},
		{"json", "false", false},
	} {
		work := t.TempDir()
		r := step.run(t, work, map[string]string{"TC_PATHS": "fixtures/inventory/docs", "TC_FORMAT": c.format,
			"TC_OUTPUT": filepath.Join(work, "report"), "TC_ANNOTATIONS": c.annotations, "TC_SUMMARY": "false"})
		if got := strings.Contains(r.log, "::error file="); got != c.want || r.code != exitViolations {
			t.Errorf("format %s, annotations %s: annotated %v (exit %d), want %v\n%s", c.format, c.annotations, got, r.code, c.want, r.log)
		}
	}
}

// Paths, policies and data with spaces in their names stay whole; policy, data, disable and args
// reach tokencheck; nothing in an input is run as shell.
func TestActionListInputs(t *testing.T) {
	step := newActionStep(t)
	work := t.TempDir()
	inv := filepath.Join(work, "my tokens", "team inventory.yaml")
	policyDir := filepath.Join(work, "our rules")
	dataFile := filepath.Join(work, "our data", "owners.json")
	for _, d := range []string{filepath.Dir(inv), policyDir, filepath.Dir(dataFile)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		inv: "tokens:\n  - id: ci-bot\n    type: classic\n    owner: ci-bot\n    scopes: [repo]\n    expires_at: never\n",
		filepath.Join(policyDir, "bots.rego"): `# METADATA
# title: Bots listed in data must not own classic tokens
# custom:
#   id: listed-bot-classic
#   severity: critical
package tokencheck.rules["listed-bot-classic"]

deny contains {"msg": sprintf("%s owns a classic token", [input.token.owner])} if {
	input.token.type == "classic"
	input.token.owner in data.bots
}
`,
		dataFile: `{"bots": ["ci-bot"]}`,
	}
	for f, body := range files {
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pwned := filepath.Join(work, "pwned")
	report := filepath.Join(work, "out dir", "report.json")
	if err := os.MkdirAll(filepath.Dir(report), 0o755); err != nil {
		t.Fatal(err)
	}
	r := step.run(t, work, map[string]string{
		"TC_PATHS":   inv + "\n\n$(touch " + pwned + ")\n",
		"TC_FORMAT":  "json",
		"TC_OUTPUT":  report,
		"TC_POLICY":  policyDir,
		"TC_DATA":    dataFile,
		"TC_DISABLE": "no-expiration, dangerous-scope\nclassic-token",
		"TC_ARGS":    "--now\n" + fixedNow,
		"TC_SUMMARY": "false",
	})
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("a path input was run as a shell command")
	}
	raw, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("no report at a path with a space: %v\n%s", err, r.log)
	}
	var rep struct {
		Now      string
		Findings []struct{ Rule, Token string }
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, f := range rep.Findings {
		rules = append(rules, f.Rule)
	}
	got := strings.Join(rules, " ")
	if !strings.Contains(got, "listed-bot-classic") {
		t.Errorf("the user rule (policy and data inputs) did not fire: %s\n%s", got, r.log)
	}
	for _, off := range []string{"no-expiration", "dangerous-scope", "classic-token"} {
		if strings.Contains(got, off) {
			t.Errorf("disabled rule %s still fired: %s", off, got)
		}
	}
	if rep.Now != fixedNow {
		t.Errorf("args did not pass --now: report now = %q", rep.Now)
	}
	// The $(touch ...) line is a path that does not exist: reported as bad input, not executed.
	if r.code != exitError {
		t.Errorf("exit %d, want 2 for the missing path\n%s", r.code, r.log)
	}
}
