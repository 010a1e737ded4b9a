package report

import (
	"bytes"
	"testing"

	"github.com/tokencheck/tokencheck/engine/finding"
)

// JSONStream writes the JSON writer's document byte for byte: empty, full (errors, incomplete
// sources, unused waivers, audit, baseline, characters JSON could escape) and the sample.
func TestJSONStreamMatchesJSON(t *testing.T) {
	full := sample()
	full.Tool, full.Version, full.Now, full.Baseline = "tokencheck", "v1 <dev>", "2026-11-22T00:00:00Z", "base.json"
	full.Findings = append(full.Findings, finding.Finding{Rule: "classic-token", Severity: "high", Level: "deny", Token: "a&b", Subject: "<x>",
		Message: "quote \" and \u2028 and é", FixURL: "https://github.com/settings/personal-access-tokens/new?name=a&b=<c>", Location: &finding.Location{File: "t.yaml", Line: 9}})
	full.Problems = []finding.Problem{{Kind: finding.Input, File: "bad.yaml", Line: 2, Message: "broken"}, {Kind: finding.Incomplete, Source: "org acme", Message: "rate limited"}}
	full.UnusedWaivers = []finding.UnusedWaiver{{Rule: "r", Token: "t*", Owner: "ops", Expires: "2027-01-01"}}
	full.Audit = &AuditSummary{Orgs: []string{"acme"}, TokensBySource: map[string]int{"org_audit": 2, "live": 1}, APIPages: 3}
	full.Summarize()
	for name, r := range map[string]*Report{
		"empty":  {Result: &finding.Result{FailOn: "high"}},
		"sample": sample(),
		"full":   full,
	} {
		var want, got bytes.Buffer
		if err := (JSON{}).Write(&want, r); err != nil {
			t.Fatal(err)
		}
		if err := (JSONStream{}).Write(&got, r); err != nil {
			t.Fatal(err)
		}
		if want.String() != got.String() {
			t.Errorf("%s: JSONStream differs from JSON:\n--- JSON\n%s\n--- JSONStream\n%s", name, want.String(), got.String())
		}
	}
}
