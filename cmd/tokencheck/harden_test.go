package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// valid36 makes a made-up 36-character-kind token with a valid checksum.
func valid36(prefix, body30 string) string { return prefix + body30 + facts.Checksum(body30) }

// plantedValues are made-up tokens of every kind, checksums valid, none ever issued.
var plantedValues = []string{
	valid36("ghp_", "Pl4nt3dClassicTokenValue000001"),
	valid36("gho_", "Pl4nt3dOAuthTokenValue00000002"),
	valid36("ghu_", "Pl4nt3dAppUserTokenValue000003"),
	valid36("ghs_", "Pl4nt3dInstallTokenValue000004"),
	valid36("ghr_", "Pl4nt3dRefreshTokenValue000005"),
	"github_pat_11PLANTED0000000000000A_" + strings.Repeat("Pl4nt3dF1neGra1ned", 3) + "Xy9Zq",
	"ghs_123456_eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjM0NTYifQ.U2lnbmF0dXJlUGxhbnRlZA",
}

// plantEverywhere writes a directory in which every field of every input kind holds token values.
func plantEverywhere(t *testing.T) string {
	t.Helper()
	v := plantedValues
	dir := t.TempDir()
	files := map[string]string{
		"inventory.yaml": "tokens:\n" +
			"  - id: " + v[0] + "\n    name: " + v[1] + "\n    description: " + v[2] + "\n    type: classic\n    owner: " + v[3] +
			"\n    resource_owner: " + v[4] + "\n    scopes: [repo, " + v[5] + "]\n    classic_reason: " + v[6] +
			"\n    created_at: " + v[0] + "\n    expires_at: " + v[1] + "\n    last_used_at: " + v[2] + "\n    approval: " + v[3] +
			"\n    needs: {" + v[4] + ": " + v[5] + "}\n    repositories: [" + v[6] + "]\n    " + v[0] + ": unknown key\n" +
			"  - id: fg\n    type: fine_grained\n    permissions: {" + v[1] + ": " + v[2] + "}\n    repositories: " + v[3] + "\n" +
			"  - id: linked\n    template_link: https://github.com/settings/personal-access-tokens/new?name=" + v[4] + "&description=" + v[5] + "&target_name=" + v[6] + "&" + v[0] + "=write&contents=" + v[1] + "&expires_in=" + v[2] + "\n",
		"inventory.json": `{"tokens": [{"id": "` + v[3] + `", "type": "` + v[4] + `", "name": "` + v[5] + `", "expires_in_days": "` + v[6] + `"}]}`,
		"facts.json":     `{"schema": "tokencheck.facts/v1", "tokens": [{"id": "` + v[0] + `", "name": "` + v[1] + `", "type": "classic", "owner": "` + v[2] + `", "scopes": ["` + v[3] + `"], "source": {"kind": "facts", "file": "` + v[4] + `"}}]}`,
		"broken.yaml":    "tokens:\n  - id: x\n    name: [" + v[5] + "\n" + v[6] + ": {\n",
		"near.yaml":      "Tokens:\n  - " + v[0] + "\n",
		"docs/README.md": "Create it here: https://github.com/settings/personal-access-tokens/new?name=" + v[1] + "&contents=write&" + v[2] + "=read\n\n" +
			"export GH=" + v[3] + "\n",
		".env":   "GITHUB_TOKEN=" + v[4] + "\nAPP_TOKEN=" + v[6] + "\n",
		"x.json": `{"schema": "` + v[5] + `"}`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestNoOutputLeaksACommittedTokenValue plants valid-looking tokens in every field of every input
// kind and searches every report format, stderr and the baseline file for them.
func TestNoOutputLeaksACommittedTokenValue(t *testing.T) {
	dir := plantEverywhere(t)
	for _, format := range []string{"text", "json", "sarif", "junit", "github", "markdown"} {
		t.Run(format, func(t *testing.T) {
			baseline := filepath.Join(t.TempDir(), "baseline.json")
			summary := filepath.Join(t.TempDir(), "summary.md")
			r := tokencheck(t, map[string]string{"GITHUB_STEP_SUMMARY": summary}, "check", "--now", fixedNow, "--format", format, "--summary",
				"--write-baseline", baseline, dir)
			written, _ := os.ReadFile(baseline)
			sum, _ := os.ReadFile(summary)
			for _, v := range plantedValues {
				for where, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "baseline": string(written), "summary": string(sum)} {
					if strings.Contains(out, v) || strings.Contains(out, v[len(v)/2:]) {
						t.Errorf("%s of --format %s shows planted %s…: \n%s", where, format, v[:6], out)
					}
				}
			}
			if r.code == exitOK {
				t.Errorf("exit %d for a tree full of committed tokens", r.code)
			}
		})
	}
}

// TestCommittedTokenIsACriticalFindingAtItsLine checks that each planted value is reported once per
// place, at its file and line, by type and last four only.
func TestCommittedTokenIsACriticalFindingAtItsLine(t *testing.T) {
	dir := t.TempDir()
	classic := plantedValues[0]
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("A=1\nGITHUB_TOKEN="+classic+"\nPLACEHOLDER=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.md"), []byte("# Notes\n\nstateless: "+plantedValues[6]+"\nfine: "+plantedValues[5]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := tokencheck(t, nil, "check", "--now", fixedNow, "--format", "github", dir)
	if r.code != exitViolations {
		t.Errorf("exit %d, want %d; stderr %s", r.code, exitViolations, r.stderr)
	}
	want := []string{
		"line=2,title=committed-token::[critical]",
		"classic token value ending " + classic[len(classic)-4:],
		"notes.md,line=3,title=committed-token",
		"app_installation token value ending",
		"notes.md,line=4,title=committed-token",
		"fine_grained token value ending",
	}
	for _, w := range want {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, r.stdout)
		}
	}
	if n := strings.Count(r.stdout, "title=committed-token"); n != 3 {
		t.Errorf("%d committed-token findings, want 3 (the placeholder is not a token):\n%s", n, r.stdout)
	}
}

// TestFarFutureAndAncientTimesAreLifetimeTooLongNotExpired covers issue 11 §2: times outside
// 1678-2262 overflowed nanoseconds and read as expired, or escaped the lifetime rule.
func TestFarFutureAndAncientTimesAreLifetimeTooLongNotExpired(t *testing.T) {
	dir := t.TempDir()
	decl := "permissions: {contents: read}, repositories: [a/b], resource_owner: acme, approval: approved"
	inv := "schema: tokencheck.inventory/v1\ntokens:\n" +
		"  - {id: far, type: fine_grained, " + decl + ", created_at: 2026-01-01, expires_at: 2300-01-01}\n" +
		"  - {id: huge, type: fine_grained, " + decl + ", created_at: 2026-01-01, expires_in_days: 99999999999}\n" +
		"  - {id: old, type: fine_grained, " + decl + ", created_at: 1600-01-01, expires_at: 2027-01-01}\n"
	if err := os.WriteFile(filepath.Join(dir, "inv.yaml"), []byte(inv), 0o644); err != nil {
		t.Fatal(err)
	}
	r := tokencheck(t, nil, "check", "--now", fixedNow, "--format", "github", "--fail-on", "medium", dir)
	if r.code != exitViolations {
		t.Errorf("exit %d, want %d", r.code, exitViolations)
	}
	if strings.Contains(r.stdout, "title=expired") {
		t.Errorf("a far-future expiry reads as expired:\n%s", r.stdout)
	}
	if n := strings.Count(r.stdout, "title=lifetime-too-long"); n != 3 {
		t.Errorf("%d lifetime-too-long findings, want 3:\n%s", n, r.stdout)
	}
}

// TestTemplateLinkParameterCannotForgeAWorkflowCommand reproduces issue 11 §1 end to end: a link
// parameter x%0A::error%20file%3DREADME.md… in a Markdown file, and ANSI and HTML in others, must
// not start a line of its own in any format or on stderr.
func TestTemplateLinkParameterCannotForgeAWorkflowCommand(t *testing.T) {
	dir := t.TempDir()
	docs := map[string]string{
		"forge.md": "https://github.com/settings/personal-access-tokens/new?x%0A::error%20file%3DREADME.md,line%3D1::ALL%20CLEAR=write&name=a%0D%0A::warning::b\n",
		"ansi.md":  "https://github.com/settings/personal-access-tokens/new?name=%1B%5B2J%1B%5BHALL%20CLEAR%1B%5D0%3Bpwned%07&contents=read\n",
		"html.md":  "https://github.com/settings/personal-access-tokens/new?%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E=write&name=%3Cscript%3Ealert(1)%3C/script%3E\n",
		"inv.yaml": "tokens:\n  - id: \"x\\n::error file=README.md,line=1::ALL CLEAR\"\n    template_link: \"https://github.com/settings/personal-access-tokens/new?expires_in=999999&contents=read\"\n",
	}
	for name, body := range docs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, format := range []string{"text", "json", "sarif", "junit", "github", "markdown"} {
		r := tokencheck(t, nil, "check", "--now", fixedNow, "--format", format, dir)
		for where, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
			for _, line := range strings.Split(out, "\n") {
				trimmed := strings.TrimSpace(line)
				if strings.HasPrefix(trimmed, "::error file=README.md") || strings.HasPrefix(trimmed, "::warning::b") {
					t.Errorf("%s %s: forged workflow command %q", format, where, line)
				}
			}
			if strings.Contains(out, "\x1b") {
				t.Errorf("%s %s: raw escape in output", format, where)
			}
			if format == "markdown" && (strings.Contains(out, "<img") || strings.Contains(out, "<script")) {
				t.Errorf("markdown %s: raw HTML from a link parameter", where)
			}
		}
	}
}

// TestSkippedInputsAreReportedNotSilent: a binary file and a symlink found by walking are notices
// on stderr; named on the command line they are errors (exit 2).
func TestSkippedInputsAreReportedNotSilent(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "blob.bin"), []byte("\x00\x01binary"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	r := tokencheck(t, nil, "check", "--now", fixedNow, dir)
	if r.code != exitOK || !strings.Contains(r.stderr, "blob.bin: is a binary file") || !strings.Contains(r.stderr, "link.yaml: is a symbolic link") {
		t.Errorf("walked: exit %d, stderr %q", r.code, r.stderr)
	}
	r = tokencheck(t, nil, "check", "--now", fixedNow, filepath.Join(dir, "link.yaml"))
	if r.code != exitError {
		t.Errorf("named symlink: exit %d, want %d", r.code, exitError)
	}
}

// TestHostileConfigurationIsAnInputErrorAndTheReportIsStillWritten covers issue 11 §4-§5: each
// hostile setting, data file or policy is exit 2 with file and line, and the tokens are still judged.
func TestHostileConfigurationIsAnInputErrorAndTheReportIsStillWritten(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	inv := write("inv/tokens.yaml", "tokens:\n  - {id: admin, type: classic, scopes: [delete_repo]}\n")
	cases := map[string][]string{
		"inf setting":         {"--config", write("inf.yaml", "max_lifetime_days: .inf\n")},
		"nan setting":         {"--config", write("nan.yaml", "stale_after_days: .nan\n")},
		"bad severity":        {"--config", write("sev.yaml", "dangerous_scopes:\n  repo: apocalyptic\n")},
		"unknown waiver rule": {"--config", write("waiver.yaml", "waivers:\n  - {rule: dangerous-scpoe, token: admin, reason: r, owner: o, expires: 2027-01-01}\n")},
		"empty data":          {"--data", write("empty.yaml", "")},
		"config package":      {"--policy", write("pol/config.rego", "package tokencheck.config\n\nmax_lifetime_days := 100000\n")},
		"network builtin": {"--policy", write("net/x.rego", "# METADATA\n# title: x\n# custom:\n#   id: exfil\n#   severity: high\n#   remediation: x\n"+
			"package tokencheck.rules.exfil\n\ndeny contains f if {\n\tr := http.send({\"method\": \"GET\", \"url\": \"http://169.254.169.254/\"})\n\tf := sprintf(\"%v\", [r])\n}\n")},
	}
	for name, flags := range cases {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"check", "--now", fixedNow, "--format", "text"}, flags...)
			r := tokencheck(t, nil, append(args, inv)...)
			if r.code != exitError {
				t.Errorf("exit %d, want %d\n%s%s", r.code, exitError, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "dangerous-scope") {
				t.Errorf("the token was not judged:\n%s%s", r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout+r.stderr, filepath.Base(flags[1])) {
				t.Errorf("the error does not name %s:\n%s%s", flags[1], r.stdout, r.stderr)
			}
		})
	}
}
