package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/ghapi"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
	"github.com/tokencheck/tokencheck/engine/policy"
	"github.com/tokencheck/tokencheck/engine/source/audit"
)

var auditToken = mint("ghs_", "AuditInstallation000000000001")

func acmeFake(t *testing.T, enterprise bool) (*ghapitest.Server, *ghapitest.Org) {
	fake := ghapitest.New(t)
	org := &ghapitest.Org{
		Login: "acme", ID: 652551,
		Grants:   ghapitest.FixtureList(t, "org-grants.json"),
		Requests: ghapitest.FixtureList(t, "org-requests.json"),
		Repositories: map[int64][]json.RawMessage{
			25382: ghapitest.FixtureList(t, "org-grant-repositories.json"),
			25383: ghapitest.FixtureList(t, "org-grant-repositories.json")[:1],
		},
		Allowed: []string{facts.Fingerprint(auditToken)},
	}
	if enterprise {
		org.Credentials = ghapitest.FixtureList(t, "org-credential-authorizations.json")
	}
	fake.ServeOrg(org)
	return fake, org
}

func TestAuditGoldenOutputs(t *testing.T) {
	fake, _ := acmeFake(t, true)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			r := tokencheck(t, map[string]string{"GH_TOKEN": auditToken}, "audit", "--org", "acme", "--api-url", fake.APIURL(),
				"--now", fixedNow, "--repositories", "--preview-max-lifetime", "90", "--format", format)
			if r.code != exitViolations {
				t.Errorf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
			}
			golden(t, "audit."+format, r.stdout)
			if strings.Contains(r.stdout+r.stderr, auditToken) {
				t.Errorf("the token value is in the output")
			}
		})
	}
}

func TestAuditIncompleteIsNeverCompliant(t *testing.T) {
	fake, _ := acmeFake(t, false) // not Enterprise Cloud: credential-authorizations answers 404
	env := map[string]string{"GH_TOKEN": auditToken}
	r := tokencheck(t, env, "audit", "--org", "acme", "--api-url", fake.APIURL(), "--now", fixedNow, "--fail-on", "critical")
	if r.code != exitIncomplete || !strings.Contains(r.stdout, "org:acme credential-authorizations: "+strings.TrimPrefix(fake.URL, "http://")+" answered 404") ||
		!strings.Contains(r.stdout, "--no-credential-authorizations") {
		t.Errorf("exit %d\n%s", r.code, r.stdout)
	}
	r = tokencheck(t, env, "audit", "--org", "acme", "--api-url", fake.APIURL(), "--now", fixedNow, "--fail-on", "critical", "--no-credential-authorizations")
	if r.code != exitOK {
		t.Errorf("with --no-credential-authorizations: exit %d\n%s", r.code, r.stdout)
	}
	// A token that is not an App's: every part incomplete with the reason, never "0 tokens, PASS".
	pat := mint("ghp_", "NotAnApp")
	r = tokencheck(t, map[string]string{"GH_TOKEN": pat}, "audit", "--org", "acme", "--api-url", fake.APIURL(), "--now", fixedNow)
	if r.code != exitIncomplete || !strings.Contains(r.stdout, "answers GitHub Apps only") || strings.Contains(r.stdout, "PASS") {
		t.Errorf("PAT: exit %d\n%s", r.code, r.stdout)
	}
}

func TestAuditFactsRoundTripThroughCheck(t *testing.T) {
	fake, _ := acmeFake(t, true)
	file := filepath.Join(t.TempDir(), "facts.json")
	a := tokencheck(t, map[string]string{"GH_TOKEN": auditToken}, "audit", "--org", "acme", "--api-url", fake.APIURL(), "--now", fixedNow, "--format", "json", "--facts-out", file)
	c := tokencheck(t, nil, "check", "--now", fixedNow, "--format", "json", file)
	var ra, rc struct {
		Findings []struct{ Rule, Token, Message string }
	}
	json.Unmarshal([]byte(a.stdout), &ra)
	json.Unmarshal([]byte(c.stdout), &rc)
	if len(ra.Findings) == 0 || len(ra.Findings) != len(rc.Findings) || a.code != c.code {
		t.Fatalf("audit %d findings (exit %d), check of its facts %d (exit %d)\n%s", len(ra.Findings), a.code, len(rc.Findings), c.code, c.stdout)
	}
	for i := range ra.Findings {
		if ra.Findings[i] != rc.Findings[i] {
			t.Errorf("finding %d: audit %+v, check %+v", i, ra.Findings[i], rc.Findings[i])
		}
	}
	saved, _ := os.ReadFile(file)
	if strings.Contains(string(saved), auditToken) {
		t.Errorf("the token value is in the facts file")
	}
}

func TestAuditAsGitHubApp(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	fake, org := acmeFake(t, true)
	org.Allowed = nil
	fake.ServeApp(&ghapitest.App{ID: 777, Key: &key.PublicKey, Org: "acme", InstallationID: 55}, org)
	r := tokencheck(t, map[string]string{"GH_TOKEN": auditToken}, "audit", "--org", "acme", "--api-url", fake.APIURL(), "--now", fixedNow,
		"--app-id", "777", "--app-key", keyFile, "--no-credential-authorizations", "--format", "json")
	var rep struct {
		Tokens []struct{ ID string }
		Audit  struct {
			TokensBySource map[string]int `json:"tokens_by_source"`
		}
	}
	json.Unmarshal([]byte(r.stdout), &rep)
	if r.code != exitViolations || len(rep.Tokens) != 4 || rep.Audit.TokensBySource["grants"] != 3 {
		t.Errorf("exit %d, %d tokens, %v\n%s", r.code, len(rep.Tokens), rep.Audit.TokensBySource, r.stdout)
	}
	for _, req := range fake.Requests() {
		if req.Credential == facts.Fingerprint(auditToken) {
			t.Errorf("GH_TOKEN was sent although --app-id was given")
		}
		if req.Method != "GET" && req.Path != "/app/installations/55/access_tokens" {
			t.Errorf("%s %s", req.Method, req.Path)
		}
	}
	for _, bad := range [][]string{{"--app-id", "777"}, {"--app-id", "777", "--app-key", "fixtures/inventory/tokens.yaml"}} {
		r := tokencheck(t, nil, append([]string{"audit", "--org", "acme", "--api-url", fake.APIURL()}, bad...)...)
		if r.code != exitError || strings.Contains(r.stdout, "PRIVATE KEY") {
			t.Errorf("%v: exit %d\n%s", bad, r.code, r.stdout)
		}
	}
}

func TestAuditInputErrors(t *testing.T) {
	fake, _ := acmeFake(t, true)
	env := map[string]string{"GH_TOKEN": auditToken}
	orgs := filepath.Join(t.TempDir(), "orgs.txt")
	os.WriteFile(orgs, []byte("# orgs\nacme\nnot an org\n"), 0o644)
	r := tokencheck(t, env, "audit", "--orgs-file", orgs, "--api-url", fake.APIURL(), "--now", fixedNow, "--no-credential-authorizations")
	if r.code != exitError || !strings.Contains(r.stdout, orgs+`:3: "not an org" is not a GitHub organisation name`) || !strings.Contains(r.stdout, "org:acme/pat:98716") {
		t.Errorf("bad orgs file: exit %d\n%s", r.code, r.stdout)
	}
	r = tokencheck(t, env, "audit", "--api-url", fake.APIURL())
	if r.code != exitError || !strings.Contains(r.stdout, "no organisation to audit") {
		t.Errorf("no org: exit %d\n%s", r.code, r.stdout)
	}
	r = tokencheck(t, nil, "audit", "--org", "acme", "--api-url", fake.APIURL())
	if r.code != exitError || !strings.Contains(r.stdout, "no credentials") {
		t.Errorf("no credentials: exit %d\n%s", r.code, r.stdout)
	}
}

// BenchmarkAudit10000Grants audits 10,000 grants from a fake that answers each page after 20 ms,
// as a remote API would; "collect" is the collection alone, the baseline the whole audit (which
// judges pages while the next ones are fetched) should stay close to.
func BenchmarkAudit10000Grants(b *testing.B) {
	fake := ghapitest.New(b)
	fake.Latency = 20 * time.Millisecond
	items := make([]json.RawMessage, 10000)
	tmpl := ghapitest.FixtureList(b, "org-grants.json")[0]
	for i := range items {
		var g map[string]any
		json.Unmarshal(tmpl, &g)
		g["id"], g["token_id"] = 100000+i, 500000+i
		items[i], _ = json.Marshal(g)
	}
	fake.ServeOrg(&ghapitest.Org{Login: "bigco", ID: 77, Grants: items, Requests: []json.RawMessage{}, Allowed: []string{facts.Fingerprint(auditToken)}})
	b.Run("collect", func(b *testing.B) {
		api, err := ghapi.New(ghapi.Options{APIURL: fake.APIURL()})
		if err != nil {
			b.Fatal(err)
		}
		cat, _ := policy.LoadCatalog()
		for b.Loop() {
			res := audit.Collect(context.Background(), api, audit.Credentials{Token: facts.NewSecret(auditToken)}, cat, audit.Options{Orgs: []string{"bigco"}})
			if len(res.Tokens) != 10000 {
				b.Fatalf("%d tokens", len(res.Tokens))
			}
		}
	})
	b.Run("audit", func(b *testing.B) {
		env := map[string]string{"GH_TOKEN": auditToken}
		before := len(fake.Requests())
		for b.Loop() {
			r := tokencheck(b, env, "audit", "--org", "bigco", "--api-url", fake.APIURL(), "--now", fixedNow, "--no-credential-authorizations", "--format", "json", "--output", os.DevNull)
			if r.code != exitOK && r.code != exitViolations {
				b.Fatalf("exit %d: %s", r.code, r.stderr)
			}
		}
		b.ReportMetric(float64(len(fake.Requests())-before)/float64(b.N), "requests/op")
	})
}

// An API host that cannot be reached is a setting to fix (exit 2), in audit as in scan; never a
// pass, and not mistaken for a partial answer.
func TestAuditUnreachableHostIsExitTwo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused
	r := tokencheck(t, map[string]string{"GH_TOKEN": auditToken}, "audit", "--org", "acme", "--api-url", "http://"+addr+"/", "--retries", "1", "--now", fixedNow)
	if r.code != exitError || strings.Contains(r.stdout, "PASS") || !strings.Contains(r.stdout, "org:acme") {
		t.Errorf("exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// --all-installations audits every organisation the App is installed on, less --exclude-org, and
// says which installations are on user accounts instead of auditing them.
func TestAuditAllInstallations(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	fake := ghapitest.New(t)
	var first *ghapitest.App
	for i, login := range []string{"acme", "globex", "initech"} {
		org := &ghapitest.Org{Login: login, ID: int64(100 + i), Grants: ghapitest.FixtureList(t, "org-grants.json"), Requests: []json.RawMessage{}}
		fake.ServeOrg(org)
		app := &ghapitest.App{ID: 777, Key: &key.PublicKey, Org: login, InstallationID: int64(55 + i)}
		fake.ServeApp(app, org)
		if first == nil {
			first = app
		}
	}
	fake.ServeInstallations(first, []string{"acme", "user:octocat", "globex", "initech"})
	r := tokencheck(t, nil, "audit", "--all-installations", "--exclude-org", "initech", "--api-url", fake.APIURL(), "--now", fixedNow,
		"--app-id", "777", "--app-key", keyFile, "--no-credential-authorizations", "--format", "json")
	var rep struct {
		Tokens []struct{ ID string }
		Audit  struct{ Orgs []string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s%s", err, r.stdout, r.stderr)
	}
	if r.code != exitViolations || strings.Join(rep.Audit.Orgs, ",") != "acme,globex" || len(rep.Tokens) != 6 {
		t.Errorf("exit %d, orgs %v, %d tokens\n%s", r.code, rep.Audit.Orgs, len(rep.Tokens), r.stderr)
	}
	if !strings.Contains(r.stderr, "1 installation(s) on user accounts") {
		t.Errorf("stderr does not say the user installation was left out:\n%s", r.stderr)
	}
	for _, req := range fake.Requests() {
		if strings.Contains(req.Path, "initech/personal-access") {
			t.Errorf("the excluded organisation was read: %s", req.Path)
		}
	}
	r = tokencheck(t, map[string]string{"GH_TOKEN": auditToken}, "audit", "--all-installations", "--api-url", fake.APIURL())
	if r.code != exitError || !strings.Contains(r.stdout, "pass --app-id and --app-key") {
		t.Errorf("--all-installations without an App: exit %d\n%s", r.code, r.stdout)
	}
}
