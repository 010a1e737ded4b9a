package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokencheck/tokencheck/engine"
	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/ghapi"
	"github.com/tokencheck/tokencheck/engine/report"
	"github.com/tokencheck/tokencheck/engine/source/audit"
)

type auditOptions struct {
	judge            judgeOptions
	api              apiOptions
	Orgs             []string
	OrgsFile         string
	AppID            int64
	AppKey           string
	OwnerTokenEnv    string
	Repositories     bool
	NoCredentials    bool
	WaitForRateLimit bool
	PreviewDays      int
	Concurrency      int
	AllInstallations bool
	ExcludeOrgs      []string
	Owners           []string
}

func newAuditCmd(io streams) *cobra.Command {
	opts := &auditOptions{}
	cmd := &cobra.Command{
		Use:   "audit --org ORG",
		Short: "Judge every token with access to an organisation (authenticates as a GitHub App)",
		Long: `List, read-only, every fine-grained token with access to the organisation
(GET /orgs/ORG/personal-access-tokens), the pending requests (.../personal-access-token-requests) and, on
Enterprise Cloud with SAML, the credential authorizations of classic tokens, and judge them all.

GitHub answers the first two to GitHub Apps only: pass an installation token in GH_TOKEN or GITHUB_TOKEN
(what actions/create-github-app-token gives a workflow), or --app-id and --app-key to mint one per
organisation. The App needs the organization permissions "Personal access tokens" and "Personal access
token requests" (read), and "Administration" (read) for credential authorizations, which an org
owner's token with read:org may read instead (--owner-token-env).

A pending request for a token the organisation already approved (an upgrade request) is judged with
its grant as one token, on what it would have once approved. --owner LOGIN limits the audit to the
tokens of those accounts.

A part that cannot be read whole is reported incomplete (exit 3), never as zero tokens.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return auditRun(cmd, opts, io)
		},
	}
	opts.judge.addFlags(cmd)
	opts.api.addFlags(cmd, 30*time.Minute)
	f := cmd.Flags()
	f.StringArrayVar(&opts.Orgs, "org", nil, "organisation `ORG` to audit (repeatable)")
	f.StringVar(&opts.OrgsFile, "orgs-file", "", "read organisations from `FILE`, one per line (# comments)")
	f.Int64Var(&opts.AppID, "app-id", 0, "GitHub App `ID` to authenticate as (with --app-key)")
	f.StringVar(&opts.AppKey, "app-key", "", "GitHub App private key `FILE` (PEM)")
	f.StringVar(&opts.OwnerTokenEnv, "owner-token-env", "", "environment `VAR` holding an org owner's token for credential authorizations (default: the main token)")
	f.BoolVar(&opts.Repositories, "repositories", false, "also list the repositories of grants limited to a subset (one call per grant)")
	f.BoolVar(&opts.NoCredentials, "no-credential-authorizations", false, "skip SAML credential authorizations (organisations not on Enterprise Cloud with SAML)")
	f.BoolVar(&opts.WaitForRateLimit, "wait-for-rate-limit", false, "wait for an exhausted rate limit to reset instead of stopping that organisation as incomplete")
	f.IntVar(&opts.PreviewDays, "preview-max-lifetime", 0, "list the tokens a GitHub maximum-lifetime policy of `DAYS` would block")
	f.IntVar(&opts.Concurrency, "concurrency", 4, "organisations read at once (`N`), each with its own installation token and rate limit")
	f.BoolVar(&opts.AllInstallations, "all-installations", false, "with --app-id/--app-key: audit every organisation the App is installed on")
	f.StringSliceVar(&opts.ExcludeOrgs, "exclude-org", nil, "leave organisation `ORG` out (repeatable, or a comma list); with --all-installations")
	f.StringSliceVar(&opts.Owners, "owner", nil, "audit only the tokens of user `LOGIN` (repeatable, or a comma list): GitHub's owner[] filter")
	return cmd
}

func auditRun(cmd *cobra.Command, opts *auditOptions, io streams) error {
	ctx := cmd.Context()
	j, err := newJudge(ctx, opts.judge, io)
	if err != nil {
		return err
	}
	if err := j.refuseOverlaps([]string{opts.OrgsFile, opts.AppKey}, opts.api.FactsOut); err != nil {
		return err
	}
	creds, err := auditCredentials(opts, io)
	if err != nil {
		j.fail("%v", err)
	}
	if opts.Concurrency < 1 || opts.Concurrency > 64 {
		j.fail("--concurrency %d: want 1 to 64; using 4", opts.Concurrency)
		opts.Concurrency = 4
	}
	if opts.PreviewDays < 0 || opts.PreviewDays > 366 {
		j.fail("--preview-max-lifetime %d: GitHub's policy takes 1 to 366 days", opts.PreviewDays)
		opts.PreviewDays = 0
	}
	retry := ghapi.Retry{SecondaryRetries: 3, WaitForPrimary: opts.WaitForRateLimit}
	api, err := opts.api.api(io, creds.App != nil, retry)
	if err != nil {
		j.fail("%v", err)
	}
	var installed []string
	if opts.AllInstallations {
		switch {
		case creds.App == nil:
			j.fail("--all-installations lists the App's installations: pass --app-id and --app-key")
		case api != nil:
			installed = appInstallations(ctx, j, api, creds.App, io)
		}
	}
	orgs := auditOrgs(opts, j, installed)
	owners, ownersOK := auditOwners(opts, j)
	src := &audit.Source{API: api, Credentials: creds, Catalog: j.catalog, Options: audit.Options{
		Orgs: orgs, Owners: owners, Repositories: opts.Repositories, Credentials: !opts.NoCredentials, OrgConcurrency: opts.Concurrency,
		Hints: audit.Hints{
			NoCredentials: "pass --no-credential-authorizations for other organisations",
			OwnerToken:    "pass one with --owner-token-env VAR",
		},
	}}
	if opts.OwnerTokenEnv != "" {
		v := io.Getenv(opts.OwnerTokenEnv)
		owner := facts.NewSecret(v)
		switch err := owner.Check(); {
		case owner.Empty():
			j.fail("--owner-token-env %s: the variable is empty or unset", opts.OwnerTokenEnv)
		case err != nil:
			j.fail("--owner-token-env %s: %v; not sent", opts.OwnerTokenEnv, err)
		default:
			src.Options.Owner = owner
		}
	}
	if io.ErrTTY && !opts.api.Verbose {
		src.Options.Progress = func(p audit.Progress) {
			fmt.Fprintf(io.Err, "\r\x1b[Ktokencheck: %s: %d page(s), %d token(s)", p.Org, p.Pages, p.Tokens)
		}
	}
	var sources []engine.Source
	if api != nil && len(orgs) > 0 && ownersOK && (creds.App != nil || !creds.Token.Empty()) {
		sources = append(sources, src)
	}
	// Findings stream to the report: counted by rule and owner as they are judged.
	summary := &report.AuditSummary{Orgs: orgs, FindingsByRule: map[string]int{}}
	j.onJudged = func(batch []facts.Token, fs []finding.Finding) {
		owners := make(map[string]string, len(batch))
		for i := range batch {
			owners[batch[i].ID] = batch[i].Owner
		}
		summary.Count(fs, owners)
	}
	res, err := j.collect(ctx, opts.api, sources...)
	if err != nil {
		return err
	}
	if src.Options.Progress != nil {
		fmt.Fprint(io.Err, "\r\x1b[K")
	}
	collected := src.Result
	if collected == nil {
		collected = &audit.Result{Counts: map[string]int{}}
	}
	if n := skippedNote(collected.Skipped); n != "" {
		fmt.Fprintf(io.Err, "tokencheck: credential authorizations that are not tokens, listed by GitHub but not judged: %s\n", n)
	}
	return j.conclude(res, func(r *report.Report) {
		a := summary
		a.TokensBySource, a.APIPages = collected.Counts, collected.Pages
		a.RankOwners(10)
		if opts.PreviewDays > 0 {
			a.Preview = &report.LifetimePreview{Days: opts.PreviewDays, Blocked: []report.PreviewToken{}}
			for _, b := range audit.PreviewMaxLifetime(collected.Tokens, opts.PreviewDays, j.now) {
				a.Preview.Blocked = append(a.Preview.Blocked, report.PreviewToken{Token: b.Token.ID, Name: b.Token.Name, Owner: b.Token.Owner, Type: string(b.Token.Type), Reason: b.Reason})
			}
		}
		r.Audit = a
	})
}

// auditOwners checks --owner: a login GitHub cannot have is an input error (exit 2). ok is false
// when logins were given but none is valid: a targeted audit of nobody is not an audit of everybody.
func auditOwners(opts *auditOptions, j *judge) (owners []string, ok bool) {
	for _, o := range opts.Owners {
		if o = strings.TrimSpace(o); !audit.ValidLogin(o) {
			j.problem(finding.Problem{Kind: finding.Input, Source: "--owner", Message: fmt.Sprintf("%q is not a GitHub login", o)})
			continue
		}
		owners = append(owners, o)
	}
	return owners, len(opts.Owners) == 0 || len(owners) > 0
}

// skippedNote lists the skipped credentials by type ("SSH key 2, other 1"), "" when none were.
func skippedNote(skipped map[string]int) string {
	kinds := make([]string, 0, len(skipped))
	for k := range skipped {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, skipped[k])
	}
	return strings.Join(parts, ", ")
}

// auditOrgs gathers --org and --orgs-file, each org once, checking names.
func auditOrgs(opts *auditOptions, j *judge, installed []string) []string {
	var orgs []string
	errs := 0
	seen := map[string]bool{}
	for _, o := range opts.ExcludeOrgs {
		if o = strings.TrimSpace(o); !audit.ValidOrg(o) {
			j.problem(finding.Problem{Kind: finding.Input, Source: "--exclude-org", Message: fmt.Sprintf("%q is not a GitHub organisation name", o)})
			errs++
		} else {
			seen[strings.ToLower(o)] = true
		}
	}
	add := func(org string, p finding.Problem) {
		if !audit.ValidOrg(org) {
			p.Kind, p.Message = finding.Input, fmt.Sprintf("%q is not a GitHub organisation name", org)
			j.problem(p)
			errs++
			return
		}
		if key := strings.ToLower(org); !seen[key] {
			seen[key] = true
			orgs = append(orgs, org)
		}
	}
	for _, o := range opts.Orgs {
		add(strings.TrimSpace(o), finding.Problem{Source: "--org"})
	}
	for _, o := range installed {
		add(o, finding.Problem{Source: "--all-installations"})
	}
	if opts.OrgsFile != "" {
		f, err := os.Open(opts.OrgsFile)
		if err != nil {
			j.fail("--orgs-file: %v", err)
			errs++
		} else {
			sc := bufio.NewScanner(f)
			for n := 1; sc.Scan(); n++ {
				line := strings.TrimSpace(sc.Text())
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				add(line, finding.Problem{File: opts.OrgsFile, Line: n})
			}
			f.Close()
		}
	}
	if len(orgs) == 0 && errs == 0 && !opts.AllInstallations {
		j.fail("no organisation to audit: pass --org ORG (repeatable), --orgs-file FILE or --all-installations")
	}
	return orgs
}

// appInstallations lists the organisations the App is installed on. A listing that fails leaves
// the audit incomplete (exit 3), or is an input error when the App's credentials or the host are
// wrong (exit 2); user accounts the App is installed on are said on stderr, not audited.
func appInstallations(ctx context.Context, j *judge, api *ghapi.API, app *audit.App, io streams) []string {
	orgs, users, err := audit.InstallationOrgs(ctx, api, app)
	if err != nil {
		kind := finding.Incomplete
		var f *ghapi.Failure
		if errors.As(err, &f) && (f.Kind == ghapi.KindRejected || f.Kind == ghapi.KindNetwork) {
			kind = finding.Input
		}
		j.problem(finding.Problem{Kind: kind, Source: "--all-installations", Message: err.Error()})
	}
	if len(users) > 0 {
		fmt.Fprintf(io.Err, "tokencheck: --all-installations: %d installation(s) on user accounts are not organisations and are not audited\n", len(users))
	}
	if err == nil && len(orgs) == 0 {
		j.problem(finding.Problem{Kind: finding.Incomplete, Source: "--all-installations", Message: "the App is installed on no organisation"})
	}
	return orgs
}

// auditCredentials picks the App (--app-id/--app-key) or the token in GH_TOKEN/GITHUB_TOKEN.
func auditCredentials(opts *auditOptions, io streams) (audit.Credentials, error) {
	if opts.AppID != 0 || opts.AppKey != "" {
		if opts.AppID <= 0 || opts.AppKey == "" {
			return audit.Credentials{}, errors.New("--app-id and --app-key go together: the App's numeric id and its private key file")
		}
		key, err := audit.LoadAppKey(opts.AppKey)
		if err != nil {
			return audit.Credentials{}, fmt.Errorf("--app-key: %w", err)
		}
		return audit.Credentials{App: &audit.App{ID: opts.AppID, Key: key}}, nil
	}
	if name, v := opts.api.envToken(io); v != "" {
		s := facts.NewSecret(v)
		if err := s.Check(); err != nil {
			return audit.Credentials{}, fmt.Errorf("%s: %v; not sent", name, err)
		}
		return audit.Credentials{Token: s}, nil
	}
	return audit.Credentials{}, fmt.Errorf("no credentials: set %s to a GitHub App installation token, or pass --app-id and --app-key", strings.Join(opts.api.tokenVars(io), " or "))
}
