package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/source"
)

// diffTokens is how many generated tokens the differential test judges both ways: 100,000, or
// 1,000 under -short, and 5,000 under the race detector (which slows judging tenfold: `make test`
// runs the 100,000 once more without it); TOKENCHECK_DIFF_TOKENS overrides it.
func diffTokens(t testing.TB) int {
	if s := os.Getenv("TOKENCHECK_DIFF_TOKENS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("TOKENCHECK_DIFF_TOKENS: %v", err)
		}
		return n
	}
	if testing.Short() {
		return 1000
	}
	if raceEnabled {
		return 5000
	}
	return 100000
}

// generatedTokens is a fleet like bench/compare's (fine-grained grants, pending requests, classic
// tokens through SSO) with more variety: inventory tokens with files and lines, needs, declared
// scopes, classic reasons, unknown facts, tokens known only by their last four characters, template
// links, and scope and permission names the catalogue does not know. One token in eight has
// times to the second in another zone, some of them beyond the clamped range or expiring before
// they were created.
func generatedTokens(n int, seed uint64) []facts.Token {
	rng := rand.New(rand.NewPCG(seed, seed*7+1))
	now := testNow
	dayDur := 24 * time.Hour
	at := func(d int) *time.Time { t := now.Add(time.Duration(d) * dayDur); return &t }
	classicScopes := [][]string{{"repo"}, {"repo", "delete_repo", "admin:org"}, {"repo", "workflow"}, {"read:org", "repo"}, {"write:packages", "read:packages"}, {"gist"}, {"repo", "read_org"}, {"admin:enterprise"}, {"public_repo", "notifications"}}
	repoPerms := []map[string]string{{"contents": "read", "metadata": "read"}, {"contents": "write", "pull_requests": "write", "metadata": "read"}, {"administration": "write", "metadata": "read"}, {"issues": "write", "metadata": "read"}, {"workflows": "write", "contents": "write"}, {"contents": "admin"}, {"made_up": "read"}}
	kinds := []facts.SourceKind{facts.SourceOrgAudit, facts.SourceInventory, facts.SourceLive, facts.SourceTemplateLink, facts.SourceHeaders}
	out := make([]facts.Token, n)
	for i := range out {
		kind := kinds[rng.IntN(len(kinds))]
		t := facts.Token{ID: fmt.Sprintf("org:acme/pat:%d", 100000+i), Name: fmt.Sprintf("integration %d", i%50), Owner: fmt.Sprintf("user%d", i%13),
			Source: facts.Source{Kind: kind}}
		if kind == facts.SourceInventory || kind == facts.SourceTemplateLink {
			t.Source.File, t.Source.Line = fmt.Sprintf("inv%d.yaml", i%3), i%40+1
		}
		switch k := rng.IntN(100); {
		case k < 45:
			t.Type, t.ResourceOwner, t.Approval = facts.TypeFineGrained, []string{"acme", "other"}[rng.IntN(2)], facts.ApprovalApproved
			t.RepositorySelection = []facts.RepositorySelection{facts.SelectAll, facts.SelectSubset, facts.SelectSubset}[rng.IntN(3)]
			t.Permissions = &facts.Permissions{Repository: repoPerms[rng.IntN(len(repoPerms))]}
			if rng.IntN(4) == 0 {
				t.Permissions.Organization = map[string]string{"members": []string{"read", "write"}[rng.IntN(2)]}
			}
			if rng.IntN(3) == 0 {
				t.Needs = map[string]string{"contents": "read"}
			}
			t.CreatedAt = at(-rng.IntN(500))
			if rng.IntN(5) > 0 {
				t.ExpiresAt = at(-30 + rng.IntN(400))
			}
			if rng.IntN(4) > 0 {
				t.LastUsedAt = at(-rng.IntN(200))
			}
		case k < 52:
			t.Type, t.ResourceOwner, t.Approval, t.RepositorySelection = facts.TypeFineGrained, "acme", []facts.Approval{facts.ApprovalPending, facts.ApprovalDenied}[rng.IntN(2)], "all"
			t.Permissions = &facts.Permissions{Repository: repoPerms[rng.IntN(len(repoPerms))]}
			t.CreatedAt, t.ExpiresAt = at(-rng.IntN(10)), at(30+rng.IntN(300))
		case k < 55:
			t.Type = facts.TypeAppInstallation
			t.ExpiresAt = at(0)
		default:
			t.Type, t.SSO = facts.TypeClassic, "authorized"
			t.Scopes = classicScopes[rng.IntN(len(classicScopes))]
			if rng.IntN(2) == 0 {
				t.ExpiresAt = at(rng.IntN(200))
			}
			t.LastUsedAt = at(-rng.IntN(300))
			switch rng.IntN(12) {
			case 0:
				t.Needs = map[string]string{"contents": "read", "issues": "write"}
			case 1:
				t.NeedsScopes = []string{"repo"}
			case 2:
				t.ClassicReason = "packages"
			case 3:
				t.Name, t.LastFour, t.Fingerprint = "", fmt.Sprintf("%04d", i%10000), "sha256:"+strconv.Itoa(i)
			case 4:
				t.Unknown = []string{"scopes", "expires_at"}
			case 5:
				t.ResourceOwner = "acme"
			}
		}
		if rng.IntN(8) == 0 {
			zone := time.FixedZone("", []int{0, 3600, -5 * 3600, 19800}[rng.IntN(4)])
			jitter := func(p **time.Time) {
				if *p == nil {
					return
				}
				x := (*p).Add(time.Duration(rng.IntN(86400)) * time.Second).In(zone)
				switch rng.IntN(20) {
				case 0:
					x = time.Date(2300+rng.IntN(3), 1, 1, 0, 0, 0, 0, zone)
				case 1:
					x = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)
				}
				*p = &x
			}
			jitter(&t.CreatedAt)
			jitter(&t.ExpiresAt)
			jitter(&t.LastUsedAt)
			if t.CreatedAt != nil && t.ExpiresAt != nil && rng.IntN(10) == 0 {
				t.CreatedAt, t.ExpiresAt = t.ExpiresAt, t.CreatedAt
			}
		}
		out[i] = t
	}
	return out
}

// plainAndMemo returns two evaluators for the same options: one that memoises from the first
// token, one that never does.
func plainAndMemo(t testing.TB, opts Options) (plain, memoised *Evaluator) {
	t.Helper()
	cat, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	opts.Catalog = cat
	plain, err = New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	plain.memo = nil
	memoised, err = New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	memoised.memo.seen.Store(memoAfter)
	return plain, memoised
}

func sameFindings(t *testing.T, plain, memoised *Evaluator, tokens []facts.Token, now time.Time) int {
	t.Helper()
	want, err := plain.Evaluate(context.Background(), tokens, now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := memoised.Evaluate(context.Background(), tokens, now)
	if err != nil {
		t.Fatal(err)
	}
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if string(wj) != string(gj) {
		for i := 0; i < min(len(want), len(got)); i++ {
			a, _ := json.Marshal(want[i])
			b, _ := json.Marshal(got[i])
			if string(a) != string(b) {
				t.Fatalf("finding %d differs (of %d plain, %d memoised):\nplain    %s\nmemoised %s", i, len(want), len(got), a, b)
			}
		}
		t.Fatalf("%d findings plainly, %d memoised", len(want), len(got))
	}
	return len(want)
}

// The memoised judge returns byte-identical findings to plain evaluation of every rule, built-in
// and user (rules it may memoise and rules it must not), with waivers and settings, on generated
// tokens and on every fixture.
func TestMemoMatchesPlainEvaluation(t *testing.T) {
	cfg := Config{
		Waivers: []Waiver{
			{Rule: "dangerous-scope", Token: "org:acme/pat:1000*", Reason: "migration", Owner: "ops", Expires: testNow.Add(24 * time.Hour)},
			{Rule: "classic-token", Token: "org:acme/pat:1001*", Reason: "old", Owner: "ops", Expires: testNow.Add(-24 * time.Hour)},
		},
	}
	def, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Settings = def.Settings
	cfg.Settings["allowed_resource_owners"] = []any{"acme"}
	opts := Options{
		Config:     cfg,
		PolicyDirs: []string{"testdata/memo-user", "testdata/bundle-user"},
		DataFiles:  []string{"testdata/bundle-user-data.yaml"},
	}
	plain, memoised := plainAndMemo(t, opts)

	n := diffTokens(t)
	tokens := generatedTokens(n, 42)
	count := sameFindings(t, plain, memoised, tokens, testNow)
	if count < n {
		t.Fatalf("only %d findings on %d tokens: the generated fleet should trip most rules", count, n)
	}
	// Again over the warm caches, and at another time.
	sameFindings(t, plain, memoised, tokens[:n/10], testNow)
	sameFindings(t, plain, memoised, tokens[:n/10], testNow.Add(90*24*time.Hour))

	// Every fixture the project ships, read as check reads it.
	res := source.Files(context.Background(), []string{"../../fixtures"}, plain.catalog, testNow)
	if len(res.Tokens) < 10 {
		t.Fatalf("read %d tokens from the fixtures", len(res.Tokens))
	}
	sameFindings(t, plain, memoised, res.Tokens, testNow)

	var memoisedGroups, placeholder int
	for _, g := range memoised.memo.groups {
		if !g.plain {
			memoisedGroups++
		}
		if g.fp.placeholder {
			placeholder++
		}
		t.Logf("group %v plain=%v off=%v lookups=%d hits=%d bad=%q", g.sets, g.plain, g.off.Load(), g.lookups.Load(), g.hits.Load(), g.fp.bad)
	}
	if memoisedGroups < 8 || placeholder != 1 {
		t.Errorf("%d memoised groups, %d with a placeholder link; want most rules memoised and classic-token's link filled in", memoisedGroups, placeholder)
	}
}

// The analysis refuses what it cannot prove: the whole token, a non-deterministic builtin, with;
// and a link that is inspected is part of the key, not a placeholder.
func TestFootprintRefusals(t *testing.T) {
	_, e := plainAndMemo(t, Options{PolicyDirs: []string{"testdata/memo-user"}})
	if _, err := e.memo.active(context.Background()); err != nil {
		t.Fatal(err)
	}
	bad := map[string]bool{}
	for _, g := range e.memo.groups {
		for _, s := range g.sets {
			bad[s.rule+"."+s.level] = g.plain
			if s.rule == "user-link-read" && g.fp.placeholder {
				t.Error("user-link-read inspects the link: it must not get a placeholder")
			}
			if s.rule == "classic-token" && (g.plain || !g.fp.placeholder) {
				t.Errorf("classic-token places the link unread: it must be memoised with a placeholder (%q)", g.fp.bad)
			}
		}
	}
	for set, want := range map[string]bool{
		"user-whole-token.warn": true, "user-nondet.deny": true, "user-with.deny": true,
		// lib.ts(field) with field from iteration reads input.token[field]: the whole token.
		"user-with.warn": false, "user-var-field.warn": true, "user-link-read.warn": false, "expired.deny": false, "classic-token.deny": false,
	} {
		if bad[set] != want {
			t.Errorf("%s: never memoised = %v, want %v", set, bad[set], want)
		}
	}
}

// BenchmarkMemo compares memoised and plain judging of generated tokens from a cold cache
// (a new evaluator per iteration, as each run of the CLI), as tokens per second.
func BenchmarkMemo(b *testing.B) {
	n := 20000
	if s := os.Getenv("TOKENCHECK_DIFF_TOKENS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	tokens := generatedTokens(n, 42)
	for _, mode := range []string{"plain", "memo"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				plain, memoised := plainAndMemo(b, Options{})
				e := memoised
				if mode == "plain" {
					e = plain
				}
				b.StartTimer()
				if _, err := e.Evaluate(context.Background(), tokens, testNow); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
