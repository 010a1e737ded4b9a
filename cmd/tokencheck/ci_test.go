package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ciArgs judge the bundled fixtures with a live, an expired and an unused waiver and a baseline
// holding the findings of tokens.yaml.
var ciArgs = []string{"check", "--now", fixedNow, "--config", "fixtures/ci/tokencheck.yaml", "--baseline", "fixtures/ci/baseline.json", "fixtures/inventory"}

func TestCIGateGoldenOutputs(t *testing.T) {
	for _, format := range []string{"text", "json", "sarif", "junit", "github", "markdown"} {
		t.Run(format, func(t *testing.T) {
			r := tokencheck(t, nil, append(ciArgs, "--format", format)...)
			if r.code != exitViolations {
				t.Errorf("exit %d, want 1 (new violations beside the baseline); stderr: %s", r.code, r.stderr)
			}
			golden(t, "ci."+format, r.stdout)
		})
	}
}

// sarifSchema compiles the SARIF 2.1.0 schema, a copy of OASIS's in testdata/ (see testdata/README.md).
func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("cmd", "tokencheck", "testdata", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	sch, err := jsonschema.NewCompiler().Compile(path)
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	return sch
}

func validateSARIF(t *testing.T, sch *jsonschema.Schema, doc string) map[string]any {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("SARIF is not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("SARIF does not validate against the 2.1.0 schema: %v", err)
	}
	var m map[string]any
	json.Unmarshal([]byte(doc), &m)
	return m
}

func TestSARIFValidatesAgainstTheSchema(t *testing.T) {
	sch := sarifSchema(t)
	// File findings (physical locations), baseline states; the waived finding is left out.
	r := tokencheck(t, nil, append(ciArgs, "--format", "sarif")...)
	doc := validateSARIF(t, sch, r.stdout)
	run := doc["runs"].([]any)[0].(map[string]any)
	rules := run["tool"].(map[string]any)["driver"].(map[string]any)["rules"].([]any)
	if len(rules) < 16 {
		t.Errorf("%d rules described, want every rule", len(rules))
	}
	for _, raw := range rules {
		rule := raw.(map[string]any)
		props := rule["properties"].(map[string]any)
		if props["security-severity"] == "" || rule["help"] == nil || rule["shortDescription"] == nil || rule["fullDescription"] == nil {
			t.Errorf("rule %v lacks security-severity, help or descriptions", rule["id"])
		}
	}
	suppressed, unchanged, physical := 0, 0, 0
	for _, raw := range run["results"].([]any) {
		res := raw.(map[string]any)
		if res["suppressions"] != nil {
			suppressed++
		}
		if res["baselineState"] == "unchanged" {
			unchanged++
		}
		loc := res["locations"].([]any)[0].(map[string]any)
		if pl, ok := loc["physicalLocation"].(map[string]any); ok {
			physical++
			uri := pl["artifactLocation"].(map[string]any)["uri"].(string)
			if strings.HasPrefix(uri, "/") || strings.Contains(uri, `\`) {
				t.Errorf("uri %q is not relative to the repository root", uri)
			}
		}
	}
	if suppressed != 0 || unchanged != 7 || physical != 18 {
		t.Errorf("suppressed %d, unchanged %d, physical %d; want 0, 7, 18 (19 findings, the waived one left out)", suppressed, unchanged, physical)
	}

	// Findings with no file (a scanned token) carry a logical location; errors become notifications.
	r = tokencheck(t, nil, "scan", "--now", fixedNow, "--format", "sarif", "--headers", "fixtures/github/sso-required.http", "--type", "classic", "--headers", "fixtures/bad/missing.txt")
	doc = validateSARIF(t, sch, r.stdout)
	inv := doc["runs"].([]any)[0].(map[string]any)["invocations"].([]any)[0].(map[string]any)
	if inv["executionSuccessful"] != false || len(inv["toolExecutionNotifications"].([]any)) != 2 {
		t.Errorf("invocation = %v, want unsuccessful with an error and an incomplete notification", inv)
	}
}

func TestSARIFFingerprintsAreStableAcrossRuns(t *testing.T) {
	fingerprints := func(now string) map[string]bool {
		args := append([]string{}, ciArgs...)
		args[2] = now
		r := tokencheck(t, nil, append(args, "--format", "sarif")...)
		var doc struct {
			Runs []struct {
				Results []struct {
					PartialFingerprints map[string]string `json:"partialFingerprints"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, res := range doc.Runs[0].Results {
			fp := res.PartialFingerprints["tokencheckFinding/v2"]
			if out[fp] {
				t.Errorf("two results of one run share the fingerprint %q", fp)
			}
			out[fp] = true
		}
		if len(out) != len(doc.Runs[0].Results) {
			t.Errorf("%d fingerprints for %d results", len(out), len(doc.Runs[0].Results))
		}
		return out
	}
	// A day later the messages change ("in 8 days"), the fingerprints must not.
	a, b := fingerprints("2026-11-22T00:00:00Z"), fingerprints("2026-11-23T00:00:00Z")
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("fingerprints %d vs %d", len(a), len(b))
	}
	for fp := range a {
		if fp == "" || !b[fp] {
			t.Errorf("fingerprint %q not stable across runs", fp)
		}
	}
}

func TestJUnitIsReadableXML(t *testing.T) {
	r := tokencheck(t, nil, append(ciArgs, "--format", "junit")...)
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	if len(doc.Suites) != 3 {
		t.Errorf("%d suites, want one per input file (3)", len(doc.Suites))
	}
	// 9 tokens × 18 rules (committed-token and catalogue-outdated included); failures are the distinct (token, rule) pairs that fail the gate.
	if doc.Tests != 9*18 || doc.Failures != 5 || doc.Skipped != 7 {
		t.Errorf("tests %d failures %d skipped %d", doc.Tests, doc.Failures, doc.Skipped)
	}
}

func TestGitHubAnnotations(t *testing.T) {
	r := tokencheck(t, nil, append(ciArgs, "--format", "github", "--fail-on", "critical")...)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	want := []string{
		"::error file=fixtures/inventory/ci-tokens.json,line=17,title=dangerous-scope::[critical] org-admin-script: scope admin%3Aorg",
		"::warning file=fixtures/inventory/docs/integrations.md,line=11,title=no-expiration::[high]",
		"::notice file=fixtures/inventory/ci-tokens.json,line=17,title=classic-token::[high] org-admin-script: classic token",
		// 11 warnings: GitHub shows 10 per step, so the least severe is said in the log, and a notice says so.
		"::notice title=tokencheck%3A annotations left out::0 error, 1 warning and 0 notice annotation(s) not shown",
		"tokencheck: left out warning: fixtures/ci/tokencheck.yaml:14: unused waiver: waiver of stale-token",
	}
	for _, w := range want {
		found := false
		for _, l := range lines {
			// The message half is escaped for data, not for properties: ":" stays ":" there.
			if strings.HasPrefix(l, strings.Replace(w, "admin%3Aorg", "admin:org", 1)) {
				found = true
			}
		}
		if !found {
			t.Errorf("no line starting %q in\n%s", w, r.stdout)
		}
	}
	for _, l := range lines[:len(lines)-1] {
		if !strings.HasPrefix(l, "::") && !strings.HasPrefix(l, "tokencheck: left out ") {
			t.Errorf("neither a workflow command nor a left-out line: %q", l)
		}
	}
}

func TestSeveralOutputsInOneRun(t *testing.T) {
	dir := t.TempDir()
	sarifFile, junitFile, summary := filepath.Join(dir, "results.sarif"), filepath.Join(dir, "junit.xml"), filepath.Join(dir, "summary.md")
	os.WriteFile(summary, []byte("# earlier step\n"), 0o644)
	env := map[string]string{"GITHUB_STEP_SUMMARY": summary}
	r := tokencheck(t, env, append(ciArgs, "--format", "sarif", "--output", sarifFile, "--also", "text", "--also", "junit="+junitFile, "--summary")...)
	if r.code != exitViolations {
		t.Errorf("exit %d", r.code)
	}
	want, _ := os.ReadFile("fixtures/expected/ci.text")
	if r.stdout != string(want) {
		t.Errorf("stdout is not the text report:\n%s", r.stdout)
	}
	for file, golden := range map[string]string{sarifFile: "ci.sarif", junitFile: "ci.junit"} {
		got, _ := os.ReadFile(file)
		want, _ := os.ReadFile(filepath.Join("fixtures", "expected", golden))
		if string(got) != string(want) {
			t.Errorf("%s differs from %s", file, golden)
		}
	}
	md, _ := os.ReadFile(summary)
	wantMD, _ := os.ReadFile("fixtures/expected/ci.markdown")
	if string(md) != "# earlier step\n"+string(wantMD) {
		t.Errorf("step summary was not appended to:\n%s", md)
	}
	r = tokencheck(t, nil, "check", "--also", "yaml", "fixtures/inventory/tokens.yaml")
	if r.code != exitError || r.stdout != "" || !strings.Contains(r.stderr, "--also yaml: unknown format") {
		t.Errorf("bad --also: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Two reports on stdout would mix: refused before any work.
	r = tokencheck(t, nil, "check", "--format", "json", "--also", "text", "fixtures/inventory/tokens.yaml")
	if r.code != exitError || r.stdout != "" || !strings.Contains(r.stderr, "2 reports would go to stdout") {
		t.Errorf("two reports on stdout: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestBaseline(t *testing.T) {
	base := filepath.Join(t.TempDir(), "baseline.json")
	r := tokencheck(t, nil, "check", "--now", fixedNow, "--write-baseline", base, "fixtures/inventory")
	if r.code != exitViolations {
		t.Fatalf("first run: exit %d", r.code)
	}
	// Nothing new since the baseline: the gate passes and every finding is reported as existing.
	r = tokencheck(t, nil, "check", "--now", fixedNow, "--baseline", base, "--format", "json", "fixtures/inventory")
	var rep struct {
		Summary struct{ Findings, Existing, Failing int }
	}
	json.Unmarshal([]byte(r.stdout), &rep)
	if r.code != exitOK || rep.Summary.Existing != rep.Summary.Findings || rep.Summary.Failing != 0 || rep.Summary.Findings == 0 {
		t.Errorf("second run: exit %d, summary %+v", r.code, rep.Summary)
	}
	// A finding whose message changes but whose rule and token do not is still the same finding.
	r = tokencheck(t, nil, "check", "--now", "2026-11-25T00:00:00Z", "--baseline", base, "fixtures/inventory")
	if r.code != exitOK {
		t.Errorf("a later run with reworded messages: exit %d\n%s", r.code, r.stdout)
	}
	// An unreadable baseline is a bad flag value: exit 2 before any work, never a pass.
	r = tokencheck(t, nil, "check", "--now", fixedNow, "--baseline", "fixtures/inventory/tokens.yaml", "fixtures/inventory")
	if r.code != exitError || r.stdout != "" || !strings.Contains(r.stderr, "--baseline: fixtures/inventory/tokens.yaml: not a tokencheck JSON report") {
		t.Errorf("bad baseline: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// A baselined token that gains a dangerous scope has a new finding that fails the gate: findings
// are keyed by rule, token and subject, not by rule and token alone.
func TestBaselinedTokenThatGainsAScopeFails(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "tokens.yaml")
	write := func(scopes string) {
		os.WriteFile(inv, []byte("tokens:\n  - id: deploy-bot\n    name: Deploy bot\n    type: classic\n    scopes: ["+scopes+"]\n    expires_at: 2027-01-01\n"), 0o644)
	}
	base := filepath.Join(dir, "baseline.json")
	write("repo, delete_repo")
	if r := tokencheck(t, nil, "check", "--now", fixedNow, "--write-baseline", base, inv); r.code != exitViolations {
		t.Fatalf("first run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := tokencheck(t, nil, "check", "--now", fixedNow, "--baseline", base, inv); r.code != exitOK {
		t.Fatalf("unchanged: exit %d\n%s", r.code, r.stdout)
	}
	write("repo, delete_repo, admin:org")
	r := tokencheck(t, nil, "check", "--now", fixedNow, "--baseline", base, "--format", "json", inv)
	var rep struct {
		Findings []struct {
			Rule, Subject string
			Existing      bool
		}
	}
	json.Unmarshal([]byte(r.stdout), &rep)
	newScope := false
	for _, f := range rep.Findings {
		if f.Rule == "dangerous-scope" && f.Subject == "admin:org" && !f.Existing {
			newScope = true
		}
		if f.Rule == "dangerous-scope" && f.Subject == "delete_repo" && !f.Existing {
			t.Errorf("the baselined delete_repo finding counts as new")
		}
	}
	if r.code != exitViolations || !newScope {
		t.Errorf("a baselined token that gained admin:org: exit %d, want 1 with a new finding\n%s", r.code, r.stdout)
	}
}

// A baseline written before findings had subjects is refused with how to rewrite it.
func TestOldBaselineSaysHowToRewriteIt(t *testing.T) {
	old := filepath.Join(t.TempDir(), "old.json")
	os.WriteFile(old, []byte(`{"tool": "tokencheck", "findings": [{"rule": "dangerous-scope", "token": "deploy-bot"}]}`), 0o644)
	r := tokencheck(t, nil, "check", "--now", fixedNow, "--baseline", old, "fixtures/inventory")
	if r.code != exitError || !strings.Contains(r.stderr, "rewrite the baseline with this version: tokencheck check --write-baseline "+old) {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
}
