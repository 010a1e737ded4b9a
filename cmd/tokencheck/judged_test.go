package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokencheck/tokencheck/engine/source"
)

// What gets judged (issue 12): inventories declare themselves, tokencheck's own outputs are never
// inputs, --ignore/ignore: skip paths, inventories: marks files, - reads stdin, and a template
// link's identity does not depend on its line.

const scratchInventory = `schema: tokencheck.inventory/v1
tokens:
  - id: deploy-bot
    type: classic
    scopes: [repo, delete_repo]
    created_at: 2026-01-01
    expires_at: never
`

// gateReport is the part of a JSON report the gate's stability is judged on.
type gateReport struct {
	Findings []struct {
		Rule, Token, Subject string
		Existing             bool
		Location             struct {
			File string
			Line int
		}
	} `json:"findings"`
	Errors  []struct{ File, Message string } `json:"errors"`
	Summary struct {
		Tokens, Failing, Errors, Existing int
		OwnOutputs                        int `json:"own_outputs"`
		Ignored                           int `json:"ignored"`
	} `json:"summary"`
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readGate(t *testing.T, file string) (gateReport, []byte) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rep gateReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return rep, raw
}

// TestScratchRepositoryGateIsStable is issue 12's "Done when": a repository with an inventory, a
// design-tokens JSON, a package.json, a previous report, a SARIF file and a baseline; the gate run
// twice gives the same verdict and findings, and the design-tokens file is a notice only.
func TestScratchRepositoryGateIsStable(t *testing.T) {
	repo := t.TempDir()
	writeTree(t, repo, map[string]string{
		"tokens/inventory.yaml": scratchInventory,
		// A design-tokens file (Style Dictionary / W3C format): a top-level tokens key, no schema.
		"design/tokens.json": `{"tokens": {"color": {"primary": {"value": "#0969da", "type": "color"}}}}`,
		"package.json":       `{"name": "site", "version": "1.0.0", "schema": "https://json.schemastore.org/package.json", "scripts": {"build": "vite"}}`,
		"docs/tokens.md":     "Create the docs token: https://github.com/settings/personal-access-tokens/new?name=Docs&target_name=acme&expires_in=30&contents=read\n",
	})
	inv := filepath.Join(repo, "tokens")
	// Earlier runs left their outputs in the repository, in every format.
	for _, args := range [][]string{
		{"--format", "json", "-o", filepath.Join(repo, "reports", "previous.json")},
		{"--format", "sarif", "-o", filepath.Join(repo, "reports", "tokencheck.sarif")},
		{"--format", "junit", "-o", filepath.Join(repo, "reports", "junit.xml")},
		{"--format", "markdown", "-o", filepath.Join(repo, "reports", "summary.md")},
		{"--format", "text", "-o", filepath.Join(repo, "reports", "report.txt")},
		{"--format", "github", "-o", filepath.Join(repo, "reports", "annotations.log")},
		{"--write-baseline", filepath.Join(repo, "tokencheck-baseline.json"), "-o", filepath.Join(repo, "reports", "baseline-run.txt")},
	} {
		if err := os.MkdirAll(filepath.Join(repo, "reports"), 0o755); err != nil {
			t.Fatal(err)
		}
		r := tokencheck(t, nil, append(append([]string{"check", "--now", fixedNow}, args...), inv)...)
		if r.code != exitViolations {
			t.Fatalf("%v: exit %d, want 1\n%s", args, r.code, r.stderr)
		}
	}
	// The baseline holds the inventory's findings; the docs link is new.
	gate := func(n int) (gateReport, result) {
		out := filepath.Join(repo, "report.json")
		r := tokencheck(t, nil, "check", "--now", fixedNow, "--baseline", filepath.Join(repo, "tokencheck-baseline.json"),
			"--format", "json", "-o", out, "--also", "sarif="+filepath.Join(t.TempDir(), "run.sarif"), repo)
		rep, _ := readGate(t, out)
		if len(rep.Errors) != 0 {
			t.Errorf("run %d: errors %+v, want none (design tokens, package.json and tokencheck's outputs are not inputs)", n, rep.Errors)
		}
		return rep, r
	}
	first, r1 := gate(1)
	second, r2 := gate(2)
	if r1.code != r2.code {
		t.Errorf("exit %d then %d, want the same verdict", r1.code, r2.code)
	}
	f1, _ := json.Marshal(first.Findings)
	f2, _ := json.Marshal(second.Findings)
	if !bytes.Equal(f1, f2) {
		t.Errorf("findings differ between runs:\n%s\n%s", f1, f2)
	}
	if r1.code != exitOK {
		t.Errorf("exit %d, want 0: the inventory's findings are baselined and the docs link is compliant\n%s", r1.code, r1.stderr)
	}
	for _, f := range first.Findings {
		file := filepath.ToSlash(f.Location.File)
		switch {
		case strings.HasSuffix(file, "tokens/inventory.yaml"):
			if !f.Existing {
				t.Errorf("%s/%s: baselined finding is not existing", f.Token, f.Rule)
			}
		case strings.HasSuffix(file, "docs/tokens.md"):
			if !strings.HasPrefix(f.Token, source.TemplateLinkIDPrefix) {
				t.Errorf("template link token id %q, want %s…", f.Token, source.TemplateLinkIDPrefix)
			}
		default:
			t.Errorf("finding %s/%s from %s: only the inventory and the docs are inputs", f.Token, f.Rule, file)
		}
	}
	if first.Summary.Tokens != 2 {
		t.Errorf("%d tokens judged, want 2 (the inventory's and the docs link)", first.Summary.Tokens)
	}
	// Seven outputs of earlier runs, and from the second run on the gate's own report.
	if first.Summary.OwnOutputs != 8 || second.Summary.OwnOutputs != 9 {
		t.Errorf("own outputs counted %d then %d, want 8 then 9", first.Summary.OwnOutputs, second.Summary.OwnOutputs)
	}
	for _, r := range []result{r1, r2} {
		if !strings.Contains(r.stderr, "design/tokens.json: skipped: looks like an inventory but has no schema: tokencheck.inventory/v1") {
			t.Errorf("no notice for the design-tokens file on stderr:\n%s", r.stderr)
		}
		if strings.Contains(r.stderr, "package.json") || strings.Contains(r.stderr, "reports/") {
			t.Errorf("package.json or a report is mentioned:\n%s", r.stderr)
		}
	}
}

// TestReportInsideTheCheckedDirectoryTwice: check --format json -o report.json DIR, twice, with the
// report inside DIR, gives the same findings and verdict.
func TestReportInsideTheCheckedDirectoryTwice(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"inventory.yaml": scratchInventory})
	out := filepath.Join(dir, "report.json")
	var reports [2][]byte
	var codes [2]int
	for i := range 2 {
		r := tokencheck(t, nil, "check", "--now", fixedNow, "--format", "json", "-o", out, dir)
		codes[i] = r.code
		rep, _ := readGate(t, out)
		reports[i], _ = json.Marshal(rep.Findings)
		if len(rep.Errors) != 0 {
			t.Errorf("run %d: errors %+v", i+1, rep.Errors)
		}
	}
	if codes[0] != codes[1] || codes[0] != exitViolations || !bytes.Equal(reports[0], reports[1]) {
		t.Errorf("exit %v, findings\n%s\n%s\nwant the same both times", codes, reports[0], reports[1])
	}
}

// TestEveryOutputFormatIsRecognised: every golden output (each format tokencheck writes) is
// recognised as tokencheck's own, so a walk never reads one back.
func TestEveryOutputFormatIsRecognised(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("fixtures", "expected", "*"))
	if err != nil || len(files) < 10 {
		t.Fatalf("golden outputs: %v %v", files, err)
	}
	for _, f := range append(files, "fixtures/ci/baseline.json") {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if source.OwnOutput(raw) == "" {
			t.Errorf("%s is not recognised as a tokencheck output", f)
		}
	}
	for _, f := range []string{"fixtures/inventory/tokens.yaml", "fixtures/inventory/ci-tokens.json", "fixtures/inventory/docs/integrations.md", "fixtures/bad/facts.json"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if kind := source.OwnOutput(raw); kind != "" {
			t.Errorf("input %s is taken for a tokencheck output (%s)", f, kind)
		}
	}
}

func TestUnmarkedInventoryNamedIsReadWalkedIsANotice(t *testing.T) {
	dir := t.TempDir()
	unmarked := strings.Replace(scratchInventory, "schema: tokencheck.inventory/v1\n", "", 1)
	writeTree(t, dir, map[string]string{"inv.yaml": unmarked})
	named := tokencheck(t, nil, "check", "--now", fixedNow, filepath.Join(dir, "inv.yaml"))
	if named.code != exitViolations || !strings.Contains(named.stdout, "deploy-bot") {
		t.Errorf("named: exit %d, want 1 with deploy-bot judged\n%s%s", named.code, named.stdout, named.stderr)
	}
	walked := tokencheck(t, nil, "check", "--now", fixedNow, "--format", "markdown", dir)
	if walked.code != exitOK || strings.Contains(walked.stdout, "deploy-bot") {
		t.Errorf("walked: exit %d, want 0 and nothing judged\n%s", walked.code, walked.stdout)
	}
	if !strings.Contains(walked.stdout, "no schema: tokencheck.inventory/v1") || !strings.Contains(walked.stderr, "inv.yaml: skipped: looks like an inventory") {
		t.Errorf("walked: the skip is not visible\nstdout:\n%s\nstderr:\n%s", walked.stdout, walked.stderr)
	}
	// inventories: in the configuration marks it.
	cfg := filepath.Join(t.TempDir(), "tokencheck.yaml")
	writeTree(t, filepath.Dir(cfg), map[string]string{"tokencheck.yaml": "inventories: ['*.yaml']\n"})
	marked := tokencheck(t, nil, "check", "--now", fixedNow, "--config", cfg, dir)
	if marked.code != exitViolations || !strings.Contains(marked.stdout, "deploy-bot") {
		t.Errorf("inventories: exit %d, want 1 with deploy-bot judged\n%s%s", marked.code, marked.stdout, marked.stderr)
	}
}

func TestWrongInventorySchemaIsAnInputError(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"inv.yaml": strings.Replace(scratchInventory, "inventory/v1", "inventory/v2", 1)})
	r := tokencheck(t, nil, "check", "--now", fixedNow, dir)
	if r.code != exitError || !strings.Contains(r.stdout+r.stderr, `inv.yaml:1: schema "tokencheck.inventory/v2" is not an inventory schema`) {
		t.Errorf("exit %d, want 2 naming inv.yaml:1\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "deploy-bot") {
		t.Errorf("the declarations are still judged:\n%s", r.stdout)
	}
}

func TestIgnoreSkipsPaths(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"tokens/inv.yaml":      scratchInventory,
		"old/inv.yaml":         strings.Replace(scratchInventory, "deploy-bot", "old-bot", 1),
		"docs/a.md":            "https://github.com/settings/personal-access-tokens/new?name=A&target_name=acme&contents=read&expires_in=30\n",
		"docs/deep/b.md":       "https://github.com/settings/personal-access-tokens/new?name=B&target_name=acme&expires_in=none&contents=read\n",
		"bad/not-an-inventory": "tokens: [\n",
	})
	out := filepath.Join(t.TempDir(), "r.json")
	r := tokencheck(t, nil, "check", "--now", fixedNow, "--format", "json", "-o", out,
		"--ignore", "old", "--ignore", "docs/deep/**,not-an-inventory", dir)
	rep, raw := readGate(t, out)
	if r.code != exitViolations || len(rep.Errors) != 0 {
		t.Errorf("exit %d errors %+v", r.code, rep.Errors)
	}
	if bytes.Contains(raw, []byte("old-bot")) || bytes.Contains(raw, []byte("b.md")) {
		t.Errorf("ignored paths were judged:\n%s", raw)
	}
	if rep.Summary.Tokens != 2 || rep.Summary.Ignored != 3 {
		t.Errorf("tokens %d ignored %d, want 2 and 3", rep.Summary.Tokens, rep.Summary.Ignored)
	}
	if strings.Contains(r.stderr, "notice") {
		t.Errorf("ignored paths are not notices:\n%s", r.stderr)
	}
	// The same from the configuration.
	cfg := filepath.Join(t.TempDir(), "tokencheck.yaml")
	writeTree(t, filepath.Dir(cfg), map[string]string{"tokencheck.yaml": "ignore:\n  - old\n  - docs/deep/**\n  - not-an-inventory\n"})
	r = tokencheck(t, nil, "check", "--now", fixedNow, "--format", "json", "-o", out, "--config", cfg, dir)
	if rep, _ := readGate(t, out); r.code != exitViolations || rep.Summary.Ignored != 3 || rep.Summary.Tokens != 2 {
		t.Errorf("ignore: exit %d, summary %+v", r.code, rep.Summary)
	}
	// A bad glob: exit 2 before any work.
	r = tokencheck(t, nil, "check", "--ignore", "[a-", "-o", out+".new", dir)
	if r.code != exitError || !strings.Contains(r.stderr, "--ignore") {
		t.Errorf("bad --ignore: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(out + ".new"); err == nil {
		t.Error("a report was written despite a bad --ignore")
	}
	writeTree(t, filepath.Dir(cfg), map[string]string{"tokencheck.yaml": "max_lifetime_days: 366\nignore:\n  - '[a-'\n"})
	r = tokencheck(t, nil, "check", "--now", fixedNow, "--config", cfg, dir)
	if r.code != exitError || !strings.Contains(r.stdout+r.stderr, "tokencheck.yaml:3: ignore:") {
		t.Errorf("bad ignore: exit %d, want 2 naming the line\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestStdinInventory(t *testing.T) {
	unmarked := strings.Replace(scratchInventory, "schema: tokencheck.inventory/v1\n", "", 1)
	var out, errOut bytes.Buffer
	io := streams{In: strings.NewReader(unmarked), Out: &out, Err: &errOut, Getenv: func(string) string { return "" }}
	code := run(context.Background(), []string{"check", "--now", fixedNow, "--format", "json", "-"}, io)
	var rep gateReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if code != exitViolations || len(rep.Findings) == 0 || rep.Findings[0].Location.File != "stdin" || rep.Findings[0].Location.Line != 2 {
		t.Errorf("exit %d, findings %+v; want deploy-bot's at stdin:2", code, rep.Findings)
	}
	// Size-capped like a file.
	big := io
	big.In = strings.NewReader("tokens: []\n" + strings.Repeat("#", source.MaxFileBytes))
	out.Reset()
	errOut.Reset()
	if code := run(context.Background(), []string{"check", "-"}, big); code != exitError || !strings.Contains(errOut.String()+out.String(), "stdin: is over the") {
		t.Errorf("oversized stdin: exit %d\n%s", code, errOut.String())
	}
	if r := tokencheck(t, nil, "check", "-", "-"); r.code != exitError || !strings.Contains(r.stderr, "more than once") {
		t.Errorf("- twice: exit %d\n%s", r.code, r.stderr)
	}
}

// TestTemplateLinkIdentityIgnoresItsLine: a line added above a baselined template link keeps its
// findings existing; the same link twice in a file is one token, at its first line.
func TestTemplateLinkIdentityIgnoresItsLine(t *testing.T) {
	dir := t.TempDir()
	link := "https://github.com/settings/personal-access-tokens/new?target_name=acme&name=Deploy&expires_in=none&administration=write"
	writeTree(t, dir, map[string]string{"docs/howto.md": "Create it: " + link + "\n"})
	base := filepath.Join(t.TempDir(), "baseline.json")
	if r := tokencheck(t, nil, "check", "--now", fixedNow, "--write-baseline", base, "-o", filepath.Join(t.TempDir(), "r.txt"), dir); r.code != exitViolations {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	// Same parameters in another order, a line above it, and a second copy further down.
	moved := strings.Replace(link, "target_name=acme&name=Deploy", "name=Deploy&target_name=ACME", 1)
	writeTree(t, dir, map[string]string{"docs/howto.md": "# How to\n\nCreate it: " + moved + "\n\nAgain: " + link + "\n"})
	out := filepath.Join(t.TempDir(), "r.json")
	r := tokencheck(t, nil, "check", "--now", fixedNow, "--baseline", base, "--format", "json", "-o", out, dir)
	rep, _ := readGate(t, out)
	if r.code != exitOK || rep.Summary.Tokens != 1 || len(rep.Errors) != 0 {
		t.Errorf("exit %d, %d tokens, errors %+v; want 0 and one token (every finding existing)", r.code, rep.Summary.Tokens, rep.Errors)
	}
	for _, f := range rep.Findings {
		if !f.Existing || f.Location.Line != 3 || !strings.HasPrefix(f.Token, "template-link:") {
			t.Errorf("finding %+v: want existing, at line 3, id template-link:…", f)
		}
	}
}

// pre-commit names every staged file: with --as-walked a design-tokens JSON with a tokens key is a
// notice, as when walked, and a marked inventory is still judged.
func TestAsWalkedJudgesNamedFilesLikeAWalk(t *testing.T) {
	dir := t.TempDir()
	design := filepath.Join(dir, "design-tokens.json")
	os.WriteFile(design, []byte(`{"tokens": {"color": {"primary": "#0366d6"}}}`), 0o644)
	inv := filepath.Join(dir, "tokens.yaml")
	os.WriteFile(inv, []byte("schema: tokencheck.inventory/v1\ntokens:\n  - {id: admin, type: classic, scopes: [delete_repo]}\n"), 0o644)
	r := tokencheck(t, nil, "check", "--now", fixedNow, design, inv)
	if r.code != exitError {
		t.Errorf("named without --as-walked: exit %d, want 2 (a named file is an inventory)\n%s", r.code, r.stdout)
	}
	r = tokencheck(t, nil, "check", "--as-walked", "--now", fixedNow, design, inv)
	if r.code != exitViolations || !strings.Contains(r.stderr, "design-tokens.json") || !strings.Contains(r.stdout, "dangerous scope delete_repo") {
		t.Errorf("--as-walked: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
