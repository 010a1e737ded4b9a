package serve_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/decide"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/ghapi"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
	"github.com/tokencheck/tokencheck/engine/serve"
	"github.com/tokencheck/tokencheck/engine/source/audit"
)

// As a GitHub App, the installation named by the payload mints one token, reused for later writes;
// a payload without an installation writes nothing.
func TestAppClientsMintPerInstallation(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	fake := ghapitest.New(t)
	app := &ghapitest.App{ID: 77, Key: &key.PublicKey, Org: "acme", InstallationID: installation}
	fake.ServeApp(app, &ghapitest.Org{Login: "acme"})
	reviews := fake.ServeReviews("acme", []int64{1, 2}, nil)
	api, err := ghapi.New(ghapi.Options{APIURL: fake.APIURL(), AllowInstallationTokenPOST: true, AllowReviewWrites: true, Retry: ghapi.Retry{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	clients := serve.NewAppClients(api, &audit.App{ID: 77, Key: key})
	applier := decide.NewApplier(nil, decide.ApplyOptions{Apply: true, Pace: decide.Pace{MinInterval: time.Microsecond, PerMinute: 1000, PerHour: 1000}})
	plan := decide.MakePlan([]decide.Subject{
		{Kind: decide.KindRequest, Org: "acme", ID: 1, Findings: []finding.Finding{{Rule: "no-expiration", Severity: finding.High, Level: finding.Deny}}},
		{Kind: decide.KindRequest, Org: "acme", ID: 2, Findings: []finding.Finding{{Rule: "no-expiration", Severity: finding.High, Level: finding.Deny}}},
	}, decide.Options{Config: decide.DefaultConfig(), FailOn: finding.High})
	for _, d := range plan.Decisions {
		c, err := clients.Client(context.Background(), installation)
		if err != nil {
			t.Fatal(err)
		}
		if r := applier.DoWith(context.Background(), c, d); r.Outcome != decide.OutcomeApplied {
			t.Fatalf("request %d: %+v", d.ID, r)
		}
	}
	if app.Minted() != 1 {
		t.Errorf("minted %d tokens, want 1 reused", app.Minted())
	}
	ws := reviews.Writes()
	if len(ws) != 2 || ws[0].Credential == "" || ws[0].Credential != ws[1].Credential || ws[0].Status != http.StatusNoContent {
		t.Errorf("writes = %+v", ws)
	}
	if _, err := clients.Client(context.Background(), 0); err == nil {
		t.Error("a delivery without installation got a client")
	}
}
