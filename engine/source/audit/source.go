package audit

import (
	"context"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/ghapi"
)

// Source is the org audit as a judging source: it streams each page's tokens to the pipeline as
// they are read, and keeps the collection's result (counts, pages, tokens) for the audit summary.
type Source struct {
	API         *ghapi.API
	Credentials Credentials
	Catalog     *facts.Catalog
	Options     Options
	// Result is what the collection found, once Collect has returned.
	Result *Result
}

// Collect implements engine.Source.
func (s *Source) Collect(ctx context.Context, emit func([]facts.Token) error) []finding.Problem {
	opts := s.Options
	opts.Tokens = emit
	s.Result = Collect(ctx, s.API, s.Credentials, s.Catalog, opts)
	return s.Result.Problems
}
