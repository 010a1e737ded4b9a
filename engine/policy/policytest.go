package policy

import (
	"context"
	"fmt"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// RunPolicyTests runs the *_test.rego files of the embedded rules and of each user directory, with
// the catalogue and default settings as data, and returns the results sorted by package and name.
func RunPolicyTests(ctx context.Context, catalog *facts.Catalog, dirs []string) ([]*tester.Result, error) {
	modules, _, err := loadModules(dirs, true)
	if err != nil {
		return nil, err
	}
	cfg, err := DefaultConfig()
	if err != nil {
		return nil, err
	}
	store, err := buildStore(Options{Catalog: catalog, Config: cfg})
	if err != nil {
		return nil, err
	}
	ch, err := tester.NewRunner().
		SetCompiler(ast.NewCompiler().WithCapabilities(sandboxCapabilities()).WithEnablePrintStatements(true)).
		SetStore(store).
		SetModules(modules).
		RaiseBuiltinErrors(true).
		CapturePrintOutput(true).
		RunTests(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("run policy tests: %w", err)
	}
	var results []*tester.Result
	for r := range ch {
		results = append(results, r)
	}
	sort.Slice(results, func(i, j int) bool {
		if results[i].Package != results[j].Package {
			return results[i].Package < results[j].Package
		}
		return results[i].Name < results[j].Name
	})
	return results, nil
}
