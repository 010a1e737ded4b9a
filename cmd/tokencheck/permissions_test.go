package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestPermissionsText(t *testing.T) {
	r := tokencheck(t, nil, "permissions", "GET /repos/{owner}/{repo}/pulls", "post /repos/acme/app/issues", "GET /user/packages", "--owner", "acme")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"repository    issues: write\n",
		"repository    metadata: read\n",
		"repository    pull_requests: read\n",
		"POST /repos/acme/app/issues\n    POST /repos/{owner}/{repo}/issues: issues:write\n",
		"A fine-grained token cannot call these; a classic token needs the scope shown:\n  GET /user/packages  (read:packages)\n",
		"Source: github/docs, REST API 2026-03-10\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	var link string
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "https://") {
			link = strings.TrimSpace(line)
		}
	}
	u, err := url.Parse(link)
	if err != nil || u.Host != "github.com" || u.Path != "/settings/personal-access-tokens/new" {
		t.Fatalf("template link %q (%v)", link, err)
	}
	q := u.Query()
	if q.Get("issues") != "write" || q.Get("pull_requests") != "read" || q.Get("metadata") != "read" || q.Get("target_name") != "acme" || q.Get("expires_in") != "90" || len(q) != 6 {
		t.Errorf("template link query = %v", q)
	}
}

func TestPermissionsJSON(t *testing.T) {
	r := tokencheck(t, nil, "permissions", "--format", "json", "GET /orgs/acme/members", "DELETE /scim/v2/enterprises/acme/Users/1")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	var rep struct {
		Permissions    map[string]string `json:"permissions"`
		Groups         map[string]map[string]string
		TemplateLink   string                         `json:"template_link"`
		NotFineGrained []struct{ Call, Scope string } `json:"not_fine_grained"`
		Source         struct {
			Repository string `json:"repository"`
		} `json:"source"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(rep.Permissions) != 1 || rep.Permissions["members"] != "read" || rep.Groups["organization"]["members"] != "read" {
		t.Errorf("permissions = %v, groups = %v (no metadata without a repository permission)", rep.Permissions, rep.Groups)
	}
	if !strings.Contains(rep.TemplateLink, "members=read") || strings.Contains(rep.TemplateLink, "metadata") {
		t.Errorf("template link = %s", rep.TemplateLink)
	}
	if len(rep.NotFineGrained) != 1 || rep.NotFineGrained[0].Scope != "scim:enterprise" {
		t.Errorf("not fine-grained = %+v", rep.NotFineGrained)
	}
	if rep.Source.Repository != "github/docs" {
		t.Errorf("source = %+v", rep.Source)
	}
}

func TestPermissionsInputErrors(t *testing.T) {
	r := tokencheck(t, nil, "permissions", "GET /repos/acme/app/pullz", "GET /repos/acme/app/pulls", "FETCH /user")
	if r.code != exitError {
		t.Fatalf("exit %d, want %d", r.code, exitError)
	}
	for _, want := range []string{
		"tokencheck: GET /repos/acme/app/pullz: no such endpoint in GitHub's table (REST API 2026-03-10); nearest: GET /repos/{owner}/{repo}/pulls,",
		`tokencheck: "FETCH /user": method FETCH is not one of GET, POST, PUT, PATCH, DELETE`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	// The known call is still answered.
	if !strings.Contains(r.stdout, "pull_requests: read") {
		t.Errorf("stdout = %s", r.stdout)
	}
	if r := tokencheck(t, nil, "permissions", "--format", "yaml", "GET /user"); r.code != exitError || !strings.Contains(r.stderr, "--format") {
		t.Errorf("bad --format: exit %d, stderr %s", r.code, r.stderr)
	}
}

func TestPermissionsNoPermissionNeeded(t *testing.T) {
	r := tokencheck(t, nil, "permissions", "GET /user", "GET /users/octocat")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "These calls need no permission: any fine-grained token can make them.\n") || strings.Contains(r.stdout, "Template link") {
		t.Errorf("stdout = %s", r.stdout)
	}
	if !strings.Contains(r.stdout, "GET /users/octocat\n    GET /users/{username}: no permission\n") {
		t.Errorf("stdout = %s", r.stdout)
	}
}
