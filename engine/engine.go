// Package engine is tokencheck's judging pipeline: sources stream batches of token facts in, the
// policy evaluator judges each batch as it arrives, and a Result with findings, problems, summary
// and exit code comes out. Commands build Options and sources; they hold no pipeline of their own.
package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/policy"
)

// Source is one place token facts come from: inventories and other files, a live token, a saved
// header dump, an organisation's API. Collect sends the tokens it reads to emit in batches, as it
// reads them, and returns every problem it met; it goes on after a problem wherever it can. An error
// from emit means the run is stopping: Collect returns promptly.
type Source interface {
	Collect(ctx context.Context, emit func([]facts.Token) error) []finding.Problem
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context, emit func([]facts.Token) error) []finding.Problem

// Collect implements Source.
func (f SourceFunc) Collect(ctx context.Context, emit func([]facts.Token) error) []finding.Problem {
	return f(ctx, emit)
}

// Options configure one run.
type Options struct {
	// Policy judges the tokens; compiled once for the run.
	Policy *policy.Evaluator
	// Now is the time the tokens are judged at.
	Now time.Time
	// FailOn is the lowest severity that fails the gate (default high).
	FailOn finding.Severity
	// Baseline, when set, marks the findings an earlier run already reported as existing.
	Baseline Baseline
	// Problems met before the run (bad flags, configuration): reported with the rest.
	Problems []finding.Problem
	// Observe, when set, sees every batch of tokens as it is judged (e.g. to save the facts).
	Observe func([]facts.Token) error
	// EvalTimeout bounds the evaluation of the whole run (0: none). Collection has its own bounds.
	EvalTimeout time.Duration
	// Judged, when set, receives each batch of tokens with its findings (ordered by token, baseline
	// applied) as soon as it is judged, in collection order: the report writers stream them. The
	// Result then counts them (Result.Streamed) instead of holding them, so memory does not grow
	// with the token count. An error from Judged is reported once and judging goes on.
	Judged func(batch []facts.Token, findings []finding.Finding) error
}

// Run collects tokens from every source in turn and judges each batch while the next is read. It
// returns an error only when judging itself failed (a broken policy); every other problem is in the
// Result, whose ExitCode says how the run ends. A cancelled ctx stops collection, and what was
// collected until then is still judged and reported.
func Run(ctx context.Context, opts Options, sources ...Source) (*finding.Result, error) {
	if opts.Policy == nil {
		return nil, fmt.Errorf("engine: no policy")
	}
	if opts.FailOn == "" {
		opts.FailOn = finding.High
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	res := &finding.Result{
		Now:      opts.Now.UTC().Format(time.RFC3339),
		FailOn:   opts.FailOn,
		Problems: slices.Clone(opts.Problems),
		Rules:    opts.Policy.Rules(),
	}

	// Evaluation outlives an interrupted collection: what was collected is judged.
	evalCtx := context.WithoutCancel(ctx)
	if opts.EvalTimeout > 0 {
		var cancel context.CancelFunc
		evalCtx, cancel = context.WithTimeout(evalCtx, opts.EvalTimeout)
		defer cancel()
	}
	collectCtx, stopCollecting := context.WithCancel(ctx)
	defer stopCollecting()

	cfg := opts.Policy.Config()
	j := &judging{opts: opts, res: res, config: cfg, waiverUsed: make([]bool, len(cfg.Waivers))}
	batches := make(chan []facts.Token, 4)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for batch := range batches {
			if j.err != nil {
				continue
			}
			if j.err = j.judge(evalCtx, batch); j.err != nil {
				stopCollecting()
			}
		}
	}()
	emit := func(batch []facts.Token) error {
		if len(batch) == 0 {
			return nil
		}
		select {
		case batches <- batch:
			return nil
		case <-collectCtx.Done():
			return collectCtx.Err()
		}
	}
	for _, s := range sources {
		if collectCtx.Err() != nil {
			break
		}
		res.Problems = append(res.Problems, s.Collect(collectCtx, emit)...)
	}
	close(batches)
	wg.Wait()
	if j.err != nil {
		return nil, j.err
	}
	res.Problems = append(res.Problems, j.problems...)

	for _, w := range cfg.WaiversNotUsed(j.waiverUsed) {
		uw := finding.UnusedWaiver{Rule: w.Rule, Token: w.Token, Owner: w.Owner, Expires: w.Expires.Format("2006-01-02")}
		if cfg.File != "" {
			uw.Location = &finding.Location{File: filepath.ToSlash(cfg.File), Line: w.Line}
		}
		res.UnusedWaivers = append(res.UnusedWaivers, uw)
	}
	res.Summarize()
	return res, nil
}

// judging is the state of the judging goroutine: it alone writes res.Tokens, res.Findings and
// res.Streamed (and its own problems, merged once it is done).
type judging struct {
	opts       Options
	res        *finding.Result
	config     policy.Config
	waiverUsed []bool // by index into config.Waivers: matched a finding so far
	problems   []finding.Problem
	seen       map[string]bool // rule errors already said
	err        error
}

// judge evaluates one batch and keeps what the report needs of its tokens, not the tokens.
func (j *judging) judge(ctx context.Context, batch []facts.Token) error {
	if j.opts.Observe != nil {
		if err := j.opts.Observe(batch); err != nil {
			// Reported once: the observer is not called again, and judging goes on.
			j.problems = append(j.problems, finding.Problem{Kind: finding.Input, Message: err.Error()})
			j.opts.Observe = nil
		}
	}
	findings, err := j.opts.Policy.Evaluate(ctx, batch, j.opts.Now)
	var ruleErrs *policy.RuleErrors
	if errors.As(err, &ruleErrs) {
		// A rule that fails (a builtin error, a bad severity) is that rule's input error, said
		// once; every other rule's findings are kept.
		for _, p := range ruleErrs.Problems {
			if key := p.Error(); !j.seen[key] {
				if j.seen == nil {
					j.seen = map[string]bool{}
				}
				j.seen[key] = true
				j.problems = append(j.problems, p)
			}
		}
		err = nil
	}
	if err != nil {
		return err
	}
	if j.opts.Baseline != nil {
		j.opts.Baseline.Apply(findings)
	}
	j.config.MarkUsedWaivers(j.waiverUsed, findings)
	if j.opts.Judged != nil {
		j.res.Count(len(batch), findings)
		if err := j.opts.Judged(batch, findings); err != nil {
			// Reported once: the writers said what failed; judging goes on so the verdict is whole.
			j.problems = append(j.problems, finding.Problem{Kind: finding.Input, Message: err.Error()})
			j.opts.Judged = func([]facts.Token, []finding.Finding) error { return nil }
		}
		return nil
	}
	j.res.Findings = append(j.res.Findings, findings...)
	for i := range batch {
		j.res.Tokens = append(j.res.Tokens, TokenInfo(&batch[i]))
	}
	return nil
}

// TokenInfo is what a report shows of a token besides its findings.
func TokenInfo(t *facts.Token) finding.TokenInfo {
	info := finding.TokenInfo{ID: t.ID, Name: t.Name, Type: string(t.Type), Source: string(t.Source.Kind), LastFour: t.LastFour, Unknown: slices.Sorted(slices.Values(t.Unknown))}
	if t.Source.File != "" {
		info.Location = &finding.Location{File: t.Source.File, Line: t.Source.Line}
	}
	return info
}
