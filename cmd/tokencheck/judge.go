package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/tokencheck/tokencheck/engine/policy"
	"github.com/tokencheck/tokencheck/engine/safe"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokencheck/tokencheck/engine"
	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
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
	Also       []string
	Summary    bool
	Baseline   string
	WriteBase  string
}

func (o *judgeOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Format, "format", "text", "report format: "+strings.Join(report.Formats, ", "))
	f.StringVarP(&o.Output, "output", "o", "", "write the report to `FILE` instead of stdout")
	f.StringVar(&o.ConfigFile, "config", "", "settings and waivers `FILE` (default: ./.tokencheck.yaml if present)")
	f.StringArrayVar(&o.PolicyDirs, "policy", nil, "`DIR` of extra Rego rules (repeatable)")
	f.StringArrayVar(&o.DataFiles, "data", nil, "JSON or YAML data `FILE` for extra rules (repeatable)")
	f.StringVar(&o.FailOn, "fail-on", "high", "lowest severity that fails the run: critical, high, medium, low, info")
	f.StringArrayVar(&o.Disable, "disable", nil, "turn off rule `ID` (repeatable)")
	f.StringVar(&o.Now, "now", "", "judge as of this RFC 3339 `TIME` instead of the clock (reproducible runs)")
	f.StringArrayVar(&o.Also, "also", nil, "also write the report as `FORMAT[=FILE]` (stdout without =FILE); repeatable, e.g. --also text --also junit=junit.xml")
	f.BoolVar(&o.Summary, "summary", false, "also append a Markdown summary to $GITHUB_STEP_SUMMARY when it is set")
	f.StringVar(&o.Baseline, "baseline", "", "JSON report `FILE` of an earlier run: only findings not in it fail the gate")
	f.StringVar(&o.WriteBase, "write-baseline", "", "write this run's findings to `FILE` as a baseline (a JSON report)")
}

// output is one report to write: a format and a file ("" for stdout).
type output struct{ format, file string }

// judge is a judging run in progress: the engine and settings it stands on, and every error met on
// the way. Errors do not stop it: what can still be judged is judged, and the run exits 2.
type judge struct {
	opts     judgeOptions
	io       streams
	catalog  *facts.Catalog
	engine   *policy.Evaluator
	now      time.Time
	failOn   finding.Severity
	errors   []string
	outputs  []output
	baseline engine.Baseline
	findings []finding.Finding // of every token added so far
	tokens   []report.Token    // what the report shows of them
	// augment, when set, adds a command's own parts to the report once findings are known.
	augment func(*report.Report)
}

// newJudge resolves the shared flags and compiles the policies. A bad flag value or a user policy
// that does not compile is recorded, and the run goes on with the default or the built-in rules; only
// a broken built-in set is fatal.
func newJudge(ctx context.Context, opts judgeOptions, io streams) (*judge, error) {
	j := &judge{opts: opts, io: io, now: time.Now().UTC(), failOn: finding.High}
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
	if sev, err := finding.ParseSeverity(opts.FailOn); err != nil {
		j.fail("--fail-on: %v; using high", err)
	} else {
		j.failOn = sev
	}
	if _, err := report.New(opts.Format, false); err != nil {
		j.fail("--format: %v; writing text", err)
		j.opts.Format = "text"
	}
	j.outputs = []output{{j.opts.Format, opts.Output}}
	for _, a := range opts.Also {
		format, file, _ := strings.Cut(a, "=")
		if _, err := report.New(format, false); err != nil {
			j.fail("--also %s: %v", a, err)
			continue
		}
		j.outputs = append(j.outputs, output{format, file})
	}
	if opts.Baseline != "" {
		b, err := engine.LoadBaseline(opts.Baseline)
		if err != nil {
			j.fail("%v; every finding counts as new", err)
		} else {
			j.baseline = b
		}
	}
	cfg := j.loadConfig()
	eopts := policy.Options{Config: cfg, PolicyDirs: opts.PolicyDirs, DataFiles: opts.DataFiles, Disable: opts.Disable, Catalog: cat, Now: j.now}
	e, err := policy.New(ctx, eopts)
	if err != nil && (len(opts.PolicyDirs) > 0 || len(opts.DataFiles) > 0) {
		j.fail("%v; judging with the built-in rules only", err)
		eopts.PolicyDirs, eopts.DataFiles = nil, nil
		e, err = policy.New(ctx, eopts)
	}
	if err != nil {
		return nil, err
	}
	for _, id := range e.UnknownDisabled() {
		j.fail("--disable %s: no such rule (tokencheck policy list shows them)", id)
	}
	for _, p := range e.ConfigProblems() {
		j.fail("%v", p)
	}
	j.engine = e
	return j, nil
}

func (j *judge) loadConfig() policy.Config {
	file := j.opts.ConfigFile
	if file == "" {
		if _, err := os.Stat(policy.DefaultConfigFile); err != nil {
			cfg, _ := policy.DefaultConfig()
			return cfg
		}
		file = policy.DefaultConfigFile
	}
	cfg, err := policy.LoadConfig(file)
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

// add judges a batch of tokens and keeps what the report needs of them, not the tokens: a large
// input is judged in bounded memory.
func (j *judge) add(ctx context.Context, tokens []facts.Token) error {
	findings, err := j.engine.Evaluate(ctx, tokens, j.now)
	if ruleErrs := (*policy.RuleErrors)(nil); errors.As(err, &ruleErrs) { // failing rules are errors; the others judged
		for _, p := range ruleErrs.Problems {
			j.fail("%v", p)
		}
		err = nil
	}
	if err != nil {
		return err
	}
	j.findings = append(j.findings, findings...)
	for _, t := range tokens {
		rt := report.Token{ID: t.ID, Name: t.Name, Type: string(t.Type), Source: string(t.Source.Kind), LastFour: t.LastFour, Unknown: slices.Sorted(slices.Values(t.Unknown))}
		if t.Source.File != "" {
			rt.Location = &finding.Location{File: t.Source.File, Line: t.Source.Line}
		}
		j.tokens = append(j.tokens, rt)
	}
	return nil
}

// finish judges the tokens, writes the report and returns the exit code error (nil for 0).
func (j *judge) finish(ctx context.Context, tokens []facts.Token, inputErrs []error, incomplete []report.Incomplete) error {
	if err := j.add(ctx, tokens); err != nil {
		return err
	}
	return j.conclude(inputErrs, incomplete)
}

// conclude writes the report of everything added and returns the exit code error (nil for 0).
func (j *judge) conclude(inputErrs []error, incomplete []report.Incomplete) error {
	for _, err := range inputErrs {
		j.fail("%v", err)
	}
	findings := j.findings
	r := &report.Report{
		Tool: "tokencheck", Version: version, Now: j.now.Format(time.RFC3339), FailOn: j.failOn,
		Findings: findings, Errors: j.errors, Incomplete: incomplete, Rules: j.engine.Rules(),
		SourceRoot: repoRoot(), Tokens: j.tokens,
	}
	if j.baseline != nil {
		j.baseline.Apply(r.Findings)
		r.Baseline = j.opts.Baseline
	}
	cfg := j.engine.Config()
	for _, w := range cfg.UnusedWaivers(findings) {
		uw := report.UnusedWaiver{Rule: w.Rule, Token: w.Token, Owner: w.Owner, Expires: w.Expires.Format("2006-01-02")}
		if cfg.File != "" {
			uw.Location = &finding.Location{File: filepath.ToSlash(cfg.File), Line: w.Line}
		}
		r.UnusedWaivers = append(r.UnusedWaivers, uw)
	}
	if j.augment != nil {
		j.augment(r)
	}
	r.Summarize()
	if err := j.write(r); err != nil {
		return err
	}
	return exitFor(r)
}

func (j *judge) write(r *report.Report) error {
	toStdout := false
	for _, o := range j.outputs {
		if err := j.writeOne(o, r); err != nil {
			return err
		}
		toStdout = toStdout || o.file == ""
	}
	if j.opts.WriteBase != "" {
		if err := j.writeOne(output{"json", j.opts.WriteBase}, r); err != nil {
			return fmt.Errorf("--write-baseline: %w", err)
		}
	}
	if j.opts.Summary {
		if file := j.io.Getenv("GITHUB_STEP_SUMMARY"); file != "" {
			if err := appendTo(file, report.Markdown{}, r); err != nil {
				return fmt.Errorf("--summary: %w", err)
			}
		}
	}
	if !toStdout || !textLike(j.outputs) {
		// Nobody reads errors in a file or in machine output on stdout: say them on stderr too.
		for _, e := range r.Errors {
			fmt.Fprintf(j.io.Err, "tokencheck: %s\n", safe.Text(e)) // data in errors cannot start a line
		}
	}
	return nil
}

// textLike reports whether a text report goes to stdout, where a person sees the errors.
func textLike(outs []output) bool {
	for _, o := range outs {
		if o.file == "" && o.format == "text" {
			return true
		}
	}
	return false
}

func (j *judge) writeOne(o output, r *report.Report) error {
	out := j.io.Out
	colour := j.io.OutTTY && j.io.Getenv("NO_COLOR") == ""
	if o.file != "" {
		f, err := os.Create(o.file)
		if err != nil {
			return fmt.Errorf("--output: %w", err)
		}
		defer f.Close()
		out, colour = f, false
	}
	w, err := report.New(o.format, colour)
	if err != nil {
		return err
	}
	return w.Write(out, r)
}

// appendTo appends one rendering of the report to a file, as $GITHUB_STEP_SUMMARY wants.
func appendTo(file string, w report.Writer, r *report.Report) error {
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := w.Write(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// repoRoot is the enclosing Git work tree's root, which code scanning wants paths relative to; ""
// outside one.
func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
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
