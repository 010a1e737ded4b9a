package decide_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tokencheck/tokencheck/engine/decide"
	"github.com/tokencheck/tokencheck/engine/finding"
)

func TestPlanRendering(t *testing.T) {
	evil := request(2)
	evil.Token.Name = "x\x1b[31mred"
	plan := decide.MakePlan([]decide.Subject{request(1, f("dangerous-permission", finding.High)), evil}, opts(t, decide.DefaultConfig()))
	var text bytes.Buffer
	if err := plan.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	for _, want := range []string{
		`DENY    acme/request 1 "deploy" by octocat: violating: 1 finding(s) at or above high`,
		`        deny high [dangerous-permission]: dangerous-permission fired`,
		`        reason: Denied by tokencheck (token policy): [dangerous-permission]`,
		`LEAVE   acme/request 2`,
		"0 to approve, 1 to deny, 1 left for people, 0 to revoke, 0 kept",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text plan lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Error("a control character reached the text plan")
	}
	var js bytes.Buffer
	if err := plan.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema    string            `json:"schema"`
		Decisions []decide.Decision `json:"decisions"`
		Counts    map[string]int    `json:"counts"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != decide.PlanSchema || len(doc.Decisions) != 2 || doc.Counts["deny"] != 1 || doc.Decisions[0].TemplateURL == "" {
		t.Errorf("json plan = %s", js.String())
	}
	if strings.Contains(js.String(), `\u0026`) {
		t.Error("links escaped in the JSON plan")
	}
}
