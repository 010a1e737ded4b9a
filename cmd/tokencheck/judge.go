package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokencheck/tokencheck/engine"
	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/report"
)

// judgeOptions are the flags every judging command (check, scan, audit) shares.
type judgeOptions struct {
	Format     string
	Output     string
	ConfigFile string
	PolicyDirs []string
	DataFiles  []string
	FailOn     string
	Disable    []string
	Now        string
}

func (o *judgeOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Format, "format", "text", "report format: text, json")
	f.StringVarP(&o.Output, "output", "o", "", "write the report to `FILE` instead of stdout")
	f.StringVar(&o.ConfigFile, "config", "", "settings and waivers `FILE` (default: ./.tokencheck.yaml if present)")
	f.StringArrayVar(&o.PolicyDirs, "policy", nil, "`DIR` of extra Rego rules (repeatable)")
	f.StringArrayVar(&o.DataFiles, "data", nil, "JSON or YAML data `FILE` for extra rules (repeatable)")
	f.StringVar(&o.FailOn, "fail-on", "high", "lowest severity that fails the run: critical, high, medium, low, info")
	f.StringArrayVar(&o.Disable, "disable", nil, "turn off rule `ID` (repeatable)")
	f.StringVar(&o.Now, "now", "", "judge as of this RFC 3339 `TIME` instead of the clock (reproducible runs)")
}

// judge is a judging run in progress: the engine and settings it stands on, and every error met on
// the way. Errors do not stop it: what can still be judged is judged, and the run exits 2.
type judge struct {
	opts    judgeOptions
	io      streams
	catalog *facts.Catalog
	engine  *engine.Engine
	now     time.Time
	failOn  string
	errors  []string
}

// newJudge resolves the shared flags and compiles the policies. A bad flag value or a user policy
// that does not compile is recorded, and the run goes on with the default or the built-in rules; only
// a broken built-in set is fatal.
func newJudge(ctx context.Context, opts judgeOptions, io streams) (*judge, error) {
	j := &judge{opts: opts, io: io, now: time.Now().UTC(), failOn: "high"}
	cat, err := facts.LoadCatalog()
	if err != nil {
		return nil, err
	}
	j.catalog = cat
	if opts.Now != "" {
		if t, err := time.Parse(time.RFC3339, opts.Now); err != nil {
			j.fail("--now %q: want an RFC 3339 time such as 2026-11-22T00:00:00Z; judging as of the clock", opts.Now)
		} else {
			j.now = t.UTC()
		}
	}
	if sev, err := engine.ParseSeverity(opts.FailOn); err != nil {
		j.fail("--fail-on: %v; using high", err)
	} else {
		j.failOn = sev
	}
	if _, err := report.New(opts.Format, false); err != nil {
		j.fail("--format: %v; writing text", err)
		j.opts.Format = "text"
	}
	cfg := j.loadConfig()
	eopts := engine.Options{Config: cfg, PolicyDirs: opts.PolicyDirs, DataFiles: opts.DataFiles, Disable: opts.Disable, Catalog: cat}
	e, err := engine.New(ctx, eopts)
	if err != nil && (len(opts.PolicyDirs) > 0 || len(opts.DataFiles) > 0) {
		j.fail("%v; judging with the built-in rules only", err)
		eopts.PolicyDirs, eopts.DataFiles = nil, nil
		e, err = engine.New(ctx, eopts)
	}
	if err != nil {
		return nil, err
	}
	for _, id := range e.UnknownDisabled() {
		j.fail("--disable %s: no such rule (tokencheck policy list shows them)", id)
	}
	j.engine = e
	return j, nil
}

func (j *judge) loadConfig() engine.Config {
	file := j.opts.ConfigFile
	if file == "" {
		if _, err := os.Stat(engine.DefaultConfigFile); err != nil {
			cfg, _ := engine.DefaultConfig()
			return cfg
		}
		file = engine.DefaultConfigFile
	}
	cfg, err := engine.LoadConfig(file)
	if err != nil {
		for _, e := range unjoin(err) {
			j.fail("%v", e)
		}
	}
	return cfg
}

func (j *judge) fail(format string, args ...any) {
	j.errors = append(j.errors, fmt.Sprintf(format, args...))
}

// finish evaluates the tokens, writes the report and returns the exit code error (nil for 0).
func (j *judge) finish(ctx context.Context, tokens []facts.Token, inputErrs []error, incomplete []report.Incomplete) error {
	for _, err := range inputErrs {
		j.fail("%v", err)
	}
	findings, err := j.engine.Evaluate(ctx, tokens, j.now)
	if err != nil {
		return err
	}
	r := &report.Report{
		Tool: "tokencheck", Version: version, Now: j.now.Format(time.RFC3339), FailOn: j.failOn,
		Findings: findings, Errors: j.errors, Incomplete: incomplete, Rules: j.engine.Rules(),
	}
	for _, t := range tokens {
		rt := report.Token{ID: t.ID, Name: t.Name, Type: t.Type, LastFour: t.LastFour, Unknown: slices.Sorted(slices.Values(t.Unknown))}
		if t.Source.File != "" {
			rt.Location = &engine.Location{File: t.Source.File, Line: t.Source.Line}
		}
		r.Tokens = append(r.Tokens, rt)
	}
	r.Summarize()
	if err := j.write(r); err != nil {
		return err
	}
	return exitFor(r)
}

func (j *judge) write(r *report.Report) error {
	out := j.io.Out
	colour := j.io.OutTTY && j.io.Getenv("NO_COLOR") == ""
	if j.opts.Output != "" {
		f, err := os.Create(j.opts.Output)
		if err != nil {
			return fmt.Errorf("--output: %w", err)
		}
		defer f.Close()
		out, colour = f, false
	}
	w, err := report.New(j.opts.Format, colour)
	if err != nil {
		return err
	}
	if err := w.Write(out, r); err != nil {
		return err
	}
	if j.opts.Output != "" {
		for _, e := range r.Errors {
			fmt.Fprintf(j.io.Err, "tokencheck: %s\n", e)
		}
	}
	return nil
}

// exitFor picks the first of 2, 3, 1, 0 that holds.
func exitFor(r *report.Report) error {
	switch {
	case r.Summary.Errors > 0:
		return exitCodeError{exitError}
	case r.Summary.Incomplete > 0:
		return exitCodeError{exitIncomplete}
	case r.Summary.Failing > 0:
		return exitCodeError{exitViolations}
	}
	return nil
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
