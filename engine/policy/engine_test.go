package policy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
)

var testNow = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func newTestEngine(t testing.TB, cfg Config) *Evaluator {
	t.Helper()
	cat, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), Options{Catalog: cat, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func day(s string) *time.Time {
	t, _ := time.Parse("2006-01-02", s)
	return &t
}

// mixedTokens is a realistic mix: broad classic, packages classic, fine-grained org tokens.
func mixedTokens(n int) []facts.Token {
	out := make([]facts.Token, n)
	for i := range out {
		src := facts.Source{Kind: facts.SourceInventory, File: "inv.yaml", Line: i + 1}
		switch i % 3 {
		case 0:
			out[i] = facts.Token{ID: fmt.Sprintf("classic-%d", i), Type: facts.TypeClassic, Scopes: []string{"repo", "delete_repo", "admin:org"}, Source: src}
		case 1:
			out[i] = facts.Token{ID: fmt.Sprintf("packages-%d", i), Type: facts.TypeClassic, Scopes: []string{"write:packages"}, ExpiresAt: day("2027-01-01"), Source: src}
		default:
			out[i] = facts.Token{ID: fmt.Sprintf("fine-%d", i), Type: facts.TypeFineGrained, ResourceOwner: "acme", RepositorySelection: "all",
				Permissions: &facts.Permissions{Repository: map[string]string{"contents": "write", "metadata": "read"}, Organization: map[string]string{"members": "read"}},
				Needs:       map[string]string{"contents": "read"}, CreatedAt: day("2026-01-01"), ExpiresAt: day("2026-12-01"), LastUsedAt: day("2026-03-01"), Source: src}
		}
	}
	return out
}

func TestEvaluateIsDeterministicAcrossWorkers(t *testing.T) {
	e := newTestEngine(t, Config{})
	tokens := mixedTokens(60)
	first, err := e.Evaluate(context.Background(), tokens, testNow)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		again, err := e.Evaluate(context.Background(), tokens, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(first, again) {
			t.Fatal("two evaluations of the same tokens differ")
		}
	}
	if first[0].Token != "classic-0" || first[0].Severity != "critical" {
		t.Errorf("findings must follow token order, highest severity first; first = %+v", first[0])
	}
	rules := map[string]int{}
	for _, f := range first {
		rules[f.Rule]++
		if f.Location == nil || f.Location.File != "inv.yaml" {
			t.Errorf("finding without location: %+v", f)
		}
	}
	// 20 tokens of each kind; the fine-grained ones exceed their need twice (contents:write, members:read).
	want := map[string]int{"dangerous-scope": 40, "classic-token": 20, "no-expiration": 20, "all-repositories": 20,
		"excess-permission": 40, "expiring-soon": 20, "stale-token": 20}
	for rule, n := range want {
		if rules[rule] != n {
			t.Errorf("%s: %d findings, want %d", rule, rules[rule], n)
		}
	}
	if len(rules) != len(want) {
		t.Errorf("rules fired = %v, want exactly %v", rules, want)
	}
}

func TestWaiversExpire(t *testing.T) {
	cfg, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Waivers = []Waiver{{Rule: "no-expiration", Token: "classic-*", Reason: "r", Owner: "o", Expires: *day("2026-12-01")}}
	e := newTestEngine(t, cfg)
	tokens := mixedTokens(1)
	check := func(now time.Time, wantWaived bool) {
		fs, err := e.Evaluate(context.Background(), tokens, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.Rule == "no-expiration" && f.Waived != wantWaived {
				t.Errorf("at %s waived = %v, want %v", now.Format("2006-01-02"), f.Waived, wantWaived)
			}
			if f.Rule != "no-expiration" && f.Waived {
				t.Errorf("waiver for no-expiration also waived %s", f.Rule)
			}
		}
	}
	check(testNow, true)
	check(*day("2026-12-02"), false)

	fs, err := e.Evaluate(context.Background(), tokens, *day("2026-12-02"))
	if err != nil {
		t.Fatal(err)
	}
	var expired []finding.Finding
	for _, f := range fs {
		if f.Rule == "waiver-expired" {
			expired = append(expired, f)
		}
	}
	if len(expired) != 1 || expired[0].Severity != "medium" || expired[0].Token != "classic-0" ||
		expired[0].Message != "waiver of no-expiration (owner o: r) expired on 2026-12-01" {
		t.Errorf("expired waiver findings = %+v", expired)
	}
}

func TestDisabledRulesDoNotRun(t *testing.T) {
	cat, _ := LoadCatalog()
	e, err := New(context.Background(), Options{Catalog: cat, Disable: []string{"dangerous-scope", "bogus"}})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := e.Evaluate(context.Background(), mixedTokens(1), testNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Rule == "dangerous-scope" {
			t.Error("disabled rule reported")
		}
	}
	if got := e.UnknownDisabled(); len(got) != 1 || got[0] != "bogus" {
		t.Errorf("UnknownDisabled = %v", got)
	}
}

func TestCancelledEvaluationReportsIt(t *testing.T) {
	e := newTestEngine(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Evaluate(ctx, mixedTokens(100), testNow); err == nil {
		t.Error("a cancelled evaluation must not return findings as if complete")
	}
}

// BenchmarkEvaluate measures the shipped rules on a classic/fine-grained mix, as tokens per second.
func BenchmarkEvaluate(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			e := newTestEngine(b, Config{})
			tokens := mixedTokens(n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := e.Evaluate(context.Background(), tokens, testNow); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkCompile is the one-off cost every run pays before judging its first token.
func BenchmarkCompile(b *testing.B) {
	for i := 0; i < b.N; i++ {
		newTestEngine(b, Config{})
	}
}

// A user rule may define deny, warn or both; each set it defines is gathered, with its level.
func TestUserRuleLevels(t *testing.T) {
	dir := t.TempDir()
	rule := `# METADATA
# title: Tokens should have a name
# description: A token without a name is hard to find on the settings page.
# custom:
#   id: unnamed-token
#   severity: medium
#   remediation: Name the token.
package tokencheck.rules["unnamed-token"]

warn contains {"msg": "token has no name"} if not input.token.name

deny contains {"msg": "classic token has no name"} if {
	not input.token.name
	input.token.type == "classic"
}
`
	if err := os.WriteFile(filepath.Join(dir, "unnamed.rego"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	cat, _ := LoadCatalog()
	e, err := New(context.Background(), Options{Catalog: cat, PolicyDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := e.Evaluate(context.Background(), []facts.Token{
		{ID: "a", Type: facts.TypeClassic, Scopes: []string{"repo"}},
		{ID: "b", Type: facts.TypeFineGrained, Name: "named"},
	}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		if f.Rule == "unnamed-token" {
			got = append(got, f.Token+" "+string(f.Level)+" "+f.Message+" "+fmt.Sprint(f.Fails("low")))
		}
	}
	sort.Strings(got)
	want := "a deny classic token has no name true|a warn token has no name false"
	if strings.Join(got, "|") != want {
		t.Errorf("got %q, want %q", strings.Join(got, "|"), want)
	}
}
