// Package policies holds tokencheck's built-in Rego rules, the GitHub catalogue they read as data,
// and the default settings, all embedded in the binary.
package policies

import "embed"

// FS holds every rule module, its tests, catalog.json, endpoints.json and defaults.json.
//
//go:generate go -C gen run . -policies ..
//go:embed catalog.json defaults.json endpoints.json */*.rego
var FS embed.FS

// CatalogFile, DefaultsFile and EndpointsFile name the data files inside FS. catalog.json and
// endpoints.json are generated (make catalog) from GitHub's data and catalog-seed.json.
const (
	CatalogFile   = "catalog.json"
	DefaultsFile  = "defaults.json"
	EndpointsFile = "endpoints.json"
)
