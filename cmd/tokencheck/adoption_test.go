package main

import (
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
	files := regexp.MustCompile(hooks[0].Files)
	for _, f := range []string{"tokens.yaml", "ci-tokens.json", "docs/integrations.md"} {
		if !files.MatchString(f) {
			t.Errorf("the hook would not check %s", f)
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

// TestActionCheckStepRuns runs the action's check step script with bash, as the runner would,
// against a freshly built tokencheck, and reads back the outputs it sets.
func TestActionCheckStepRuns(t *testing.T) {
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
	work := t.TempDir()
	ghOutput, summary := filepath.Join(work, "output"), filepath.Join(work, "summary.md")
	cmd := exec.Command("bash", "-e", "-c", script)
	cmd.Env = append(os.Environ(), "GOPATH="+gopath, "GITHUB_OUTPUT="+ghOutput, "GITHUB_STEP_SUMMARY="+summary,
		"TC_PATHS=fixtures/inventory/tokens.yaml\nfixtures/inventory/docs", "TC_FORMAT=sarif", "TC_OUTPUT="+filepath.Join(work, "results.sarif"),
		"TC_FAIL_ON=high", "TC_CONFIG=fixtures/ci/tokencheck.yaml", "TC_BASELINE=", "TC_ANNOTATIONS=true", "TC_SUMMARY=true")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitViolations {
		t.Fatalf("step exit: %v, want 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "::error file=fixtures/inventory/docs/integrations.md,line=11,title=no-expiration::") {
		t.Errorf("no annotations in the step log:\n%s", out)
	}
	outputs, _ := os.ReadFile(ghOutput)
	if !strings.Contains(string(outputs), "exit-code=1\n") || !strings.Contains(string(outputs), "sarif="+filepath.Join(work, "results.sarif")+"\n") {
		t.Errorf("step outputs = %q", outputs)
	}
	if sarif, err := os.ReadFile(filepath.Join(work, "results.sarif")); err != nil || !strings.Contains(string(sarif), `"version": "2.1.0"`) {
		t.Errorf("no SARIF report written: %v", err)
	}
	if md, _ := os.ReadFile(summary); !strings.HasPrefix(string(md), "### tokencheck: FAIL") {
		t.Errorf("job summary = %q", md)
	}
}
