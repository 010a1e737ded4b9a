package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/safe"
)

// plantedToken is a made-up classic token with a valid checksum.
var plantedToken = "ghp_" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0" + facts.Checksum("Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0")

// hostile is a report in which every value an attacker can choose holds an attack: the template
// link parameter from issue 11 (x%0A::error file=README.md…, decoded), ANSI and OSC escapes in a
// token name, HTML and a Markdown link in a link parameter, bidi overrides, and a token value.
func hostile(attack string) *Report {
	loc := &finding.Location{File: "docs/" + attack + ".md", Line: 3}
	r := &Report{Tool: "tokencheck", Version: "test", Result: &finding.Result{
		FailOn: "high",
		Tokens: []finding.TokenInfo{{ID: "id-" + attack, Name: attack, Type: "fine_grained", Location: loc, Unknown: []string{attack}}},
		Findings: []finding.Finding{
			{Rule: "invalid-permission", Severity: "high", Level: "deny", Token: "id-" + attack, Message: "unknown permission " + attack,
				Remediation: attack, FixURL: "https://github.com/settings/personal-access-tokens/new?" + attack, Location: loc},
			{Rule: "stale-token", Severity: "low", Level: "deny", Token: "id-" + attack, Message: attack, Waived: true, WaiverReason: attack, Location: loc},
		},
		Problems: []finding.Problem{
			{Kind: finding.Input, File: "docs/x.md", Line: 1, Message: attack},
			{Kind: finding.Input, Source: attack, Message: attack},
			{Kind: finding.Incomplete, Source: attack, Message: attack},
			{Kind: finding.Notice, File: "docs/" + attack, Message: attack},
		},
		UnusedWaivers: []finding.UnusedWaiver{{Rule: attack, Token: attack, Owner: attack, Expires: "2027-01-01", Location: loc}},
	},
		Audit: &AuditSummary{Orgs: []string{attack}, TokensBySource: map[string]int{attack: 1}, TopOwners: []OwnerCount{{Owner: attack, Findings: 1}}},
	}
	r.Summarize()
	return r
}

var outputAttacks = []string{
	"x\n::error file=README.md,line=1::ALL CLEAR",
	"x\r\n::error::forged",
	"\x1b[2J\x1b[HALL CLEAR\x1b]0;pwned\x07",
	"\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
	"<img src=x onerror=alert(1)><script>alert(1)</script>",
	"[ALL CLEAR](https://evil.example) | forged | cell",
	"evil\u202etxt.exe\u2028::warning::sep",
	"\u0085::notice::nel",
	"##[error]old form",
	"mid-line ##[warning]old form",
	"::error::at start",
	"token " + plantedToken,
}

// checkOutput asserts the invariants every format keeps whatever the data: no line but the github
// format's own starts a workflow command, no terminal escape or bidi control survives, no token value
// is shown, and Markdown holds no raw HTML from the data.
func checkOutput(t *testing.T, format, out string) {
	t.Helper()
	for i, line := range strings.Split(out, "\n") {
		if safe.IsCommand(line) && !(format == "github" && ownCommand(line)) {
			t.Errorf("%s line %d starts a workflow command: %q", format, i+1, line)
		}
		if strings.Contains(line, "##[") {
			t.Errorf("%s line %d holds the ##[ command form: %q", format, i+1, line)
		}
	}
	for _, bad := range []string{"\x1b", "\u202e", "\u2028", "\u0085", "\r", plantedToken} {
		if strings.Contains(out, bad) {
			t.Errorf("%s output contains %q", format, bad)
		}
	}
	if format == "markdown" {
		text := codeSpan.ReplaceAllString(out, "") // code spans show their content literally
		for _, bad := range []string{"<img", "<script", "[ALL CLEAR]("} {
			if strings.Contains(text, bad) {
				t.Errorf("markdown output contains %q:\n%s", bad, out)
			}
		}
		if unescapedLink.MatchString(text) {
			t.Errorf("markdown output has a link to data:\n%s", out)
		}
	}
}

var (
	ownColours    = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	codeSpan      = regexp.MustCompile("(`+)[^`]*?(`+)")
	unescapedLink = regexp.MustCompile(`(^|[^\\])\]\(https://evil`)
)

// ownCommand reports whether a github-format line is one the writer built: a known command whose
// properties and message hold no raw line break.
func ownCommand(line string) bool {
	for _, cmd := range []string{"::error ", "::warning ", "::notice "} {
		if strings.HasPrefix(line, cmd) {
			return strings.Count(line, "::") >= 2
		}
	}
	return false
}

func TestNoWriterLetsDataForgeCommandsEscapesOrHTML(t *testing.T) {
	for _, attack := range outputAttacks {
		for _, format := range Formats {
			w, err := New(format, false)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := w.Write(&buf, hostile(attack)); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			checkOutput(t, format, buf.String())
		}
		var coloured bytes.Buffer
		if err := (Text{Colour: true}).Write(&coloured, hostile(attack)); err != nil {
			t.Fatal(err)
		}
		checkOutput(t, "text", ownColours.ReplaceAllString(coloured.String(), ""))
	}
}

// TestGitHubFormatForgedErrorFromTemplateLinkParameter reproduces issue 11: the decoded parameter
// x%0A::error%20file%3DREADME.md… must stay inside one annotation.
func TestGitHubFormatForgedErrorFromTemplateLinkParameter(t *testing.T) {
	var buf bytes.Buffer
	if err := (GitHub{}).Write(&buf, hostile("x\n::error file=README.md,line=1::ALL CLEAR")); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "::error file=README.md") {
			t.Errorf("forged annotation for README.md: %q", line)
		}
	}
}

func TestTextShowsANSIInTokenNameVisibly(t *testing.T) {
	var buf bytes.Buffer
	if err := (Text{}).Write(&buf, hostile("\x1b[2J\x1b[HALL CLEAR")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `\x1b[2J\x1b[HALL CLEAR`) {
		t.Errorf("escape not shown visibly:\n%s", buf.String())
	}
}

func TestMarkdownEscapesHTMLFromLinkParameter(t *testing.T) {
	var buf bytes.Buffer
	if err := (Markdown{}).Write(&buf, hostile("<img src=x onerror=alert(1)>")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("HTML not escaped:\n%s", buf.String())
	}
	if strings.Contains(buf.String(), "[template link](") {
		t.Errorf("a fix link holding data is still clickable:\n%s", buf.String())
	}
}

func FuzzWriters(f *testing.F) {
	for _, a := range outputAttacks {
		f.Add(a)
	}
	f.Fuzz(func(t *testing.T, attack string) {
		for _, format := range Formats {
			w, _ := New(format, false)
			var buf bytes.Buffer
			if err := w.Write(&buf, hostile(attack)); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			checkOutput(t, format, buf.String())
		}
	})
}
