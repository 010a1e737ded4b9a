package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tokencheck/tokencheck/engine/decide"
	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
	"github.com/tokencheck/tokencheck/engine/source/audit"
)

var reviewToken = mint("ghs_", "ReviewInstallation00000000001")

// reviewRequest is a pending request as GET /orgs/ORG/personal-access-token-requests lists it.
func reviewRequest(id, tokenID int64, name, owner, selection, permissions, expires string) json.RawMessage {
	if expires != "null" {
		expires = `"` + expires + `"`
	}
	return json.RawMessage(fmt.Sprintf(`{"id":%d,"reason":"for the release","owner":{"login":%q,"id":%d,"type":"User","site_admin":false},`+
		`"repository_selection":%q,"repositories_url":"https://api.github.com/organizations/652551/personal-access-token-requests/%d/repositories",`+
		`"permissions":%s,"created_at":"2026-11-20T08:00:00Z","token_id":%d,"token_name":%q,"token_expired":false,"token_expires_at":%s,"token_last_used_at":null}`,
		id, owner, id, selection, id, permissions, tokenID, name, expires))
}

// reviewFake serves acme with four pending requests and the fixture's three grants:
//
//	3001 (the fixture): all repositories, a medium finding only → left for people
//	4001: administration:write, no expiry → denied (dangerous-permission, no-expiration)
//	4002: contents:read on a subset, expiring in two months → no finding (approved only with approve: compliant)
//	4003: permissions missing from GitHub's answer → incomplete, left for people
func reviewFake(t *testing.T) (*ghapitest.Server, *ghapitest.Org, *ghapitest.Reviews) {
	fake := ghapitest.New(t)
	requests := append(ghapitest.FixtureList(t, "org-requests.json"),
		reviewRequest(4001, 99101, "release automation", "octocat", "all", `{"organization":{},"repository":{"administration":"write","contents":"write","metadata":"read"}}`, "null"),
		reviewRequest(4002, 99102, "read docs", "hubot", "subset", `{"organization":{},"repository":{"contents":"read","metadata":"read"}}`, "2027-01-20T00:00:00Z"),
		reviewRequest(4003, 99103, "mystery", "mona", "all", `null`, "2027-01-20T00:00:00Z"),
	)
	org := &ghapitest.Org{
		Login: "acme", ID: 652551,
		Grants:   ghapitest.FixtureList(t, "org-grants.json"),
		Requests: requests,
		Repositories: map[int64][]json.RawMessage{
			25382: ghapitest.FixtureList(t, "org-grant-repositories.json"),
			25383: ghapitest.FixtureList(t, "org-grant-repositories.json")[:1],
		},
		RequestRepositories: map[int64][]json.RawMessage{4002: ghapitest.FixtureList(t, "org-grant-repositories.json")[:1]},
		Allowed:             []string{facts.Fingerprint(reviewToken)},
	}
	fake.ServeOrg(org)
	reviews := fake.ServeReviews("acme", []int64{3001, 4001, 4002, 4003}, []int64{25381, 25382, 25383})
	return fake, org, reviews
}

func reviewConfig(t *testing.T, review string) string {
	file := filepath.Join(t.TempDir(), "tokencheck.yaml")
	if err := os.WriteFile(file, []byte("review:\n"+review), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

type planJSON struct {
	Schema    string
	Decisions []decide.Decision
	Problems  []struct{ Kind, Source, Message string }
	Counts    map[string]int
}

func decisionsByID(p planJSON) map[int64]decide.Decision {
	out := map[int64]decide.Decision{}
	for _, d := range p.Decisions {
		out[d.ID] = d
	}
	return out
}

// noSecrets fails when a credential appears in any output.
func noSecrets(t *testing.T, outputs string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(outputs, s) {
			t.Errorf("a secret (…%s) is in the output", s[len(s)-4:])
		}
	}
}

func TestReviewDryRunWritesNothing(t *testing.T) {
	fake, _, reviews := reviewFake(t)
	logFile := filepath.Join(t.TempDir(), "decisions.jsonl")
	env := map[string]string{"GH_TOKEN": reviewToken}
	r := tokencheck(t, env, "review", "--org", "acme", "--api-url", fake.APIURL(), "--now", fixedNow, "--log", logFile)
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`DENY    acme/request 4001 "release automation" by octocat: violating: 2 finding(s) at or above high`,
		"deny high [dangerous-permission]: dangerous permission administration:write",
		"reason: Denied by tokencheck (token policy): [dangerous-permission]",
		`LEAVE   acme/request 3001 "docs sprint triage" by jane-contractor: not compliant: 1 finding(s) below high or waived`,
		`LEAVE   acme/request 4002 "read docs" by hubot: compliant, but approve is never`,
		`LEAVE   acme/request 4003 "mystery" by mona: left for people: collection incomplete: not known: permissions`,
		"0 to approve, 1 to deny, 3 left for people, 0 to revoke, 0 kept",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "approval-pending") {
		t.Errorf("approval-pending counts in the plan\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "dry run: 1 decision(s) not sent to GitHub; pass --apply") {
		t.Errorf("stderr = %q", r.stderr)
	}
	if w := reviews.Writes(); len(w) != 0 {
		t.Errorf("a dry run sent %d write(s): %+v", len(w), w)
	}
	for _, req := range fake.Requests() {
		if req.Method != "GET" {
			t.Errorf("a dry run sent %s %s", req.Method, req.Path)
		}
		if strings.Contains(req.Path, "personal-access-tokens") {
			t.Errorf("revocation is off, yet the grants were read: %s", req.Path)
		}
	}
	lines := readLog(t, logFile)
	if len(lines) != 4 {
		t.Fatalf("%d log lines, want 4 (every decision)", len(lines))
	}
	for _, l := range lines {
		if !l.DryRun || l.GitHub.Outcome != decide.OutcomeNotSent || l.Org != "acme" || l.Kind != decide.KindRequest {
			t.Errorf("log line %+v", l)
		}
	}
	raw, _ := os.ReadFile(logFile)
	noSecrets(t, r.stdout+r.stderr+string(raw), reviewToken)
}

func TestReviewApplyPostsExactlyThePlan(t *testing.T) {
	fake, _, reviews := reviewFake(t)
	cfg := reviewConfig(t, "  approve: compliant\n")
	logFile := filepath.Join(t.TempDir(), "decisions.jsonl")
	env := map[string]string{"GH_TOKEN": reviewToken}
	args := []string{"review", "--org", "acme", "--api-url", fake.APIURL(), "--now", fixedNow, "--config", cfg, "--format", "json"}
	dry := tokencheck(t, env, args...)
	var plan planJSON
	if err := json.Unmarshal([]byte(dry.stdout), &plan); err != nil || dry.code != exitOK || plan.Schema != decide.PlanSchema {
		t.Fatalf("dry run: exit %d, %v\n%s%s", dry.code, err, dry.stdout, dry.stderr)
	}
	r := tokencheck(t, env, append(args, "--apply", "--log", logFile)...)
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r.stdout != dry.stdout {
		t.Errorf("--apply printed another plan than the dry run\n%s\n---\n%s", r.stdout, dry.stdout)
	}
	want := map[int64]decide.Decision{}
	for _, d := range plan.Decisions {
		if d.Action.Writes() {
			want[d.ID] = d
		}
	}
	if len(want) != 2 || want[4001].Action != decide.ActionDeny || want[4002].Action != decide.ActionApprove {
		t.Fatalf("plan writes %+v", want)
	}
	writes := reviews.Writes()
	if len(writes) != len(want) {
		t.Fatalf("%d POSTs, want %d: %+v", len(writes), len(want), writes)
	}
	for _, w := range writes {
		d, ok := want[w.ID]
		if !ok || w.Kind != "request" || w.Action != string(d.Action) || w.Reason != d.Reason || w.Status != 204 ||
			w.Credential != facts.Fingerprint(reviewToken) || w.Path != fmt.Sprintf("/orgs/acme/personal-access-token-requests/%d", w.ID) {
			t.Errorf("POST %+v, plan %+v", w, d)
		}
		if len(w.Reason) > decide.MaxReason {
			t.Errorf("reason of %d characters", len(w.Reason))
		}
	}
	if !strings.Contains(want[4001].Reason, "https://github.com/settings/personal-access-tokens/new?") ||
		!strings.Contains(want[4001].Reason, "administration=read") || !strings.Contains(want[4001].Reason, "expires_in=90") {
		t.Errorf("deny reason lacks the compliant template link: %s", want[4001].Reason)
	}
	if !strings.Contains(r.stderr, "2 applied, 0 already reviewed by someone else, 0 failed") {
		t.Errorf("stderr = %q", r.stderr)
	}
	lines := readLog(t, logFile)
	if len(lines) != 4 {
		t.Fatalf("%d log lines, want 4", len(lines))
	}
	for _, l := range lines {
		wantOutcome := decide.OutcomeNotSent
		if l.Decision.Writes() {
			wantOutcome = decide.OutcomeApplied
		}
		if l.DryRun || l.GitHub.Outcome != wantOutcome || l.RequestID == 0 || l.TokenID == 0 {
			t.Errorf("log line %+v", l)
		}
		if l.RequestID == 4001 && (l.Decision != decide.ActionDeny || l.TokenID != 99101 || l.TokenName != "release automation" || l.Owner != "octocat" ||
			l.GitHub.Status != 204 || len(l.Findings) != 3 || l.Reason != want[4001].Reason) {
			t.Errorf("denial logged as %+v", l)
		}
	}

	// A second sweep finds the requests already reviewed: 422, recorded, not retried, exit 0.
	r = tokencheck(t, env, append(args, "--apply", "--log", logFile)...)
	if r.code != exitOK || !strings.Contains(r.stderr, "0 applied, 2 already reviewed by someone else, 0 failed") {
		t.Errorf("second sweep: exit %d\n%s", r.code, r.stderr)
	}
	if n := len(reviews.Writes()); n != 4 {
		t.Errorf("%d POSTs after the second sweep, want 4 (one each, no retry of a 422)", n)
	}
	raw, _ := os.ReadFile(logFile)
	noSecrets(t, r.stdout+r.stderr+dry.stdout+dry.stderr+string(raw), reviewToken)
}

func TestReviewRevocationAndMaxRevocations(t *testing.T) {
	fake, _, reviews := reviewFake(t)
	env := map[string]string{"GH_TOKEN": reviewToken}
	base := []string{"review", "--org", "acme", "--api-url", fake.APIURL(), "--now", fixedNow, "--format", "json", "--apply"}

	// Two grants have a high finding; max_revocations 1 holds every revocation back: exit 2, none sent.
	tight := reviewConfig(t, "  revoke: violating\n  revoke_on: high\n  max_revocations: 1\n")
	r := tokencheck(t, env, append(base, "--config", tight)...)
	var plan planJSON
	json.Unmarshal([]byte(r.stdout), &plan)
	if r.code != exitError || !strings.Contains(r.stderr, "review.max_revocations: too many revocations: 2 grants would be revoked, more than max_revocations (1); nothing is revoked") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	if plan.Counts["revoke"] != 0 || plan.Counts["keep"] != 3 || len(plan.Problems) != 1 {
		t.Errorf("plan counts %v, problems %+v", plan.Counts, plan.Problems)
	}
	for _, w := range reviews.Writes() {
		if w.Kind == "grant" {
			t.Errorf("revoked although max_revocations tripped: %+v", w)
		}
	}

	// Within the bound: the two grants are revoked by their pat_id (the grant's id, not token_id).
	fake2, _, reviews2 := reviewFake(t)
	base[4] = fake2.APIURL()
	loose := reviewConfig(t, "  revoke: violating\n  revoke_on: high\n  deny: never\n")
	r = tokencheck(t, env, append(base, "--config", loose)...)
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var got []string
	for _, w := range reviews2.Writes() {
		got = append(got, fmt.Sprintf("%s %s %d %s %q", w.Kind, w.Path, w.Status, w.Action, w.Reason))
	}
	want := []string{
		`grant /orgs/acme/personal-access-tokens/25382 204 revoke ""`,
		`grant /orgs/acme/personal-access-tokens/25383 204 revoke ""`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("writes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestReviewWriteFailureIsIncomplete(t *testing.T) {
	fake, _, reviews := reviewFake(t)
	reviews.Fail("request", 4001, 502, 5)
	logFile := filepath.Join(t.TempDir(), "decisions.jsonl")
	r := tokencheck(t, map[string]string{"GH_TOKEN": reviewToken}, "review", "--org", "acme", "--api-url", fake.APIURL(), "--now", fixedNow,
		"--apply", "--retries", "2", "--log", logFile)
	if r.code != exitIncomplete || !strings.Contains(r.stderr, "acme/request 4001: deny not written:") || !strings.Contains(r.stderr, "0 applied, 0 already reviewed by someone else, 1 failed") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	if n := len(reviews.Writes()); n != 2 {
		t.Errorf("%d attempts, want 2 (--retries 2)", n)
	}
	for _, l := range readLog(t, logFile) {
		if l.RequestID == 4001 && (l.GitHub.Outcome != decide.OutcomeFailed || l.GitHub.Status != 502 || l.GitHub.Attempts != 2) {
			t.Errorf("failed write logged as %+v", l)
		}
	}
}

func TestReviewInputErrorsWriteNothing(t *testing.T) {
	fake, _, reviews := reviewFake(t)
	env := map[string]string{"GH_TOKEN": reviewToken}
	bad := reviewConfig(t, "  approve: always\n  max_revocations: -1\n")
	for name, args := range map[string][]string{
		"config":  {"--config", bad},
		"format":  {"--format", "sarif"},
		"org":     {"--org", "not an org!"},
		"log dir": {"--log", t.TempDir()},
	} {
		r := tokencheck(t, env, append([]string{"review", "--org", "acme", "--api-url", fake.APIURL(), "--apply"}, args...)...)
		if r.code != exitError || r.stdout != "" {
			t.Errorf("%s: exit %d\n%s%s", name, r.code, r.stdout, r.stderr)
		}
		if name == "config" && (!strings.Contains(r.stderr, bad+":2: review:") || !strings.Contains(r.stderr, bad+":3: review:")) {
			t.Errorf("config errors do not name file and line: %s", r.stderr)
		}
	}
	if n := len(fake.Requests()); n != 0 || len(reviews.Writes()) != 0 {
		t.Errorf("%d requests sent on bad input", n)
	}
}

func TestReviewAsGitHubApp(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	fake, org, reviews := reviewFake(t)
	org.Allowed = nil
	app := &ghapitest.App{ID: 777, Key: &key.PublicKey, Org: "acme", InstallationID: 55}
	fake.ServeApp(app, org)
	r := tokencheck(t, nil, "review", "--org", "acme", "--api-url", fake.APIURL(), "--now", fixedNow, "--app-id", "777", "--app-key", keyFile, "--apply")
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	w := reviews.Applied()
	if len(w) != 1 || w[0].ID != 4001 || w[0].Action != "deny" || w[0].Credential == "" {
		t.Errorf("writes %+v", w)
	}
	for _, req := range fake.Requests() {
		if req.Method != "GET" && req.Path != "/app/installations/55/access_tokens" && req.Path != "/orgs/acme/personal-access-token-requests/4001" {
			t.Errorf("%s %s", req.Method, req.Path)
		}
	}
}

func readLog(t *testing.T, file string) []decide.LogEntry {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []decide.LogEntry
	for _, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		var e decide.LogEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

func TestReviewUnreadableRequestsAreIncomplete(t *testing.T) {
	fake, _, reviews := reviewFake(t)
	fake.Fault("/orgs/acme/personal-access-token-requests", 1, ghapitest.Fixture(t, "server-error.http"), 10)
	r := tokencheck(t, map[string]string{"GH_TOKEN": reviewToken}, "review", "--org", "acme", "--api-url", fake.APIURL(), "--now", fixedNow, "--apply", "--retries", "1")
	if r.code != exitIncomplete || !strings.Contains(r.stdout, "error: org:acme personal-access-token-requests: incomplete:") ||
		!strings.Contains(r.stdout, "0 to approve, 0 to deny, 0 left for people") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := len(reviews.Writes()); n != 0 {
		t.Errorf("%d writes after an unreadable list", n)
	}
}

// A list read only in part (a page refused after the first) leaves the requests read from it for
// people, and only that kind in that organisation.
func TestReviewPartialListLeavesItsSubjects(t *testing.T) {
	tok := func(id string) facts.Token { return facts.Token{ID: id, Type: facts.TypeFineGrained} }
	c := &audit.Result{
		Tokens:    []facts.Token{tok("org:acme/request:1"), tok("org:acme/pat:2"), tok("org:other/request:3")},
		GitHubIDs: map[string]audit.GitHubIDs{"org:acme/request:1": {Request: 1, Token: 11}, "org:acme/pat:2": {Grant: 20, Token: 2}, "org:other/request:3": {Request: 3}},
	}
	res := &finding.Result{
		Findings: []finding.Finding{{Rule: "no-expiration", Severity: finding.High, Level: finding.Deny, Token: "org:acme/request:1"}, {Rule: "no-expiration", Severity: finding.High, Level: finding.Deny, Token: "org:other/request:3"}},
		Problems: []finding.Problem{finding.IncompleteSource("org:acme personal-access-token-requests", "page 2: 502")},
	}
	plan := decide.MakePlan(reviewSubjects(c, res), decide.Options{Config: decide.DefaultConfig()})
	got := map[string]decide.Action{}
	for _, d := range plan.Decisions {
		got[d.Token] = d.Action
		if d.Token == "org:acme/request:1" && d.TokenID != 11 {
			t.Errorf("request token_id %d", d.TokenID)
		}
	}
	if got["org:acme/request:1"] != decide.ActionLeave || got["org:other/request:3"] != decide.ActionDeny || got["org:acme/pat:2"] != decide.ActionKeep || len(got) != 3 {
		t.Errorf("decisions %v", got)
	}
}

// TestReviewReadmeFlags: every flag the README's review section names exists on review or serve,
// and the section's configuration example is accepted.
func TestReviewReadmeFlags(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "## Review token requests automatically")
	end := strings.Index(text[start+1:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("README lacks the section")
	}
	section := text[start : start+1+end]
	review, serve := newReviewCmd(streams{}), newServeCmd(streams{})
	for _, m := range regexp.MustCompile("--[a-z][a-z-]+").FindAllString(section, -1) {
		name := strings.TrimPrefix(m, "--")
		if review.Flags().Lookup(name) == nil && serve.Flags().Lookup(name) == nil {
			t.Errorf("the README names %s, which neither review nor serve defines", m)
		}
	}
	yamlStart := strings.Index(section, "```yaml\nreview:\n")
	yamlEnd := strings.Index(section[yamlStart+8:], "```")
	cfg := filepath.Join(t.TempDir(), "tokencheck.yaml")
	os.WriteFile(cfg, []byte(section[yamlStart+8:yamlStart+8+yamlEnd]), 0o644)
	fake, _, _ := reviewFake(t)
	r := tokencheck(t, map[string]string{"GH_TOKEN": reviewToken}, "review", "--org", "acme", "--api-url", fake.APIURL(), "--now", fixedNow, "--config", cfg)
	if r.code != exitOK {
		t.Errorf("the README's review: example: exit %d\n%s", r.code, r.stderr)
	}
}
