package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokencheck/tokencheck/engine/report"
)

// The step summary is cut from a file without reading it whole; what is kept must be what
// report.LimitSummary keeps of the same bytes.
func TestStepSummaryCutFromAFileIsLimitSummarysCut(t *testing.T) {
	dir := t.TempDir()
	var md strings.Builder
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&md, "| row %d | %s |\n", i, strings.Repeat("x", i%50))
	}
	for _, text := range []string{md.String(), md.String() + "no final newline", "short\n", ""} {
		file := filepath.Join(dir, "md")
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, budget := range []int{0, 10, 400, 1000, 50000, len(text) - 1, len(text), len(text) + 5} {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := report.LimitSummaryFrom(f, int64(len(text)), budget)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			want := report.LimitSummary([]byte(text), budget)
			if !bytes.Equal(got, want) {
				t.Errorf("budget %d of %d bytes: kept %d bytes; LimitSummary keeps %d", budget, len(text), len(got), len(want))
			}
		}
	}
}

// brokenPolicy is a user rule that fails at evaluation (a complete rule with two values): the run
// ends with exit 2 and no verdict.
func brokenPolicy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rule := `# METADATA
# title: boom
# custom:
#   id: boom
#   severity: high
package tokencheck.rules["boom"]

x := 1 if input.token.id
x := 2 if input.token.id

deny contains f if {
	x == 1
	f := {"msg": "boom", "subject": ""}
}
`
	if err := os.WriteFile(filepath.Join(dir, "boom.rego"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A run that fails while judging writes no report that looks finished: nothing on stdout that
// says PASS or holds a summary, no report file, no temporary file beside it.
func TestAFailedRunLeavesNoReport(t *testing.T) {
	policy := brokenPolicy(t)
	out := t.TempDir()
	for _, format := range report.Formats {
		file := filepath.Join(out, "also."+format)
		r := tokencheck(t, nil, "check", "--now", fixedNow, "-p", policy, "--format", format, "--also", "json="+file, "fixtures/inventory")
		if r.code != exitError {
			t.Fatalf("%s: exit %d, want 2 (the policy fails)\n%s", format, r.code, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("%s: a failed run wrote a report to stdout:\n%.300s", format, r.stdout)
		}
	}
	if left, _ := os.ReadDir(out); len(left) != 0 {
		t.Errorf("a failed run left files behind: %v", left)
	}
}

// An audit that fails while judging does not put a --facts-out document in place: holding only
// the tokens judged before the failure, it would look whole to a later check.
func TestAFailedRunLeavesNoFactsDocument(t *testing.T) {
	fake, _ := acmeFake(t, true)
	dir := t.TempDir()
	facts := filepath.Join(dir, "facts.json")
	r := tokencheck(t, map[string]string{"GH_TOKEN": auditToken}, "audit", "--org", "acme", "--api-url", fake.APIURL(),
		"--now", fixedNow, "-p", brokenPolicy(t), "--facts-out", facts)
	if r.code != exitError {
		t.Fatalf("exit %d, want 2 (the policy fails)\n%s", r.code, r.stderr)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a failed audit left %v; want no facts document", left)
	}
}

// Reports that wait for the verdict (--quiet, --summary) wait in memory where no temporary file
// can be made: an unwritable TMPDIR does not fail a passing run.
func TestUnwritableTempDirDoesNotFailTheRun(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	env := map[string]string{"GITHUB_STEP_SUMMARY": summary}
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	r := tokencheck(t, env, "check", "--now", fixedNow, "-q", "--summary", "--fail-on", "never", "fixtures/inventory")
	if r.code != exitOK || r.stdout != "" {
		t.Errorf("--quiet passing run: exit %d, stdout %q; want 0 and nothing\n%s", r.code, r.stdout, r.stderr)
	}
	r = tokencheck(t, env, "check", "--now", fixedNow, "-q", "--summary", "fixtures/inventory")
	if r.code != exitViolations || !strings.Contains(r.stdout, "token(s)") {
		t.Errorf("--quiet failing run: exit %d, stdout %q; want 1 and the report\n%s", r.code, r.stdout, r.stderr)
	}
	if md, err := os.ReadFile(summary); err != nil || !strings.Contains(string(md), "### tokencheck: FAIL") {
		t.Errorf("step summary %q (%v); want the failing run's summary", md, err)
	}
}
