package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
)

// scanReport is the part of a JSON report these tests read.
type scanReport struct {
	Tokens []struct {
		ID, Type string
		Unknown  []string
	}
	Findings   []struct{ Rule, Severity, Level, Token, Message string }
	Errors     []string
	Incomplete []struct{ Source, Reason string }
}

func readReport(t *testing.T, s string) scanReport {
	t.Helper()
	var rep scanReport
	if err := json.Unmarshal([]byte(s), &rep); err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
	return rep
}

func (r scanReport) rules() []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Rule)
	}
	return out
}

func readFacts(t *testing.T, file string) facts.Document {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc facts.Document
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	return doc
}

// An Actions GITHUB_TOKEN in GitHub's stateless format (ghs_<APP_ID>_<JWT>, about 520 characters)
// is scanned like any installation token: sent once to /rate_limit, its expiry read from its JWT
// when the answer does not state one, never judged as a token that never expires, and its value
// shown nowhere.
func TestScanStatelessInstallationToken(t *testing.T) {
	exp := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC) // an hour after fixedNow
	value := ghapitest.StatelessToken(424242, exp)
	fake := ghapitest.New(t)
	fake.Answer(value, "/rate_limit", ghapitest.Fixture(t, "installation-stateless-rate-limit.http"))
	dir := t.TempDir()
	factsOut := filepath.Join(dir, "facts.json")
	env := map[string]string{"GITHUB_TOKEN": value}
	text := tokencheck(t, env, "scan", "--now", fixedNow, "--api-url", fake.APIURL(), "--verbose")
	js := tokencheck(t, env, "scan", "--now", fixedNow, "--api-url", fake.APIURL(), "--format", "json", "--facts-out", factsOut)
	if text.code != exitOK || js.code != exitOK {
		t.Fatalf("exit %d / %d, want 0\n%s%s", text.code, js.code, text.stdout, text.stderr)
	}
	if !strings.Contains(text.stdout, "[app_installation]") || !strings.Contains(text.stdout, facts.Fingerprint(value)) {
		t.Errorf("report:\n%s", text.stdout)
	}
	rep := readReport(t, js.stdout)
	if len(rep.Findings) != 0 || len(rep.Errors) != 0 || len(rep.Tokens) != 1 || rep.Tokens[0].Type != "app_installation" {
		t.Errorf("report = %+v", rep)
	}
	doc := readFacts(t, factsOut)
	if len(doc.Tokens) != 1 || doc.Tokens[0].ExpiresAt == nil || !doc.Tokens[0].ExpiresAt.Equal(exp) || doc.Tokens[0].IsUnknown(facts.FactExpiresAt) {
		t.Errorf("facts = %+v, want expires_at %s from the JWT", doc.Tokens, exp)
	}
	reqs := fake.Requests()
	if len(reqs) != 2 || reqs[0].Method != "GET" || reqs[0].Path != "/rate_limit" || reqs[0].Credential != facts.Fingerprint(value) {
		t.Errorf("requests = %+v, want one GET /rate_limit per run", reqs)
	}
	saved, _ := os.ReadFile(factsOut)
	parts := strings.Split(value, ".")
	for name, s := range map[string]string{"stdout": text.stdout + js.stdout, "stderr": text.stderr + js.stderr, "facts": string(saved)} {
		for _, part := range append(parts, value[:40]) {
			if strings.Contains(s, part) {
				t.Errorf("%s shows part of the token value", name)
			}
		}
	}

	// The same token, mistyped: refused before anything is sent, without a byte of it in the message.
	bad := value[:len(value)-30] + "*" + value[len(value)-29:]
	r := tokencheck(t, map[string]string{"GH_TOKEN": bad}, "scan", "--now", fixedNow, "--api-url", fake.APIURL())
	if r.code != exitError || !strings.Contains(r.stdout+r.stderr, "malformed app_installation token") || !strings.Contains(r.stdout+r.stderr, "not sent") {
		t.Errorf("malformed stateless token: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, parts[1]) || len(fake.Requests()) != 2 {
		t.Errorf("malformed stateless token leaked or was sent")
	}
}

// A header dump of an installation token's answer without an expiry header: the token is not
// judged as one that never expires (before, it was reported HIGH no-expiration and exit 1).
func TestScanHeadersStatelessInstallationToken(t *testing.T) {
	r := tokencheck(t, nil, "scan", "--now", fixedNow, "--format", "json",
		"--headers", "fixtures/github/installation-stateless-rate-limit.http", "--type", "ghs_")
	if r.code != exitOK {
		t.Errorf("exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
	if rep := readReport(t, r.stdout); len(rep.Findings) != 0 || len(rep.Tokens) != 1 || rep.Tokens[0].Type != "app_installation" {
		t.Errorf("report = %+v", rep)
	}
}

// A saved 403 carrying X-Accepted-GitHub-Permissions: the report names the permissions that would
// be accepted, the facts keep them (and X-Accepted-OAuth-Scopes), and they survive a round trip
// through a facts document.
func TestScanHeadersAcceptedPermissions(t *testing.T) {
	factsOut := filepath.Join(t.TempDir(), "facts.json")
	r := tokencheck(t, nil, "scan", "--now", fixedNow, "--headers", "fixtures/github/repo-pulls-403-accepted.http", "--type", "fine_grained", "--facts-out", factsOut)
	if r.code != exitIncomplete {
		t.Errorf("exit %d, want 3\n%s", r.code, r.stdout)
	}
	if !strings.Contains(r.stdout, "403 Resource not accessible by personal access token); the endpoint accepts a token with contents: read and pull_requests: read, or contents: read and issues: read") {
		t.Errorf("the 403 does not name the accepted permissions:\n%s", r.stdout)
	}
	doc := readFacts(t, factsOut)
	want := `[{"contents":"read","pull_requests":"read"},{"contents":"read","issues":"read"}]`
	if got, _ := json.Marshal(doc.Tokens[0].AcceptedPermissions); string(got) != want {
		t.Errorf("accepted_permissions = %s, want %s", got, want)
	}
	// Read back by check, the saved facts are judged again (nothing to find, nothing incomplete).
	c := tokencheck(t, nil, "check", "--now", fixedNow, "--format", "json", factsOut)
	if c.code != exitOK {
		t.Errorf("check of the saved facts: exit %d\n%s", c.code, c.stdout)
	}

	// X-Accepted-OAuth-Scopes of a classic token's refusal.
	r = tokencheck(t, nil, "scan", "--now", fixedNow, "--headers", "fixtures/github/sso-required.http", "--type", "classic", "--facts-out", factsOut)
	if doc := readFacts(t, factsOut); strings.Join(doc.Tokens[0].AcceptedScopes, ",") != "repo" {
		t.Errorf("accepted_scopes = %q", doc.Tokens[0].AcceptedScopes)
	}
}

// A scope GitHub reports that the catalogue does not know is a low catalogue-outdated notice, not
// an unknown-scope finding; the same scope declared in an inventory is still an error there. The
// live token's facts, saved and checked again, keep their source and so their verdict.
func TestCatalogueOutdatedForNamesGitHubReports(t *testing.T) {
	const future = "read:hypothetical_future_scope"
	fake := ghapitest.New(t)
	fake.Answer(tokPackages, "/user", ghapitest.Fixture(t, "user-classic-packages.http").With("X-OAuth-Scopes", "read:packages, "+future))
	factsOut := filepath.Join(t.TempDir(), "facts.json")
	scan := tokencheck(t, map[string]string{"GH_TOKEN": tokPackages}, "scan", "--now", fixedNow, "--api-url", fake.APIURL(), "--format", "json", "--facts-out", factsOut)
	check := tokencheck(t, nil, "check", "--now", fixedNow, "--format", "json", factsOut)
	for name, r := range map[string]result{"scan": scan, "check of its facts": check} {
		rep := readReport(t, r.stdout)
		var notice bool
		for _, f := range rep.Findings {
			if f.Rule == "unknown-scope" {
				t.Errorf("%s: unknown-scope on a scope GitHub reported: %s", name, f.Message)
			}
			if f.Rule == "catalogue-outdated" {
				notice = f.Severity == "low" && f.Level == "warn" && strings.Contains(f.Message, "GitHub reports scope "+future)
			}
		}
		if !notice {
			t.Errorf("%s: no low catalogue-outdated notice naming %s: %v", name, future, rep.rules())
		}
	}

	inv := filepath.Join(t.TempDir(), "tokens.yaml")
	os.WriteFile(inv, []byte("tokens:\n  - id: declared\n    type: classic\n    expires_at: 2026-12-31\n    scopes: [read:packages, "+future+"]\n    classic_reason: packages\n"), 0o644)
	r := tokencheck(t, nil, "check", "--now", fixedNow, "--format", "json", inv)
	rules := strings.Join(readReport(t, r.stdout).rules(), " ")
	if !strings.Contains(rules, "unknown-scope") || strings.Contains(rules, "catalogue-outdated") {
		t.Errorf("declared unknown scope: rules %s, want unknown-scope and no catalogue-outdated", rules)
	}
}
