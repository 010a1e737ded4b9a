package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokencheck/tokencheck/engine"
	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/ghapi"
	"github.com/tokencheck/tokencheck/engine/source"
)

// apiOptions are the flags of the commands that talk to GitHub (scan, audit).
type apiOptions struct {
	Hostname string
	APIURL   string
	Timeout  time.Duration
	Retries  int
	Verbose  bool
	FactsOut string
}

func (o *apiOptions) addFlags(cmd *cobra.Command, timeout time.Duration) {
	f := cmd.Flags()
	f.StringVar(&o.Hostname, "hostname", "", "GitHub `HOST`: github.com (default, or $GH_HOST), a GHE.com subdomain or an Enterprise Server host")
	f.StringVar(&o.APIURL, "api-url", "", "API base `URL`, overriding --hostname (https only; http only to loopback)")
	f.DurationVar(&o.Timeout, "timeout", timeout, "bound on the whole collection, e.g. 30s or 5m")
	f.IntVar(&o.Retries, "retries", 3, "attempts per request on 5xx answers and network faults")
	f.BoolVarP(&o.Verbose, "verbose", "v", false, "log every API request (method, URL, status, time; never a credential) to stderr")
	f.StringVar(&o.FactsOut, "facts-out", "", "also write the collected facts to `FILE`, to judge again later with tokencheck check FILE")
}

// api resolves the host flags (and $GH_HOST) into a client factory.
func (o *apiOptions) api(io streams, allowInstallationPOST bool, retry ghapi.Retry) (*ghapi.API, error) {
	host := o.Hostname
	if host == "" {
		host = io.Getenv("GH_HOST")
	}
	retry.Attempts = o.Retries
	opts := ghapi.Options{Hostname: host, APIURL: o.APIURL, Retry: retry,
		AllowInstallationTokenPOST: allowInstallationPOST, UserAgent: "tokencheck/" + currentVersion().Version}
	if o.Verbose {
		opts.Verbose = io.Err
	}
	api, err := ghapi.New(opts)
	switch {
	case err == nil:
		return api, nil
	case o.APIURL != "":
		return nil, fmt.Errorf("--api-url: %w", err)
	case o.Hostname != "":
		return nil, fmt.Errorf("--hostname: %w", err)
	case host != "":
		return nil, fmt.Errorf("GH_HOST: %w", err)
	}
	return nil, err
}

// tokenVars are the environment variables a token is read from, in order, as gh reads them: for
// an Enterprise Server host (--hostname or GH_HOST) only GH_ENTERPRISE_TOKEN and
// GITHUB_ENTERPRISE_TOKEN, so a github.com token is never sent to another host; otherwise GH_TOKEN
// and GITHUB_TOKEN.
func (o *apiOptions) tokenVars(io streams) []string {
	host := strings.ToLower(strings.TrimSpace(o.Hostname))
	if host == "" {
		host = strings.ToLower(strings.TrimSpace(io.Getenv("GH_HOST")))
	}
	if host != "" && host != ghapi.DefaultHost && host != "api.github.com" && !strings.HasSuffix(host, ".ghe.com") {
		return []string{"GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN"}
	}
	return []string{"GH_TOKEN", "GITHUB_TOKEN"}
}

// envToken is the first token set in tokenVars, and the variable's name.
func (o *apiOptions) envToken(io streams) (name, value string) {
	for _, name := range o.tokenVars(io) {
		if v := strings.TrimSpace(io.Getenv(name)); v != "" {
			return name, v
		}
	}
	return "", ""
}

type scanOptions struct {
	judge      judgeOptions
	api        apiOptions
	TokenStdin bool
	TokenFile  string
	Headers    []string
	Type       string
	LastFour   string
}

func newScanCmd(io streams) *cobra.Command {
	opts := &scanOptions{}
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Judge a live token (read-only API calls) or a saved response header dump",
		Long: `Judge what GitHub reveals about a token: its type (from the prefix), scopes (X-OAuth-Scopes),
expiry (GitHub-Authentication-Token-Expiration), owner (GET /user) and SSO state (X-GitHub-SSO).

The token is read from GH_TOKEN, then GITHUB_TOKEN, or from --token-stdin or --token-file (one token per
line). No flag takes a token value: process lists and shell history would keep it. The token is shown
only as a fingerprint and its last four characters, and is sent only to the API host, over HTTPS, in
GET requests. A malformed token is reported without being sent anywhere.

With --headers FILE, judge a saved response instead, with no token and no network:
  curl -sS -D - -o /dev/null -H "Authorization: Bearer $T" https://api.github.com/user > headers.txt

Exit 0 passes, 1 fails the gate, 2 bad input or a rejected token, 3 incomplete facts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return scanRun(cmd, opts, io)
		},
	}
	opts.judge.addFlags(cmd)
	opts.api.addFlags(cmd, time.Minute)
	f := cmd.Flags()
	f.BoolVar(&opts.TokenStdin, "token-stdin", false, "read tokens from stdin, one per line")
	f.StringVar(&opts.TokenFile, "token-file", "", "read tokens from `FILE`, one per line (blank lines and # comments skipped)")
	f.StringArrayVar(&opts.Headers, "headers", nil, "judge a saved response header dump `FILE` (curl -D -, -i, -I or -v output); repeatable; no token, no network")
	f.StringVar(&opts.Type, "type", "", "with --headers: the token's `TYPE` (classic, fine_grained, oauth, app_user, app_installation) or prefix (ghp_, github_pat_, ...), for every dump")
	f.StringVar(&opts.LastFour, "last-four", "", "with --headers: the token's last four `CHARS`, to name it in the report, for every dump")
	return cmd
}

func scanRun(cmd *cobra.Command, opts *scanOptions, io streams) error {
	ctx := cmd.Context()
	j, err := newJudge(ctx, opts.judge, io)
	if err != nil {
		return err
	}
	if len(opts.Headers) == 0 && (opts.Type != "" || opts.LastFour != "") {
		j.fail("--type and --last-four describe a --headers dump; ignored without --headers")
	}
	if opts.LastFour != "" && len(opts.LastFour) != 4 {
		j.fail("--last-four %q: want exactly four characters; ignored", opts.LastFour)
		opts.LastFour = ""
	}
	if err := j.refuseOverlaps(append([]string{opts.TokenFile}, opts.Headers...), opts.api.FactsOut); err != nil {
		return err
	}
	var typ facts.TokenType
	if opts.Type != "" && len(opts.Headers) > 0 {
		if typ, err = source.ParseTokenType(opts.Type); err != nil {
			j.fail("--type: %v", err)
		}
	}
	var sources []engine.Source
	if len(opts.Headers) > 0 {
		dumps := source.HeaderDumps{}
		for _, file := range opts.Headers {
			dumps.Dumps = append(dumps.Dumps, source.HeaderDump{File: file, Type: typ, LastFour: opts.LastFour})
		}
		sources = append(sources, dumps)
	}
	live, problems := liveTokens(opts, io)
	for _, p := range problems {
		j.problem(p)
	}
	if len(live) == 0 && len(opts.Headers) == 0 && len(problems) == 0 {
		j.fail("no token to scan: set %s, pass --token-stdin or --token-file, or judge a saved response with --headers FILE", strings.Join(opts.api.tokenVars(io), " or "))
	}
	if len(live) > 0 {
		api, err := opts.api.api(io, false, ghapi.Retry{})
		if err != nil {
			j.fail("%v", err)
		} else {
			sources = append(sources, source.LiveTokens{API: api, Tokens: live})
		}
	}
	res, err := j.collect(ctx, opts.api, sources...)
	if err != nil {
		return err
	}
	return j.conclude(res, nil)
}

// liveTokens gathers the token values to scan. With --headers and no explicit token flag, the
// environment's tokens are left alone: the reviewer asked to judge a dump, not to send a token.
func liveTokens(opts *scanOptions, io streams) ([]source.LiveToken, []finding.Problem) {
	var out []source.LiveToken
	var errs []finding.Problem
	if opts.TokenFile != "" {
		f, err := os.Open(opts.TokenFile)
		if err != nil {
			errs = append(errs, finding.Problem{Kind: finding.Input, Message: fmt.Sprintf("--token-file: %v", err)})
		} else {
			ts, err := readTokenLines(f, opts.TokenFile, opts.TokenFile)
			f.Close()
			out = append(out, ts...)
			if err != nil {
				errs = append(errs, finding.Problem{Kind: finding.Input, File: opts.TokenFile, Message: err.Error()})
			}
		}
	}
	if opts.TokenStdin {
		ts, err := readTokenLines(io.In, "stdin", "")
		out = append(out, ts...)
		if err != nil {
			errs = append(errs, finding.Problem{Kind: finding.Input, Source: "stdin", Message: err.Error()})
		}
	}
	if opts.TokenFile != "" || opts.TokenStdin || len(opts.Headers) > 0 {
		return dedupe(out), errs
	}
	if name, v := opts.api.envToken(io); v != "" {
		return []source.LiveToken{{Secret: facts.NewSecret(v), Source: facts.Source{Kind: facts.SourceLive}, Label: name}}, nil
	}
	return nil, errs
}

// readTokenLines reads one token per line, skipping blank lines and # comments.
func readTokenLines(r io.Reader, label, file string) ([]source.LiveToken, error) {
	var out []source.LiveToken
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, source.LiveToken{Secret: facts.NewSecret(line), Source: facts.Source{Kind: facts.SourceLive, File: file, Line: n}, Label: label})
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read tokens: %w", err)
	}
	return out, nil
}

// dedupe keeps the first of tokens with the same value: it is judged once.
func dedupe(ts []source.LiveToken) []source.LiveToken {
	seen := map[string]bool{}
	out := ts[:0]
	for _, t := range ts {
		if fp := t.Secret.Fingerprint(); !seen[fp] {
			seen[fp] = true
			out = append(out, t)
		}
	}
	return out
}

// tokenLabel names where a token was read, for messages: "GH_TOKEN", "tokens.txt:3".
func tokenLabel(lt source.LiveToken) string {
	if lt.Source.Line > 0 {
		return fmt.Sprintf("%s:%d", lt.Label, lt.Source.Line)
	}
	return lt.Label
}
