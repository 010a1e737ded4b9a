package main

import (
	"encoding/json"
	"net/url"
	"testing"
)

// TestCheckUsesInventory judges fixtures/uses: needs come from the API calls each token declares.
func TestCheckUsesInventory(t *testing.T) {
	r := tokencheck(t, nil, "check", "--now", fixedNow, "fixtures/uses")
	if r.code != exitViolations {
		t.Errorf("exit %d, want %d; stderr: %s", r.code, exitViolations, r.stderr)
	}
	golden(t, "uses.text", r.stdout)

	r = tokencheck(t, nil, "check", "--now", fixedNow, "--format", "json", "fixtures/uses")
	var rep struct {
		Findings []struct {
			Rule    string `json:"rule"`
			Token   string `json:"token"`
			Subject string `json:"subject"`
			Message string `json:"message"`
			FixURL  string `json:"fix_url"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	var excess []string
	for _, f := range rep.Findings {
		switch {
		case f.Token == "exact-fit":
			t.Errorf("a grant equal to the computed need has no finding: %+v", f)
		case f.Rule == "excess-permission" && f.Token == "pr-labeler":
			excess = append(excess, f.Message)
		case f.Rule == "classic-token" && f.Token == "release-bot":
			u, err := url.Parse(f.FixURL)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if q.Get("contents") != "write" || q.Get("metadata") != "read" || q.Get("issues") != "" || q.Get("pull_requests") != "" {
				t.Errorf("the fix link must ask for exactly what the calls need: %s", f.FixURL)
			}
		}
	}
	if len(excess) != 2 {
		t.Errorf("pr-labeler excess-permission findings = %v, want contents:write and pull_requests:write", excess)
	}
}
