package decide_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/decide"
	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/ghapi"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
)

const installToken = "ghs_000000000000000000000000000001" // any bearer the fake records by fingerprint

var fastPace = decide.Pace{MinInterval: time.Millisecond, PerMinute: 100000, PerHour: 100000}

func writeAPI(t *testing.T, fake *ghapitest.Server, writes bool) *ghapi.API {
	t.Helper()
	api, err := ghapi.New(ghapi.Options{APIURL: fake.APIURL(), AllowReviewWrites: writes, Retry: ghapi.Retry{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func mixedPlan(t *testing.T) decide.Plan {
	subjects := []decide.Subject{
		request(1, f("dangerous-permission", finding.High)), // deny
		request(2), // approve
		request(3, f("stale-token", finding.Low)),             // leave
		grant(4, f("dangerous-permission", finding.Critical)), // revoke
	}
	cfg := decide.Config{Approve: decide.ApproveCompliant, Deny: decide.DenyViolating, Revoke: decide.RevokeViolating, RevokeOn: finding.Critical, MaxRevocations: 5}
	return decide.MakePlan(subjects, opts(t, cfg))
}

func logLines(t *testing.T, buf *bytes.Buffer) []decide.LogEntry {
	t.Helper()
	var out []decide.LogEntry
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var e decide.LogEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

func TestDryRunSendsNothingAndLogsEverything(t *testing.T) {
	fake := ghapitest.New(t)
	rv := fake.ServeReviews("acme", []int64{1, 2, 3}, []int64{4})
	var log bytes.Buffer
	// Even a client that could write sends nothing without Apply.
	a := decide.NewApplier(writeAPI(t, fake, true).Client(facts.NewSecret(installToken)), decide.ApplyOptions{Log: &log, Pace: fastPace})
	results := a.Apply(context.Background(), mixedPlan(t))
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("dry run sent %d requests", n)
	}
	if len(rv.Writes()) != 0 || len(results) != 4 {
		t.Fatalf("writes %v, results %d", rv.Writes(), len(results))
	}
	lines := logLines(t, &log)
	if len(lines) != 4 {
		t.Fatalf("%d log lines, want one per decision", len(lines))
	}
	for _, e := range lines {
		if !e.DryRun || e.GitHub.Outcome != decide.OutcomeNotSent {
			t.Errorf("dry-run line %+v", e)
		}
	}
}

func TestApplyPostsExactlyThePlan(t *testing.T) {
	fake := ghapitest.New(t)
	rv := fake.ServeReviews("acme", []int64{1, 2, 3}, []int64{4})
	var log bytes.Buffer
	clock := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	a := decide.NewApplier(writeAPI(t, fake, true).Client(facts.NewSecret(installToken)),
		decide.ApplyOptions{Apply: true, Log: &log, Pace: fastPace, Backoff: time.Millisecond, Now: func() time.Time { return clock }})
	plan := mixedPlan(t)
	results := a.Apply(context.Background(), plan)
	writes := rv.Writes()
	if len(writes) != 3 {
		t.Fatalf("writes = %+v, want deny 1, approve 2, revoke 4", writes)
	}
	want := []struct {
		kind   string
		id     int64
		action string
	}{{"request", 1, "deny"}, {"request", 2, "approve"}, {"grant", 4, "revoke"}}
	for i, w := range want {
		g := writes[i]
		if g.Kind != w.kind || g.ID != w.id || g.Action != w.action || g.Status != http.StatusNoContent {
			t.Errorf("write %d = %+v, want %+v", i, g, w)
		}
	}
	if writes[0].Reason != plan.Decisions[0].Reason || !strings.Contains(writes[0].Reason, "[dangerous-permission]") {
		t.Errorf("deny reason sent = %q", writes[0].Reason)
	}
	var revoke map[string]any
	if err := json.Unmarshal(writes[2].Body, &revoke); err != nil || len(revoke) != 1 || revoke["action"] != "revoke" {
		t.Errorf("revoke body = %s, want exactly {\"action\":\"revoke\"}", writes[2].Body)
	}
	for _, r := range results {
		wantOutcome := decide.OutcomeApplied
		if !r.Decision.Action.Writes() {
			wantOutcome = decide.OutcomeNotSent
		}
		if r.Outcome != wantOutcome || r.Err != nil {
			t.Errorf("%s %d: outcome %s, err %v", r.Decision.Kind, r.Decision.ID, r.Outcome, r.Err)
		}
	}
	lines := logLines(t, &log)
	deny := lines[0]
	if deny.Time != clock || deny.Org != "acme" || deny.RequestID != 1 || deny.TokenID != 1001 || deny.TokenName != "deploy" ||
		deny.Owner != "octocat" || deny.Decision != decide.ActionDeny || deny.Reason == "" || deny.DryRun ||
		deny.GitHub.Outcome != decide.OutcomeApplied || deny.GitHub.Status != 204 || len(deny.Findings) != 1 || deny.Findings[0].Rule != "dangerous-permission" {
		t.Errorf("deny log line = %+v", deny)
	}
	if lines[3].GrantID != 4 || lines[3].RequestID != 0 || lines[3].Decision != decide.ActionRevoke {
		t.Errorf("revoke log line = %+v", lines[3])
	}
	if strings.Contains(log.String(), installToken) {
		t.Error("the log holds the token value")
	}
}

func TestApplyFaults(t *testing.T) {
	fake := ghapitest.New(t)
	rv := fake.ServeReviews("acme", []int64{1, 2, 3}, nil)
	rv.Fail("request", 1, http.StatusBadGateway, 2)  // recovers on the third attempt
	rv.Fail("request", 2, http.StatusBadGateway, 10) // never recovers
	rv.Fail("request", 3, http.StatusUnprocessableEntity, 1)
	var log bytes.Buffer
	a := decide.NewApplier(writeAPI(t, fake, true).Client(facts.NewSecret(installToken)),
		decide.ApplyOptions{Apply: true, Log: &log, Pace: fastPace, Backoff: time.Millisecond, Attempts: 3})
	plan := decide.MakePlan([]decide.Subject{
		request(1, f("no-expiration", finding.High)), request(2, f("no-expiration", finding.High)), request(3, f("no-expiration", finding.High)),
	}, opts(t, decide.DefaultConfig()))
	results := a.Apply(context.Background(), plan)
	if r := results[0]; r.Outcome != decide.OutcomeApplied || r.Attempts != 3 {
		t.Errorf("502 twice then 204: %+v", r)
	}
	if r := results[1]; r.Outcome != decide.OutcomeFailed || r.Attempts != 3 || r.Status != 502 || r.Err == nil {
		t.Errorf("502 always: %+v", r)
	}
	if r := results[2]; r.Outcome != decide.OutcomeAlreadyReviewed || r.Attempts != 1 || r.Err != nil {
		t.Errorf("422: %+v", r)
	}
	if n := len(decide.Failed(results)); n != 1 {
		t.Errorf("Failed = %d, want 1", n)
	}
	perID := map[int64]int{}
	for _, w := range rv.Writes() {
		perID[w.ID]++
	}
	if perID[1] != 3 || perID[2] != 3 || perID[3] != 1 {
		t.Errorf("attempts per request = %v, want 3, 3, 1 (422 not retried)", perID)
	}
	lines := logLines(t, &log)
	if lines[1].GitHub.Outcome != decide.OutcomeFailed || lines[1].GitHub.Status != 502 || lines[1].GitHub.Attempts != 3 ||
		!strings.Contains(lines[1].GitHub.Message, "502") {
		t.Errorf("failed write logged as %+v", lines[1].GitHub)
	}
	if lines[2].GitHub.Outcome != decide.OutcomeAlreadyReviewed || lines[2].GitHub.Status != 422 {
		t.Errorf("422 logged as %+v", lines[2].GitHub)
	}

	// A second run over the same plan finds request 1 already reviewed (422) and does not retry.
	again := a.Do(context.Background(), plan.Decisions[0])
	if again.Outcome != decide.OutcomeAlreadyReviewed || again.Attempts != 1 {
		t.Errorf("second decision on a reviewed request: %+v", again)
	}
}

func TestApplyRefusedWithoutWriteClient(t *testing.T) {
	fake := ghapitest.New(t)
	rv := fake.ServeReviews("acme", []int64{1}, nil)
	a := decide.NewApplier(writeAPI(t, fake, false).Client(facts.NewSecret(installToken)), decide.ApplyOptions{Apply: true, Pace: fastPace, Backoff: time.Millisecond})
	plan := decide.MakePlan([]decide.Subject{request(1, f("no-expiration", finding.High))}, opts(t, decide.DefaultConfig()))
	r := a.Apply(context.Background(), plan)[0]
	if r.Outcome != decide.OutcomeFailed || r.Attempts != 1 || len(rv.Writes()) != 0 || len(fake.Requests()) != 0 {
		t.Errorf("a read-only client wrote: %+v, %v", r, rv.Writes())
	}
	if f := ghapi.Classify(r.Err, "h"); f.Kind != ghapi.KindRefused {
		t.Errorf("err = %v, want refused by the guard", r.Err)
	}
}
