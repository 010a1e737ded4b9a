package policy

import (
	"encoding/json"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/tokencheck/tokencheck/policies"
)

// InputSchema returns the JSON Schema of the policy input (input.token, input.now, input.derived),
// as `policy schema` would publish it. It is the schema handed to OPA's type checker.
func InputSchema() []byte { return policies.InputSchema() }

// withInputSchema makes the compiler type-check every rule against the input schema, so a rule that
// refers to a field the input never has (input.token.permissions.contents, where permissions are
// grouped by resource) fails to compile with its file and line instead of silently never firing.
func withInputSchema(compiler *ast.Compiler) (*ast.Compiler, error) {
	var schema any
	if err := json.Unmarshal(policies.InputSchema(), &schema); err != nil {
		return nil, fmt.Errorf("policy input schema %s: %w", policies.InputSchemaFile, err)
	}
	ss := ast.NewSchemaSet()
	ss.Put(ast.SchemaRootRef, schema)
	return compiler.WithSchemas(ss), nil
}
