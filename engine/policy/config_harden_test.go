package policy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), ".tokencheck.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigThatIsASymlinkToDevZeroOrAFIFOIsAnErrorNotAHang(t *testing.T) {
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero.yaml")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Skip(err)
	}
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	for _, p := range []string{zero, fifo} {
		if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: err = %v", p, err)
		}
		cat, _ := LoadCatalog()
		if _, err := New(context.Background(), Options{Catalog: cat, DataFiles: []string{p}}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("--data %s: err = %v", p, err)
		}
		if _, err := New(context.Background(), Options{Catalog: cat, PolicyDirs: []string{p}}); err == nil {
			t.Errorf("--policy %s: no error", p)
		}
	}
}

func TestOversizedConfigIsAnError(t *testing.T) {
	p := writeConfig(t, "# "+strings.Repeat("x", 5<<20)+"\n")
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("err = %v", err)
	}
}

func TestInfNaNAndFractionalSettingsAreErrorsWithLine(t *testing.T) {
	for body, want := range map[string]string{
		"max_lifetime_days: .inf\n":           ":1: setting max_lifetime_days",
		"stale_after_days: .nan\n":            ":1: setting stale_after_days",
		"x: 1\n":                              ":1: unknown setting",
		"\nexpiring_soon_days: 1.5\n":         ":2: setting expiring_soon_days",
		"max_lifetime_days: 1e300\n":          ":1: setting max_lifetime_days",
		"allowed_resource_owners: [{a: b}]\n": ":1: setting allowed_resource_owners: item 1",
	} {
		_, err := LoadConfig(writeConfig(t, body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", body, err, want)
		}
	}
}

func TestBadSeverityInDangerousScopesIsAnErrorWithLineNotAPanic(t *testing.T) {
	_, err := LoadConfig(writeConfig(t, "dangerous_scopes:\n  repo: catastrophic\n"))
	if err == nil || !strings.Contains(err.Error(), ":2: setting dangerous_scopes: repo") {
		t.Errorf("err = %v", err)
	}
}

func TestEmptyOrNonMappingDataFileIsAnErrorNotAPanic(t *testing.T) {
	cat, _ := LoadCatalog()
	for body, want := range map[string]string{"": "empty file", "- a\n- b\n": ":1: want a mapping", "a: 1\na: 2\n": "already defined"} {
		p := filepath.Join(t.TempDir(), "data.yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := New(context.Background(), Options{Catalog: cat, DataFiles: []string{p}}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", body, err, want)
		}
	}
}

func TestDuplicateConfigKeysAreRefused(t *testing.T) {
	for _, body := range []string{
		"max_lifetime_days: 30\nmax_lifetime_days: 9999\n",
		"waivers:\n  - {rule: stale-token, rule: classic-token, token: a, reason: r, owner: o, expires: 2027-01-01}\n",
		"dangerous_scopes:\n  repo: high\n  repo: info\n",
	} {
		if _, err := LoadConfig(writeConfig(t, body)); err == nil || !strings.Contains(err.Error(), "appears twice") {
			t.Errorf("%q: err = %v", body, err)
		}
	}
}

func TestWaiverMustNameAnExistingRuleAndExpireWithinAYear(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, "waivers:\n"+
		"  - {rule: no-such-rule, token: a, reason: r, owner: o, expires: 2027-01-01}\n"+
		"  - {rule: stale-token, token: b, reason: r, owner: o, expires: 2099-01-01}\n"+
		"  - {rule: stale-token, token: c, reason: r, owner: o, expires: 2027-06-01}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cat, _ := LoadCatalog()
	e, err := New(context.Background(), Options{Catalog: cat, Config: cfg, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	ps := e.ConfigProblems()
	if len(ps) != 2 || ps[0].Line != 2 || !strings.Contains(ps[0].Message, `"no-such-rule" is not a rule`) || ps[1].Line != 3 || !strings.Contains(ps[1].Message, "max_waiver_days") {
		t.Errorf("problems = %+v", ps)
	}
	if len(e.Config().Waivers) != 1 {
		t.Errorf("kept waivers = %+v, want only the valid one", e.Config().Waivers)
	}
}

func TestWaiverGlobMatchesIDsContainingSlash(t *testing.T) {
	w := Waiver{Rule: "stale-token", Token: "org:acme/*"}
	for id, want := range map[string]bool{"org:acme/pat:12": true, "org:acme/team/x": true, "org:other/pat:1": false} {
		if got := w.Matches("stale-token", id); got != want {
			t.Errorf("Matches(%q) = %v", id, got)
		}
	}
}

func TestConfigIgnoreAndInventories(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, "ignore: [old/**, '*.lock.json']\ninventories:\n  - tokens/*.yaml\n"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Ignore, " ") != "old/** *.lock.json" || strings.Join(cfg.Inventories, " ") != "tokens/*.yaml" {
		t.Errorf("ignore %v inventories %v", cfg.Ignore, cfg.Inventories)
	}
	for body, want := range map[string]string{
		"ignore: old\n":                    ":1: ignore: want a list of path globs",
		"inventories:\n  - a\n  - '[b-'\n": `:3: inventories: "[b-" is not a valid glob`,
		"ignore:\n  - {a: 1}\n":            ":2: ignore: want a path glob",
	} {
		if _, err := LoadConfig(writeConfig(t, body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", body, err, want)
		}
	}
}
