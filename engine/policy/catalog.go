package policy

import (
	"fmt"
	"io/fs"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/policies"
)

// LoadCatalog reads the catalogue embedded with the rules: the one the Rego rules read as data.
func LoadCatalog() (*facts.Catalog, error) {
	raw, err := fs.ReadFile(policies.FS, policies.CatalogFile)
	if err != nil {
		return nil, fmt.Errorf("read embedded catalogue: %w", err)
	}
	return facts.ParseCatalog(raw)
}
