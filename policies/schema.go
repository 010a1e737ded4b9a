package policies

import (
	_ "embed" // the input schema
	"slices"
)

//go:embed input.schema.json
var inputSchema []byte

// InputSchemaFile names the JSON Schema (draft-07, what OPA's type checker reads) of the policy
// input: what a rule sees as input.token, input.now and input.derived.
const InputSchemaFile = "input.schema.json"

// InputSchema returns the text of input.schema.json. The caller owns the copy.
func InputSchema() []byte { return slices.Clone(inputSchema) }
