package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPolicyListAsJSON(t *testing.T) {
	r := tokencheck(t, nil, "policy", "list", "--format", "json")
	var rules []struct{ ID, Severity, Title string }
	if err := json.Unmarshal([]byte(r.stdout), &rules); err != nil || r.code != exitOK {
		t.Fatalf("exit %d, %v\n%s", r.code, err, r.stdout)
	}
	ids := map[string]string{}
	for _, rule := range rules {
		ids[rule.ID] = rule.Severity
	}
	if ids["dangerous-scope"] != "critical" || ids["classic-token"] != "high" || ids["waiver-expired"] != "medium" {
		t.Errorf("rules = %v", ids)
	}
	if r := tokencheck(t, nil, "policy", "list", "--format", "yaml"); r.code != exitError || !strings.Contains(r.stderr, "want text or json") {
		t.Errorf("bad format: exit %d %s", r.code, r.stderr)
	}
}

func TestPolicySchemaIsTheInputSchema(t *testing.T) {
	r := tokencheck(t, nil, "policy", "schema")
	var doc struct {
		Properties  map[string]any `json:"properties"`
		Definitions map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != exitOK {
		t.Fatalf("exit %d, %v", r.code, err)
	}
	found := false
	for _, def := range doc.Definitions {
		_, perms := def.Properties["permissions"]
		_, scopes := def.Properties["scopes"]
		found = found || perms && scopes
	}
	if doc.Properties["token"] == nil || !found {
		t.Errorf("the schema lacks token.permissions:\n%s", r.stdout[:min(len(r.stdout), 400)])
	}
}

func TestPolicyTestVerboseAndRun(t *testing.T) {
	r := tokencheck(t, nil, "policy", "test", "-v", "--run", `no-expiration_test.*silent`)
	if r.code != exitOK || !strings.Contains(r.stdout, "PASS  policies/no-expiration/") || strings.Contains(r.stdout, "dangerous-scope") {
		t.Errorf("exit %d\n%s", r.code, r.stdout)
	}
	if !strings.Contains(r.stdout, "rego: 3 passed, 0 failed") {
		t.Errorf("--run should report the three silent tests only:\n%s", r.stdout)
	}
	if r := tokencheck(t, nil, "policy", "test", "--run", "("); r.code != exitError {
		t.Errorf("a bad --run regex: exit %d", r.code)
	}
}
