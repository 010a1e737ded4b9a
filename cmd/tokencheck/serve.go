package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokencheck/tokencheck/engine/decide"
	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/serve"
)

// secretEnv holds the webhook secret; no flag takes its value.
const secretEnv = "TOKENCHECK_WEBHOOK_SECRET"

type serveOptions struct {
	audit      auditOptions // credentials, host and judging flags, as audit and review take them
	Listen     string
	SecretFile string
	Apply      bool
	Log        string
	Drain      time.Duration
	Workers    int
}

func newServeCmd(io streams) *cobra.Command {
	opts := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Receive a GitHub App's webhooks and decide each new token request as review would",
		Long: `Run the GitHub App's webhook receiver: POST /webhook takes GitHub's personal_access_token_request
deliveries, verifies X-Hub-Signature-256 before reading anything else (a missing or wrong signature is 401
and nothing happens), judges each new request with the rules and decides it as tokencheck review would,
on a bounded queue so GitHub gets its answer at once. GET /healthz answers 200; GET /metrics serves
Prometheus metrics. Logs are JSON lines on stderr; --log FILE appends every decision as one JSON line.

The webhook secret comes from TOKENCHECK_WEBHOOK_SECRET or --webhook-secret-file, never from a flag
value. Without --apply decisions are only logged. With --apply they are written as the GitHub App
(--app-id and --app-key: an installation token per delivery's installation) or with a fixed
installation token from GH_TOKEN or GITHUB_TOKEN.

SIGTERM or SIGINT stops taking deliveries and drains the queue for up to --drain; what is left stays
pending for the next review sweep. Exit 0 after a clean stop, 2 for bad flags or configuration, 3 when
decisions were left undone at the drain deadline or the decision log could not be written.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return serveRun(cmd, opts, io)
		},
	}
	a := &opts.audit
	a.judge.Format = "text"
	addPolicyFlags(cmd, &a.judge)
	f := cmd.Flags()
	f.StringVar(&a.api.Hostname, "hostname", "", "GitHub `HOST`: github.com (default, or $GH_HOST), a GHE.com subdomain or an Enterprise Server host")
	f.StringVar(&a.api.APIURL, "api-url", "", "API base `URL`, overriding --hostname (https only; http only to loopback)")
	f.IntVar(&a.api.Retries, "retries", 3, "attempts per write on 5xx answers and network faults")
	f.BoolVarP(&a.api.Verbose, "verbose", "v", false, "log every API request (method, URL, status, time; never a credential) to stderr")
	f.Int64Var(&a.AppID, "app-id", 0, "GitHub App `ID` to write as (with --app-key)")
	f.StringVar(&a.AppKey, "app-key", "", "GitHub App private key `FILE` (PEM)")
	f.StringVar(&opts.Listen, "listen", ":8080", "`ADDR` to listen on")
	f.StringVar(&opts.SecretFile, "webhook-secret-file", "", "read the webhook secret from `FILE` (default: $"+secretEnv+")")
	f.BoolVar(&opts.Apply, "apply", false, "write the decisions to GitHub (without it they are only logged)")
	f.StringVar(&opts.Log, "log", "", "append every decision, applied or not, as one JSON line to `FILE`")
	f.DurationVar(&opts.Drain, "drain", 25*time.Second, "on SIGTERM, how long queued decisions may still be written")
	f.IntVar(&opts.Workers, "workers", serve.DefaultWorkers, "decisions judged and written at once (`N`)")
	return cmd
}

// webhookSecret reads the secret from the environment or --webhook-secret-file; never echoed.
func webhookSecret(opts *serveOptions, io streams) ([]byte, error) {
	env := io.Getenv(secretEnv)
	switch {
	case opts.SecretFile != "" && env != "":
		return nil, fmt.Errorf("both %s and --webhook-secret-file are set: keep one", secretEnv)
	case opts.SecretFile != "":
		raw, err := os.ReadFile(opts.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("--webhook-secret-file: %w", err)
		}
		s := strings.TrimRight(string(raw), "\r\n")
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("--webhook-secret-file %s: the file is empty", opts.SecretFile)
		}
		return []byte(s), nil
	case strings.TrimSpace(env) != "":
		return []byte(env), nil
	}
	return nil, fmt.Errorf("no webhook secret: set %s or pass --webhook-secret-file FILE (the secret is never a flag value)", secretEnv)
}

func serveRun(cmd *cobra.Command, opts *serveOptions, io streams) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	a := &opts.audit
	j, rc, err := newDecider(ctx, a.judge, io)
	if err != nil {
		return err
	}
	secret, err := webhookSecret(opts, io)
	if err != nil {
		j.fail("%v", err)
	}
	if opts.Drain <= 0 {
		j.fail("--drain %s: want a positive duration such as 25s", opts.Drain)
	}
	if opts.Workers < 1 || opts.Workers > 64 {
		j.fail("--workers %d: want 1 to 64", opts.Workers)
	}
	sopts := serve.Options{Secret: secret, Catalog: j.catalog, Workers: opts.Workers,
		Logger: slog.New(slog.NewJSONHandler(io.Err, nil))}
	applyOpts := decide.ApplyOptions{Apply: opts.Apply, Attempts: a.api.Retries}
	if opts.Apply {
		creds, err := auditCredentials(a, io)
		if err != nil {
			j.fail("%v", err)
		}
		api, err := a.api.writeAPI(io, creds.App != nil)
		switch {
		case err != nil:
			j.fail("%v", apiFlagError(a.api, io, err))
		case creds.App != nil:
			sopts.Clients = serve.NewAppClients(api, creds.App)
		case !creds.Token.Empty():
			sopts.Clients = serve.FixedClient(api.Client(creds.Token))
		}
		if api != nil {
			applyOpts.Host = api.Host()
		}
	}
	var logFile *os.File
	if opts.Log != "" {
		if logFile, err = openDecisionLog(opts.Log); err != nil {
			j.fail("%v", err)
		} else {
			defer logFile.Close()
			applyOpts.Log = logFile
		}
	}
	var ln net.Listener
	if len(j.problems) == 0 {
		if ln, err = net.Listen("tcp", opts.Listen); err != nil {
			j.fail("--listen %s: %v", opts.Listen, err)
		}
	}
	if len(j.problems) > 0 {
		return j.usageError(j.problems)
	}

	// The clock: --now for reproducible runs, else each request is judged and planned when it comes.
	var fixed time.Time
	if a.judge.Now != "" {
		fixed = j.now
	}
	sopts.Plan = planOptions(j, rc, a.api.webHost(io))
	sopts.Plan.Now = fixed
	sopts.Judge = func(ctx context.Context, t facts.Token) ([]finding.Finding, []finding.Problem, error) {
		now := fixed
		if now.IsZero() {
			now = time.Now()
		}
		fs, err := j.policy.Evaluate(ctx, []facts.Token{t}, now)
		return fs, nil, err
	}
	sopts.Applier = decide.NewApplier(nil, applyOpts)
	srv, err := serve.New(sopts)
	if err != nil {
		ln.Close()
		return err
	}
	if !opts.Apply {
		sopts.Logger.Warn("dry run: decisions are logged, not written to GitHub; pass --apply to write them")
	}
	code := exitOK
	if err := srv.Serve(ctx, ln, opts.Drain); err != nil {
		sopts.Logger.Error("stopped with work left", "error", err.Error())
		code = exitIncomplete
	}
	if err := sopts.Applier.LogError(); err != nil {
		sopts.Logger.Error("decision log incomplete", "error", err.Error())
		code = exitIncomplete
	}
	if logFile != nil {
		if err := logFile.Close(); err != nil {
			sopts.Logger.Error("decision log incomplete", "error", err.Error())
			code = exitIncomplete
		}
	}
	if code != exitOK {
		return exitCodeError{code}
	}
	return nil
}

// apiFlagError names the flag a bad host came from.
func apiFlagError(o apiOptions, io streams, err error) error {
	switch {
	case o.APIURL != "":
		return fmt.Errorf("--api-url: %w", err)
	case o.Hostname != "":
		return fmt.Errorf("--hostname: %w", err)
	case io.Getenv("GH_HOST") != "":
		return fmt.Errorf("GH_HOST: %w", err)
	}
	return err
}
