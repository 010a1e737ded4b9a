package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tokencheck/tokencheck/engine/finding"
)

func sample() *Report {
	r := &Report{Result: &finding.Result{
		FailOn: "high",
		Tokens: []finding.TokenInfo{{ID: "deploy-bot", Type: "classic", Location: &finding.Location{File: "tokens.yaml", Line: 3}}, {ID: "clean", Type: "fine_grained"}},
		Findings: []finding.Finding{
			{Rule: "dangerous-scope", Severity: "critical", Level: "deny", Token: "deploy-bot", Message: "dangerous scope delete_repo"},
			{Rule: "stale-token", Severity: "low", Level: "deny", Token: "deploy-bot", Message: "unused", Waived: true, WaiverReason: "known"},
		},
	}}
	r.Summarize()
	return r
}

func TestSummaryCountsFailingAndWaived(t *testing.T) {
	s := sample().Summary
	if s.Tokens != 2 || s.Findings != 2 || s.Failing != 1 || s.Waived != 1 || s.BySeverity["critical"] != 1 {
		t.Errorf("summary = %+v", s)
	}
}

func TestTextColourOnlyWhenAsked(t *testing.T) {
	var plain, coloured bytes.Buffer
	if err := (Text{}).Write(&plain, sample()); err != nil {
		t.Fatal(err)
	}
	if err := (Text{Colour: true}).Write(&coloured, sample()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("plain text contains escape codes")
	}
	if !strings.Contains(coloured.String(), "\x1b[1;31mCRITICAL") {
		t.Error("coloured text does not colour severities")
	}
	for _, want := range []string{"tokens.yaml:3  deploy-bot [classic]", "(waived: known)", "1 token(s) without findings", "1 at or above high", ": FAIL"} {
		if !strings.Contains(plain.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, plain.String())
		}
	}
}

func TestJSONAlwaysHasListsNotNull(t *testing.T) {
	var buf bytes.Buffer
	if err := (JSON{}).Write(&buf, &Report{Result: &finding.Result{FailOn: "high"}}); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"findings", "errors", "incomplete", "tokens"} {
		if _, ok := doc[key].([]any); !ok {
			t.Errorf("%s = %v, want a list", key, doc[key])
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := New("xml", false); err == nil || !strings.Contains(err.Error(), "text, json") {
		t.Errorf("err = %v", err)
	}
}

// Inputs found but not read are shown in the text and JSON reports too, never silent.
func TestNoticesInTextAndJSON(t *testing.T) {
	r := sample()
	r.Problems = append(r.Problems, finding.Problem{Kind: finding.Notice, File: "assets/logo.png", Message: "is a binary file (not read)"})
	var text, js bytes.Buffer
	if err := (Text{}).Write(&text, r); err != nil {
		t.Fatal(err)
	}
	if err := (JSON{}).Write(&js, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "Found but not read:\n  assets/logo.png: is a binary file (not read)") {
		t.Errorf("text:\n%s", text.String())
	}
	if !strings.Contains(js.String(), `"notices": [`) || !strings.Contains(js.String(), `"file": "assets/logo.png"`) {
		t.Errorf("json:\n%s", js.String())
	}
}
