package source_test

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
	"github.com/tokencheck/tokencheck/engine/source"
)

// A stateless installation token is sent (its format is valid), asks /rate_limit, and takes its
// expiry from its JWT when the answer has no expiration header.
func TestLiveStatelessInstallationToken(t *testing.T) {
	exp := time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)
	value := ghapitest.StatelessToken(3141592, exp)
	fake := ghapitest.New(t)
	fake.Answer(value, "/rate_limit", ghapitest.Fixture(t, "installation-stateless-rate-limit.http"))
	tok, err := live(t, fake, value)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Type != facts.TypeAppInstallation || tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(exp) || tok.IsUnknown(facts.FactExpiresAt) {
		t.Errorf("token = %+v, want app_installation expiring %s", tok, exp)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/rate_limit" || reqs[0].Credential != facts.Fingerprint(value) {
		t.Errorf("requests = %+v", reqs)
	}
	// GitHub's header, when present, is GitHub's word and wins over the value's claim.
	fake.Answer(value, "/rate_limit", ghapitest.Fixture(t, "installation-rate-limit.http"))
	tok, _ = live(t, fake, value)
	if tok.ExpiresAt == nil || tok.ExpiresAt.Format(time.RFC3339) != "2026-11-22T02:58:11Z" {
		t.Errorf("expires_at = %v, want the header's", tok.ExpiresAt)
	}
	// Unreachable host: the expiry is still known from the value.
	closed := ghapitest.New(t)
	closed.Close()
	tok, err = live(t, closed, value)
	if err == nil || tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(exp) {
		t.Errorf("unreachable: err %v, expires_at %v", err, tok.ExpiresAt)
	}
	if strings.Contains(err.Error(), value[20:60]) {
		t.Errorf("error shows the value: %v", err)
	}
}

func TestLiveRefusesMalformedStatelessToken(t *testing.T) {
	value := ghapitest.StatelessToken(1, time.Now())
	bad := value[:len(value)-40] + "!" + value[len(value)-39:]
	fake := ghapitest.New(t)
	_, err := live(t, fake, bad)
	var in finding.Problem
	if !errors.As(err, &in) || in.Kind != finding.Input || !strings.Contains(err.Error(), "not sent") || strings.Contains(err.Error(), bad[10:40]) {
		t.Errorf("err = %v", err)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("%d requests sent for a malformed token", n)
	}
}

func TestAcceptedPermissionsFromLiveAndDump(t *testing.T) {
	dump := filepath.Join(ghapitest.FixturesDir(), "repo-pulls-403-accepted.http")
	tok, err := source.Headers(source.HeaderDump{File: dump, Type: "fine_grained"})
	want := []map[string]string{{"pull_requests": "read", "contents": "read"}, {"issues": "read", "contents": "read"}}
	if !reflect.DeepEqual(tok.AcceptedPermissions, want) {
		t.Errorf("accepted_permissions = %v", tok.AcceptedPermissions)
	}
	var inc finding.Problem
	if !errors.As(err, &inc) || inc.Kind != finding.Incomplete || !strings.Contains(err.Error(), "the endpoint accepts a token with contents: read and pull_requests: read, or contents: read and issues: read") {
		t.Errorf("err = %v", err)
	}
	fake := ghapitest.New(t)
	fake.Answer(ssoToken, "/user", ghapitest.Fixture(t, "sso-required.http"))
	tok, _ = live(t, fake, ssoToken)
	if !reflect.DeepEqual(tok.AcceptedScopes, []string{"repo"}) {
		t.Errorf("accepted_scopes = %q", tok.AcceptedScopes)
	}
	fake.Answer(classicToken, "/user", ghapitest.Fixture(t, "user-classic-broad.http"))
	tok, _ = live(t, fake, classicToken)
	if tok.AcceptedScopes != nil || tok.AcceptedPermissions != nil {
		t.Errorf("empty X-Accepted-OAuth-Scopes: %q %v", tok.AcceptedScopes, tok.AcceptedPermissions)
	}
}
