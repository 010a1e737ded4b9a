package serve_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/tokencheck/tokencheck/engine/decide"
	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/ghapi"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
	"github.com/tokencheck/tokencheck/engine/policy"
	"github.com/tokencheck/tokencheck/engine/serve"
	"github.com/tokencheck/tokencheck/policies"
)

const (
	secret       = "It's a Secret to Everybody"
	installToken = "ghs_000000000000000000000000000042"
	installation = 4242 // the fixture's installation id
)

var now = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

// lockedBuffer is a log sink the test reads while workers write.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func catalog(t testing.TB) *facts.Catalog {
	t.Helper()
	raw, err := fs.ReadFile(policies.FS, policies.CatalogFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := facts.ParseCatalog(raw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// stubJudge finds what the default policy would find on the fixture's request: administration:write.
func stubJudge(_ context.Context, t facts.Token) ([]finding.Finding, []finding.Problem, error) {
	if t.Permissions != nil && t.Permissions.Repository["administration"] == "write" {
		return []finding.Finding{{Rule: "dangerous-permission", Severity: finding.High, Level: finding.Deny, Token: t.ID, Message: "dangerous permission administration:write"}}, nil, nil
	}
	return nil, nil, nil
}

// policyJudge judges with the embedded Rego rules, as the CLI will.
func policyJudge(t testing.TB, cat *facts.Catalog) serve.Judge {
	t.Helper()
	cfg, err := policy.DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := policy.New(context.Background(), policy.Options{Config: cfg, Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, tok facts.Token) ([]finding.Finding, []finding.Problem, error) {
		fs, err := ev.Evaluate(ctx, []facts.Token{tok}, now)
		return fs, nil, err
	}
}

type env struct {
	fake    *ghapitest.Server
	reviews *ghapitest.Reviews
	srv     *serve.Server
	url     string
	log     *lockedBuffer // decision log
	slog    *lockedBuffer // structured logs
}

type setup struct {
	judge    serve.Judge
	dryRun   bool
	workers  int
	maxBody  int64
	attempts int
	queue    int
}

func start(t testing.TB, ids []int64, s setup) *env {
	t.Helper()
	cat := catalog(t)
	fake := ghapitest.New(t)
	e := &env{fake: fake, reviews: fake.ServeReviews("acme", ids, nil), log: &lockedBuffer{}, slog: &lockedBuffer{}}
	api, err := ghapi.New(ghapi.Options{APIURL: fake.APIURL(), AllowReviewWrites: true, Retry: ghapi.Retry{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	client := api.Client(facts.NewSecret(installToken))
	if s.judge == nil {
		s.judge = stubJudge
	}
	applier := decide.NewApplier(nil, decide.ApplyOptions{Apply: !s.dryRun, Host: api.Host(), Log: e.log, Attempts: s.attempts, Backoff: time.Millisecond,
		Pace: decide.Pace{MinInterval: time.Microsecond, PerMinute: 1 << 20, PerHour: 1 << 20}})
	e.srv, err = serve.New(serve.Options{
		Secret: []byte(secret), Judge: s.judge, Applier: applier, Catalog: cat, MaxBody: s.maxBody, Workers: s.workers, Queue: s.queue,
		Clients: serve.ClientsFunc(func(_ context.Context, id int64) (*github.Client, error) {
			if id != installation {
				return nil, fmt.Errorf("no installation %d", id)
			}
			return client, nil
		}),
		Plan:   decide.Options{Config: decide.DefaultConfig(), FailOn: finding.High, Catalog: cat, Now: now, Template: decide.Template{ExpiresInDays: 90, DangerousPermissions: []string{"administration"}}},
		Logger: slog.New(slog.NewJSONHandler(e.slog, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(e.srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.srv.Shutdown(ctx)
	})
	e.url = ts.URL
	return e
}

func payload(t testing.TB, requestID int64, action string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(ghapitest.FixturesDir(), "webhooks", "personal_access_token_request.created.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(raw), `"id": 25381,`, fmt.Sprintf(`"id": %d,`, requestID), 1)
	s = strings.Replace(s, `"action": "created"`, `"action": "`+action+`"`, 1)
	return []byte(s)
}

func sign(body []byte, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

var httpClient = &http.Client{Timeout: 10 * time.Second} // GitHub's limit on an answer

// deliver posts a delivery as GitHub does; signature "" sends none.
func deliver(t testing.TB, url, event, delivery string, body []byte, signature string) (int, string) {
	req, err := http.NewRequest(http.MethodPost, url+"/webhook", bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Errorf("delivery %s: %v", delivery, err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func logLines(t testing.TB, s string) []decide.LogEntry {
	t.Helper()
	var out []decide.LogEntry
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var e decide.LogEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A signed delivery of GitHub's payload, judged by the embedded Rego rules, leads to exactly one
// POST: a denial with the rule and a compliant template link, logged as one JSON line.
func TestSignedDeliveryIsDeniedOnce(t *testing.T) {
	e := start(t, []int64{25381}, setup{judge: policyJudge(t, catalog(t))})
	body := payload(t, 25381, "created")
	if code, msg := deliver(t, e.url, "personal_access_token_request", "d-1", body, sign(body, secret)); code != http.StatusAccepted {
		t.Fatalf("answer %d %s, want 202", code, msg)
	}
	waitFor(t, "the denial", func() bool { return len(e.reviews.Writes()) == 1 })
	w := e.reviews.Writes()[0]
	if w.Kind != "request" || w.ID != 25381 || w.Action != "deny" || w.Status != http.StatusNoContent || w.Credential != facts.Fingerprint(installToken) {
		t.Fatalf("write = %+v", w)
	}
	if !strings.Contains(w.Reason, "[dangerous-permission]") || !strings.Contains(w.Reason, "https://github.com/settings/personal-access-tokens/new?") ||
		!strings.Contains(w.Reason, "administration=read") || len(w.Reason) > 1024 {
		t.Errorf("reason = %q", w.Reason)
	}
	waitFor(t, "the decision log line", func() bool { return len(logLines(t, e.log.String())) == 1 })
	line := logLines(t, e.log.String())[0]
	if line.Org != "acme" || line.RequestID != 25381 || line.TokenID != 1847193 || line.TokenName != "release automation" || line.Owner != "octocat" ||
		line.Decision != decide.ActionDeny || line.GitHub.Outcome != decide.OutcomeApplied || line.GitHub.Status != 204 || line.Reason != w.Reason {
		t.Errorf("log line = %+v", line)
	}
	for _, f := range line.Findings {
		if f.Rule == "approval-pending" {
			t.Error("approval-pending counted in a request's decision")
		}
	}
	t.Logf("decision log: %s", strings.TrimSpace(e.log.String()))

	if code, body := get(t, e.url+"/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("healthz = %d %s", code, body)
	}
	waitFor(t, "the decision metric", func() bool {
		_, m := get(t, e.url+"/metrics")
		return strings.Contains(m, `tokencheck_review_decisions_total{decision="deny",outcome="applied"} 1`)
	})
	code, metrics := get(t, e.url+"/metrics")
	for _, want := range []string{
		`tokencheck_webhook_deliveries_total{event="personal_access_token_request",result="accepted"} 1`,
		`tokencheck_review_decisions_total{decision="deny",outcome="applied"} 1`,
		`tokencheck_review_write_errors_total 0`,
		`tokencheck_review_queue_depth 0`,
	} {
		if code != 200 || !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, out := range []string{e.slog.String(), e.log.String(), metrics} {
		if strings.Contains(out, secret) || strings.Contains(out, installToken) {
			t.Error("a secret or token value reached a log or the metrics")
		}
	}
}

// Bad signatures, a missing one, an oversized body, a replay, other events and other actions each
// lead to no write. One worker keeps the queue in order, so the last good delivery's write proves
// nothing queued before it was written.
func TestRejectedDeliveriesWriteNothing(t *testing.T) {
	e := start(t, []int64{1, 2}, setup{workers: 1, maxBody: 8 << 10})
	good := payload(t, 1, "created")
	cases := []struct {
		name, event, delivery string
		body                  []byte
		sig                   string
		want                  int
	}{
		{"first delivery", "personal_access_token_request", "d-1", good, sign(good, secret), 202},
		{"replay", "personal_access_token_request", "d-1", good, sign(good, secret), 200},
		{"bad signature", "personal_access_token_request", "d-2", good, sign(good, "wrong secret"), 401},
		{"no signature", "personal_access_token_request", "d-3", good, "", 401},
		{"garbled signature", "personal_access_token_request", "d-4", good, "sha256=zz", 401},
		{"sha1 only", "personal_access_token_request", "d-5", good, "", 401},
		{"tampered body", "personal_access_token_request", "d-6", payload(t, 2, "created"), sign(good, secret), 401},
		{"oversized", "personal_access_token_request", "d-7", append(payload(t, 2, "created"), bytes.Repeat([]byte(" "), 9<<10)...), "", 413},
		{"other event", "issues", "d-8", []byte(`{"action":"opened"}`), sign([]byte(`{"action":"opened"}`), secret), 202},
		{"other action", "personal_access_token_request", "d-9", payload(t, 2, "cancelled"), sign(payload(t, 2, "cancelled"), secret), 202},
		{"ping", "ping", "d-10", []byte(`{"zen":"Keep it logically awesome."}`), sign([]byte(`{"zen":"Keep it logically awesome."}`), secret), 200},
	}
	for _, c := range cases {
		sig := c.sig
		if c.name == "oversized" {
			sig = sign(c.body, secret)
		}
		req, _ := http.NewRequest(http.MethodPost, e.url+"/webhook", bytes.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", c.event)
		req.Header.Set("X-GitHub-Delivery", c.delivery)
		if sig != "" {
			req.Header.Set("X-Hub-Signature-256", sig)
		}
		if c.name == "sha1 only" {
			req.Header.Set("X-Hub-Signature", "sha1=0000000000000000000000000000000000000000")
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: answer %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
	// A last good delivery: once its write is seen, everything queued before it has been handled.
	last := payload(t, 2, "created")
	if code, _ := deliver(t, e.url, "personal_access_token_request", "d-11", last, sign(last, secret)); code != 202 {
		t.Fatalf("last delivery answered %d", code)
	}
	waitFor(t, "the last decision", func() bool {
		for _, l := range logLines(t, e.log.String()) {
			if l.RequestID == 2 {
				return true
			}
		}
		return false
	})
	writes := e.reviews.Writes()
	if len(writes) != 2 || writes[0].ID != 1 || writes[1].ID != 2 {
		t.Errorf("writes = %+v, want one for d-1 and one for d-11", writes)
	}
	if n := len(logLines(t, e.log.String())); n != 2 {
		t.Errorf("%d decision log lines, want 2", n)
	}
	_, metrics := get(t, e.url+"/metrics")
	for _, want := range []string{
		`result="bad_signature"} 5`, `result="duplicate"} 1`, `result="too_large"} 1`,
		`tokencheck_webhook_deliveries_total{event="other",result="ignored"} 1`, `result="ping"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// A write failing with 502 is retried, then the request is left pending, logged, and counted.
func TestWriteFailingIsRetriedThenLeftPending(t *testing.T) {
	e := start(t, []int64{7}, setup{attempts: 3})
	e.reviews.Fail("request", 7, http.StatusBadGateway, 100)
	body := payload(t, 7, "created")
	if code, _ := deliver(t, e.url, "personal_access_token_request", "d-7", body, sign(body, secret)); code != 202 {
		t.Fatalf("answer %d", code)
	}
	waitFor(t, "the decision log line", func() bool { return len(logLines(t, e.log.String())) == 1 })
	if n := len(e.reviews.Writes()); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	if len(e.reviews.Applied()) != 0 {
		t.Error("a write was applied")
	}
	line := logLines(t, e.log.String())[0]
	if line.Decision != decide.ActionDeny || line.GitHub.Outcome != decide.OutcomeFailed || line.GitHub.Status != 502 || line.GitHub.Attempts != 3 {
		t.Errorf("log line = %+v", line)
	}
	waitFor(t, "the structured log of the pending request", func() bool { return strings.Contains(e.slog.String(), "stays pending") })
	if s := e.slog.String(); !strings.Contains(s, `"request_id":7`) || !strings.Contains(s, `"level":"ERROR"`) {
		t.Errorf("structured log lacks the pending request: %s", s)
	}
	_, metrics := get(t, e.url+"/metrics")
	if !strings.Contains(metrics, "tokencheck_review_write_errors_total 1") || !strings.Contains(metrics, `decision="deny",outcome="failed"} 1`) {
		t.Errorf("metrics: %s", metrics)
	}
}

// 100 deliveries at once are all answered (within the client's 10 s timeout, GitHub's limit), and
// each leads to its one write.
func TestHundredConcurrentDeliveries(t *testing.T) {
	ids := make([]int64, 100)
	for i := range ids {
		ids[i] = int64(1000 + i)
	}
	e := start(t, ids, setup{})
	var wg sync.WaitGroup
	codes := make([]int, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := payload(t, id, "created")
			codes[i], _ = deliver(t, e.url, "personal_access_token_request", fmt.Sprintf("d-%d", id), body, sign(body, secret))
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusAccepted {
			t.Errorf("delivery %d answered %d, want 202", ids[i], c)
		}
	}
	waitFor(t, "100 writes", func() bool { return len(e.reviews.Writes()) >= 100 })
	seen := map[int64]int{}
	for _, w := range e.reviews.Writes() {
		seen[w.ID]++
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("request %d written %d times", id, seen[id])
		}
	}
}

// Without apply, decisions are logged and nothing is written.
func TestDryRunLogsOnly(t *testing.T) {
	e := start(t, []int64{5}, setup{dryRun: true})
	body := payload(t, 5, "created")
	if code, _ := deliver(t, e.url, "personal_access_token_request", "d-5", body, sign(body, secret)); code != 202 {
		t.Fatalf("answer %d", code)
	}
	waitFor(t, "the decision log line", func() bool { return len(logLines(t, e.log.String())) == 1 })
	line := logLines(t, e.log.String())[0]
	if !line.DryRun || line.Decision != decide.ActionDeny || line.GitHub.Outcome != decide.OutcomeNotSent {
		t.Errorf("log line = %+v", line)
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("dry run sent %d requests", n)
	}
}

// A judge that fails leaves the request pending, and says so in the decision log.
func TestJudgeFailureLeavesRequest(t *testing.T) {
	e := start(t, []int64{8}, setup{judge: func(context.Context, facts.Token) ([]finding.Finding, []finding.Problem, error) {
		return nil, nil, fmt.Errorf("policy compile failed")
	}})
	body := payload(t, 8, "created")
	deliver(t, e.url, "personal_access_token_request", "d-8", body, sign(body, secret))
	waitFor(t, "the decision log line", func() bool { return len(logLines(t, e.log.String())) == 1 })
	line := logLines(t, e.log.String())[0]
	if line.Decision != decide.ActionLeave || !strings.Contains(line.Why, "policy compile failed") || len(e.reviews.Writes()) != 0 {
		t.Errorf("log line = %+v, writes %v", line, e.reviews.Writes())
	}
}

// Serve on a real listener stops on context cancel: it stops accepting, drains the queue, and
// returns.
func TestServeDrainsOnCancel(t *testing.T) {
	release := make(chan struct{})
	e := start(t, []int64{1, 2, 3}, setup{workers: 1, judge: func(ctx context.Context, tok facts.Token) ([]finding.Finding, []finding.Problem, error) {
		<-release
		return stubJudge(ctx, tok)
	}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln, 5*time.Second) }()
	url := "http://" + ln.Addr().String()
	for _, id := range []int64{1, 2, 3} {
		body := payload(t, id, "created")
		if code, _ := deliver(t, url, "personal_access_token_request", fmt.Sprintf("d-%d", id), body, sign(body, secret)); code != 202 {
			t.Fatalf("delivery %d answered %d", id, code)
		}
	}
	cancel()
	time.AfterFunc(50*time.Millisecond, func() { close(release) })
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if n := len(e.reviews.Applied()); n != 3 {
		t.Errorf("%d queued decisions written before Serve returned, want 3", n)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}

// A drain deadline that passes cancels the writes left; each is logged, and Shutdown says how many
// were still queued.
func TestShutdownDeadline(t *testing.T) {
	e := start(t, []int64{1, 2, 3}, setup{workers: 1, judge: func(ctx context.Context, tok facts.Token) ([]finding.Finding, []finding.Problem, error) {
		<-ctx.Done()
		return nil, nil, ctx.Err()
	}})
	for _, id := range []int64{1, 2, 3} {
		body := payload(t, id, "created")
		deliver(t, e.url, "personal_access_token_request", fmt.Sprintf("d-%d", id), body, sign(body, secret))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := e.srv.Shutdown(ctx)
	if err == nil || !strings.Contains(err.Error(), "decisions queued") {
		t.Fatalf("Shutdown = %v", err)
	}
	if n := len(logLines(t, e.log.String())); n != 3 {
		t.Errorf("%d decisions logged, want all 3", n)
	}
	if len(e.reviews.Writes()) != 0 {
		t.Error("a write after the deadline")
	}
	if code, _ := get(t, e.url+"/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("healthz after shutdown = %d", code)
	}
	body := payload(t, 1, "created")
	if code, _ := deliver(t, e.url, "personal_access_token_request", "d-late", body, sign(body, secret)); code != http.StatusServiceUnavailable {
		t.Errorf("delivery after shutdown answered %d, want 503", code)
	}
}
