package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"
	"github.com/spf13/cobra"

	"github.com/tokencheck/tokencheck/engine"
	"github.com/tokencheck/tokencheck/engine/decide"
	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/fsguard"
	"github.com/tokencheck/tokencheck/engine/ghapi"
	"github.com/tokencheck/tokencheck/engine/source/audit"
)

// reviewFormats are the formats a plan is written in.
var reviewFormats = []string{"text", "json"}

type reviewOptions struct {
	audit auditOptions // organisations, credentials, host and judging flags, as audit takes them
	Apply bool
	Log   string
}

func newReviewCmd(io streams) *cobra.Command {
	opts := &reviewOptions{}
	cmd := &cobra.Command{
		Use:   "review --org ORG",
		Short: "Decide pending fine-grained token requests by policy (a plan; --apply carries it out)",
		Long: `Read the organisation's pending fine-grained token requests (and, when the configuration revokes,
its approved grants), judge each with the rules, and print the plan: per request approve, deny or leave
for people, with the findings and the reason that would be sent to GitHub.

A request is judged as the token it would become once approved: approval-pending and approval-denied do
not count. What is decided automatically is configuration (the review: key of .tokencheck.yaml or
--config); by default violating requests are denied, nothing is approved and nothing revoked. A request
whose facts could not be read whole is always left for people.

Without --apply nothing is written to GitHub. With --apply the plan is carried out, paced under GitHub's
secondary rate limits: POST /orgs/ORG/personal-access-token-requests/ID and, for revocations, POST
/orgs/ORG/personal-access-tokens/ID. --log FILE appends every decision, applied or not, as one JSON line.

Credentials as for audit: an installation token in GH_TOKEN or GITHUB_TOKEN, or --app-id and --app-key.
The App needs the organization permission "Personal access token requests" (write; read for a dry run)
and, only for revocation, "Personal access tokens" (write).

Exit 0 the plan was made (and carried out), 2 bad input or configuration (max_revocations exceeded),
3 something could not be read or written.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return reviewRun(cmd, opts, io)
		},
	}
	a := &opts.audit
	f := cmd.Flags()
	f.StringVarP(&a.judge.Format, "format", "f", "text", "plan format: "+strings.Join(reviewFormats, ", "))
	f.StringVarP(&a.judge.Output, "output", "o", "", "write the plan to `FILE` instead of stdout")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(reviewFormats, cobra.ShellCompDirectiveNoFileComp))
	addPolicyFlags(cmd, &a.judge)
	a.api.addFlags(cmd, 30*time.Minute)
	f.StringArrayVar(&a.Orgs, "org", nil, "organisation `ORG` to review (repeatable)")
	f.StringVar(&a.OrgsFile, "orgs-file", "", "read organisations from `FILE`, one per line (# comments)")
	f.Int64Var(&a.AppID, "app-id", 0, "GitHub App `ID` to authenticate as (with --app-key)")
	f.StringVar(&a.AppKey, "app-key", "", "GitHub App private key `FILE` (PEM)")
	f.BoolVar(&a.WaitForRateLimit, "wait-for-rate-limit", false, "wait for an exhausted rate limit to reset instead of stopping that organisation as incomplete")
	f.IntVar(&a.Concurrency, "concurrency", 4, "organisations read at once (`N`)")
	f.BoolVar(&a.AllInstallations, "all-installations", false, "with --app-id/--app-key: review every organisation the App is installed on")
	f.StringSliceVar(&a.ExcludeOrgs, "exclude-org", nil, "leave organisation `ORG` out (repeatable, or a comma list); with --all-installations")
	f.BoolVar(&opts.Apply, "apply", false, "carry the plan out: send the approvals, denials and revocations to GitHub (without it nothing is written)")
	f.StringVar(&opts.Log, "log", "", "append every decision, applied or not, as one JSON line to `FILE`")
	return cmd
}

// addPolicyFlags registers the judging flags of the commands that decide (review, serve): the
// configuration, the rules and the gate, without the report flags.
func addPolicyFlags(cmd *cobra.Command, o *judgeOptions) {
	f := cmd.Flags()
	f.StringVar(&o.ConfigFile, "config", "", "settings, waivers and review: `FILE` (default: ./.tokencheck.yaml if present)")
	f.StringSliceVarP(&o.PolicyDirs, "policy", "p", nil, "`DIR` of extra Rego rules (repeatable, or a comma list)")
	f.StringSliceVarP(&o.DataFiles, "data", "d", nil, "JSON or YAML data `FILE` for extra rules (repeatable, or a comma list)")
	f.StringVar(&o.FailOn, "fail-on", "high", "lowest severity that makes a request violating: critical, high, medium, low, info, or never (deny nothing)")
	f.StringSliceVar(&o.Disable, "disable", nil, "turn off rule `ID` (repeatable, or a comma list)")
	f.StringVar(&o.Now, "now", "", "judge as of this `TIME` (RFC 3339, or a date: midnight UTC) instead of the clock")
	o.Color = "never"
}

// newDecider resolves the judging flags and the review: configuration. Any problem ends the run
// before anything is read or written (exit 2).
func newDecider(ctx context.Context, opts judgeOptions, io streams) (*judge, decide.Config, error) {
	j, err := newJudge(ctx, opts, io)
	if err != nil {
		return nil, decide.Config{}, err
	}
	cfg := j.policy.Config()
	rc, errs := decide.ParseConfig(cfg.Review, cfg.File)
	for _, e := range errs {
		j.fail("%v", e)
	}
	return j, rc, nil
}

// planOptions are how a judged subject is decided.
func planOptions(j *judge, rc decide.Config, webHost string) decide.Options {
	return decide.Options{Config: rc, FailOn: j.failOn, Catalog: j.catalog, Host: webHost,
		Template: decide.TemplateFrom(j.policy.Config().Settings)}
}

// webHost is the web host for template links: the --hostname or GH_HOST given ("" is github.com).
func (o *apiOptions) webHost(io streams) string {
	host := strings.ToLower(strings.TrimSpace(o.Hostname))
	if host == "" {
		host = strings.ToLower(strings.TrimSpace(io.Getenv("GH_HOST")))
	}
	if host == "api.github.com" || host == ghapi.DefaultHost {
		return ""
	}
	return strings.TrimPrefix(host, "api.")
}

// writeAPI is the API endpoint the decisions are written through: the same host as the reads, the
// review and revoke POSTs opened (and the App token POST for an App), one attempt per request so
// the applier's paced retries are the only ones.
func (o *apiOptions) writeAPI(io streams, app bool) (*ghapi.API, error) {
	host := o.Hostname
	if host == "" {
		host = io.Getenv("GH_HOST")
	}
	opts := ghapi.Options{Hostname: host, APIURL: o.APIURL, Retry: ghapi.Retry{Attempts: 1},
		AllowReviewWrites: true, AllowInstallationTokenPOST: app, UserAgent: "tokencheck/" + version}
	if o.Verbose {
		opts.Verbose = io.Err
	}
	return ghapi.New(opts)
}

// openDecisionLog opens --log for appending; a symbolic link is refused, as for every output.
func openDecisionLog(file string) (*os.File, error) {
	if fi, err := os.Lstat(file); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return nil, fmt.Errorf("--log: %s is a symbolic link; refusing to write through it", file)
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("--log: %w", err)
	}
	return f, nil
}

func reviewRun(cmd *cobra.Command, opts *reviewOptions, io streams) error {
	ctx := cmd.Context()
	a := &opts.audit
	if a.judge.Format != "text" && a.judge.Format != "json" {
		fmt.Fprintf(io.Err, "tokencheck: --format %q: a plan is written as %s\n", a.judge.Format, strings.Join(reviewFormats, " or "))
		return exitCodeError{exitError}
	}
	j, rc, err := newDecider(ctx, a.judge, io)
	if err != nil {
		return err
	}
	creds, err := auditCredentials(a, io)
	if err != nil {
		j.fail("%v", err)
	}
	if a.Concurrency < 1 || a.Concurrency > 64 {
		j.fail("--concurrency %d: want 1 to 64", a.Concurrency)
	}
	retry := ghapi.Retry{SecondaryRetries: 3, WaitForPrimary: a.WaitForRateLimit}
	api, err := a.api.api(io, creds.App != nil, retry)
	if err != nil {
		j.fail("%v", err)
	}
	var writes *ghapi.API
	if opts.Apply && api != nil {
		if writes, err = a.api.writeAPI(io, creds.App != nil); err != nil {
			j.fail("%v", err)
		}
	}
	var logFile *os.File
	if opts.Log != "" {
		if logFile, err = openDecisionLog(opts.Log); err != nil {
			j.fail("%v", err)
		} else {
			defer logFile.Close() // closed and checked below; this covers the early returns
		}
	}
	var installed []string
	if a.AllInstallations {
		switch {
		case creds.App == nil:
			j.fail("--all-installations lists the App's installations: pass --app-id and --app-key")
		case api != nil:
			installed = appInstallations(ctx, j, api, creds.App, io)
		}
	}
	orgs := auditOrgs(a, j, installed)
	// A command that writes to GitHub starts nothing on a doubtful footing: any bad flag, name or
	// file ends the run here, before anything is read or written.
	var usage []finding.Problem
	for _, p := range j.problems {
		if p.Kind == finding.Input {
			usage = append(usage, p)
		}
	}
	if len(usage) > 0 {
		return j.usageError(usage)
	}
	fo, err := newFactsOut(a.api.FactsOut)
	if err != nil {
		return j.usageError([]finding.Problem{{Kind: finding.Input, Message: err.Error()}})
	}

	revoke := rc.Revoke == decide.RevokeViolating
	src := &audit.Source{API: api, Credentials: creds, Catalog: j.catalog, Options: audit.Options{
		Orgs: orgs, Repositories: revoke, NoGrants: !revoke, OrgConcurrency: a.Concurrency,
	}}
	var sources []engine.Source
	if len(orgs) > 0 {
		sources = append(sources, src)
	}
	cctx, cancel := context.WithTimeout(ctx, a.api.Timeout)
	defer cancel()
	j.hold = true // decisions are taken on every token's findings after the run
	res, err := j.run(cctx, fo.observe(), sources...)
	if err != nil {
		return err
	}
	closeFacts(fo, res)
	collected := src.Result
	if collected == nil {
		collected = &audit.Result{}
	}

	plan := decide.MakePlan(reviewSubjects(collected, res), withNow(planOptions(j, rc, a.api.webHost(io)), j.now))
	plan.Problems = append(append([]finding.Problem(nil), res.Problems...), plan.Problems...)
	failed := writePlan(plan, a.judge, io)

	aopts := decide.ApplyOptions{Apply: opts.Apply, Log: writerOrNil(logFile), Attempts: a.api.Retries}
	clients := map[string]*github.Client{}
	if opts.Apply {
		aopts.Host = writes.Host()
	} else if len(plan.Writes()) > 0 {
		fmt.Fprintf(io.Err, "tokencheck: dry run: %d decision(s) not sent to GitHub; pass --apply to carry the plan out\n", len(plan.Writes()))
	}
	applier := decide.NewApplier(nil, aopts)
	var results []decide.Result
	for _, d := range plan.Decisions {
		var client *github.Client
		if opts.Apply && d.Action.Writes() {
			if client = clients[d.Org]; client == nil {
				client = creds.OrgClient(writes, d.Org)
				clients[d.Org] = client
			}
		}
		results = append(results, applier.DoWith(ctx, client, d))
	}
	writeFailed := reportOutcomes(results, opts.Apply, io)
	if err := applier.LogError(); err != nil {
		fmt.Fprintf(io.Err, "tokencheck: --log: %v\n", err)
		writeFailed = true
	}
	if logFile != nil {
		if err := logFile.Close(); err != nil {
			fmt.Fprintf(io.Err, "tokencheck: --log: %v\n", err)
			writeFailed = true
		}
	}
	return reviewExit(plan.Problems, failed, writeFailed)
}

// withNow fixes the plan's clock.
func withNow(o decide.Options, now time.Time) decide.Options {
	o.Now = now
	return o
}

func writerOrNil(f *os.File) io.Writer {
	if f == nil {
		return nil
	}
	return f
}

// reviewSubjects pairs the collected requests (and grants) with their findings and GitHub's ids.
// A list of the organisation that could not be read whole leaves every subject of that kind in it
// for people: an incomplete collection never decides.
func reviewSubjects(c *audit.Result, res *finding.Result) []decide.Subject {
	subjects := decide.Subjects(c.Tokens, res.Findings, func(t facts.Token) (int64, bool) {
		id := c.GitHubIDs[t.ID].Grant
		return id, id != 0
	})
	for i := range subjects {
		s := &subjects[i]
		if s.Kind == decide.KindRequest {
			s.TokenID = c.GitHubIDs[s.Token.ID].Token
		}
		for _, p := range res.Problems {
			if p.Kind == finding.Incomplete && problemCovers(p, s) {
				s.Problems = append(s.Problems, p)
			}
		}
	}
	return subjects
}

// problemCovers reports whether an incomplete part of the collection may concern the subject.
func problemCovers(p finding.Problem, s *decide.Subject) bool {
	prefix := "org:" + s.Org + " "
	what, ok := strings.CutPrefix(p.Source, prefix)
	if !ok {
		return false
	}
	switch {
	case what == "(all endpoints)":
		return true
	case s.Kind == decide.KindRequest:
		return strings.HasPrefix(what, "personal-access-token-requests")
	default:
		return what == "personal-access-tokens" || what == fmt.Sprintf("personal-access-tokens/%d/repositories", s.ID)
	}
}

// writePlan writes the plan to stdout or --output; problems go to stderr too unless a text plan on
// stdout already says them. It reports whether the plan could not be written.
func writePlan(plan decide.Plan, opts judgeOptions, out streams) bool {
	write := func(w io.Writer) error {
		if opts.Format == "json" {
			return plan.WriteJSON(w)
		}
		return plan.WriteText(w)
	}
	var err error
	if opts.Output == "" || opts.Output == "-" {
		err = write(out.Out)
	} else {
		err = fsguard.WriteAtomic(opts.Output, nil, write)
	}
	if err != nil {
		fmt.Fprintf(out.Err, "tokencheck: --output: %v\n", err)
	}
	if opts.Format != "text" || (opts.Output != "" && opts.Output != "-") {
		for _, p := range plan.Problems {
			fmt.Fprintf(out.Err, "tokencheck: %s\n", p.Error())
		}
	}
	return err != nil
}

// reportOutcomes says on stderr what became of the writes; it reports whether any failed.
func reportOutcomes(results []decide.Result, apply bool, io streams) bool {
	if !apply {
		return false
	}
	counts := map[decide.Outcome]int{}
	for _, r := range results {
		if r.Decision.Action.Writes() {
			counts[r.Outcome]++
		}
	}
	for _, r := range decide.Failed(results) {
		d := r.Decision
		fmt.Fprintf(io.Err, "tokencheck: %s/%s %d: %s not written: %s; it stays as it is for the next sweep\n", d.Org, d.Kind, d.ID, d.Action, r.Message)
	}
	fmt.Fprintf(io.Err, "tokencheck: %d applied, %d already reviewed by someone else, %d failed\n",
		counts[decide.OutcomeApplied], counts[decide.OutcomeAlreadyReviewed], counts[decide.OutcomeFailed])
	return counts[decide.OutcomeFailed] > 0
}

// reviewExit is the exit code of a review: 2 for bad input (max_revocations exceeded, a plan that
// could not be written), 3 for a part that could not be read or a write that failed, else 0.
// Findings do not fail a review: deciding them is its job.
func reviewExit(problems []finding.Problem, outputFailed, writeFailed bool) error {
	incomplete := writeFailed
	for _, p := range problems {
		switch p.Kind {
		case finding.Input:
			return exitCodeError{exitError}
		case finding.Incomplete:
			incomplete = true
		}
	}
	switch {
	case outputFailed:
		return exitCodeError{exitError}
	case incomplete:
		return exitCodeError{exitIncomplete}
	}
	return nil
}
