package ghapi_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/ghapi"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
)

func TestParseAcceptedPermissions(t *testing.T) {
	cases := []struct {
		in   string
		want []map[string]string
	}{
		{"pull_requests=read,contents=read; issues=read,contents=read", []map[string]string{
			{"pull_requests": "read", "contents": "read"}, {"issues": "read", "contents": "read"}}},
		{"pull_requests=write,contents=read; issues=read", []map[string]string{
			{"pull_requests": "write", "contents": "read"}, {"issues": "read"}}},
		{"allows_permissionless_access=true", []map[string]string{{}}},
		{"contents=read; \x1b[31mevil=read; issues=write", []map[string]string{{"contents": "read"}, {"issues": "write"}}},
		{"contents; issues=read", []map[string]string{{"issues": "read"}}},
		{"", nil},
	}
	for _, c := range cases {
		if got := ghapi.ParseAcceptedPermissions(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseAcceptedPermissions(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	if got := ghapi.ParseAcceptedScopes("admin:org, read:org, repo, user, write:org, b@d"); !reflect.DeepEqual(got, []string{"admin:org", "read:org", "repo", "user", "write:org"}) {
		t.Errorf("ParseAcceptedScopes = %q", got)
	}
	if got := ghapi.ParseAcceptedScopes(""); got != nil {
		t.Errorf("ParseAcceptedScopes(\"\") = %q", got)
	}
}

// A 403 that says which permissions the endpoint accepts names them in its message.
func TestForbiddenNamesTheMissingPermission(t *testing.T) {
	fake := ghapitest.New(t)
	fake.Answer(classic, "/repos/acme/app/pulls", ghapitest.Fixture(t, "repo-pulls-403-accepted.http"))
	fake.Answer(classic, "/user", ghapitest.Fixture(t, "installation-user-403.http"))
	api := newAPI(t, fake, ghapi.Options{})
	c := api.Client(facts.NewSecret(classic))

	req, _ := c.NewRequest(http.MethodGet, "repos/acme/app/pulls", nil)
	_, err := c.Do(context.Background(), req, nil)
	f := ghapi.Classify(err, "api.example")
	if f == nil || f.Kind != ghapi.KindForbidden {
		t.Fatalf("Classify = %#v", f)
	}
	want := "api.example refused access (403 Resource not accessible by personal access token); the endpoint accepts a token with contents: read and pull_requests: read, or contents: read and issues: read"
	if f.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", f.Error(), want)
	}

	// An endpoint any token may call: the refusal is not about a permission, so none is named.
	req, _ = c.NewRequest(http.MethodGet, "user", nil)
	_, err = c.Do(context.Background(), req, nil)
	f = ghapi.Classify(err, "api.example")
	if f == nil || f.Kind != ghapi.KindForbidden || strings.Contains(f.Error(), "accepts") {
		t.Errorf("permissionless 403: %v", f)
	}
}
