package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An output that is also an input would destroy the input (or be judged as one): refused before
// any work, the input left as it was.
func TestOutputThatIsAlsoAnInputIsRefused(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "tokens.yaml")
	orig, _ := os.ReadFile("fixtures/inventory/tokens.yaml")
	os.WriteFile(inv, orig, 0o644)
	for _, args := range [][]string{
		{"check", "--output", inv, inv},
		{"check", "--also", "json=" + filepath.Join(dir, ".", "tokens.yaml"), inv},
		{"check", "--write-baseline", inv, "fixtures/inventory", inv},
	} {
		r := tokencheck(t, nil, args...)
		if r.code != exitError || !strings.Contains(r.stderr, "is also an input of this run") {
			t.Errorf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		if got, _ := os.ReadFile(inv); string(got) != string(orig) {
			t.Fatalf("%v: the inventory was overwritten", args)
		}
	}
}

// A committed symbolic link cannot redirect a report to another file.
func TestOutputThroughASymlinkIsRefused(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere.txt")
	os.WriteFile(target, []byte("precious\n"), 0o644)
	link := filepath.Join(dir, "report.json")
	if err := os.Symlink(target, link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	r := tokencheck(t, nil, "check", "--now", fixedNow, "--format", "json", "--output", link, "fixtures/inventory")
	if r.code != exitError || !strings.Contains(r.stderr, "is a symbolic link") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(target); string(got) != "precious\n" {
		t.Errorf("the link's target was written: %q", got)
	}
}

// When one output cannot be written, the others still are, the problems are still said, and the
// run exits 2; no half-written file is left behind.
func TestAFailedOutputLeavesTheOthersWritten(t *testing.T) {
	dir := t.TempDir()
	junit := filepath.Join(dir, "junit.xml")
	missing := filepath.Join(dir, "no-such-dir", "report.sarif")
	r := tokencheck(t, nil, "check", "--now", fixedNow, "--format", "sarif", "--output", missing, "--also", "junit="+junit, "fixtures/inventory", "fixtures/bad/no-such-file.yaml")
	if r.code != exitError {
		t.Errorf("exit %d, want 2", r.code)
	}
	if !strings.Contains(r.stderr, "--output sarif") || !strings.Contains(r.stderr, "no-such-file.yaml") {
		t.Errorf("stderr lacks the failed output or the input error:\n%s", r.stderr)
	}
	if b, err := os.ReadFile(junit); err != nil || !strings.Contains(string(b), "<testsuites") {
		t.Errorf("the JUnit report was not written: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("a temporary file was left behind: %s", e.Name())
		}
	}
}
