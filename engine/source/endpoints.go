package source

import (
	"fmt"
	"io/fs"
	"sync"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/policies"
)

// embeddedEndpoints is the endpoint table built into the binary (policies/endpoints.json), parsed
// once, on the first inventory that declares uses; it is never changed after.
var embeddedEndpoints = sync.OnceValues(func() (*facts.Endpoints, error) {
	raw, err := fs.ReadFile(policies.FS, policies.EndpointsFile)
	if err != nil {
		return nil, fmt.Errorf("read embedded endpoint table: %w", err)
	}
	return facts.ParseEndpoints(raw)
})
