package policy

import (
	"context"
	"testing"
)

// TestBuiltinRegoTests runs every embedded *_test.rego, one Go subtest per Rego test, and checks that
// every rule has tests of its own.
func TestBuiltinRegoTests(t *testing.T) {
	cat, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	results, err := RunPolicyTests(context.Background(), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) == 0 {
		t.Fatal("no Rego tests ran")
	}
	tested := map[string]int{}
	for _, r := range results {
		r := r
		tested[r.Package]++
		t.Run(r.Package+"/"+r.Name, func(t *testing.T) {
			if r.Error != nil {
				t.Fatalf("%s: error: %v", r.Location, r.Error)
			}
			if r.Fail {
				t.Fatalf("%s: failed %s\n%s", r.Location, r.FailedAt, r.Output)
			}
		})
	}
	e, err := New(context.Background(), Options{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range e.rules {
		if rule.path == nil {
			continue // applied by the engine itself, tested in Go (TestWaiversExpire)
		}
		pkg := `data.tokencheck.rules["` + rule.ID + `_test"]`
		if rule.ID == "expired" {
			pkg = "data.tokencheck.rules.expired_test"
		}
		if tested[pkg] < 2 {
			t.Errorf("rule %s has %d Rego tests in %s; want at least one that fires and one that does not", rule.ID, tested[pkg], pkg)
		}
	}
}
