package decide

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/ghapi"
)

// Outcome is what became of a decision.
type Outcome string

// Outcomes.
const (
	// OutcomeApplied: GitHub accepted the write.
	OutcomeApplied Outcome = "applied"
	// OutcomeAlreadyReviewed: GitHub answered 404 or 422, the request was reviewed (or the grant
	// revoked) by someone else; not retried.
	OutcomeAlreadyReviewed Outcome = "already_reviewed"
	// OutcomeFailed: the write could not be made; the request stays pending for the next sweep.
	OutcomeFailed Outcome = "failed"
	// OutcomeNotSent: nothing was sent (a dry run, or an action that writes nothing).
	OutcomeNotSent Outcome = "not_sent"
)

// Result is one decision and what became of it.
type Result struct {
	Decision Decision
	Outcome  Outcome
	// Status is GitHub's last HTTP status (0 when nothing was sent or no answer came).
	Status int
	// Message is GitHub's or the transport's last message.
	Message  string
	Attempts int
	// Err is the failure of an OutcomeFailed write (a *ghapi.Failure where GitHub answered).
	Err error
}

// LogEntry is one line of the decision log: every decision, applied or not. It never holds a
// token value.
type LogEntry struct {
	Time      time.Time    `json:"time"`
	Org       string       `json:"org"`
	Kind      Kind         `json:"kind"`
	RequestID int64        `json:"request_id,omitempty"`
	GrantID   int64        `json:"grant_id,omitempty"`
	TokenID   int64        `json:"token_id,omitempty"`
	TokenName string       `json:"token_name,omitempty"`
	Owner     string       `json:"owner,omitempty"`
	Decision  Action       `json:"decision"`
	Why       string       `json:"why"`
	Findings  []LogFinding `json:"findings"`
	Reason    string       `json:"reason,omitempty"`
	DryRun    bool         `json:"dry_run"`
	GitHub    LogAnswer    `json:"github"`
}

// LogFinding is a finding as the decision log records it.
type LogFinding struct {
	Rule     string           `json:"rule"`
	Severity finding.Severity `json:"severity"`
	Level    finding.Level    `json:"level"`
	Message  string           `json:"message"`
	Waived   bool             `json:"waived,omitempty"`
}

// LogAnswer is GitHub's answer to a write.
type LogAnswer struct {
	Outcome  Outcome `json:"outcome"`
	Status   int     `json:"status,omitempty"`
	Message  string  `json:"message,omitempty"`
	Attempts int     `json:"attempts,omitempty"`
}

// ApplyOptions configure an Applier.
type ApplyOptions struct {
	// Apply sends the writes; without it nothing is sent and every decision is logged as not sent.
	Apply bool
	// Host names the API host in messages.
	Host string
	// Log receives one JSON line per decision (nil: no log). Writes to it are serialised.
	Log io.Writer
	// Pace bounds the write rate (zero: DefaultPace). Tests pass a fast one.
	Pace Pace
	// Attempts is the most attempts of one write on 5xx answers and network faults (default 3).
	// Build the write client with ghapi.Retry{Attempts: 1} so these are the only retries.
	Attempts int
	// Backoff is the wait after a failed attempt, doubled each time (default 2s).
	Backoff time.Duration
	// Now is the log's clock (nil: time.Now).
	Now func() time.Time
}

// Applier carries decisions out through a guarded GitHub client (ghapi.Options.AllowReviewWrites)
// and logs each of them. Safe for concurrent use; all writes share one pace.
type Applier struct {
	client *github.Client
	opts   ApplyOptions
	pacer  *pacer
	logMu  sync.Mutex
	logErr error
}

// LogError is the first error writing the decision log, if any: an audit trail with a gap must
// not pass silently.
func (a *Applier) LogError() error {
	a.logMu.Lock()
	defer a.logMu.Unlock()
	return a.logErr
}

// NewApplier returns an applier writing through client (nil is allowed for a dry run, or when every
// write names its own client with DoWith).
func NewApplier(client *github.Client, opts ApplyOptions) *Applier {
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 2 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Applier{client: client, opts: opts, pacer: newPacer(opts.Pace)}
}

// Apply carries out the plan in order and logs every decision. It stops sending when ctx ends;
// the decisions not sent by then are failed.
func (a *Applier) Apply(ctx context.Context, plan Plan) []Result {
	out := make([]Result, 0, len(plan.Decisions))
	for _, d := range plan.Decisions {
		out = append(out, a.DoWith(ctx, a.client, d))
	}
	return out
}

// Do carries out one decision with the applier's client and logs it.
func (a *Applier) Do(ctx context.Context, d Decision) Result { return a.DoWith(ctx, a.client, d) }

// DoWith carries out one decision with client (an installation's) and logs it.
func (a *Applier) DoWith(ctx context.Context, client *github.Client, d Decision) Result {
	r := Result{Decision: d, Outcome: OutcomeNotSent}
	if a.opts.Apply && d.Action.Writes() {
		r = a.write(ctx, client, d)
	}
	a.log(r)
	return r
}

// Applies reports whether the applier sends writes (false: a dry run).
func (a *Applier) Applies() bool { return a.opts.Apply }

// Record logs a result decided elsewhere (a write that could not even be attempted) and returns it.
func (a *Applier) Record(r Result) Result {
	a.log(r)
	return r
}

// Failed returns the results whose write failed.
func Failed(results []Result) []Result {
	var out []Result
	for _, r := range results {
		if r.Outcome == OutcomeFailed {
			out = append(out, r)
		}
	}
	return out
}

// body is what GitHub takes: {"action": "approve"|"deny", "reason": …} or {"action": "revoke"}.
type body struct {
	Action Action `json:"action"`
	Reason string `json:"reason,omitempty"`
}

func (a *Applier) write(ctx context.Context, client *github.Client, d Decision) Result {
	r := Result{Decision: d, Outcome: OutcomeFailed}
	if client == nil {
		r.Err = errors.New("no GitHub client to write with")
		r.Message = r.Err.Error()
		return r
	}
	var path string
	b := body{Action: d.Action}
	switch d.Kind {
	case KindRequest:
		path = fmt.Sprintf("orgs/%s/personal-access-token-requests/%d", d.Org, d.ID)
		b.Reason = d.Reason
	case KindGrant:
		path = fmt.Sprintf("orgs/%s/personal-access-tokens/%d", d.Org, d.ID)
	default:
		r.Err = fmt.Errorf("unknown subject kind %q", d.Kind)
		r.Message = r.Err.Error()
		return r
	}
	wait := a.opts.Backoff
	for attempt := 1; attempt <= a.opts.Attempts; attempt++ {
		r.Attempts = attempt
		if err := a.pacer.wait(ctx); err != nil {
			r.Err, r.Message = ghapi.Classify(err, a.opts.Host), "not sent: "+err.Error()
			return r
		}
		req, err := client.NewRequest(http.MethodPost, path, b)
		if err != nil {
			r.Err, r.Message = err, err.Error()
			return r
		}
		resp, err := client.Do(ctx, req, nil)
		if resp != nil {
			r.Status = resp.StatusCode
		}
		if err == nil {
			r.Outcome, r.Err, r.Message = OutcomeApplied, nil, ""
			return r
		}
		f := ghapi.Classify(err, a.opts.Host)
		r.Err, r.Message = f, f.Error()
		switch {
		case r.Status == http.StatusNotFound || r.Status == http.StatusUnprocessableEntity:
			r.Outcome, r.Err = OutcomeAlreadyReviewed, nil
			r.Message = "already reviewed or revoked: " + ghMessage(err)
			return r
		case f.Kind == ghapi.KindServer || f.Kind == ghapi.KindNetwork || f.Kind == ghapi.KindSecondary:
			if attempt == a.opts.Attempts {
				return r
			}
			if err := sleepCtx(ctx, wait); err != nil {
				return r
			}
			wait *= 2
		default:
			return r // 401, 403, refused by the guard…: another attempt would fail the same way
		}
	}
	return r
}

func ghMessage(err error) string {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Message != "" {
		return er.Message
	}
	return err.Error()
}

func (a *Applier) log(r Result) {
	if a.opts.Log == nil {
		return
	}
	d := r.Decision
	e := LogEntry{Time: a.opts.Now().UTC(), Org: d.Org, Kind: d.Kind, TokenID: d.TokenID, TokenName: d.TokenName, Owner: d.Owner,
		Decision: d.Action, Why: d.Why, Reason: d.Reason, DryRun: !a.opts.Apply, Findings: []LogFinding{},
		GitHub: LogAnswer{Outcome: r.Outcome, Status: r.Status, Message: r.Message, Attempts: r.Attempts}}
	if d.Kind == KindGrant {
		e.GrantID = d.ID
	} else {
		e.RequestID = d.ID
	}
	for _, f := range d.Findings {
		e.Findings = append(e.Findings, LogFinding{Rule: f.Rule, Severity: f.Severity, Level: f.Level, Message: f.Message, Waived: f.Waived})
	}
	var line bytes.Buffer
	enc := json.NewEncoder(&line)
	enc.SetEscapeHTML(false) // links stay readable: & not \u0026
	err := enc.Encode(e)     // one line, newline-terminated
	a.logMu.Lock()
	defer a.logMu.Unlock()
	if err == nil {
		_, err = a.opts.Log.Write(line.Bytes())
	}
	if err != nil && a.logErr == nil {
		a.logErr = fmt.Errorf("write decision log: %w", err)
	}
}
