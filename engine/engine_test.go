package engine_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine"
	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/policy"
)

var now = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func compiled(t *testing.T) *policy.Evaluator {
	t.Helper()
	cat, err := policy.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.New(context.Background(), policy.Options{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// spreadsheet is a source written against the contract alone, as a new integration would be: it
// knows nothing of the pipeline but Collect.
type spreadsheet struct {
	rows [][]string // id, scopes; a row without an id is a bad row
}

func (s spreadsheet) Collect(ctx context.Context, emit func([]facts.Token) error) []finding.Problem {
	var problems []finding.Problem
	var batch []facts.Token
	for i, row := range s.rows {
		if row[0] == "" {
			problems = append(problems, finding.InputError("tokens.csv", i+1, "a row without a token id"))
			continue
		}
		batch = append(batch, facts.Token{ID: row[0], Type: facts.TypeClassic, Scopes: []string{row[1]},
			Source: facts.Source{Kind: facts.SourceInventory, File: "tokens.csv", Line: i + 1}})
	}
	if err := emit(batch); err != nil {
		return problems
	}
	return problems
}

func TestANewSourceNeedsOnlyTheContract(t *testing.T) {
	src := spreadsheet{rows: [][]string{{"deploy", "delete_repo"}, {"", "repo"}, {"reader", "read:org"}}}
	res, err := engine.Run(context.Background(), engine.Options{Policy: compiled(t), Now: now}, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tokens) != 2 || res.Tokens[0].ID != "deploy" || res.Tokens[1].ID != "reader" {
		t.Fatalf("tokens = %+v, want deploy and reader in order", res.Tokens)
	}
	var dangerous *finding.Finding
	for i, f := range res.Findings {
		if f.Rule == "dangerous-scope" && f.Token == "deploy" {
			dangerous = &res.Findings[i]
		}
	}
	if dangerous == nil || dangerous.Location == nil || dangerous.Location.File != "tokens.csv" || dangerous.Location.Line != 1 {
		t.Fatalf("findings = %+v, want dangerous-scope on deploy at tokens.csv:1", res.Findings)
	}
	errs := res.Errors()
	if len(errs) != 1 || errs[0].File != "tokens.csv" || errs[0].Line != 2 || errs[0].Error() != "tokens.csv:2: a row without a token id" {
		t.Fatalf("errors = %+v", errs)
	}
	if res.ExitCode() != finding.ExitError {
		t.Errorf("exit %d, want 2: a bad row is an input error even though violations were found too", res.ExitCode())
	}
}

// gated emits one batch, then waits until the pipeline has judged it before emitting the next: a
// pipeline that judged only after collection would never let it go on.
type gated struct{ judged chan int }

func (g gated) Collect(ctx context.Context, emit func([]facts.Token) error) []finding.Problem {
	for i := range 3 {
		tok := facts.Token{ID: fmt.Sprintf("t%d", i), Type: facts.TypeClassic, Scopes: []string{"repo"}, Source: facts.Source{Kind: facts.SourceLive}}
		if err := emit([]facts.Token{tok}); err != nil {
			return nil
		}
		select {
		case n := <-g.judged:
			if n != i+1 {
				return []finding.Problem{finding.IncompleteSource("gated", fmt.Sprintf("batch %d judged as %d", i, n))}
			}
		case <-time.After(10 * time.Second):
			return []finding.Problem{finding.IncompleteSource("gated", fmt.Sprintf("batch %d was not judged while collection went on", i))}
		}
	}
	return nil
}

func TestBatchesAreJudgedWhileTheSourceIsStillReading(t *testing.T) {
	g := gated{judged: make(chan int, 3)}
	seen := 0
	res, err := engine.Run(context.Background(), engine.Options{Policy: compiled(t), Now: now, Observe: func(b []facts.Token) error {
		seen += len(b)
		g.judged <- seen
		return nil
	}}, g)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 0 || len(res.Tokens) != 3 {
		t.Fatalf("problems %v, %d tokens", res.Problems, len(res.Tokens))
	}
}

func TestExitCodePicksTheFirstOfErrorIncompleteViolation(t *testing.T) {
	p := compiled(t)
	clean := engine.SourceFunc(func(ctx context.Context, emit func([]facts.Token) error) []finding.Problem {
		exp := now.Add(30 * 24 * time.Hour)
		created := now.Add(-24 * time.Hour)
		emit([]facts.Token{{ID: "ok", Type: facts.TypeFineGrained, ResourceOwner: "acme", RepositorySelection: facts.SelectSubset,
			Repositories: []string{"acme/app"}, Permissions: &facts.Permissions{Repository: map[string]string{"contents": "read", "metadata": "read"}},
			Name: "Release notes", CreatedAt: &created, ExpiresAt: &exp, LastUsedAt: &created, Approval: facts.ApprovalApproved, Source: facts.Source{Kind: facts.SourceInventory}}})
		return nil
	})
	violating := engine.SourceFunc(func(ctx context.Context, emit func([]facts.Token) error) []finding.Problem {
		emit([]facts.Token{{ID: "bad", Type: facts.TypeClassic, Scopes: []string{"delete_repo"}, Source: facts.Source{Kind: facts.SourceInventory}}})
		return nil
	})
	partial := engine.SourceFunc(func(ctx context.Context, emit func([]facts.Token) error) []finding.Problem {
		return []finding.Problem{finding.IncompleteSource("org:acme personal-access-tokens", "502 from GitHub")}
	})
	broken := engine.SourceFunc(func(ctx context.Context, emit func([]facts.Token) error) []finding.Problem {
		return []finding.Problem{finding.InputError("inv.yaml", 3, "not YAML")}
	})
	for _, c := range []struct {
		name    string
		sources []engine.Source
		failOn  finding.Severity
		want    int
	}{
		{"clean", []engine.Source{clean}, "", finding.ExitOK},
		{"violation", []engine.Source{clean, violating}, "", finding.ExitViolations},
		{"violation below the gate", []engine.Source{violating}, finding.Critical, finding.ExitViolations},
		{"incomplete beats violation", []engine.Source{violating, partial}, "", finding.ExitIncomplete},
		{"incomplete with nothing judged", []engine.Source{partial}, "", finding.ExitIncomplete},
		{"input error beats incomplete", []engine.Source{partial, broken, violating}, "", finding.ExitError},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := engine.Run(context.Background(), engine.Options{Policy: p, Now: now, FailOn: c.failOn}, c.sources...)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode() != c.want {
				t.Errorf("exit %d (%s), want %d; findings %+v", res.ExitCode(), res.Verdict(), c.want, res.Findings)
			}
		})
	}
}

// An interrupted collection is still judged: what was read is reported, and the source says what
// it could not finish.
func TestCancelledCollectionStillJudgesWhatWasRead(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	src := engine.SourceFunc(func(ctx context.Context, emit func([]facts.Token) error) []finding.Problem {
		emit([]facts.Token{{ID: "first", Type: facts.TypeClassic, Scopes: []string{"delete_repo"}, Source: facts.Source{Kind: facts.SourceLive}}})
		cancel()
		if err := emit([]facts.Token{{ID: "second", Type: facts.TypeClassic, Source: facts.Source{Kind: facts.SourceLive}}}); !errors.Is(err, context.Canceled) {
			// The buffered channel may still take it; either way the run must end.
			_ = err
		}
		return []finding.Problem{finding.IncompleteSource("live", "interrupted")}
	})
	later := engine.SourceFunc(func(ctx context.Context, emit func([]facts.Token) error) []finding.Problem {
		t.Error("a source after the interruption was still read")
		return nil
	})
	res, err := engine.Run(ctx, engine.Options{Policy: compiled(t), Now: now}, src, later)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tokens) == 0 || res.Tokens[0].ID != "first" {
		t.Fatalf("tokens %+v: the token read before the interruption must be judged", res.Tokens)
	}
	if res.ExitCode() != finding.ExitIncomplete {
		t.Errorf("exit %d, want 3", res.ExitCode())
	}
}

func TestObserverFailureIsReportedOnceAndJudgingGoesOn(t *testing.T) {
	src := engine.SourceFunc(func(ctx context.Context, emit func([]facts.Token) error) []finding.Problem {
		for i := range 3 {
			emit([]facts.Token{{ID: fmt.Sprint(i), Type: facts.TypeClassic, Source: facts.Source{Kind: facts.SourceLive}}})
		}
		return nil
	})
	calls := 0
	res, err := engine.Run(context.Background(), engine.Options{Policy: compiled(t), Now: now, Observe: func([]facts.Token) error {
		calls++
		return errors.New("disk full")
	}}, src)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || len(res.Errors()) != 1 || len(res.Tokens) != 3 {
		t.Errorf("observer called %d times, errors %v, %d tokens", calls, res.Errors(), len(res.Tokens))
	}
}

// manyBatches is a source of n classic tokens in batches of size, each with a scope that fails.
type manyBatches struct{ n, size int }

func (m manyBatches) Collect(ctx context.Context, emit func([]facts.Token) error) []finding.Problem {
	var batch []facts.Token
	for i := 0; i < m.n; i++ {
		scope := []string{"delete_repo", "read:org", "repo", "admin:org"}[i%4]
		batch = append(batch, facts.Token{ID: fmt.Sprintf("t%03d", i), Type: facts.TypeClassic, Scopes: []string{scope},
			Source: facts.Source{Kind: facts.SourceInventory, File: "tokens.yaml", Line: i + 1}})
		if len(batch) == m.size {
			if emit(batch) != nil {
				return nil
			}
			batch = nil
		}
	}
	emit(batch)
	return nil
}

func TestStreamedRunHandsOverEveryFindingAndKeepsOnlyCounts(t *testing.T) {
	p := compiled(t)
	src := manyBatches{n: 103, size: 10}
	baseline := engine.Baseline{}
	held, err := engine.Run(context.Background(), engine.Options{Policy: p, Now: now}, src)
	if err != nil {
		t.Fatal(err)
	}
	// The baseline marks one finding of the held run as existing in the streamed one.
	f0 := held.Findings[0]
	baseline[f0.Rule+"\x00"+f0.Token+"\x00"+f0.Subject] = true

	var tokens []string
	var findings []finding.Finding
	streamed, err := engine.Run(context.Background(), engine.Options{Policy: p, Now: now, Baseline: baseline,
		Judged: func(batch []facts.Token, fs []finding.Finding) error {
			for _, tok := range batch {
				tokens = append(tokens, tok.ID)
			}
			findings = append(findings, fs...)
			return nil
		}}, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(streamed.Tokens) != 0 || len(streamed.Findings) != 0 {
		t.Errorf("a streamed run held %d tokens and %d findings; want none", len(streamed.Tokens), len(streamed.Findings))
	}
	if len(tokens) != 103 || tokens[0] != "t000" || tokens[102] != "t102" {
		t.Errorf("handed over %d tokens (%v…); want all 103 in order", len(tokens), tokens[:min(3, len(tokens))])
	}
	if len(findings) != len(held.Findings) {
		t.Fatalf("handed over %d findings; the held run has %d", len(findings), len(held.Findings))
	}
	for i := range findings {
		want := held.Findings[i]
		want.Existing = i == 0
		if got := findings[i]; !reflect.DeepEqual(got, want) {
			t.Fatalf("finding %d: %+v; want %+v", i, findings[i], want)
		}
	}
	hs, ss := held.Summary, streamed.Summary
	if ss.Tokens != 103 || ss.Findings != hs.Findings || ss.Failing != hs.Failing-1 || ss.Existing != 1 || ss.BySeverity["critical"] != hs.BySeverity["critical"] {
		t.Errorf("streamed summary %+v; held %+v (plus one existing, which does not fail)", ss, hs)
	}
	if streamed.ExitCode() != held.ExitCode() {
		t.Errorf("exit %d; held run exits %d", streamed.ExitCode(), held.ExitCode())
	}
}
