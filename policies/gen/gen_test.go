package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The data folder beside the checkout, as CI lays it out: <checkout>/../shared/github-data.
const dataDir = "../../../shared/github-data"

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestCatalogIsGenerated: the committed catalogue is what the generator makes of the committed seed
// and endpoint table.
func TestCatalogIsGenerated(t *testing.T) {
	got, _, err := BuildCatalog(readFile(t, seedFile), readFile(t, endpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, readFile(t, catalogFile)) {
		t.Fatalf("policies/%s is not what the generator makes of %s and %s: run make catalog", catalogFile, seedFile, endpointsFile)
	}
	// The table's hand-kept lists are the seed's, with or without GitHub's data at hand.
	table, err := RefreshSeedLists(readFile(t, endpointsFile), readFile(t, seedFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(table, readFile(t, endpointsFile)) {
		t.Fatalf("policies/%s does not carry the endpoint lists of %s: run make catalog", endpointsFile, seedFile)
	}
}

// TestEndpointsAreGenerated: the committed endpoint table is what the generator derives from
// GitHub's data, when the data is there.
func TestEndpointsAreGenerated(t *testing.T) {
	if _, err := os.Stat(dataDir); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("GitHub's data is not beside the checkout (%s): the endpoint table is not re-derived; CI has it", dataDir)
	}
	got, err := BuildEndpoints(dataDir, readFile(t, seedFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, readFile(t, endpointsFile)) {
		t.Fatalf("policies/%s is not what the generator derives from %s: run make catalog", endpointsFile, dataDir)
	}
}

// TestBuildCatalogMerges: seed names and levels stay, the data adds names and levels in GitHub's
// group, and a name the seed files under another group is an error.
func TestBuildCatalogMerges(t *testing.T) {
	seed := []byte(`{"levels":{"read":1,"write":2,"admin":3},"classic_only_endpoints":[],"_seed_notes":{},
		"permissions":{"repository":{"contents":["read","write"],"only_in_seed":["read"]},"organization":{"watch":["read"]},"account":{}}}`)
	table := []byte(`{"source":{"api_version":"2026-03-10"},
		"permissions":{"contents":{"group":"repository"},"new_org":{"group":"organization"},"watch":{"group":"organization"}},
		"endpoints":[
			{"method":"GET","path":"/a","permission":"contents","access":"read","editions":["fpt"]},
			{"method":"POST","path":"/b","permission":"new_org","access":"write","editions":["ghec"]},
			{"method":"PUT","path":"/c","permission":"watch","access":"write","editions":["fpt","ghec"]}]}`)
	out, added, err := BuildCatalog(seed, table)
	if err != nil {
		t.Fatal(err)
	}
	var cat struct {
		Permissions map[string]map[string][]string `json:"permissions"`
	}
	if err := json.Unmarshal(out, &cat); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string][]string{
		"repository":   {"contents": {"read", "write"}, "only_in_seed": {"read"}},
		"organization": {"new_org": {"write"}, "watch": {"read", "write"}},
		"account":      {},
	}
	for g, m := range want {
		for n, lv := range m {
			if !slices.Equal(cat.Permissions[g][n], lv) {
				t.Errorf("%s.%s = %v, want %v", g, n, cat.Permissions[g][n], lv)
			}
		}
	}
	if strings.Contains(string(out), "classic_only_endpoints") || strings.Contains(string(out), "_seed_notes") {
		t.Error("seed-only keys leaked into the catalogue")
	}
	if len(added) != 2 || added[0].Permission != "new_org" || !added[0].New || added[1].Permission != "watch" || added[1].New || !slices.Equal(added[1].Levels, []string{"write"}) {
		t.Errorf("added = %+v", added)
	}

	wrongGroup := []byte(`{"permissions":{"account":{"contents":["read"]}}}`)
	if _, _, err := BuildCatalog(wrongGroup, table); err == nil || !strings.Contains(err.Error(), "contents") {
		t.Errorf("a seed name in another group than GitHub's: err = %v", err)
	}
}

// TestBuildEndpointsFromFixture derives a table from a two-edition miniature of GitHub's files.
func TestBuildEndpointsFromFixture(t *testing.T) {
	got, err := BuildEndpoints("testdata/github-data", []byte(`{"classic_only_endpoints":[{"method":"*","path":"/notifications","scope":"notifications"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var tab Table
	if err := json.Unmarshal(got, &tab); err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	if tab.Source.Repository != "github/docs" || len(tab.Source.Files) != 2 || tab.Source.Files[1].Commit != strings.Repeat("b", 40) {
		t.Errorf("source = %+v", tab.Source)
	}
	if tab.Permissions["contents"].Group != "repository" || tab.Permissions["org_thing"].Group != "organization" || tab.Permissions["gists"].Group != "account" {
		t.Errorf("groups = %+v", tab.Permissions)
	}
	want := []Endpoint{
		{Method: "POST", Path: "/gists", Permission: "gists", Access: "write", Editions: []string{"fpt", "ghec"}},
		{Method: "GET", Path: "/orgs/{org}/thing", Permission: "org_thing", Access: "read", Editions: []string{"ghec"}},
		{Method: "PUT", Path: "/repos/{owner}/{repo}/contents/{path}", Permission: "contents", Access: "write", Additional: true, Editions: []string{"fpt", "ghec"}},
	}
	if len(tab.Endpoints) != len(want) {
		t.Fatalf("endpoints = %+v", tab.Endpoints)
	}
	for i, w := range want {
		g := tab.Endpoints[i]
		if g.Method != w.Method || g.Path != w.Path || g.Permission != w.Permission || g.Access != w.Access || g.Additional != w.Additional || !slices.Equal(g.Editions, w.Editions) {
			t.Errorf("endpoint %d = %+v, want %+v", i, g, w)
		}
	}
	if len(tab.ClassicOnly) != 1 || tab.ClassicOnly[0].Scope != "notifications" {
		t.Errorf("classic_only = %+v", tab.ClassicOnly)
	}
}

// TestRunWithoutData: without GitHub's data the generator keeps the endpoint table, says so, and
// rebuilds the catalogue from it.
func TestRunWithoutData(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{seedFile, endpointsFile} {
		if err := os.WriteFile(filepath.Join(dir, name), readFile(t, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	if err := run([]string{"-policies", dir, "-data", filepath.Join(dir, "absent")}, &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "not found: keeping the committed endpoints.json, with the seed's endpoint lists") {
		t.Errorf("log = %s", log.String())
	}
	got, err := os.ReadFile(filepath.Join(dir, catalogFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, readFile(t, catalogFile)) {
		t.Error("the catalogue written differs from the committed one")
	}
	if table, _ := os.ReadFile(filepath.Join(dir, endpointsFile)); !bytes.Equal(table, readFile(t, endpointsFile)) {
		t.Error("the endpoint table written differs from the committed one")
	}
	if !strings.Contains(log.String(), "from GitHub's data: organization org_copilot_content_exclusion (new, levels read, write; fpt, ghec)") {
		t.Errorf("the generator names what the data added: %s", log.String())
	}
}
