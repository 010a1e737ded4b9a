// Package serve is tokencheck's GitHub App webhook receiver: it verifies each delivery's signature,
// judges new fine-grained token requests with the injected policy judge, and decides them as
// `review` would, writing through a bounded worker queue so GitHub gets its answer at once. It holds
// no state a second replica would need: a repeated decision is a harmless 404/422.
package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/google/go-github/v66/github"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tokencheck/tokencheck/engine/decide"
	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/source/webhook"
)

// Judge judges one token with the policy: its findings and the problems met (an incomplete problem
// leaves the request for people). An error leaves it too.
type Judge func(ctx context.Context, t facts.Token) ([]finding.Finding, []finding.Problem, error)

// Clients gives the GitHub client that writes for an installation (the payload's installation id;
// 0 when the payload names none). A fixed-token deployment returns the same client for every id.
type Clients interface {
	Client(ctx context.Context, installationID int64) (*github.Client, error)
}

// ClientsFunc adapts a function to Clients.
type ClientsFunc func(ctx context.Context, installationID int64) (*github.Client, error)

// Client calls f.
func (f ClientsFunc) Client(ctx context.Context, id int64) (*github.Client, error) { return f(ctx, id) }

// Defaults.
const (
	DefaultMaxBody    = 1 << 20 // GitHub caps payloads at 25 MB; a token request is a few KiB
	DefaultWorkers    = 4
	DefaultQueue      = 1024
	DefaultDeliveries = 10000 // delivery ids remembered for de-duplication
	DefaultJudgeTime  = 30 * time.Second
)

// Options configure a Server.
type Options struct {
	// Secret is the webhook secret (required): deliveries are verified with HMAC-SHA256.
	Secret []byte
	// Judge judges a request's token (required).
	Judge Judge
	// Clients gives the write client per installation; required when Applier applies.
	Clients Clients
	// Applier carries decisions out and logs each (required). Built with ApplyOptions.Apply false,
	// decisions are only logged.
	Applier *decide.Applier
	// Plan is how a judged request is decided (review config, fail-on, catalogue, template).
	Plan decide.Options
	// Catalog places the payload's permissions into groups.
	Catalog *facts.Catalog
	// Logger receives structured logs (nil: JSON to stderr). Never a secret or a token value.
	Logger *slog.Logger
	// Registry receives the metrics (nil: a new registry); /metrics serves it.
	Registry *prometheus.Registry
	// MaxBody caps a delivery's body in bytes (default DefaultMaxBody).
	MaxBody int64
	// Workers and Queue bound the decision queue (defaults DefaultWorkers, DefaultQueue).
	Workers int
	Queue   int
	// Deliveries is how many delivery ids are remembered to act on a redelivery once (default DefaultDeliveries).
	Deliveries int
	// JudgeTimeout bounds judging one request (default DefaultJudgeTime).
	JudgeTimeout time.Duration
}

// Server receives webhooks and decides token requests.
type Server struct {
	opts    Options
	log     *slog.Logger
	reg     *prometheus.Registry
	seen    *lru.Cache[string, struct{}]
	metrics metrics

	mu     sync.RWMutex // guards closed and sending on queue
	closed bool
	queue  chan job

	workCtx    context.Context
	cancelWork context.CancelFunc
	workers    sync.WaitGroup
}

type job struct {
	delivery string
	received time.Time
	req      webhook.Request
}

type metrics struct {
	deliveries *prometheus.CounterVec
	decisions  *prometheus.CounterVec
	writeErrs  prometheus.Counter
	latency    prometheus.Histogram
}

// Delivery results, as the deliveries metric labels them.
const (
	resultAccepted     = "accepted"
	resultIgnored      = "ignored"
	resultPing         = "ping"
	resultDuplicate    = "duplicate"
	resultBadSignature = "bad_signature"
	resultTooLarge     = "too_large"
	resultBadRequest   = "bad_request"
	resultUnavailable  = "unavailable"
)

// New checks the options and starts the workers; stop them with Shutdown.
func New(opts Options) (*Server, error) {
	switch {
	case len(opts.Secret) == 0:
		return nil, errors.New("serve: no webhook secret: every delivery must be verified")
	case opts.Judge == nil:
		return nil, errors.New("serve: no judge")
	case opts.Applier == nil:
		return nil, errors.New("serve: no applier")
	case opts.Applier.Applies() && opts.Clients == nil:
		return nil, errors.New("serve: applying decisions needs GitHub clients")
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.Deliveries <= 0 {
		opts.Deliveries = DefaultDeliveries
	}
	if opts.JudgeTimeout <= 0 {
		opts.JudgeTimeout = DefaultJudgeTime
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	seen, err := lru.New[string, struct{}](opts.Deliveries)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s := &Server{opts: opts, log: opts.Logger, reg: opts.Registry, seen: seen, queue: make(chan job, opts.Queue)}
	if err := s.register(); err != nil {
		return nil, err
	}
	s.workCtx, s.cancelWork = context.WithCancel(context.Background())
	for i := 0; i < opts.Workers; i++ {
		s.workers.Add(1)
		go s.work()
	}
	return s, nil
}

func (s *Server) register() error {
	m := &s.metrics
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tokencheck_webhook_deliveries_total",
		Help: "Webhook deliveries received, by event and result."}, []string{"event", "result"})
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tokencheck_review_decisions_total",
		Help: "Decisions on token requests, by decision and outcome."}, []string{"decision", "outcome"})
	m.writeErrs = prometheus.NewCounter(prometheus.CounterOpts{Name: "tokencheck_review_write_errors_total",
		Help: "Decisions that could not be written to GitHub (left pending)."})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tokencheck_review_decision_seconds",
		Help: "Time from a delivery's arrival to its decision being carried out.", Buckets: prometheus.DefBuckets})
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tokencheck_review_queue_depth",
		Help: "Decisions waiting for a worker."}, func() float64 { return float64(len(s.queue)) })
	for _, c := range []prometheus.Collector{m.deliveries, m.decisions, m.writeErrs, m.latency, depth} {
		if err := s.reg.Register(c); err != nil {
			return fmt.Errorf("serve: register metrics: %w", err)
		}
	}
	return nil
}

// Handler serves POST /webhook, GET /healthz and GET /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhook", s.webhook)
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	return mux
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		answer(w, http.StatusServiceUnavailable, "shutting down")
		return
	}
	answer(w, http.StatusOK, "ok")
}

func answer(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	event := github.WebHookType(r)
	delivery := github.DeliveryID(r)
	log := s.log.With("delivery", delivery, "event", event)
	done := func(status int, result, msg string) {
		s.metrics.deliveries.WithLabelValues(eventLabel(event), result).Inc()
		level := slog.LevelInfo
		if status >= 400 {
			level = slog.LevelWarn
		}
		log.Log(r.Context(), level, "delivery", "status", status, "result", result, "detail", msg)
		answer(w, status, msg)
	}
	// The signature comes first: nothing of the body is used before it is verified.
	if r.Header.Get(github.SHA256SignatureHeader) == "" {
		done(http.StatusUnauthorized, resultBadSignature, "missing "+github.SHA256SignatureHeader)
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" && ct != "application/x-www-form-urlencoded" {
		done(http.StatusUnsupportedMediaType, resultBadRequest, "want Content-Type application/json")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBody)
	payload, err := github.ValidatePayload(r, s.opts.Secret)
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			done(http.StatusRequestEntityTooLarge, resultTooLarge, fmt.Sprintf("body over %d bytes", s.opts.MaxBody))
		default: // a mismatch, a malformed signature or an unreadable body: nothing is trusted
			done(http.StatusUnauthorized, resultBadSignature, "signature does not match")
		}
		return
	}
	switch event {
	case webhook.EventPing:
		done(http.StatusOK, resultPing, "pong")
		return
	case webhook.EventPATRequest:
	default:
		done(http.StatusAccepted, resultIgnored, "event ignored")
		return
	}
	if delivery == "" {
		done(http.StatusBadRequest, resultBadRequest, "missing X-GitHub-Delivery")
		return
	}
	req, err := webhook.ParseRequest(payload, s.opts.Catalog)
	if err != nil {
		done(http.StatusBadRequest, resultBadRequest, err.Error())
		return
	}
	log = log.With("org", req.Org, "request_id", req.RequestID, "action", req.Action)
	if req.Action != webhook.ActionCreated {
		done(http.StatusAccepted, resultIgnored, "action "+req.Action+" ignored")
		return
	}
	if seen, _ := s.seen.ContainsOrAdd(delivery, struct{}{}); seen {
		done(http.StatusOK, resultDuplicate, "delivery already received")
		return
	}
	if !s.enqueue(job{delivery: delivery, received: time.Now(), req: req}) {
		s.seen.Remove(delivery) // let GitHub's redelivery be acted on
		done(http.StatusServiceUnavailable, resultUnavailable, "decision queue full or shutting down; the next review sweep decides it")
		return
	}
	done(http.StatusAccepted, resultAccepted, "queued")
}

func eventLabel(e string) string {
	switch e {
	case webhook.EventPATRequest, webhook.EventPing:
		return e
	}
	return "other" // unbounded label values would let a sender grow the metrics
}

func (s *Server) enqueue(j job) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false
	}
	select {
	case s.queue <- j:
		return true
	default:
		return false
	}
}

func (s *Server) work() {
	defer s.workers.Done()
	for j := range s.queue {
		s.decide(s.workCtx, j)
	}
}

func (s *Server) decide(ctx context.Context, j job) {
	log := s.log.With("delivery", j.delivery, "org", j.req.Org, "request_id", j.req.RequestID)
	subject := decide.Subject{Kind: decide.KindRequest, Org: j.req.Org, ID: j.req.RequestID, TokenID: j.req.TokenID, Token: j.req.Token}
	if ctx.Err() != nil {
		s.stopped(subject, j)
		return
	}
	jctx, cancel := context.WithTimeout(ctx, s.opts.JudgeTimeout)
	fs, problems, err := s.opts.Judge(jctx, j.req.Token)
	cancel()
	if ctx.Err() != nil {
		s.stopped(subject, j)
		return
	}
	subject.Findings, subject.Problems = fs, problems
	if err != nil {
		log.Error("judging failed; the request stays pending", "error", err.Error())
		subject.Findings = nil
		subject.Problems = append(subject.Problems, finding.IncompleteSource("judge", "judging failed: "+err.Error()))
	}
	d := decide.MakePlan([]decide.Subject{subject}, s.opts.Plan).Decisions[0]
	var client *github.Client
	if s.opts.Applier.Applies() && d.Action.Writes() {
		client, err = s.opts.Clients.Client(ctx, j.req.InstallationID)
		if err != nil {
			log.Error("no installation token; the request stays pending", "installation", j.req.InstallationID, "error", err.Error())
			s.count(s.opts.Applier.Record(decide.Result{Decision: d, Outcome: decide.OutcomeFailed, Message: "no installation token: " + err.Error(), Err: err}), j)
			return
		}
	}
	s.count(s.opts.Applier.DoWith(ctx, client, d), j)
}

// stopped records a request the server stopped before deciding (the drain deadline passed): it
// stays pending, logged as a failed decision, for the next review sweep.
func (s *Server) stopped(sub decide.Subject, j job) {
	d := decide.Decision{Kind: sub.Kind, Org: sub.Org, ID: sub.ID, TokenID: sub.TokenID, Token: sub.Token.ID, TokenName: sub.Token.Name,
		Owner: sub.Token.Owner, Action: decide.ActionLeave, Findings: []finding.Finding{},
		Why: "not decided: the server stopped at its drain deadline; the next review sweep decides it"}
	s.count(s.opts.Applier.Record(decide.Result{Decision: d, Outcome: decide.OutcomeFailed, Message: "not decided before the drain deadline", Err: context.Canceled}), j)
}

func (s *Server) count(r decide.Result, j job) {
	s.metrics.decisions.WithLabelValues(string(r.Decision.Action), string(r.Outcome)).Inc()
	s.metrics.latency.Observe(time.Since(j.received).Seconds())
	attrs := []any{"delivery", j.delivery, "org", r.Decision.Org, "request_id", r.Decision.ID, "token_id", r.Decision.TokenID,
		"decision", string(r.Decision.Action), "outcome", string(r.Outcome), "status", r.Status, "attempts", r.Attempts, "why", r.Decision.Why}
	if r.Outcome == decide.OutcomeFailed {
		s.metrics.writeErrs.Inc()
		s.log.Error("decision not written; the request stays pending for the next review sweep", append(attrs, "error", r.Message)...)
		return
	}
	s.log.Info("decision", attrs...)
}

// Shutdown stops taking deliveries, and lets the workers drain the queue until ctx ends; then the
// writes still running are cancelled, and every decision left is logged as failed (pending).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.queue)
	}
	s.mu.Unlock()
	drained := make(chan struct{})
	go func() { s.workers.Wait(); close(drained) }()
	select {
	case <-drained:
		s.cancelWork()
		return nil
	case <-ctx.Done():
		left := len(s.queue)
		s.cancelWork()
		<-drained
		return fmt.Errorf("serve: drain deadline passed with %d decisions queued; they stay pending for the next review sweep", left)
	}
}

// Serve answers on ln until ctx ends, then stops accepting, finishes the answers in flight and
// drains the queue for up to drain.
func (s *Server) Serve(ctx context.Context, ln net.Listener, drain time.Duration) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		_ = s.Shutdown(context.Background())
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := srv.Shutdown(sctx)
	if qerr := s.Shutdown(sctx); qerr != nil {
		err = qerr
	}
	s.log.Info("stopped")
	return err
}
