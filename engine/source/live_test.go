package source_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/ghapi"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
	"github.com/tokencheck/tokencheck/engine/source"
)

// Tokens with valid checksums, built the way GitHub builds them.
func token(prefix, random string) string { return prefix + random + facts.Checksum(random) }

var (
	classicToken      = token("ghp_", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa1")
	packagesToken     = token("ghp_", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbb2")
	installationToken = token("ghs_", "ccccccccccccccccccccccccccccc3")
	ssoToken          = token("ghp_", "ddddddddddddddddddddddddddddd4")
	fineGrainedToken  = "github_pat_11AAAAAAA0aaaaaaaaaaaa_" + strings.Repeat("b", 59)
)

func live(t *testing.T, fake *ghapitest.Server, value string) (facts.Token, error) {
	t.Helper()
	api, err := ghapi.New(ghapi.Options{APIURL: fake.APIURL(), Retry: ghapi.Retry{BaseDelay: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return source.Live(context.Background(), api, source.LiveToken{Secret: facts.NewSecret(value), Label: "GH_TOKEN"})
}

func TestLiveClassic(t *testing.T) {
	fake := ghapitest.New(t)
	fake.Answer(classicToken, "/user", ghapitest.Fixture(t, "user-classic-broad.http"))
	tok, err := live(t, fake, classicToken)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"admin:gpg_key", "admin:org", "admin:org_hook", "admin:public_key", "admin:repo_hook", "delete_repo", "gist", "notifications", "repo", "user", "workflow"}
	if tok.Type != facts.TypeClassic || !reflect.DeepEqual(tok.Scopes, want) || tok.ExpiresAt != nil || tok.Owner != "octocat" || len(tok.Unknown) != 0 {
		t.Errorf("token = %+v", tok)
	}
	if tok.ID != facts.Fingerprint(classicToken) || tok.LastFour != classicToken[len(classicToken)-4:] {
		t.Errorf("id %q last four %q", tok.ID, tok.LastFour)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 || reqs[0].Method != "GET" || reqs[0].Path != "/user" || reqs[0].Credential != facts.Fingerprint(classicToken) {
		t.Errorf("requests = %+v, want one authenticated GET /user", reqs)
	}
}

func TestLivePackagesExpiry(t *testing.T) {
	fake := ghapitest.New(t)
	fake.Answer(packagesToken, "/user", ghapitest.Fixture(t, "user-classic-packages.http"))
	tok, err := live(t, fake, packagesToken)
	if err != nil {
		t.Fatal(err)
	}
	if tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(time.Date(2027, 2, 20, 10, 15, 0, 0, time.UTC)) || tok.Owner != "release-bot" {
		t.Errorf("token = %+v", tok)
	}
}

func TestLiveFineGrainedOffsetExpiry(t *testing.T) {
	fake := ghapitest.New(t)
	fake.Answer(fineGrainedToken, "/user", ghapitest.Fixture(t, "user-fine-grained.http"))
	tok, err := live(t, fake, fineGrainedToken)
	if err != nil {
		t.Fatal(err)
	}
	// 2027-03-31 00:00:00 +0900 is 2027-03-30 15:00 UTC.
	if tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(time.Date(2027, 3, 30, 15, 0, 0, 0, time.UTC)) {
		t.Errorf("expires_at = %v", tok.ExpiresAt)
	}
	// What headers cannot tell is unknown, never guessed.
	for _, f := range []string{facts.FactPermissions, facts.FactRepositorySelection, facts.FactResourceOwner} {
		if !tok.IsUnknown(f) {
			t.Errorf("%s not marked unknown: %v", f, tok.Unknown)
		}
	}
	if tok.Scopes != nil || tok.IsUnknown(facts.FactScopes) {
		t.Errorf("fine-grained token given scopes %v / unknown %v", tok.Scopes, tok.Unknown)
	}
}

func TestLiveInstallationTokenUsesRateLimit(t *testing.T) {
	fake := ghapitest.New(t)
	fake.Answer(installationToken, "/rate_limit", ghapitest.Fixture(t, "installation-rate-limit.http"))
	tok, err := live(t, fake, installationToken)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Type != facts.TypeAppInstallation || tok.ExpiresAt == nil || !tok.IsUnknown(facts.FactOwner) {
		t.Errorf("token = %+v", tok)
	}
	if reqs := fake.Requests(); len(reqs) != 1 || reqs[0].Path != "/rate_limit" {
		t.Errorf("requests = %+v, want one GET /rate_limit", reqs)
	}
}

func TestLiveFallsBackToRateLimitWhenUserIsRefused(t *testing.T) {
	fake := ghapitest.New(t)
	fake.Answer(classicToken, "/user", ghapitest.Fixture(t, "installation-user-403.http"))
	fake.Answer(classicToken, "/rate_limit", ghapitest.Fixture(t, "installation-rate-limit.http").With("X-OAuth-Scopes", "repo"))
	tok, err := live(t, fake, classicToken)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tok.Scopes, []string{"repo"}) || !tok.IsUnknown(facts.FactOwner) {
		t.Errorf("token = %+v", tok)
	}
	if n := len(fake.Requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestLiveMissingScopesHeaderIsUnknownNotNone(t *testing.T) {
	fake := ghapitest.New(t)
	fake.Answer(classicToken, "/user", ghapitest.Fixture(t, "user-classic-broad.http").With("X-OAuth-Scopes", ""))
	tok, err := live(t, fake, classicToken)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.IsUnknown(facts.FactScopes) {
		t.Errorf("scopes not unknown: %+v", tok)
	}
	// An empty header (present, no value) is no scopes: TestHeadersDump covers it.
}

func TestLiveFailures(t *testing.T) {
	fake := ghapitest.New(t)
	fake.Answer(ssoToken, "/user", ghapitest.Fixture(t, "sso-required.http"))
	tok, err := live(t, fake, ssoToken)
	var inc finding.Problem
	if !errors.As(err, &inc) || inc.Kind != finding.Incomplete || !strings.Contains(inc.Message, "https://github.com/orgs/acme/sso?authorization_request=") {
		t.Fatalf("SSO 403: %v", err)
	}
	if tok.SSO != "required" || !reflect.DeepEqual(tok.Scopes, []string{"read:org", "repo", "workflow"}) || !tok.IsUnknown(facts.FactExpiresAt) {
		t.Errorf("SSO token facts = %+v", tok)
	}

	_, err = live(t, fake, token("ghp_", "eeeeeeeeeeeeeeeeeeeeeeeeeeeee5"))
	var f *ghapi.Failure
	if !errors.As(err, &f) || f.Kind != ghapi.KindRejected {
		t.Errorf("unknown token: %v", err)
	}

	before := len(fake.Requests())
	_, err = live(t, fake, classicToken[:len(classicToken)-1]+"x")
	var in finding.Problem
	if !errors.As(err, &in) || in.Kind != finding.Input || in.Source != "GH_TOKEN" || !strings.Contains(in.Error(), "checksum does not match") || !strings.Contains(in.Error(), "not sent") {
		t.Errorf("malformed token: %v", err)
	}
	if len(fake.Requests()) != before {
		t.Errorf("a malformed token was sent")
	}
	tok, err = live(t, fake, token("ghr_", "fffffffffffffffffffffffffffff6"))
	if !errors.As(err, &inc) || inc.Kind != finding.Incomplete || tok.Type != facts.TypeRefresh || len(fake.Requests()) != before {
		t.Errorf("refresh token: %v, %d requests", err, len(fake.Requests())-before)
	}
}

func TestHeadersDump(t *testing.T) {
	dir := filepath.Join(ghapitest.FixturesDir())
	tok, err := source.Headers(source.HeaderDump{File: filepath.Join(dir, "user-classic-broad.http"), Type: facts.TypeClassic, LastFour: "T4V4"})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Type != facts.TypeClassic || len(tok.Scopes) != 11 || tok.Owner != "octocat" || tok.LastFour != "T4V4" || tok.Source.Kind != facts.SourceHeaders || tok.Source.Line != 1 {
		t.Errorf("token = %+v", tok)
	}
	tok, err = source.Headers(source.HeaderDump{File: filepath.Join(dir, "user-fine-grained.http")})
	if err != nil || tok.Type != facts.TypeUnknown || !tok.IsUnknown(facts.FactType) || tok.ExpiresAt == nil {
		t.Errorf("fine-grained dump without --type: %+v, %v", tok, err)
	}

	tmp := t.TempDir()
	empty := filepath.Join(tmp, "empty-scopes.txt")
	os.WriteFile(empty, []byte("HTTP/2 200\r\nx-oauth-scopes: \r\n\r\n"), 0o644)
	tok, err = source.Headers(source.HeaderDump{File: empty, Type: facts.TypeClassic})
	if err != nil || tok.Scopes == nil || len(tok.Scopes) != 0 || tok.IsUnknown(facts.FactScopes) {
		t.Errorf("empty X-OAuth-Scopes must mean no scopes: %+v, %v", tok, err)
	}

	_, err = source.Headers(source.HeaderDump{File: filepath.Join(dir, "bad-credentials.http")})
	var bad finding.Problem
	if !errors.As(err, &bad) || bad.Kind != finding.Input || !strings.Contains(err.Error(), "bad-credentials.http:1: the saved response is 401") {
		t.Errorf("401 dump: %v", err)
	}
	if _, err := source.ParseTokenType("bogus"); err == nil || !strings.Contains(err.Error(), "is not a token type") {
		t.Errorf("bogus type: %v", err)
	}
	if typ, err := source.ParseTokenType("ghp_"); err != nil || typ != facts.TypeClassic {
		t.Errorf("ghp_ prefix: %v %v", typ, err)
	}
	garbage := filepath.Join(tmp, "garbage.txt")
	os.WriteFile(garbage, []byte("HTTP/2 200\nx-oauth-scopes: repo\nthis is not a header\n\n"), 0o644)
	_, err = source.Headers(source.HeaderDump{File: garbage})
	if err == nil || !strings.Contains(err.Error(), "garbage.txt:3: not a header line") {
		t.Errorf("garbage dump: %v", err)
	}
}
