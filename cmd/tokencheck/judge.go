package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokencheck/tokencheck/engine"
	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/fsguard"
	"github.com/tokencheck/tokencheck/engine/policy"
	"github.com/tokencheck/tokencheck/engine/report"
	"github.com/tokencheck/tokencheck/engine/safe"
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
	Quiet      bool
	Color      string
	// command is the name of the command the flags belong to (check, scan, audit).
	command string
}

func (o *judgeOptions) addFlags(cmd *cobra.Command) {
	o.command = cmd.Name()
	f := cmd.Flags()
	f.StringVarP(&o.Format, "format", "f", "text", "report format: "+strings.Join(report.Formats, ", "))
	f.StringVarP(&o.Output, "output", "o", "", "write the report to `FILE` instead of stdout")
	f.StringVar(&o.ConfigFile, "config", "", "settings and waivers `FILE` (default: ./.tokencheck.yaml if present)")
	f.StringSliceVarP(&o.PolicyDirs, "policy", "p", nil, "`DIR` of extra Rego rules (repeatable, or a comma list)")
	f.StringSliceVarP(&o.DataFiles, "data", "d", nil, "JSON or YAML data `FILE` for extra rules (repeatable, or a comma list)")
	f.StringVar(&o.FailOn, "fail-on", "high", "lowest severity that fails the run: critical, high, medium, low, info, or never (report only)")
	f.StringSliceVar(&o.Disable, "disable", nil, "turn off rule `ID` (repeatable, or a comma list)")
	f.StringVar(&o.Now, "now", "", "judge as of this `TIME` (RFC 3339, or a date: midnight UTC) instead of the clock, for reproducible runs")
	f.StringArrayVar(&o.Also, "also", nil, "also write the report as `FORMAT[=FILE]` (stdout without =FILE); repeatable, e.g. --also text --also junit=junit.xml")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "write the report only when the run does not pass (errors are always said)")
	f.StringVar(&o.Color, "color", "auto", "colour the text report: auto (a terminal, unless NO_COLOR is set or TERM=dumb), always, never")
	f.BoolVar(&o.Summary, "summary", false, "also append a Markdown summary to $GITHUB_STEP_SUMMARY when it is set")
	f.StringVar(&o.Baseline, "baseline", "", "JSON report `FILE` of an earlier run: only findings not in it fail the gate")
	f.StringVar(&o.WriteBase, "write-baseline", "", "write this run's findings to `FILE` as a baseline (a JSON report)")
}

// output is one report to write: a format and a file ("" for stdout).
type output struct{ format, file string }

// judge is what the shared flags resolve into: the compiled policy, the clock, the gate, the
// outputs, and every problem met on the way. A problem does not stop the run: what can still be
// judged is judged, and the run exits 2.
type judge struct {
	opts     judgeOptions
	io       streams
	catalog  *facts.Catalog
	policy   *policy.Evaluator
	config   policy.Config
	now      time.Time
	failOn   finding.Severity
	problems []finding.Problem
	outputs  []output
	baseline engine.Baseline
	// evalTimeout bounds the evaluation (--timeout): an expensive rule ends the run with exit 2
	// and its name, not a hang.
	evalTimeout time.Duration
	// hold keeps every token and finding in the run's result instead of streaming them to the
	// outputs (review decides on them after the run; it writes no report).
	hold bool
	// onJudged, when set, also sees each judged batch with its findings (audit counts them).
	onJudged func([]facts.Token, []finding.Finding)
	// report and sinks are the run's report head and outputs, started before judging.
	report *report.Report
	sinks  []*sink
}

// newJudge resolves the shared flags and compiles the policies. A bad flag or configuration value
// ends the run before any work, with exit 2, the problems on stderr and nothing written, as
// conftest, trivy and gh do. A user policy that does not compile is recorded, and the run goes on
// with the built-in rules; only a broken built-in set is fatal.
func newJudge(ctx context.Context, opts judgeOptions, io streams) (*judge, error) {
	j := &judge{opts: opts, io: io, now: time.Now().UTC(), failOn: finding.High}
	cat, err := policy.LoadCatalog()
	if err != nil {
		return nil, err
	}
	j.catalog = cat
	j.checkFlags()
	if opts.Baseline != "" {
		b, err := engine.LoadBaseline(opts.Baseline)
		if err != nil {
			j.fail("--baseline: %v", err)
		} else {
			j.baseline = b
		}
	}
	cfg, cfgProblems := j.loadConfig()
	j.config = cfg
	if usage := j.problems; len(usage) > 0 {
		return nil, j.usageError(usage)
	}
	// What is wrong inside the configuration file is input with a file and line, as an inventory's
	// errors are: reported with everything else, the rest judged with the defaults.
	j.problems = append(j.problems, cfgProblems...)
	popts := policy.Options{Config: cfg, PolicyDirs: opts.PolicyDirs, DataFiles: opts.DataFiles, Disable: j.opts.Disable, Catalog: cat, Now: j.now}
	p, err := policy.New(ctx, popts)
	if err != nil && (len(opts.PolicyDirs) > 0 || len(opts.DataFiles) > 0) {
		j.fail("%v; judging with the built-in rules only", err)
		popts.PolicyDirs, popts.DataFiles = nil, nil
		p, err = policy.New(ctx, popts)
	}
	if err != nil {
		return nil, err
	}
	var unknown []finding.Problem
	for _, id := range p.UnknownDisabled() {
		unknown = append(unknown, finding.Problem{Kind: finding.Input, Message: fmt.Sprintf("--disable %s: no such rule (tokencheck policy list shows them)", id)})
	}
	j.problems = append(j.problems, p.ConfigProblems()...)
	if len(unknown) > 0 {
		return nil, j.usageError(unknown)
	}
	j.policy = p
	return j, nil
}

// checkFlags validates the values of the shared flags, each problem naming its flag and the
// accepted values.
func (j *judge) checkFlags() {
	// Rule ids in a comma list may be written "a, b".
	var disable []string
	for _, id := range j.opts.Disable {
		if id = strings.TrimSpace(id); id != "" {
			disable = append(disable, id)
		}
	}
	j.opts.Disable = disable
	opts := j.opts
	if opts.Now != "" {
		if t, err := facts.ParseTime(opts.Now); err != nil {
			j.fail("--now %q: want an RFC 3339 time such as 2026-11-22T00:00:00Z or a date such as 2026-11-22", opts.Now)
		} else {
			j.now = t.UTC()
		}
	}
	if strings.EqualFold(strings.TrimSpace(opts.FailOn), string(finding.Never)) {
		j.failOn = finding.Never
	} else if sev, err := finding.ParseSeverity(opts.FailOn); err != nil {
		j.fail("--fail-on: %v, or never", err)
	} else {
		j.failOn = sev
	}
	if _, err := report.New(opts.Format, false); err != nil {
		j.fail("--format: %v", err)
	}
	j.outputs = []output{{opts.Format, opts.Output}}
	for _, a := range opts.Also {
		format, file, _ := strings.Cut(a, "=")
		if _, err := report.New(format, false); err != nil {
			j.fail("--also %s: %v", a, err)
			continue
		}
		j.outputs = append(j.outputs, output{format, file})
	}
	toStdout := 0
	for _, o := range j.outputs {
		if o.file == "" || o.file == "-" {
			toStdout++
		}
	}
	if toStdout > 1 {
		j.fail("--also: %d reports would go to stdout and mix; give all but one a file (--also FORMAT=FILE, or --output FILE)", toStdout)
	}
	for i := range j.outputs {
		if j.outputs[i].file == "-" {
			j.outputs[i].file = ""
		}
	}
	switch opts.Color {
	case "auto", "always", "never":
	default:
		j.fail("--color %q: want auto, always or never", opts.Color)
	}
}

// refuseOverlaps refuses, before any work, an output that is also one of the run's inputs (the
// files named on the command line, the configuration, the baseline): writing it would destroy the
// input, or judge a report as an inventory. factsOut is --facts-out, "" when none.
func (j *judge) refuseOverlaps(inputs []string, factsOut string) error {
	outs := map[string]string{}
	for i, o := range j.outputs {
		flag := "--output"
		if i > 0 {
			flag = "--also"
		}
		if o.file != "" {
			outs[o.file] = flag
		}
	}
	if j.opts.WriteBase != "" {
		outs[j.opts.WriteBase] = "--write-baseline"
	}
	if factsOut != "" {
		outs[factsOut] = "--facts-out"
	}
	inputs = append(inputs, j.opts.ConfigFile, j.opts.Baseline)
	var problems []finding.Problem
	for out, flag := range outs {
		for _, in := range inputs {
			if in != "" && in != "-" && sameFile(out, in) {
				problems = append(problems, finding.Problem{Kind: finding.Input, Message: fmt.Sprintf("%s %s is also an input of this run; write the report elsewhere", flag, out)})
				break
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return j.usageError(problems)
}

// sameFile reports whether two paths name one file: the same clean absolute path, or, when both
// exist, the same file on disk (a link, another spelling).
func sameFile(a, b string) bool {
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	if errA == nil && errB == nil && absA == absB {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// usageError says every problem with the flags or the configuration on stderr and ends the run
// with exit 2 before any input is read.
func (j *judge) usageError(problems []finding.Problem) error {
	for _, p := range problems {
		fmt.Fprintf(j.io.Err, "tokencheck: %s\n", safe.Text(p.Error()))
	}
	return exitCodeError{finding.ExitError}
}

// loadConfig reads --config (or ./.tokencheck.yaml). A file that cannot be read at all is a bad
// flag value (recorded for the early exit); the problems inside it are returned, to be reported.
func (j *judge) loadConfig() (policy.Config, []finding.Problem) {
	file := j.opts.ConfigFile
	if file == "" {
		if _, err := os.Stat(policy.DefaultConfigFile); err != nil {
			cfg, _ := policy.DefaultConfig()
			return cfg, nil
		}
		file = policy.DefaultConfigFile
	}
	if fi, err := os.Stat(file); err != nil || !fi.Mode().IsRegular() {
		msg := "not a regular file"
		if err != nil {
			msg = err.Error()
		}
		j.fail("--config: %s", msg)
		cfg, _ := policy.DefaultConfig()
		return cfg, nil
	}
	cfg, err := policy.LoadConfig(file)
	var problems []finding.Problem
	if err != nil {
		for _, e := range unjoin(err) {
			problems = append(problems, finding.Problem{Kind: finding.Input, Message: e.Error()})
		}
	}
	return cfg, problems
}

// fail records a problem with the flags or the configuration; its message names the flag.
func (j *judge) fail(format string, args ...any) {
	j.problems = append(j.problems, finding.Problem{Kind: finding.Input, Message: fmt.Sprintf(format, args...)})
}

// problem records a problem found while preparing the sources.
func (j *judge) problem(p finding.Problem) { j.problems = append(j.problems, p) }

// run judges the sources through the pipeline; observe, when set, sees every batch. The report
// is written as the tokens are judged: every output is started first and each judged token goes
// to all of them, so memory does not grow with the token count (conclude finishes them). With
// j.hold the tokens and findings are kept in the result instead.
func (j *judge) run(ctx context.Context, observe func([]facts.Token) error, sources ...engine.Source) (*finding.Result, error) {
	opts := engine.Options{
		Policy: j.policy, Now: j.now, FailOn: j.failOn, Baseline: j.baseline, Problems: j.problems, Observe: observe,
		EvalTimeout: j.evalTimeout,
	}
	if !j.hold {
		j.startOutputs()
		opts.Judged = judged(j.sinks, j.onJudged)
	}
	res, err := engine.Run(ctx, opts, sources...)
	if err != nil {
		// The run failed: no report says how it ended, and no half-written file is left.
		for _, s := range j.sinks {
			s.discard()
		}
		j.sinks = nil
		return nil, err
	}
	return res, nil
}

// startOutputs starts every output of the run, once, before anything is judged.
func (j *judge) startOutputs() {
	if j.report == nil {
		j.report = j.newReport(&finding.Result{Now: j.now.UTC().Format(time.RFC3339), FailOn: j.failOn, Rules: j.policy.Rules()})
		j.sinks = j.openSinks(j.report)
	}
}

// writing lists the temporary files the run's outputs are being written to: a walk of the
// directory they are in must not read a half-written report as an input.
func (j *judge) writing() []string {
	var files []string
	for _, s := range j.sinks {
		if s.atomic != nil {
			files = append(files, s.atomic.Name())
		}
	}
	return files
}

// newReport is the report of a result with this run's tool, version and settings.
func (j *judge) newReport(res *finding.Result) *report.Report {
	r := &report.Report{Tool: "tokencheck", Version: currentVersion().Version, Result: res, SourceRoot: repoRoot(),
		Command: j.opts.command, Category: j.io.Getenv(report.CategoryEnv)}
	if j.baseline != nil {
		r.Baseline = j.opts.Baseline
	}
	return r
}

// conclude finishes the report of a run in every requested format and returns the exit code as an
// error (nil for 0). augment, when set, adds a command's own parts to the report. An output that
// cannot be written is said on stderr, the others are still written, and the run exits 2.
func (j *judge) conclude(res *finding.Result, augment func(*report.Report)) error {
	r := j.report
	if r == nil {
		r = j.newReport(res)
	}
	r.Result = res
	if augment != nil {
		augment(r)
	}
	code := res.ExitCode()
	keep := !j.opts.Quiet || code != finding.ExitOK
	failed := false
	for _, s := range j.sinks {
		if err := s.finish(j, r, keep); err != nil {
			failed = true
			fmt.Fprintf(j.io.Err, "tokencheck: %s\n", err)
		}
	}
	j.sinks = nil
	if keep {
		j.echoProblems(r)
	}
	if failed {
		code = finding.ExitError
	}
	if code == finding.ExitOK {
		return nil
	}
	return exitCodeError{code}
}

// echoProblems says on stderr what a person might not see in the report: inputs found but not
// read, always; errors, when no text report goes to stdout.
func (j *judge) echoProblems(r *report.Report) {
	for _, p := range r.Notices() {
		fmt.Fprintf(j.io.Err, "tokencheck: notice: %s\n", safe.Text(p.Error()))
	}
	toStdout := false
	for _, o := range j.outputs {
		toStdout = toStdout || o.file == ""
	}
	if !toStdout || !textLike(j.outputs) {
		// Nobody reads errors in a file or in machine output on stdout: say them on stderr too.
		for _, p := range r.Errors() {
			fmt.Fprintf(j.io.Err, "tokencheck: %s\n", safe.Text(p.Error())) // data in errors cannot start a line
		}
	}
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

// colour reports whether the text report on stdout is coloured (--color).
func (j *judge) colour() bool {
	switch j.opts.Color {
	case "always":
		return true
	case "never":
		return false
	}
	return j.io.OutTTY && j.io.Getenv("NO_COLOR") == "" && j.io.Getenv("TERM") != "dumb"
}

// factsOut streams the collected facts to a file as they are judged (--facts-out). Its close
// finishes the document; the file appears only when it is whole.
type factsOut struct {
	file *fsguard.AtomicFile
	doc  *facts.DocumentWriter
}

// newFactsOut starts a facts document for --facts-out; "" writes none.
func newFactsOut(file string) (*factsOut, error) {
	if file == "" {
		return nil, nil
	}
	f, err := fsguard.CreateAtomic(file)
	if err != nil {
		return nil, fmt.Errorf("--facts-out: %w", err)
	}
	return &factsOut{file: f, doc: facts.NewDocumentWriter(f)}, nil
}

// observe is the pipeline's Observe hook: nil when no document is written.
func (f *factsOut) observe() func([]facts.Token) error {
	if f == nil {
		return nil
	}
	return func(batch []facts.Token) error {
		if err := f.doc.Write(batch); err != nil {
			return fmt.Errorf("--facts-out: %w", err)
		}
		return nil
	}
}

// abort removes the unfinished document.
func (f *factsOut) abort() {
	if f != nil {
		f.file.Abort()
	}
}

// close finishes the document and puts it in place; nil when none was written.
func (f *factsOut) close() error {
	if f == nil {
		return nil
	}
	if err := f.doc.Close(); err != nil {
		f.file.Abort()
		return fmt.Errorf("--facts-out: %w", err)
	}
	if err := f.file.Commit(); err != nil {
		return fmt.Errorf("--facts-out: %w", err)
	}
	return nil
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

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// collect runs the sources of a command that talks to GitHub: bounded by --timeout (collection and
// judging), the facts saved to --facts-out as they are judged.
func (j *judge) collect(ctx context.Context, api apiOptions, sources ...engine.Source) (*finding.Result, error) {
	fo, err := newFactsOut(api.FactsOut)
	if err != nil {
		j.fail("%v", err)
	}
	j.evalTimeout = api.Timeout
	cctx, cancel := context.WithTimeout(ctx, api.Timeout)
	defer cancel()
	res, err := j.run(cctx, fo.observe(), sources...)
	if err != nil {
		fo.abort() // a document of part of the tokens must not look whole
		return nil, err
	}
	closeFacts(fo, res)
	return res, nil
}

// closeFacts finishes the --facts-out document and adds its failure, if any, to the result.
func closeFacts(fo *factsOut, res *finding.Result) {
	if err := fo.close(); err != nil {
		res.Problems = append(res.Problems, finding.Problem{Kind: finding.Input, Message: err.Error()})
		res.Summarize()
	}
}
