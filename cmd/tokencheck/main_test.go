package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under fixtures/expected")

const fixedNow = "2026-11-22T00:00:00Z"

// TestMain runs the tests from the repository root, so paths in reports read as a user would type them.
func TestMain(m *testing.M) {
	flag.Parse()
	if err := os.Chdir("../.."); err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "tokencheck-test-*")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir) // the binary the serve tests built
	os.Exit(code)
}

// binDir holds what the tests build once per run (buildTokencheck); TestMain removes it.
var binDir string

type result struct {
	stdout, stderr string
	code           int
}

func tokencheck(t testing.TB, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	io := streams{In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: func(k string) string { return env[k] }}
	code := run(context.Background(), args, io)
	return result{out.String(), errOut.String(), code}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("fixtures", "expected", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/tokencheck -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test ./cmd/tokencheck -update rewrites it)\n--- got\n%s", path, got)
	}
}

func TestCheckGoldenOutputs(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			r := tokencheck(t, nil, "check", "--now", fixedNow, "--format", format, "fixtures/inventory")
			if r.code != exitViolations {
				t.Errorf("exit %d, want %d (violations); stderr: %s", r.code, exitViolations, r.stderr)
			}
			golden(t, "check."+format, r.stdout)
		})
	}
}

func TestCheckFindsWhatTheFixturesHold(t *testing.T) {
	r := tokencheck(t, nil, "check", "--now", fixedNow, "--format", "json", "fixtures/inventory")
	var rep struct {
		Findings []struct {
			Rule, Severity, Token, Message, FixURL string
			FixURLJSON                             string `json:"fix_url"`
			Location                               struct {
				File string
				Line int
			}
		}
		Summary struct{ Tokens, Failing int }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("JSON report does not parse: %v\n%s", err, r.stdout)
	}
	has := func(rule, token string) bool {
		for _, f := range rep.Findings {
			at := fmt.Sprintf("%s:%d", f.Location.File, f.Location.Line)
			if f.Rule == rule && (f.Token == token || strings.HasPrefix(f.Token, "template-link:") && at == token) {
				return true
			}
		}
		return false
	}
	for _, want := range [][2]string{
		{"dangerous-scope", "deploy-bot"}, {"classic-token", "deploy-bot"}, {"no-expiration", "deploy-bot"},
		{"all-repositories", "milestone-copilot"}, {"excess-permission", "contractor-triage"}, {"approval-pending", "contractor-triage"},
		{"unknown-scope", "org-admin-script"}, {"invalid-permission", "fixtures/inventory/docs/integrations.md:11"},
	} {
		if !has(want[0], want[1]) {
			t.Errorf("no %s finding for %s", want[0], want[1])
		}
	}
	for _, notWant := range [][2]string{{"classic-token", "packages-publisher"}, {"excess-permission", "milestone-copilot"}} {
		if has(notWant[0], notWant[1]) {
			t.Errorf("unexpected %s finding for %s", notWant[0], notWant[1])
		}
	}
	for _, f := range rep.Findings {
		if f.Token == "deploy-bot" && f.Rule == "classic-token" {
			if !strings.HasPrefix(f.FixURLJSON, "https://github.com/settings/personal-access-tokens/new?") || !strings.Contains(f.FixURLJSON, "repository_hooks=write") {
				t.Errorf("classic-token fix_url = %q, want a template link with repository_hooks=write", f.FixURLJSON)
			}
			if f.Location.File != "fixtures/inventory/tokens.yaml" || f.Location.Line != 20 {
				t.Errorf("location = %+v, want fixtures/inventory/tokens.yaml:20", f.Location)
			}
		}
	}
	if rep.Summary.Tokens != 9 {
		t.Errorf("summary counts %d tokens, want 9", rep.Summary.Tokens)
	}
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"violations at the default high", []string{"fixtures/inventory"}, exitViolations},
		{"critical still fails", []string{"--fail-on", "critical", "fixtures/inventory"}, exitViolations},
		{"nothing critical once dangerous-scope is off", []string{"--fail-on", "critical", "--disable", "dangerous-scope", "fixtures/inventory"}, exitOK},
		{"bad input wins over violations", []string{"fixtures/inventory", "fixtures/bad"}, exitError},
		{"missing path", []string{"fixtures/does-not-exist"}, exitError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"check", "--now", fixedNow}, c.args...)
			if r := tokencheck(t, nil, args...); r.code != c.want {
				t.Errorf("exit %d, want %d\n%s%s", r.code, c.want, r.stdout, r.stderr)
			}
		})
	}
}

func TestBadInputIsReportedAndTheRestStillJudged(t *testing.T) {
	r := tokencheck(t, nil, "check", "--now", fixedNow, "fixtures/bad", "fixtures/inventory")
	if r.code != exitError {
		t.Fatalf("exit %d, want 2", r.code)
	}
	for _, want := range []string{
		`fixtures/bad/inventory.yaml:6: unknown key "expire_at"`,
		`fixtures/bad/inventory.yaml:13: duplicate token id "good-one"`,
		"fixtures/bad/inventory.yaml:16: token declaration needs an id",
		"fixtures/bad/broken.yml:3: YAML syntax",
		"fixtures/bad/links.md:1: template link expires_in=\"400\"",
		`fixtures/bad/facts.json:1: facts schema "tokencheck.facts/v2"`,
		// the good inputs are still judged
		"deploy-bot (Deploy bot) [classic]",
		"dangerous scope delete_repo",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// A bad flag value ends the run before any work (exit 2, nothing written, every bad value named
// with what is accepted), as conftest, trivy and gh do.
func TestBadFlagValuesStopTheRunBeforeAnyWork(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.json")
	r := tokencheck(t, nil, "check", "--fail-on", "severe", "--now", "yesterday", "--format", "yaml", "--color", "pink", "--output", out, "fixtures/inventory")
	if r.code != exitError || r.stdout != "" {
		t.Fatalf("exit %d, want 2 and nothing on stdout\n%s", r.code, r.stdout)
	}
	for _, want := range []string{
		`--fail-on: unknown severity "severe" (want one of info, low, medium, high, critical), or never`,
		`--now "yesterday": want an RFC 3339 time`,
		`--format: unknown format "yaml" (want one of text, json, sarif, junit, github, markdown)`,
		`--color "pink": want auto, always or never`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a report was written although the flags were bad")
	}
	r = tokencheck(t, nil, "check", "--disable", "no-such-rule,classic-token", "fixtures/inventory")
	if r.code != exitError || r.stdout != "" || !strings.Contains(r.stderr, "--disable no-such-rule: no such rule") || strings.Contains(r.stderr, "classic-token") {
		t.Errorf("unknown rule: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestFlagsPeopleAlreadyKnow(t *testing.T) {
	// Short flags, comma lists, a plain date for --now.
	r := tokencheck(t, nil, "check", "-f", "json", "--disable", "classic-token,dangerous-scope", "--now", "2026-11-22", "fixtures/inventory")
	var rep struct {
		Now      string
		Findings []struct{ Rule string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s%s", err, r.stdout, r.stderr)
	}
	if rep.Now != "2026-11-22T00:00:00Z" {
		t.Errorf("--now 2026-11-22 judged as of %s", rep.Now)
	}
	for _, f := range rep.Findings {
		if f.Rule == "classic-token" || f.Rule == "dangerous-scope" {
			t.Errorf("--disable a,b left %s on", f.Rule)
		}
	}
	// --fail-on never reports without failing.
	r = tokencheck(t, nil, "check", "--fail-on", "never", "--now", fixedNow, "fixtures/inventory")
	if r.code != exitOK || !strings.Contains(r.stdout, "dangerous scope delete_repo") || !strings.Contains(r.stdout, "PASS") {
		t.Errorf("--fail-on never: exit %d\n%s", r.code, r.stdout)
	}
	// --quiet writes the report only when the run does not pass.
	r = tokencheck(t, nil, "check", "-q", "--fail-on", "never", "--now", fixedNow, "fixtures/inventory")
	if r.code != exitOK || r.stdout != "" {
		t.Errorf("--quiet on a pass: exit %d, stdout %q", r.code, r.stdout)
	}
	r = tokencheck(t, nil, "check", "-q", "--now", fixedNow, "fixtures/inventory")
	if r.code != exitViolations || !strings.Contains(r.stdout, "FAIL") {
		t.Errorf("--quiet on a failure must still report: exit %d\n%s", r.code, r.stdout)
	}
	// --color always colours even when piped; never and TERM=dumb do not.
	r = tokencheck(t, nil, "check", "--color", "always", "--now", fixedNow, "fixtures/inventory")
	if !strings.Contains(r.stdout, "\x1b[") {
		t.Error("--color always did not colour")
	}
	var out, errOut bytes.Buffer
	for _, env := range []map[string]string{{"TERM": "dumb"}, {"NO_COLOR": "1"}} {
		out.Reset()
		io := streams{In: strings.NewReader(""), Out: &out, Err: &errOut, OutTTY: true, Getenv: func(k string) string { return env[k] }}
		run(context.Background(), []string{"check", "--now", fixedNow, "fixtures/inventory"}, io)
		if strings.Contains(out.String(), "\x1b[") {
			t.Errorf("%v on a terminal: coloured", env)
		}
	}
}

func TestUserPolicies(t *testing.T) {
	dir := t.TempDir()
	rule := `# METADATA
# title: Bots must not own classic tokens
# description: Classic tokens owned by bot accounts are forbidden here.
# custom:
#   id: no-bot-classic
#   severity: high
#   remediation: Use a GitHub App.
package tokencheck.rules["no-bot-classic"]

deny contains {"msg": sprintf("bot %s owns a classic token", [input.token.owner])} if {
	input.token.type == "classic"
	endswith(input.token.owner, "-deploy")
}
`
	if err := os.WriteFile(filepath.Join(dir, "no_bot_classic.rego"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	r := tokencheck(t, nil, "check", "--now", fixedNow, "--policy", dir, "fixtures/inventory/tokens.yaml")
	if !strings.Contains(r.stdout, "no-bot-classic") || !strings.Contains(r.stdout, "bot acme-deploy owns a classic token") {
		t.Errorf("user rule did not report:\n%s", r.stdout)
	}
	if r := tokencheck(t, nil, "policy", "list", "--policy", dir); !strings.Contains(r.stdout, "no-bot-classic") {
		t.Errorf("policy list lacks the user rule:\n%s", r.stdout)
	}

	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "broken.rego"), []byte("package tokencheck.rules[\"x\"]\n\ndeny contains f if {\n\tf := \n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = tokencheck(t, nil, "check", "--now", fixedNow, "--policy", broken, "fixtures/inventory/tokens.yaml")
	if r.code != exitError {
		t.Errorf("exit %d, want 2 for a policy that does not compile", r.code)
	}
	if !strings.Contains(r.stdout, filepath.Join(broken, "broken.rego")+":") || !strings.Contains(r.stdout, "dangerous scope delete_repo") {
		t.Errorf("want the policy error with file and line, and the built-in findings:\n%s", r.stdout)
	}
}

func TestPolicyTestCommand(t *testing.T) {
	r := tokencheck(t, nil, "policy", "test")
	if r.code != 0 || !strings.Contains(r.stdout, " passed, 0 failed") {
		t.Fatalf("policy test: exit %d\n%s", r.code, r.stdout)
	}
	dir := t.TempDir()
	failing := "package mine_test\n\ntest_wrong if {\n\t1 == 2\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "mine_test.rego"), []byte(failing), 0o644); err != nil {
		t.Fatal(err)
	}
	r = tokencheck(t, nil, "policy", "test", dir)
	if r.code == 0 || !strings.Contains(r.stdout, "FAIL") || !strings.Contains(r.stdout, "mine_test.rego:3") {
		t.Errorf("a failing user test must fail the command with its location; exit %d\n%s", r.code, r.stdout)
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tokencheck.yaml")
	write := func(s string) {
		if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`allowed_resource_owners: [acme-corp]
stale_after_days: 400
waivers:
  - rule: no-expiration
    token: deploy-*
    reason: rotated by the deploy pipeline every week
    owner: platform-team
    expires: 2027-03-01
  - rule: classic-token
    token: org-admin-script
    reason: migrating this quarter
    owner: it-team
    expires: 2026-10-01
`)
	r := tokencheck(t, nil, "check", "--now", fixedNow, "--config", cfg, "--format", "json", "fixtures/inventory")
	if !strings.Contains(r.stdout, "resource owner acme is not among the allowed owners [acme-corp]") {
		t.Errorf("allowed_resource_owners not applied:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, `"rule": "stale-token"`) {
		t.Error("stale_after_days: 400 should silence stale-token")
	}
	var rep struct {
		Findings []struct {
			Rule, Token  string
			Waived       bool
			WaiverReason string `json:"waiver_reason"`
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	waived := false
	for _, f := range rep.Findings {
		if f.Rule == "no-expiration" && f.Token == "deploy-bot" {
			waived = f.Waived && f.WaiverReason == "rotated by the deploy pipeline every week"
		}
	}
	if !waived {
		t.Error("the waiver did not mark deploy-bot's no-expiration finding")
	}
	if !strings.Contains(r.stdout, `"message": "waiver of classic-token (owner it-team: migrating this quarter) expired on 2026-10-01"`) ||
		!strings.Contains(r.stdout, `"file": "`+filepath.ToSlash(cfg)+`",`+"\n        \"line\": 9") {
		t.Errorf("an expired waiver must be a finding located at the waiver:\n%s", r.stdout)
	}

	write("stale_after_days: soon\nmax_lifetime: 30\n")
	r = tokencheck(t, nil, "check", "--now", fixedNow, "--config", cfg, "fixtures/inventory")
	if r.code != exitError || !strings.Contains(r.stdout, cfg+":1: setting stale_after_days: want a non-negative number") || !strings.Contains(r.stdout, cfg+":2: unknown setting \"max_lifetime\"") || !strings.Contains(r.stdout, "dangerous scope delete_repo") {
		t.Errorf("bad settings must be reported with file and line, the tokens still judged; exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestFactsDocumentsAreJudgedAgain(t *testing.T) {
	dir := t.TempDir()
	doc := `{"schema": "tokencheck.facts/v1", "tokens": [
  {"id": "live:sha256:0123456789ab", "type": "classic", "fingerprint": "sha256:0123456789ab", "last_four": "T4V4",
   "scopes": ["repo", "site_admin"], "source": {"kind": "live"}}
]}`
	path := filepath.Join(dir, "facts.json")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	r := tokencheck(t, nil, "check", "--now", fixedNow, path)
	if r.code != exitViolations || !strings.Contains(r.stdout, "dangerous scope site_admin") || !strings.Contains(r.stdout, "no-expiration") {
		t.Errorf("exit %d\n%s", r.code, r.stdout)
	}
	if strings.Contains(r.stdout, "classic-token") {
		t.Error("site_admin needs a classic token; classic-token must not fire")
	}
}

func TestOutputFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.json")
	r := tokencheck(t, nil, "check", "--now", fixedNow, "--format", "json", "--output", out, "fixtures/inventory")
	if r.stdout != "" {
		t.Errorf("stdout should be empty with --output, got %q", r.stdout)
	}
	raw, err := os.ReadFile(out)
	if err != nil || !json.Valid(raw) {
		t.Fatalf("--output did not write valid JSON: %v", err)
	}
}

func TestExplainAndVersion(t *testing.T) {
	r := tokencheck(t, nil, "explain", "no-expiration")
	if r.code != 0 || !strings.Contains(r.stdout, "Token never expires") || !strings.Contains(r.stdout, "https://docs.github.com/") {
		t.Errorf("explain: exit %d\n%s", r.code, r.stdout)
	}
	if r := tokencheck(t, nil, "explain", "nope"); r.code != exitError || !strings.Contains(r.stderr, `no rule "nope"`) {
		t.Errorf("explain of an unknown rule: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := tokencheck(t, nil, "version"); !strings.HasPrefix(r.stdout, "tokencheck ") {
		t.Errorf("version printed %q", r.stdout)
	}
}

func TestUnknownFlagIsAUsageError(t *testing.T) {
	r := tokencheck(t, nil, "check", "--token", "ghp_x", "fixtures/inventory")
	if r.code != exitError || !strings.Contains(r.stderr, "unknown flag: --token") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
