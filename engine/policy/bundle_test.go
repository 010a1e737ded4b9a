package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/open-policy-agent/opa/v1/rego"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
	opaversion "github.com/open-policy-agent/opa/v1/version"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/source"
)

// bundleCase is one comparison of the engine with a stock OPA running the bundle.
type bundleCase struct {
	name   string
	tokens []facts.Token
	opts   Options
}

// row is what both sides must agree on for each finding.
type row struct {
	Rule, Token, TokenName, Severity, Level, Subject, Message, FixURL, Remediation string
	Waived                                                                         bool
	WaiverReason, File                                                             string
	Line                                                                           int
}

func (r row) String() string {
	type plain row // no String method: no recursion
	return fmt.Sprintf("%+v", plain(r))
}

func engineRows(fs []finding.Finding) []row {
	out := make([]row, 0, len(fs))
	for _, f := range fs {
		r := row{Rule: f.Rule, Token: f.Token, TokenName: f.TokenName, Severity: string(f.Severity), Level: string(f.Level), Subject: f.Subject,
			Message: f.Message, FixURL: f.FixURL, Remediation: f.Remediation, Waived: f.Waived, WaiverReason: f.WaiverReason}
		if f.Location != nil {
			r.File, r.Line = f.Location.File, f.Location.Line
		}
		out = append(out, r)
	}
	return sortRows(out)
}

// opaRows reads data.tokencheck.findings as OPA returns it.
func opaRows(t *testing.T, raw json.RawMessage) []row {
	t.Helper()
	var fs []struct {
		Rule, Token, Severity, Level, Subject, Message string
		TokenName                                      string `json:"token_name"`
		FixURL                                         string `json:"fix_url"`
		Remediation                                    string
		Waived                                         *bool
		WaiverReason                                   string `json:"waiver_reason"`
		Location                                       *struct {
			File string
			Line int
		}
	}
	if err := json.Unmarshal(raw, &fs); err != nil {
		t.Fatalf("decode OPA findings: %v\n%s", err, raw)
	}
	out := make([]row, 0, len(fs))
	for _, f := range fs {
		if f.Waived == nil {
			t.Fatalf("OPA finding without waived: %+v", f)
		}
		r := row{Rule: f.Rule, Token: f.Token, TokenName: f.TokenName, Severity: f.Severity, Level: f.Level, Subject: f.Subject,
			Message: f.Message, FixURL: f.FixURL, Remediation: f.Remediation, Waived: *f.Waived, WaiverReason: f.WaiverReason}
		if f.Location != nil {
			r.File, r.Line = f.Location.File, f.Location.Line
		}
		out = append(out, r)
	}
	return sortRows(out)
}

func sortRows(rs []row) []row {
	sort.Slice(rs, func(i, j int) bool { return rs[i].String() < rs[j].String() })
	return rs
}

func compareRows(t *testing.T, who string, want, got []row) {
	t.Helper()
	if reflect.DeepEqual(want, got) {
		return
	}
	in := func(rs []row) map[string]bool {
		m := map[string]bool{}
		for _, r := range rs {
			m[r.String()] = true
		}
		return m
	}
	w, g := in(want), in(got)
	for _, r := range want {
		if !g[r.String()] {
			t.Errorf("%s lacks the engine's finding\n  %s", who, r)
		}
	}
	for _, r := range got {
		if !w[r.String()] {
			t.Errorf("%s has a finding the engine does not\n  %s", who, r)
		}
	}
	if len(want) != len(got) {
		t.Errorf("engine: %d findings, %s: %d", len(want), who, len(got))
	}
}

// edgeTokens exercise what the bundle derives in Rego: replacement links (names cut to GitHub's
// limit in characters, tokens known by their last four, needs, needed scopes), effective scopes,
// glob waivers and a user rule.
func edgeTokens() []facts.Token {
	src := func(i int) facts.Source { return facts.Source{Kind: facts.SourceInventory, File: "edge.yaml", Line: i} }
	return []facts.Token{
		{ID: "live:sha256:abc", Type: facts.TypeClassic, LastFour: "T4V4", Fingerprint: "sha256:0123456789ab", Scopes: []string{"repo", "admin:org"}, Owner: "deploy-bot", Source: facts.Source{Kind: facts.SourceLive}},
		{ID: "gen-unicode", Name: "Jürgen's «Überwachung» token für die Ärzte-Kammer Süd", Type: facts.TypeClassic, ResourceOwner: "acme", Scopes: []string{"workflow", "notifications"}, Owner: "legacy-team", Source: src(1)},
		{ID: "gen-needs", Name: "needs & more", Type: facts.TypeClassic, Scopes: []string{"repo", "delete_repo"}, Needs: map[string]string{"contents": "read", "metadata": "write", "bogus": "read"}, Source: src(2)},
		{ID: "gen-needs-scopes", Type: facts.TypeClassic, Scopes: []string{"repo", "read:org", "user"}, NeedsScopes: []string{"read:org", "repos"}, Source: src(3)},
		{ID: "gen-effective", Type: facts.TypeClassic, Scopes: []string{"admin:org"}, ScopesEffective: []string{"admin:org"}, ClassicReason: "multiple_orgs", Source: src(4)},
		{ID: "gen-fine", Type: facts.TypeFineGrained, ResourceOwner: "acme", RepositorySelection: facts.SelectAll, Approval: facts.ApprovalPending,
			Permissions: &facts.Permissions{Repository: map[string]string{"contents": "write", "metadata": "write"}, Other: map[string]string{"content": "read"}},
			CreatedAt:   day("2026-01-01"), ExpiresAt: day("2026-11-30"), LastUsedAt: day("2026-01-02"), Source: src(5)},
		{ID: "gen-install", Type: facts.TypeAppInstallation, ExpiresAt: day("2026-11-23"), Source: src(6)},
		{ID: "gen-link", Type: facts.TypeFineGrained, ExpiresAt: day("2026-11-01"), Source: facts.Source{Kind: facts.SourceTemplateLink, File: "docs.md", Line: 3}},
		{ID: "org:acme/pat:1", Type: facts.TypeFineGrained, Approval: facts.ApprovalDenied, Unknown: []string{facts.FactExpiresAt}, Source: facts.Source{Kind: facts.SourceOrgAudit}},
	}
}

func bundleCases(t *testing.T) []bundleCase {
	t.Helper()
	cat, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	files := func(paths ...string) []facts.Token {
		res := source.Files(context.Background(), paths, cat, testNow)
		if len(res.Tokens) == 0 {
			t.Fatalf("no tokens in %v: %v", paths, res.Errors)
		}
		return res.Tokens
	}
	load := func(file string) Config {
		cfg, err := LoadConfig(file)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	def, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	inventory := files("../../fixtures/inventory")
	return []bundleCase{
		{name: "inventory", tokens: inventory, opts: Options{Catalog: cat, Config: def}},
		{name: "ci", tokens: inventory, opts: Options{Catalog: cat, Config: load("../../fixtures/ci/tokencheck.yaml")}},
		{name: "bad", tokens: files("../../fixtures/bad"), opts: Options{Catalog: cat, Config: def}},
		{name: "generated", tokens: append(mixedTokens(30), edgeTokens()...), opts: Options{
			Catalog: cat, Config: load("testdata/bundle-config.yaml"),
			PolicyDirs: []string{"testdata/bundle-user"}, DataFiles: []string{"testdata/bundle-user-data.yaml"}, Disable: []string{"expired"},
		}},
	}
}

// prepare writes the case's facts document and the bundle, and judges the document with the engine
// as tokencheck check does. It returns the engine's rows, the bundle file and the document's file.
func (c bundleCase) prepare(t *testing.T, dir string) ([]row, string, string) {
	t.Helper()
	ctx := context.Background()
	doc, err := json.Marshal(map[string]any{"schema": facts.Schema, "tokens": c.tokens, "now": testNow.Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(dir, c.name+".json")
	if err := os.WriteFile(input, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	read := source.Files(ctx, []string{input}, c.opts.Catalog, testNow)
	if len(read.Errors) > 0 || len(read.Tokens) != len(c.tokens) {
		t.Fatalf("facts document read back: %d of %d tokens, %v", len(read.Tokens), len(c.tokens), read.Errors)
	}
	e, err := New(ctx, c.opts)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := e.Evaluate(ctx, read.Tokens, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) == 0 {
		t.Fatal("the engine found nothing: the comparison would prove nothing")
	}
	var buf bytes.Buffer
	if err := WriteBundle(ctx, &buf, c.opts, "test-revision"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, c.name+".tar.gz")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return engineRows(fs), file, input
}

// covers fails the test unless the engine's findings exercise what the bundle must reproduce.
func covers(t *testing.T, rows []row) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range rows {
		seen["rule "+r.Rule] = true
		seen["waived"] = seen["waived"] || r.Waived
		seen["subject"] = seen["subject"] || r.Subject != ""
		seen["fix_url"] = seen["fix_url"] || r.FixURL != ""
		seen["warn"] = seen["warn"] || r.Level == "warn"
	}
	for _, k := range []string{"rule waiver-expired", "rule bot-classic", "rule classic-token", "rule dangerous-scope", "rule excess-permission", "waived", "subject", "fix_url", "warn"} {
		if !seen[k] {
			t.Errorf("the generated case no longer covers %s", k)
		}
	}
	for _, k := range []string{"rule expired", "rule stale-token"} {
		if seen[k] {
			t.Errorf("disabled %s fired", k)
		}
	}
}

// TestBundleOnStockOPA runs the bundle with a real OPA binary of the version in go.mod, with opa
// eval and with opa run --server, and compares its findings with the engine's on every fixture.
func TestBundleOnStockOPA(t *testing.T) {
	opa := opaBinary(t)
	dir := t.TempDir()
	for _, c := range bundleCases(t) {
		t.Run(c.name, func(t *testing.T) {
			want, file, input := c.prepare(t, dir)
			if c.name == "generated" {
				covers(t, want)
			}
			cmd := exec.Command(opa, "eval", "--bundle", file, "--input", input, "--format", "json", BundleQuery)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("opa eval: %v\n%s%s", err, stderr.Bytes(), out)
			}
			var res struct {
				Result []struct {
					Expressions []struct {
						Value json.RawMessage `json:"value"`
					} `json:"expressions"`
				} `json:"result"`
			}
			if err := json.Unmarshal(out, &res); err != nil || len(res.Result) != 1 || len(res.Result[0].Expressions) != 1 {
				t.Fatalf("opa eval: unexpected output (%v):\n%s", err, out)
			}
			compareRows(t, "opa eval", want, opaRows(t, res.Result[0].Expressions[0].Value))
		})
	}
	t.Run("server", func(t *testing.T) {
		c := bundleCases(t)[1] // the CI fixtures: waived, expired waiver, unused waiver
		want, file, input := c.prepare(t, dir)
		doc, err := os.ReadFile(input)
		if err != nil {
			t.Fatal(err)
		}
		base := startOPAServer(t, opa, file)
		body := append(append([]byte(`{"input":`), doc...), '}')
		resp, err := http.Post(base+"/v1/data/tokencheck/findings", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /v1/data/tokencheck/findings: %s\n%s", resp.Status, raw)
		}
		var res struct {
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(raw, &res); err != nil || res.Result == nil {
			t.Fatalf("no result (%v):\n%s", err, raw)
		}
		compareRows(t, "opa run --server", want, opaRows(t, res.Result))
	})
}

// startOPAServer runs opa run --server on a free loopback port until the test ends.
func startOPAServer(t *testing.T, opa, bundleFile string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(opa, "run", "--server", "--addr", addr, "--bundle", bundleFile, "--disable-telemetry", "--log-level", "error")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/health?bundles")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("opa run --server did not become healthy on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var opaBuild struct {
	once sync.Once
	path string
	err  error
}

// opaBinary builds the OPA command of the version this module requires, once per test binary, and
// keeps it in the temporary directory across runs (keyed by version).
func opaBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the opa command: not in -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build opa with")
	}
	opaBuild.once.Do(func() {
		dir := filepath.Join(os.TempDir(), "tokencheck-opa-"+opaversion.Version)
		bin := filepath.Join(dir, "opa")
		if runtime.GOOS == "windows" {
			bin += ".exe"
		}
		if out, err := exec.Command(bin, "version").Output(); err == nil && strings.Contains(string(out), "Version: "+opaversion.Version+"\n") {
			opaBuild.path = bin
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			opaBuild.err = err
			return
		}
		tmp := fmt.Sprintf("%s.%d", bin, os.Getpid())
		cmd := exec.Command(goBin, "build", "-o", tmp, "github.com/open-policy-agent/opa")
		if out, err := cmd.CombinedOutput(); err != nil {
			opaBuild.err = fmt.Errorf("go build opa: %v\n%s", err, out)
			return
		}
		opaBuild.err = os.Rename(tmp, bin)
		opaBuild.path = bin
	})
	if opaBuild.err != nil {
		t.Fatal(opaBuild.err)
	}
	return opaBuild.path
}

func TestBundleLayout(t *testing.T) {
	c := bundleCases(t)[3]
	var buf bytes.Buffer
	if err := WriteBundle(context.Background(), &buf, c.opts, "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.NewReader(&buf).Read()
	if err != nil {
		t.Fatalf("OPA cannot read the bundle back: %v", err)
	}
	if b.Manifest.Revision != "v1.2.3" {
		t.Errorf("revision %q", b.Manifest.Revision)
	}
	if got := *b.Manifest.Roots; !reflect.DeepEqual(got, []string{"acme", "tokencheck"}) {
		t.Errorf("roots %v, want the user package and data root beside tokencheck", got)
	}
	var paths []string
	for _, m := range b.Modules {
		paths = append(paths, m.Path)
		if strings.HasSuffix(m.Path, "_test.rego") {
			t.Errorf("test module %s in the bundle", m.Path)
		}
	}
	for _, want := range []string{"/policies/bundle/findings.rego", "/policies/lib/lib.rego", "/policies/classic-token/classic_token.rego", "/user/1/bot_classic.rego", "/user/1/lib/helpers.rego"} {
		if !contains(paths, want) {
			t.Errorf("bundle lacks %s (has %v)", want, paths)
		}
	}
	tc := b.Data["tokencheck"].(map[string]any)
	for _, k := range []string{"catalog", "defaults", "config", "judging"} {
		if tc[k] == nil {
			t.Errorf("data.tokencheck.%s missing", k)
		}
	}
	if _, ok := tc["catalog"].(map[string]any)["scope_closure"]; ok {
		t.Error("the bundle's catalogue must be catalog.json's: the scope closure is derived in Rego")
	}
	if got := tc["config"].(map[string]any)["max_lifetime_days"]; got != json.Number("200") && got != float64(200) {
		t.Errorf("config.max_lifetime_days = %v, want the --config value 200", got)
	}
	judging := tc["judging"].(map[string]any)
	if d := judging["disabled"]; !reflect.DeepEqual(d, []any{"expired", "stale-token"}) {
		t.Errorf("disabled = %v", d)
	}
	if b.Data["acme"] == nil {
		t.Error("--data not merged at the root")
	}
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

func TestWriteBundleRefusesUnknownDisabledRule(t *testing.T) {
	cat, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	err = WriteBundle(context.Background(), io.Discard, Options{Catalog: cat, Disable: []string{"no-such-rule"}}, "dev")
	if err == nil || !strings.Contains(err.Error(), "no-such-rule") {
		t.Fatalf("err = %v, want one naming the unknown rule", err)
	}
}

// TestBundleWaiverGlobsMatchAsTheEngines: the bundle matches a waiver's token pattern with OPA's
// glob.match (no separators), which must decide as Waiver.Matches does.
func TestBundleWaiverGlobsMatchAsTheEngines(t *testing.T) {
	patterns := []string{"org:acme/pat:*", "gen-*", "gen-[0-4]*", "a?c", "[!a]bc", `\*x`, "*", "**", "a/*", "é*", "a.b", "{gen,org}*"}
	names := []string{"org:acme/pat:1", "org:acme/pat:1/x", "gen-3", "gen-5", "gen-", "abc", "a/c", "bbc", "/bc", "*x", "ax", "", "a/b", "éé", "a.b", "axb"}
	for _, p := range patterns {
		for _, n := range names {
			want := Waiver{Rule: "r", Token: p}.Matches("r", n)
			q := fmt.Sprintf("x := glob.match(%q, null, %q)", p, n)
			r, err := rego.New(rego.Query(q)).Eval(context.Background())
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			got, _ := r[0].Bindings["x"].(bool)
			if got != want && p != n {
				t.Errorf("pattern %q on %q: OPA's glob.match says %v, the engine %v", p, n, got, want)
			}
		}
	}
}
