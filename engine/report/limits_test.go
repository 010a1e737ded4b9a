package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tokencheck/tokencheck/engine/finding"
)

// many returns a report with n findings of each given severity, all failing a gate at low.
func many(n int, sevs ...finding.Severity) *Report {
	r := &Report{Tool: "tokencheck", Version: "v1.4.0", Result: &finding.Result{FailOn: finding.Low}}
	for _, sev := range sevs {
		for i := 0; i < n; i++ {
			r.Findings = append(r.Findings, finding.Finding{Rule: "r-" + string(sev), Severity: sev, Level: finding.Deny,
				Token: fmt.Sprintf("%s-%d", sev, i), Message: "m", Location: &finding.Location{File: "tokens.yaml", Line: i + 1}})
		}
	}
	r.Summarize()
	return r
}

func TestSARIFKeepsTheMostSevere25000Results(t *testing.T) {
	// 25,000 low findings and 1 critical one, listed last: the critical one is kept, one low dropped.
	r := many(SARIFMaxResults, finding.Low)
	r.Findings = append(r.Findings, finding.Finding{Rule: "r-critical", Severity: finding.Critical, Level: finding.Deny, Token: "worst", Message: "m"})
	r.Summarize()
	var buf bytes.Buffer
	if err := (SARIF{}).Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
			} `json:"results"`
			Invocations []struct {
				ToolExecutionNotifications []struct {
					Message struct{ Text string } `json:"message"`
				} `json:"toolExecutionNotifications"`
			} `json:"invocations"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	run := doc.Runs[0]
	if len(run.Results) != SARIFMaxResults || run.Results[0].RuleID != "r-critical" {
		t.Errorf("%d results, first %s; want %d with the critical one kept", len(run.Results), run.Results[0].RuleID, SARIFMaxResults)
	}
	notes := run.Invocations[0].ToolExecutionNotifications
	if len(notes) != 1 || !strings.HasPrefix(notes[0].Message.Text, "1 of 25001 results left out: code scanning accepts at most 25000") {
		t.Errorf("notifications = %+v", notes)
	}
}

func TestGitHubShowsTenOfEachKindMostSevereFirst(t *testing.T) {
	// 12 errors (4 critical listed after 8 high), 11 warnings (warn-level findings).
	r := many(8, finding.High)
	r.Findings = append(r.Findings, many(4, finding.Critical).Findings...)
	for i := 0; i < 11; i++ {
		r.Findings = append(r.Findings, finding.Finding{Rule: "w", Severity: finding.Medium, Level: finding.Warn, Token: fmt.Sprintf("w%d", i), Message: "m"})
	}
	r.Problems = []finding.Problem{finding.InputError("bad.yaml", 3, "not YAML")}
	r.Summarize()
	var buf bytes.Buffer
	if err := (GitHub{}).Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	count := map[string]int{}
	for _, l := range lines {
		if cmd, _, ok := strings.Cut(l, " "); ok && strings.HasPrefix(cmd, "::") {
			count[cmd]++
		}
	}
	if count["::error"] != 10 || count["::warning"] != 10 || count["::notice"] != 1 {
		t.Errorf("annotations %v, want 10 errors, 10 warnings and 1 notice\n%s", count, buf.String())
	}
	// The input error first, then the 4 critical, then 5 of the 8 high.
	if !strings.HasPrefix(lines[0], "::error file=bad.yaml,line=3,title=tokencheck input error::") {
		t.Errorf("first line %q, want the input error", lines[0])
	}
	for _, l := range lines[1:5] {
		if !strings.Contains(l, "title=r-critical::") {
			t.Errorf("%q: want the critical findings right after the input error", l)
		}
	}
	want := "::notice title=tokencheck%3A annotations left out::3 error, 1 warning and 0 notice annotation(s) not shown"
	if !strings.HasPrefix(lines[20], want) {
		t.Errorf("line 21 = %q, want %q", lines[20], want)
	}
	if left := strings.Count(buf.String(), "\ntokencheck: left out error: tokens.yaml:"); left != 3 || !strings.Contains(buf.String(), "\ntokencheck: left out warning: w: [medium] w10: m\n") {
		t.Errorf("%d errors in the log, or the warning is missing:\n%s", left, buf.String())
	}
}

func TestSemanticVersion(t *testing.T) {
	for in, want := range map[string]string{
		"dev":                                DevVersion,
		"":                                   DevVersion,
		"v1.4.0":                             "1.4.0",
		"1.4.0":                              "1.4.0",
		"v1.4":                               DevVersion,
		"v0.0.0-20261123120000-abcdef123456": "0.0.0-20261123120000-abcdef123456",
		"v1.4.1-0.20261123120000-abcdef123456+dirty": "1.4.1-0.20261123120000-abcdef123456+dirty",
	} {
		if got := SemanticVersion(in); got != want {
			t.Errorf("SemanticVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLimitSummary(t *testing.T) {
	md := []byte(strings.Repeat("| row |\n", 1000)) // 8,000 bytes
	if got := LimitSummary(md, len(md)); !bytes.Equal(got, md) {
		t.Error("a summary that fits was changed")
	}
	got := LimitSummary(md, 4000)
	if len(got) > 4000 {
		t.Errorf("%d bytes, over the budget", len(got))
	}
	cut, note, ok := strings.Cut(string(got), "\n> **Truncated:** ")
	kept := strings.Count(cut, "\n")
	if !ok || cut != strings.Repeat("| row |\n", kept) || !strings.HasPrefix(note, fmt.Sprintf("%d line(s)", 1000-kept)) {
		t.Errorf("not whole lines and a note counting the rest:\n%s", got)
	}
	if got := LimitSummary(md, 20); got != nil {
		t.Errorf("no room for the note: %q, want nothing", got)
	}
}

func TestArtifactOfFindingsWithoutAFile(t *testing.T) {
	r := &Report{Command: "check", Result: &finding.Result{}}
	for token, want := range map[string]string{
		"org:acme/pat:1":          ".github/tokencheck/org-acme",
		"org:../etc/pat:1":        ".github/tokencheck/org---", // cannot climb out
		"headers:dumps/user.http": "dumps/user.http",
		"sha256:0123abcd":         ".github/tokencheck/check",
	} {
		if got := Artifact(r, finding.Finding{Token: token}).File; got != want {
			t.Errorf("Artifact(%s) = %q, want %q", token, got, want)
		}
	}
	// Standard input is no file either.
	if got := Artifact(r, finding.Finding{Token: "t", Location: &finding.Location{File: "-", Line: 3}}).File; got != ".github/tokencheck/check" {
		t.Errorf("stdin artifact = %q", got)
	}
}
