package ghapi_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/ghapi"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
)

// The two decision writes pass only on a client built with AllowReviewWrites, only to their exact
// paths on the configured host; everything else is refused before a credential is attached.
func TestGuardReviewWrites(t *testing.T) {
	fake := ghapitest.New(t)
	ctx := context.Background()
	review := "orgs/acme/personal-access-token-requests/25381"
	revoke := "orgs/acme/personal-access-tokens/25381"

	// Without the option, neither write leaves the process.
	ro := newAPI(t, fake, ghapi.Options{AllowInstallationTokenPOST: true}).Client(facts.NewSecret(classic))
	for _, p := range []string{review, revoke} {
		req, _ := ro.NewRequest(http.MethodPost, p, map[string]string{"action": "deny"})
		if _, err := ro.Do(ctx, req, nil); !errors.Is(err, ghapi.ErrRefused) {
			t.Errorf("POST %s allowed without AllowReviewWrites: %v", p, err)
		}
	}
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("fake saw %d requests without AllowReviewWrites, want 0", n)
	}

	c := newAPI(t, fake, ghapi.Options{AllowReviewWrites: true}).Client(facts.NewSecret(classic))
	refused := []struct{ method, path string }{
		{http.MethodPatch, review},
		{http.MethodDelete, revoke},
		{http.MethodPut, review},
		{http.MethodPost, "orgs/acme/personal-access-token-requests"}, // the bulk endpoint
		{http.MethodPost, "orgs/acme/personal-access-tokens"},         // bulk revoke
		{http.MethodPost, "orgs/acme/personal-access-tokens/25381/repositories"},
		{http.MethodPost, review + "?x=1"},
		{http.MethodPost, "orgs/acme/personal-access-token-requests/abc"},
		{http.MethodPost, "orgs/acme/personal-access-token-requests/1/../../../user/repos"},
		{http.MethodPost, "orgs/acme/personal-access-token-requests/1%2F..%2F2"},
		{http.MethodPost, "app/installations/42/access_tokens"}, // not opened by this option
		{http.MethodPost, "user/repos"},
		{http.MethodPost, "https://api.github.com/" + review}, // another host
	}
	for _, r := range refused {
		req, err := c.NewRequest(r.method, r.path, map[string]string{"action": "revoke"})
		if err != nil {
			continue // go-github itself would not build it
		}
		if _, err := c.Do(ctx, req, nil); !errors.Is(err, ghapi.ErrRefused) {
			t.Errorf("%s %s went through the guard: %v", r.method, r.path, err)
		}
	}
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("fake saw %d refused requests: %+v", n, fake.Requests())
	}

	for _, p := range []string{review, revoke} {
		req, _ := c.NewRequest(http.MethodPost, p, map[string]string{"action": "approve"})
		_, err := c.Do(ctx, req, nil)
		if errors.Is(err, ghapi.ErrRefused) {
			t.Errorf("POST %s refused with AllowReviewWrites: %v", p, err)
		}
	}
	reqs := fake.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/"+review || reqs[1].Path != "/"+revoke || reqs[0].Method != http.MethodPost {
		t.Errorf("requests = %+v, want the review and the revoke POSTs", reqs)
	}
	if reqs[0].Credential != facts.Fingerprint(classic) {
		t.Errorf("the allowed write carried credential %q, want the client's", reqs[0].Credential)
	}
}
