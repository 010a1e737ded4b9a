package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
)

// mint builds a token with a valid checksum, the way GitHub does.
func mint(prefix, random string) string {
	random = (random + strings.Repeat("0", 30))[:30]
	return prefix + random + facts.Checksum(random)
}

var (
	tokBroad    = mint("ghp_", "Broad0000000000000000000000001")
	tokPackages = mint("ghp_", "Packages0000000000000000000002")
	tokFine     = "github_pat_11ABCDEFG0fine0000000000_" + strings.Repeat("Z", 59)
	tokSSO      = mint("ghp_", "Sso00000000000000000000000003A")
	tokPrimary  = mint("ghp_", "Primary0000000000000000000004B")
	tokSecond   = mint("ghp_", "Secondary000000000000000000005")
	tokServer   = mint("ghp_", "Server000000000000000000000006")
	tokSlow     = mint("ghp_", "Slow00000000000000000000000007")
	tokRevoked  = mint("ghp_", "Revoked000000000000000000000008")
	tokInstall  = mint("ghs_", "Install000000000000000000000009")
)

func tokencheckIn(t *testing.T, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	io := streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut, Getenv: func(k string) string { return env[k] }}
	code := run(context.Background(), args, io)
	return result{out.String(), errOut.String(), code}
}

// githubFake answers every token above as GitHub answered the recorded requests.
func githubFake(t *testing.T) *ghapitest.Server {
	fake := ghapitest.New(t)
	fake.Answer(tokBroad, "/user", ghapitest.Fixture(t, "user-classic-broad.http"))
	fake.Answer(tokPackages, "/user", ghapitest.Fixture(t, "user-classic-packages.http"))
	fake.Answer(tokFine, "/user", ghapitest.Fixture(t, "user-fine-grained.http"))
	fake.Answer(tokSSO, "/user", ghapitest.Fixture(t, "sso-required.http"))
	fake.Answer(tokPrimary, "/user", ghapitest.Fixture(t, "primary-rate-limit.http"))
	fake.Answer(tokSecond, "/user", ghapitest.Fixture(t, "secondary-rate-limit.http").With("Retry-After", "1"))
	fake.Answer(tokServer, "/user", ghapitest.Fixture(t, "server-error.http"))
	fake.Answer(tokSlow, "/user", ghapitest.Response{Block: true})
	fake.Answer(tokInstall, "/rate_limit", ghapitest.Fixture(t, "installation-rate-limit.http"))
	return fake
}

// TestScanNeverLeaksTheToken runs every path scan can take and looks for the token value in
// everything a user, a log collector or a CI artefact could see.
func TestScanNeverLeaksTheToken(t *testing.T) {
	fake := githubFake(t)
	closed := ghapitest.New(t)
	closedURL := closed.APIURL()
	closed.Close()
	host := strings.TrimPrefix(fake.URL, "http://")
	cases := []struct {
		name   string
		token  string
		apiURL string
		extra  []string
		code   int
		want   []string
	}{
		{"classic with broad scopes", tokBroad, "", nil, exitViolations, []string{"dangerous scope delete_repo", "no-expiration", "…" + tokBroad[len(tokBroad)-4:]}},
		{"fine-grained with an offset expiry", tokFine, "", nil, exitOK, []string{"not knowable from this source: permissions, repository_selection, resource_owner"}},
		{"installation token", tokInstall, "", nil, exitOK, []string{"[app_installation]", "not knowable from this source: owner, permissions, repository_selection"}},
		{"401 bad credentials", tokRevoked, "", nil, exitError, []string{"token rejected by " + host + " (401 Bad credentials)"}},
		{"SSO 403", tokSSO, "", nil, exitIncomplete, []string{"requires SAML SSO authorization", "https://github.com/orgs/acme/sso?authorization_request="}},
		{"primary rate limit", tokPrimary, "", nil, exitIncomplete, []string{"rate limit exhausted until 2026-11-22T02:45:00Z"}},
		{"secondary rate limit", tokSecond, "", nil, exitIncomplete, []string{"secondary rate limit (403): still limited after waiting as asked"}},
		{"5xx", tokServer, "", []string{"--retries", "2"}, exitError, []string{host + " answered 502 Server Error after retries"}},
		{"network error", tokBroad, closedURL, []string{"--retries", "1"}, exitError, []string{"cannot reach " + strings.TrimPrefix(strings.TrimSuffix(closedURL, "/"), "http://"), "connection refused"}},
		{"timeout", tokSlow, "", []string{"--timeout", "300ms"}, exitError, []string{host + " did not answer within the time limit"}},
		{"verbose", tokBroad, "", []string{"--verbose"}, exitViolations, []string{"GET " + fake.URL + "/user → 200 OK"}},
		{"malformed", tokBroad[:len(tokBroad)-1] + "Q", "", nil, exitError, []string{"checksum does not match", "not sent"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out, factsOut := filepath.Join(dir, "report.json"), filepath.Join(dir, "facts.json")
			api := c.apiURL
			if api == "" {
				api = fake.APIURL()
			}
			env := map[string]string{"GH_TOKEN": c.token}
			// Once to stdout as text, once to a JSON file with the facts saved.
			args := append([]string{"scan", "--now", fixedNow, "--api-url", api}, c.extra...)
			text := tokencheck(t, env, args...)
			file := tokencheck(t, env, append(args, "--format", "json", "--output", out, "--facts-out", factsOut)...)
			report, _ := os.ReadFile(out)
			saved, _ := os.ReadFile(factsOut)
			if text.code != c.code || file.code != c.code {
				t.Errorf("exit %d / %d, want %d\n%s%s", text.code, file.code, c.code, text.stdout, text.stderr)
			}
			seen := text.stdout + text.stderr + file.stderr
			for _, w := range c.want {
				if !strings.Contains(seen, w) {
					t.Errorf("output lacks %q:\n%s", w, seen)
				}
			}
			for name, s := range map[string]string{"stdout": text.stdout, "stderr": text.stderr + file.stderr, "report": string(report), "facts": string(saved)} {
				if strings.Contains(s, c.token) {
					t.Errorf("the token value is in %s", name)
				}
			}
			if !strings.Contains(text.stdout, facts.Fingerprint(c.token)) && c.code != exitError {
				t.Errorf("report does not name the token by its fingerprint %s", facts.Fingerprint(c.token))
			}
		})
	}
	// Every request was a GET to the configured host.
	for _, r := range fake.Requests() {
		if r.Method != "GET" || r.Host != host {
			t.Errorf("request %s %s%s: want only GETs to %s", r.Method, r.Host, r.Path, host)
		}
	}
}

func TestScanTokenFileJudgesEveryLine(t *testing.T) {
	fake := githubFake(t)
	file := filepath.Join(t.TempDir(), "tokens.txt")
	content := "# tokens to review\n" + tokBroad + "\n\n" + tokRevoked + "\n  " + tokPackages + "  \n" + tokBroad + "\n"
	os.WriteFile(file, []byte(content), 0o600)
	r := tokencheck(t, map[string]string{"GH_TOKEN": tokFine}, "scan", "--now", fixedNow, "--api-url", fake.APIURL(), "--token-file", file, "--format", "json")
	if r.code != exitError {
		t.Errorf("exit %d, want 2 (one token rejected)", r.code)
	}
	var rep struct {
		Tokens []struct {
			ID       string
			Location struct {
				File string
				Line int
			}
		}
		Errors []struct {
			File    string
			Line    int
			Message string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(rep.Tokens) != 2 || rep.Tokens[0].ID != facts.Fingerprint(tokBroad) || rep.Tokens[0].Location.Line != 2 || rep.Tokens[1].Location.Line != 5 {
		t.Errorf("tokens = %+v, want lines 2 and 5 judged (the duplicate on line 6 once)", rep.Tokens)
	}
	if len(rep.Errors) != 1 || rep.Errors[0].File != file || rep.Errors[0].Line != 4 || !strings.Contains(rep.Errors[0].Message, "token rejected") {
		t.Errorf("errors = %+v, want the rejected token's file and line 4", rep.Errors)
	}
	for _, req := range fake.Requests() {
		if req.Credential == facts.Fingerprint(tokFine) {
			t.Errorf("GH_TOKEN was sent although --token-file was given")
		}
	}
	if strings.Contains(r.stdout+r.stderr, tokRevoked) || strings.Contains(r.stdout+r.stderr, tokBroad) {
		t.Errorf("a token value is in the output")
	}
}

func TestScanTokenSources(t *testing.T) {
	fake := githubFake(t)
	r := tokencheckIn(t, tokFine+"\n", nil, "scan", "--now", fixedNow, "--api-url", fake.APIURL(), "--token-stdin")
	if r.code != exitOK || !strings.Contains(r.stdout, facts.Fingerprint(tokFine)) {
		t.Errorf("stdin: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = tokencheck(t, map[string]string{"GITHUB_TOKEN": tokFine}, "scan", "--now", fixedNow, "--api-url", fake.APIURL())
	if r.code != exitOK || !strings.Contains(r.stdout, facts.Fingerprint(tokFine)) {
		t.Errorf("GITHUB_TOKEN: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = tokencheck(t, map[string]string{"GH_TOKEN": tokFine, "GITHUB_TOKEN": tokBroad}, "scan", "--now", fixedNow, "--api-url", fake.APIURL())
	if !strings.Contains(r.stdout, facts.Fingerprint(tokFine)) || strings.Contains(r.stdout, facts.Fingerprint(tokBroad)) {
		t.Errorf("GH_TOKEN must win over GITHUB_TOKEN:\n%s", r.stdout)
	}
	r = tokencheck(t, nil, "scan", "--now", fixedNow, "--api-url", fake.APIURL())
	if r.code != exitError || !strings.Contains(r.stdout, "no token to scan: set GH_TOKEN") {
		t.Errorf("no token: exit %d\n%s", r.code, r.stdout)
	}
	// No flag takes a token value.
	r = tokencheck(t, nil, "scan", "--token", tokBroad)
	if r.code != exitError || strings.Contains(r.stderr+r.stdout, tokBroad) {
		t.Errorf("--token: exit %d, output %q", r.code, r.stderr)
	}
}

func TestScanSendsTokensOnlyOverHTTPS(t *testing.T) {
	for _, api := range []string{"http://example.com/api/v3/", "http://10.0.0.1/"} {
		r := tokencheck(t, map[string]string{"GH_TOKEN": tokBroad}, "scan", "--api-url", api)
		if r.code != exitError || !strings.Contains(r.stdout, "refusing plain http") {
			t.Errorf("%s: exit %d\n%s", api, r.code, r.stdout)
		}
	}
	r := tokencheck(t, map[string]string{"GH_ENTERPRISE_TOKEN": tokBroad, "GH_HOST": "https://ghe.example.com"}, "scan")
	if r.code != exitError || !strings.Contains(r.stdout, "GH_HOST: hostname") {
		t.Errorf("bad GH_HOST: exit %d\n%s", r.code, r.stdout)
	}
}

// For an Enterprise Server host the token comes from GH_ENTERPRISE_TOKEN, as gh has it; a
// github.com token in GH_TOKEN is never sent to that host.
func TestScanEnterpriseHostReadsTheEnterpriseToken(t *testing.T) {
	r := tokencheck(t, map[string]string{"GH_TOKEN": tokBroad, "GH_HOST": "ghe.example.com"}, "scan")
	if r.code != exitError || !strings.Contains(r.stdout, "no token to scan: set GH_ENTERPRISE_TOKEN or GITHUB_ENTERPRISE_TOKEN") {
		t.Errorf("GH_TOKEN with an Enterprise GH_HOST: exit %d\n%s", r.code, r.stdout)
	}
	fake := ghapitest.New(t)
	fake.Answer(tokBroad, "/user", ghapitest.Fixture(t, "user-classic-broad.http"))
	r = tokencheck(t, map[string]string{"GH_ENTERPRISE_TOKEN": tokBroad, "GH_HOST": "ghe.example.com"}, "scan", "--api-url", fake.APIURL(), "--now", fixedNow)
	if r.code != exitViolations || !strings.Contains(r.stdout, "delete_repo") {
		t.Errorf("GH_ENTERPRISE_TOKEN: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestScanHeadersGolden(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			r := tokencheck(t, map[string]string{"GH_TOKEN": tokBroad}, "scan", "--now", fixedNow, "--format", format,
				"--headers", "fixtures/github/user-classic-broad.http", "--type", "classic", "--last-four", "T4V4")
			if r.code != exitViolations {
				t.Errorf("exit %d, want 1\n%s", r.code, r.stderr)
			}
			golden(t, "scan-headers."+format, r.stdout)
		})
	}
}

func TestScanFactsRoundTripThroughCheck(t *testing.T) {
	fake := githubFake(t)
	factsFile := filepath.Join(t.TempDir(), "facts.json")
	scan := tokencheck(t, map[string]string{"GH_TOKEN": tokBroad}, "scan", "--now", fixedNow, "--api-url", fake.APIURL(), "--format", "json", "--facts-out", factsFile)
	check := tokencheck(t, nil, "check", "--now", fixedNow, "--format", "json", factsFile)
	findings := func(s string) []string {
		var rep struct {
			Findings []struct{ Rule, Token, Message string }
		}
		if err := json.Unmarshal([]byte(s), &rep); err != nil {
			t.Fatalf("%v\n%s", err, s)
		}
		var out []string
		for _, f := range rep.Findings {
			out = append(out, f.Rule+" "+f.Token+" "+f.Message)
		}
		return out
	}
	a, b := findings(scan.stdout), findings(check.stdout)
	if len(a) == 0 || strings.Join(a, "\n") != strings.Join(b, "\n") || scan.code != check.code {
		t.Errorf("scan found %q (exit %d), check of its facts %q (exit %d)", a, scan.code, b, check.code)
	}
}

// BenchmarkScan is one whole scan (engine compile, one GET against the local fake, evaluation,
// report) as a user runs it; BenchmarkScanHeaders is the same without the network, the baseline.
func BenchmarkScan(b *testing.B) {
	fake := ghapitest.New(b)
	fake.Answer(tokBroad, "/user", ghapitest.Fixture(b, "user-classic-broad.http"))
	env := map[string]string{"GH_TOKEN": tokBroad}
	for b.Loop() {
		var out bytes.Buffer
		io := streams{In: strings.NewReader(""), Out: &out, Err: &out, Getenv: func(k string) string { return env[k] }}
		if code := run(context.Background(), []string{"scan", "--now", fixedNow, "--api-url", fake.APIURL()}, io); code != exitViolations {
			b.Fatalf("exit %d: %s", code, out.String())
		}
	}
}

func BenchmarkScanHeaders(b *testing.B) {
	for b.Loop() {
		var out bytes.Buffer
		io := streams{In: strings.NewReader(""), Out: &out, Err: &out, Getenv: func(string) string { return "" }}
		if code := run(context.Background(), []string{"scan", "--now", fixedNow, "--headers", "fixtures/github/user-classic-broad.http", "--type", "classic"}, io); code != exitViolations {
			b.Fatalf("exit %d: %s", code, out.String())
		}
	}
}
