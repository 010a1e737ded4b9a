package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bundleFiles reads a bundle tar.gz into name -> content.
func bundleFiles(t *testing.T, file string) map[string][]byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s is not gzip: %v", file, err)
	}
	out := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = raw
	}
}

func TestPolicyBundleWritesRulesAndConfig(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "tokencheck.tar.gz")
	r := tokencheck(t, nil, "policy", "bundle", "-o", out, "--config", "fixtures/ci/tokencheck.yaml", "--disable", "stale-token")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	files := bundleFiles(t, out)
	var manifest struct {
		Revision string   `json:"revision"`
		Roots    []string `json:"roots"`
	}
	if err := json.Unmarshal(files["/.manifest"], &manifest); err != nil {
		t.Fatalf(".manifest: %v (files: %v)", err, len(files))
	}
	if manifest.Revision != version || strings.Join(manifest.Roots, ",") != "tokencheck" {
		t.Errorf("manifest = %+v, want revision %q and root tokencheck", manifest, version)
	}
	if _, ok := files["/policies/classic-token/classic_token.rego"]; !ok {
		t.Error("bundle lacks the classic-token rule")
	}
	var data struct {
		Tokencheck struct {
			Judging struct {
				Disabled []string `json:"disabled"`
				Waivers  []struct {
					Token string `json:"token"`
				} `json:"waivers"`
				ConfigFile string `json:"config_file"`
			} `json:"judging"`
		} `json:"tokencheck"`
	}
	if err := json.Unmarshal(files["/data.json"], &data); err != nil {
		t.Fatal(err)
	}
	j := data.Tokencheck.Judging
	if len(j.Waivers) != 3 || j.Waivers[2].Token != "org:acme/pat:*" || strings.Join(j.Disabled, ",") != "stale-token" || j.ConfigFile != "fixtures/ci/tokencheck.yaml" {
		t.Errorf("judging data = %+v, want the config's three waivers and stale-token disabled", j)
	}
}

func TestPolicyBundleRefusesBadInputAndWritesNothing(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("max_lifetime_days: soon\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "b.tar.gz")
	for _, args := range [][]string{
		{"--config", bad},
		{"--disable", "no-such-rule"},
		{"--policy", filepath.Join(dir, "missing")},
	} {
		r := tokencheck(t, nil, append([]string{"policy", "bundle", "-o", out}, args...)...)
		if r.code != exitError {
			t.Errorf("%v: exit %d, want 2", args, r.code)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v: a bundle was written despite the error", args)
		}
	}
	if r := tokencheck(t, nil, "policy", "bundle"); r.code != exitError || !strings.Contains(r.stderr, "output") {
		t.Errorf("without -o: exit %d, %q", r.code, r.stderr)
	}
}
