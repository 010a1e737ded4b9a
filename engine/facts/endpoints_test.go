package facts

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

// loadEndpoints reads the project's generated endpoint table (policies/endpoints.json).
func loadEndpoints(t *testing.T) *Endpoints {
	t.Helper()
	raw, err := os.ReadFile("../../policies/endpoints.json")
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEndpoints(raw)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestParseCall(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "GET /repos/{owner}/{repo}/pulls", want: "GET /repos/{owner}/{repo}/pulls"},
		{in: "  post /repos/acme/app/issues/ ", want: "POST /repos/acme/app/issues"},
		{in: "GET https://api.github.com/repos/acme/app/pulls?state=open", want: "GET /repos/acme/app/pulls"},
		{in: "GET /api/v3/user", want: "GET /user"},
		{in: "/repos/acme/app", err: "want METHOD /path"},
		{in: "FETCH /user", err: "method FETCH is not one of"},
		{in: "GET repos/acme", err: "must start with /"},
		{in: "GET /repos//app", err: "empty segments"},
	} {
		got, err := ParseCall(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseCall(%q) err = %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got.String() != tc.want):
			t.Errorf("ParseCall(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestMatch(t *testing.T) {
	e := loadEndpoints(t)
	for _, tc := range []struct {
		method, path, want string
	}{
		{"GET", "/repos/{owner}/{repo}/pulls", "GET /repos/{owner}/{repo}/pulls"},
		{"get", "/repos/acme/app/pulls", "GET /repos/{owner}/{repo}/pulls"},
		{"POST", "/repos/acme/app/issues", "POST /repos/{owner}/{repo}/issues"},
		{"GET", "/repos/acme/app/contents/docs/guide/intro.md", "GET /repos/{owner}/{repo}/contents/{path}"},
		{"PUT", "/repos/{owner}/{repo}/contents/{path}", "PUT /repos/{owner}/{repo}/contents/{path}"},
		{"GET", "/repos/acme/app/git/ref/heads/feature/x", "GET /repos/{owner}/{repo}/git/ref/{ref}"},
		{"GET", "/repos/acme/app/compare/main...feature/x", "GET /repos/{owner}/{repo}/compare/{basehead}"},
		// A literal segment beats a parameter: /pulls/comments is not /pulls/{pull_number}.
		{"GET", "/repos/acme/app/pulls/comments", "GET /repos/{owner}/{repo}/pulls/comments"},
		{"GET", "/repos/acme/app/pulls/42", "GET /repos/{owner}/{repo}/pulls/{pull_number}"},
		{"GET", "/repos/acme/app/branches/release/v1/protection", "GET /repos/{owner}/{repo}/branches/{branch}/protection"},
	} {
		got, ok := e.Match(tc.method, tc.path)
		if !ok || got.String() != tc.want {
			t.Errorf("Match(%s %s) = %v, %v; want %s", tc.method, tc.path, got, ok, tc.want)
		}
	}
	for _, miss := range []Call{{"GET", "/repos/acme/app/pullz"}, {"DELETE", "/user"}, {"GET", "/repos/{owner}/{repo}/pulls/{pull_number}/nope"}, {"GET", "/repos/acme/{x}/contents/{path}/more/{y}"}} {
		if got, ok := e.Match(miss.Method, miss.Path); ok {
			t.Errorf("Match(%s) = %v, want no match", miss, got)
		}
	}
}

func TestLeastPermissions(t *testing.T) {
	e := loadEndpoints(t)
	for _, tc := range []struct {
		name    string
		calls   []string
		want    map[string]string
		classic []string
		unknown []string
	}{
		{name: "read pulls", calls: []string{"GET /repos/{owner}/{repo}/pulls"}, want: map[string]string{"pull_requests": "read", "metadata": "read"}},
		{name: "levels take the highest", calls: []string{"GET /repos/acme/app/issues", "POST /repos/acme/app/issues"}, want: map[string]string{"issues": "write", "metadata": "read"}},
		{name: "contents before workflows", calls: []string{"PUT /repos/acme/app/contents/README.md"}, want: map[string]string{"contents": "write", "metadata": "read"}},
		{name: "a pull request by number is pull_requests, not contents", calls: []string{"GET /repos/acme/app/pulls/7"}, want: map[string]string{"pull_requests": "read", "metadata": "read"}},
		{name: "an alternative already needed is reused", calls: []string{"POST /repos/acme/app/pulls", "GET /repos/acme/app/issues/comments"}, want: map[string]string{"pull_requests": "write", "metadata": "read"}},
		{name: "no metadata without a repository permission", calls: []string{"GET /orgs/acme/members"}, want: map[string]string{"members": "read"}},
		{name: "endpoints that need no permission", calls: []string{"GET /user", "GET /users/octocat", "GET /search/code?q=x"}, want: map[string]string{}},
		{name: "account permission", calls: []string{"POST /gists"}, want: map[string]string{"gists": "write"}},
		{name: "classic only", calls: []string{"GET /user/packages", "GET /scim/v2/enterprises/acme/Users"}, want: map[string]string{}, classic: []string{"GET /user/packages", "GET /scim/v2/enterprises/acme/Users"}},
		{name: "unknown", calls: []string{"GET /repos/acme/app/pullz"}, want: map[string]string{}, unknown: []string{"GET /repos/acme/app/pullz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls []Call
			for _, s := range tc.calls {
				c, err := ParseCall(s)
				if err != nil {
					t.Fatal(err)
				}
				calls = append(calls, c)
			}
			perms, classic, unknown := e.LeastPermissions(calls)
			if !maps.Equal(perms, tc.want) {
				t.Errorf("perms = %v, want %v", perms, tc.want)
			}
			var gotClassic, gotUnknown []string
			for _, c := range classic {
				gotClassic = append(gotClassic, c.String())
			}
			for _, u := range unknown {
				gotUnknown = append(gotUnknown, u.String())
				if len(u.Suggestions) != 3 {
					t.Errorf("%s: suggestions %v, want 3", u, u.Suggestions)
				}
			}
			if !slices.Equal(gotClassic, tc.classic) || !slices.Equal(gotUnknown, tc.unknown) {
				t.Errorf("classic = %v, unknown = %v; want %v, %v", gotClassic, gotUnknown, tc.classic, tc.unknown)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	e := loadEndpoints(t)
	for _, tc := range []struct {
		call, want string
	}{
		{"GET /repos/acme/app/pullz", "GET /repos/{owner}/{repo}/pulls"},
		{"GET /repos/{owner}/{repo}/isues", "GET /repos/{owner}/{repo}/issues"},
		{"POST /repos/acme/app/pulls/1/comment", "POST /repos/{owner}/{repo}/pulls/{pull_number}/comments"},
	} {
		c, _ := ParseCall(tc.call)
		got := e.Suggest(c, 3)
		if len(got) == 0 || got[0] != tc.want {
			t.Errorf("Suggest(%s) = %v, want %s first", tc.call, got, tc.want)
		}
	}
}

func TestEndpointTableShape(t *testing.T) {
	e := loadEndpoints(t)
	if e.Len() < 800 {
		t.Errorf("only %d endpoints", e.Len())
	}
	if e.Source.Repository != "github/docs" || e.Source.APIVersion == "" || len(e.Source.Files) != 2 {
		t.Errorf("source = %+v", e.Source)
	}
	ep, _ := e.Match("GET", "/orgs/acme/settings/network-configurations")
	if len(ep.Requires) == 0 || ep.Requires[0].Permission != "organization_network_configurations" || !slices.Contains(ep.Editions, "fpt") {
		t.Errorf("network configurations endpoint = %+v", ep)
	}
}

func BenchmarkParseEndpoints(b *testing.B) {
	raw, err := os.ReadFile("../../policies/endpoints.json")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ParseEndpoints(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLeastPermissions(b *testing.B) {
	raw, _ := os.ReadFile("../../policies/endpoints.json")
	e, err := ParseEndpoints(raw)
	if err != nil {
		b.Fatal(err)
	}
	calls := []Call{{"GET", "/repos/acme/app/pulls"}, {"PUT", "/repos/acme/app/contents/a/b/c.md"}, {"POST", "/repos/acme/app/issues/1/labels"}, {"GET", "/orgs/acme/members"}, {"GET", "/user"}}
	for b.Loop() {
		e.LeastPermissions(calls)
	}
}

func BenchmarkSuggest(b *testing.B) {
	raw, _ := os.ReadFile("../../policies/endpoints.json")
	e, err := ParseEndpoints(raw)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		e.Suggest(Call{"GET", "/repos/acme/app/pullz"}, 3)
	}
}
