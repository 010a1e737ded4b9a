package source

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/ghapi"
)

// Paths is the source of check: inventories, facts documents and template links in the files and
// directories named, read recursively.
type Paths struct {
	Paths   []string
	Catalog *facts.Catalog
	// Now is the time a template link's token would be created.
	Now time.Time
	// Batch is how many tokens are handed over at a time (0: DefaultBatch).
	Batch int
	// Select says which paths are read and how: ignore globs, inventory globs, standard input for "-".
	Select Selection
	// Counts, when set, receives how many files were read, ignored, and recognised as
	// tokencheck's own outputs.
	Counts *Counts
}

// Counts are what a Paths source met besides tokens and problems.
type Counts struct {
	Files, Ignored, Outputs int
}

// Collect implements engine.Source.
func (s Paths) Collect(ctx context.Context, emit func([]facts.Token) error) []finding.Problem {
	res := StreamSelected(ctx, s.Paths, s.Select, s.Catalog, s.Now, s.Batch, emit)
	if s.Counts != nil {
		*s.Counts = Counts{Files: res.Files, Ignored: res.Ignored, Outputs: res.Outputs}
	}
	return append(Problems(res.Errors), res.Notices...)
}

// HeaderDumps is the source of scan --headers: saved API responses, judged without a token.
type HeaderDumps struct {
	Dumps []HeaderDump
}

// Collect implements engine.Source.
func (s HeaderDumps) Collect(ctx context.Context, emit func([]facts.Token) error) []finding.Problem {
	var problems []finding.Problem
	for _, hd := range s.Dumps {
		tok, err := Headers(hd)
		p, isProblem := problemOf(err, hd.File)
		if err != nil && p.Kind == finding.Input {
			problems = append(problems, p)
			continue
		}
		if isProblem {
			problems = append(problems, p)
		}
		if err := emit([]facts.Token{tok}); err != nil {
			return problems
		}
	}
	return problems
}

// LiveTokens is the source of scan: token values asked about with read-only API calls, a few at a
// time, handed over in the order they were given.
type LiveTokens struct {
	API    *ghapi.API
	Tokens []LiveToken
	// Concurrency bounds the requests in flight (0: 4).
	Concurrency int
}

// Collect implements engine.Source.
func (s LiveTokens) Collect(ctx context.Context, emit func([]facts.Token) error) []finding.Problem {
	type result struct {
		tok facts.Token
		err error
	}
	results := make([]result, len(s.Tokens))
	limit := s.Concurrency
	if limit <= 0 {
		limit = 4
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, lt := range s.Tokens {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			tok, err := Live(ctx, s.API, lt)
			results[i] = result{tok, err}
		}()
	}
	wg.Wait()
	var problems []finding.Problem
	var tokens []facts.Token
	for i, r := range results {
		if r.err == nil {
			tokens = append(tokens, r.tok)
			continue
		}
		lt := s.Tokens[i]
		p, _ := problemOf(r.err, "")
		var f *ghapi.Failure
		if errors.As(r.err, &f) {
			// The API refused or failed: the token's place and fingerprint say which one.
			p = lt.problem(fmt.Sprintf("%s (…%s): %v", r.tok.ID, r.tok.LastFour, f))
		}
		problems = append(problems, p)
		if p.Kind == finding.Incomplete {
			tokens = append(tokens, r.tok) // judged on what is known, and the run cannot pass
		}
	}
	if err := emit(tokens); err != nil {
		return problems
	}
	return problems
}

// Problems turns the errors a source met into problems, keeping their file and line.
func Problems(errs []error) []finding.Problem {
	out := make([]finding.Problem, 0, len(errs))
	for _, err := range errs {
		p, _ := problemOf(err, "")
		out = append(out, p)
	}
	return out
}

// problemOf turns an error into a problem; ok is false for a nil error. An error that names no
// place is an input problem of source (when given).
func problemOf(err error, source string) (finding.Problem, bool) {
	if err == nil {
		return finding.Problem{}, false
	}
	var p finding.Problem
	if errors.As(err, &p) {
		return p, true
	}
	return finding.Problem{Kind: finding.Input, Source: source, Message: err.Error()}, true
}
