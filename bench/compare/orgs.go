package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/ghapi"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
	"github.com/tokencheck/tokencheck/engine/source/audit"
)

// The many-organisation audit, as BenchmarkOrganisations in engine/source/audit measures it:
// orgCount organisations of orgGrants grants each, from the fake GitHub answering every page after
// orgLatency, read one organisation at a time and orgConcurrency at a time.
const (
	orgCount       = 8
	orgGrants      = 300
	orgLatency     = 20 * time.Millisecond
	orgConcurrency = 4
	orgTarget      = 0.35 // concurrent time ≤ 0.35 × serial time (issue 15)
)

// orgResult is the measurement of the many-organisation audit.
type orgResult struct {
	serial, concurrent time.Duration // medians
	runs               int
	pages, tokens      int // of one audit
	err                error
}

// ratio is the concurrent time over the serial time.
func (o orgResult) ratio() float64 {
	if o.serial == 0 {
		return 0
	}
	return o.concurrent.Seconds() / o.serial.Seconds()
}

// met reports whether the audit was read whole and concurrency made it fast enough.
func (o orgResult) met() bool {
	return o.err == nil && o.serial > 0 && o.ratio() <= orgTarget
}

// harnessTB lets the fake GitHub (test support that wants a testing.TB) run in the harness: a
// failure panics with tbFailure, which runOrgs turns into an error, and cleanups run at the end.
type harnessTB struct {
	testing.TB // nil: any other method is a bug of the harness and panics
	cleanups   []func()
}

type tbFailure string

func (h *harnessTB) Helper()           {}
func (h *harnessTB) Cleanup(f func())  { h.cleanups = append(h.cleanups, f) }
func (h *harnessTB) Fatal(args ...any) { panic(tbFailure(fmt.Sprint(args...))) }
func (h *harnessTB) Fatalf(format string, args ...any) {
	panic(tbFailure(fmt.Sprintf(format, args...)))
}
func (h *harnessTB) Errorf(format string, args ...any) {
	panic(tbFailure(fmt.Sprintf(format, args...)))
}

func (h *harnessTB) close() {
	for i := len(h.cleanups) - 1; i >= 0; i-- {
		h.cleanups[i]()
	}
}

// orgAppToken is the installation token the fake organisations accept (as audit_test's appToken).
func orgAppToken() string {
	r := fmt.Sprintf("inst%026d", 1)
	return "ghs_" + r + facts.Checksum(r)
}

// orgGrantList is n grants as GitHub lists them (as audit_test's grants).
func orgGrantList(n int) []json.RawMessage {
	out := make([]json.RawMessage, n)
	for i := range out {
		out[i] = json.RawMessage(fmt.Sprintf(`{"id":%d,"owner":{"login":"user%d","id":%d,"type":"User","site_admin":false},"repository_selection":"all","repositories_url":"https://api.github.com/organizations/1/personal-access-tokens/%d/repositories","permissions":{"organization":{},"repository":{"metadata":"read","contents":"read"},"other":{}},"access_granted_at":"2026-06-01T00:00:00Z","token_id":%d,"token_name":"token %d","token_expired":false,"token_expires_at":"2027-01-01T00:00:00Z","token_last_used_at":"2026-11-01T00:00:00Z"}`,
			100000+i, i%250, i%250, 100000+i, 500000+i, i))
	}
	return out
}

// runOrgs audits the organisations serially and orgConcurrency at a time, interleaved, runs times
// each, and keeps the median of each. An audit that is not read whole is the result's err.
func runOrgs(ctx context.Context, cat *facts.Catalog, runs int) (res orgResult) {
	tb := &harnessTB{}
	defer tb.close()
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(tbFailure)
			if !ok {
				panic(r)
			}
			res.err = fmt.Errorf("fake GitHub: %s", string(f))
		}
	}()
	app := orgAppToken()
	fake := ghapitest.New(tb)
	fake.Latency = orgLatency
	var orgs []string
	for i := range orgCount {
		o := &ghapitest.Org{Login: fmt.Sprintf("org%d", i+1), ID: int64(1000 + i), Grants: orgGrantList(orgGrants),
			Requests: []json.RawMessage{}, Credentials: []json.RawMessage{}, Allowed: []string{facts.Fingerprint(app)}}
		fake.ServeOrg(o)
		orgs = append(orgs, o.Login)
	}
	api, err := ghapi.New(ghapi.Options{APIURL: fake.APIURL(), Retry: ghapi.Retry{BaseDelay: time.Millisecond, SecondaryRetries: 3}})
	if err != nil {
		res.err = err
		return res
	}
	once := func(conc int) (time.Duration, error) {
		start := time.Now()
		r := audit.Collect(ctx, api, audit.Credentials{Token: facts.NewSecret(app)}, cat,
			audit.Options{Orgs: orgs, OrgConcurrency: conc, Credentials: true})
		took := time.Since(start)
		if len(r.Problems) > 0 {
			return 0, fmt.Errorf("concurrency %d: the audit is incomplete: %s", conc, r.Problems[0].Message)
		}
		if len(r.Tokens) != orgCount*orgGrants {
			return 0, fmt.Errorf("concurrency %d: %d tokens, want %d", conc, len(r.Tokens), orgCount*orgGrants)
		}
		res.pages, res.tokens = r.Pages, len(r.Tokens)
		return took, nil
	}
	var serial, concurrent []time.Duration
	for range runs {
		for _, conc := range []int{1, orgConcurrency} {
			d, err := once(conc)
			if err != nil {
				res.err = err
				return res
			}
			if conc == 1 {
				serial = append(serial, d)
			} else {
				concurrent = append(concurrent, d)
			}
		}
	}
	res.serial, res.concurrent, res.runs = medianDuration(serial), medianDuration(concurrent), runs
	fmt.Fprintf(os.Stderr, "%d organisations, %d pages: serial %s, concurrency %d %s (%.2f×)\n", orgCount, res.pages,
		res.serial.Round(time.Millisecond), orgConcurrency, res.concurrent.Round(time.Millisecond), res.ratio())
	return res
}

func medianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	w := append([]time.Duration(nil), ds...)
	sort.Slice(w, func(i, j int) bool { return w[i] < w[j] })
	return w[len(w)/2]
}
