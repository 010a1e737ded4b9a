// Package policies holds tokencheck's built-in Rego rules, the GitHub catalogue they read as data,
// and the default settings, all embedded in the binary.
package policies

import "embed"

// FS holds every rule module, its tests, catalog.json and defaults.json.
//
//go:embed catalog.json defaults.json */*.rego
var FS embed.FS

// CatalogFile and DefaultsFile name the data files inside FS.
const (
	CatalogFile  = "catalog.json"
	DefaultsFile = "defaults.json"
)
