// Command gen regenerates the catalogue from GitHub's data in two stages:
//
//  1. GitHub's fine-grained PAT endpoint files (github/docs, src/github-apps/data/{fpt,ghec}-*/
//     fine-grained-pat-permissions.json, kept beside the checkout in ../shared/github-data) become
//     the compact endpoint table policies/endpoints.json, with attribution;
//  2. the endpoint table and the hand-kept seed policies/catalog-seed.json become
//     policies/catalog.json.
//
// Run it with `go generate ./policies` or `make catalog`. Without the data folder, stage 1 only
// refreshes the committed table's hand-kept endpoint lists from the seed, with a notice.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// File names inside the policies folder.
const (
	seedFile      = "catalog-seed.json"
	endpointsFile = "endpoints.json"
	catalogFile   = "catalog.json"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(args []string, log io.Writer) error {
	fl := flag.NewFlagSet("gen", flag.ContinueOnError)
	dir := fl.String("policies", ".", "the policies folder")
	data := fl.String("data", "../../shared/github-data", "GitHub's data folder (relative to -policies)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	dataDir := *data
	if !filepath.IsAbs(dataDir) {
		dataDir = filepath.Join(*dir, dataDir)
	}
	seed, err := os.ReadFile(filepath.Join(*dir, seedFile))
	if err != nil {
		return fmt.Errorf("read seed: %w", err)
	}
	var table []byte
	switch _, err := os.Stat(dataDir); {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(log, "gen: %s not found: keeping the committed %s, with the seed's endpoint lists\n", dataDir, endpointsFile)
		committed, err := os.ReadFile(filepath.Join(*dir, endpointsFile))
		if err != nil {
			return fmt.Errorf("read endpoint table: %w", err)
		}
		if table, err = RefreshSeedLists(committed, seed); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if table, err = BuildEndpoints(dataDir, seed); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(*dir, endpointsFile), table, 0o644); err != nil {
		return fmt.Errorf("write endpoint table: %w", err)
	}
	cat, added, err := BuildCatalog(seed, table)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, catalogFile), cat, 0o644); err != nil {
		return fmt.Errorf("write catalogue: %w", err)
	}
	for _, a := range added {
		what := "levels " + strings.Join(a.Levels, ", ")
		if a.New {
			what = "new, " + what
		}
		fmt.Fprintf(log, "gen: from GitHub's data: %s %s (%s; %s)\n", a.Group, a.Permission, what, strings.Join(a.Editions, ", "))
	}
	return nil
}
