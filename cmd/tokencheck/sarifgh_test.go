package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokencheck/tokencheck/engine/report"
)

// sarifRun is the part of a SARIF run these tests read.
type sarifRun struct {
	Tool struct {
		Driver struct {
			Name, FullName, Version, SemanticVersion string
			Rules                                    []struct {
				ID      string `json:"id"`
				HelpURI string `json:"helpUri"`
			} `json:"rules"`
		} `json:"driver"`
	} `json:"tool"`
	AutomationDetails struct {
		ID string `json:"id"`
	} `json:"automationDetails"`
	Results []struct {
		RuleID    string `json:"ruleId"`
		Locations []struct {
			PhysicalLocation *struct {
				ArtifactLocation struct {
					URI string `json:"uri"`
				} `json:"artifactLocation"`
			} `json:"physicalLocation"`
			LogicalLocations []struct {
				FullyQualifiedName string `json:"fullyQualifiedName"`
			} `json:"logicalLocations"`
		} `json:"locations"`
	} `json:"results"`
}

// checkSARIF validates a SARIF report against the schema and returns its run, failing the test
// when a result lacks a physical location (code scanning rejects those).
func checkSARIF(t *testing.T, doc string) sarifRun {
	t.Helper()
	validateSARIF(t, sarifSchema(t), doc)
	var d struct{ Runs []sarifRun }
	if err := json.Unmarshal([]byte(doc), &d); err != nil || len(d.Runs) != 1 {
		t.Fatalf("SARIF: %v, %d runs", err, len(d.Runs))
	}
	run := d.Runs[0]
	if len(run.Results) == 0 {
		t.Fatal("no results")
	}
	for i, res := range run.Results {
		if len(res.Locations) != 1 || res.Locations[0].PhysicalLocation == nil || res.Locations[0].PhysicalLocation.ArtifactLocation.URI == "" {
			t.Errorf("result %d (%s) has no physical location", i, res.RuleID)
		}
	}
	if d := run.Tool.Driver; d.Version != "0.0.0-dev" || d.SemanticVersion != "0.0.0-dev" || d.FullName == "" {
		t.Errorf("driver version %q, semanticVersion %q, fullName %q: want a semantic version and a full name", d.Version, d.SemanticVersion, d.FullName)
	}
	return run
}

// uris counts the results per artifact and checks each non-file result keeps its token id as a
// logical location.
func uris(t *testing.T, run sarifRun) map[string]int {
	out := map[string]int{}
	for _, res := range run.Results {
		loc := res.Locations[0]
		uri := loc.PhysicalLocation.ArtifactLocation.URI
		out[uri]++
		if strings.HasPrefix(uri, report.ArtifactRoot) && (len(loc.LogicalLocations) != 1 || loc.LogicalLocations[0].FullyQualifiedName == "") {
			t.Errorf("%s result on %s lost its logical location (the token id)", res.RuleID, uri)
		}
	}
	return out
}

func TestSARIFOfAuditAndScanHasPhysicalLocations(t *testing.T) {
	// audit: every finding is placed on the organisation's stable artifact.
	fake, _ := acmeFake(t, true)
	r := tokencheck(t, map[string]string{"GH_TOKEN": auditToken}, "audit", "--org", "acme", "--api-url", fake.APIURL(), "--now", fixedNow, "--format", "sarif")
	if r.code != exitViolations {
		t.Fatalf("audit: exit %d\n%s", r.code, r.stderr)
	}
	run := checkSARIF(t, r.stdout)
	if got := uris(t, run); len(got) != 1 || got[".github/tokencheck/org-acme"] != len(run.Results) {
		t.Errorf("audit artifacts = %v, want every result on .github/tokencheck/org-acme", got)
	}
	if run.AutomationDetails.ID != "tokencheck/audit/" {
		t.Errorf("automationDetails.id = %q", run.AutomationDetails.ID)
	}

	// scan of a live token: the scan artifact; of a header dump: the dump file itself.
	gh := githubFake(t)
	r = tokencheck(t, map[string]string{"GH_TOKEN": tokBroad}, "scan", "--now", fixedNow, "--api-url", gh.APIURL(), "--format", "sarif")
	run = checkSARIF(t, r.stdout)
	if got := uris(t, run); len(got) != 1 || got[".github/tokencheck/scan"] != len(run.Results) {
		t.Errorf("scan artifacts = %v, want every result on .github/tokencheck/scan", got)
	}
	if strings.Contains(r.stdout, tokBroad) {
		t.Error("the token value is in the SARIF")
	}
	r = tokencheck(t, map[string]string{report.CategoryEnv: "nightly"}, "scan", "--now", fixedNow, "--format", "sarif", "--headers", "fixtures/github/user-classic-broad.http", "--type", "classic")
	run = checkSARIF(t, r.stdout)
	if got := uris(t, run); len(got) != 1 || got["fixtures/github/user-classic-broad.http"] != len(run.Results) {
		t.Errorf("header-dump artifacts = %v, want the dump file", got)
	}
	if run.AutomationDetails.ID != "tokencheck/scan/nightly/" {
		t.Errorf("automationDetails.id with %s=nightly = %q", report.CategoryEnv, run.AutomationDetails.ID)
	}
}

func TestSARIFWaiverExpiredHasHelpURI(t *testing.T) {
	r := tokencheck(t, nil, append(ciArgs, "--format", "sarif")...)
	run := checkSARIF(t, r.stdout)
	for _, rule := range run.Tool.Driver.Rules {
		if rule.HelpURI == "" {
			t.Errorf("rule %s has no helpUri", rule.ID)
		}
	}
	if run.AutomationDetails.ID != "tokencheck/check/" {
		t.Errorf("automationDetails.id = %q", run.AutomationDetails.ID)
	}
	// The waived finding opens no alert; the other formats still show it.
	if strings.Contains(r.stdout, `"suppressions"`) || !strings.Contains(r.stdout, "1 waived finding(s) left out") {
		t.Error("the waived finding is in the SARIF, or its absence is not said")
	}
	j := tokencheck(t, nil, append(ciArgs, "--format", "json")...)
	if !strings.Contains(j.stdout, `"waived": true`) {
		t.Error("the JSON report lost the waived finding")
	}
}

func TestStepSummaryStaysWithinOneMiB(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	// An earlier command of the step has used all but 1,500 bytes of the 1 MiB.
	earlier := strings.Repeat(strings.Repeat("x", 99)+"\n", (report.StepSummaryLimit-1500)/100)
	if err := os.WriteFile(summary, []byte(earlier), 0o644); err != nil {
		t.Fatal(err)
	}
	r := tokencheck(t, map[string]string{"GITHUB_STEP_SUMMARY": summary}, append(ciArgs, "--format", "text", "--summary")...)
	if r.code != exitViolations {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	got, _ := os.ReadFile(summary)
	full, _ := os.ReadFile("fixtures/expected/ci.markdown")
	added := string(got[len(earlier):])
	if len(got) > report.StepSummaryLimit || len(added) == 0 {
		t.Fatalf("summary is %d bytes (limit %d), %d added", len(got), report.StepSummaryLimit, len(added))
	}
	cut, note, ok := strings.Cut(added, "\n> **Truncated:** ")
	if !ok || !strings.HasPrefix(string(full), cut) || !strings.HasSuffix(cut, "\n") {
		t.Errorf("not the summary cut at a line boundary and a note:\n%s", added)
	}
	left := strings.Count(string(full[len(cut):]), "\n")
	if !strings.HasPrefix(note, fmt.Sprintf("%d line(s) of this summary were left out", left)) {
		t.Errorf("note %q, want %d lines left out", note, left)
	}
}

func TestFullStepSummaryIsSaid(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	if err := os.WriteFile(summary, bytes.Repeat([]byte("x\n"), report.StepSummaryLimit/2), 0o644); err != nil {
		t.Fatal(err)
	}
	r := tokencheck(t, map[string]string{"GITHUB_STEP_SUMMARY": summary}, "check", "--now", fixedNow, "--summary", "fixtures/inventory/tokens.yaml")
	if fi, _ := os.Stat(summary); fi.Size() != report.StepSummaryLimit || !strings.Contains(r.stderr, "no room for the summary") {
		t.Errorf("a full step summary: size %d, stderr %q", fi.Size(), r.stderr)
	}
}
