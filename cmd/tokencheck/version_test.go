package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildVersionSources(t *testing.T) {
	opa := &debug.Module{Path: "github.com/open-policy-agent/opa", Version: "v1.22.2"}
	for _, c := range []struct {
		name, linked string
		info         *debug.BuildInfo
		want         versionInfo
	}{
		{"go install module@version", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Deps: []*debug.Module{opa}},
			versionInfo{Version: "v1.2.3", OPA: "v1.22.2", Go: "go1.26.8"}},
		{"build in a git checkout", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261123111116-a64a84634d8a+dirty"}, Deps: []*debug.Module{opa},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "a64a84634d8a6ce36b1dbb0496b9189b1fb317ca"}, {Key: "vcs.modified", Value: "true"}}},
			versionInfo{Version: "v0.0.0-20261123111116-a64a84634d8a+dirty", Commit: "a64a84634d8a6ce36b1dbb0496b9189b1fb317ca", Modified: true, OPA: "v1.22.2", Go: "go1.26.8"}},
		{"link-time version wins", "v2.0.0", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Deps: []*debug.Module{opa}},
			versionInfo{Version: "v2.0.0", OPA: "v1.22.2", Go: "go1.26.8"}},
		{"no version anywhere", "dev", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Deps: []*debug.Module{{Path: "github.com/open-policy-agent/opa", Version: "v1.22.2", Replace: &debug.Module{Path: "../opa", Version: "v1.22.3-fork"}}}},
			versionInfo{Version: "dev", OPA: "v1.22.3-fork", Go: "go1.26.8"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := buildVersion(c.linked, c.info, true)
			got.Platform = ""
			if got != c.want {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestVersionCommandAndFlagAgree(t *testing.T) {
	cmd := tokencheck(t, nil, "version")
	flag := tokencheck(t, nil, "--version")
	if cmd.code != exitOK || flag.code != exitOK {
		t.Fatalf("exit %d and %d; stderr %s %s", cmd.code, flag.code, cmd.stderr, flag.stderr)
	}
	if cmd.stdout != flag.stdout {
		t.Errorf("version printed %q, --version %q", cmd.stdout, flag.stdout)
	}
	for _, want := range []string{"tokencheck ", "\nopa:      v", "\ngo:       go"} {
		if !strings.Contains(cmd.stdout, want) {
			t.Errorf("version output lacks %q:\n%s", want, cmd.stdout)
		}
	}

	r := tokencheck(t, nil, "version", "--format", "json")
	var v versionInfo
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || r.code != exitOK {
		t.Fatalf("version --format json: exit %d, %v: %q", r.code, err, r.stdout)
	}
	gomod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gomod), "github.com/open-policy-agent/opa "+v.OPA+"\n") {
		t.Errorf("version says OPA %q, go.mod requires another", v.OPA)
	}
	if v.Version == "" || !strings.HasPrefix(v.Go, "go1.") || v.Platform == "" {
		t.Errorf("version --format json = %+v", v)
	}

	bad := tokencheck(t, nil, "version", "--format", "yaml")
	if bad.code != exitError || bad.stdout != "" || !strings.Contains(bad.stderr, "accepted values are text, json") {
		t.Errorf("version --format yaml: exit %d, stdout %q, stderr %q", bad.code, bad.stdout, bad.stderr)
	}
}

func TestExplainFormatJSON(t *testing.T) {
	r := tokencheck(t, nil, "explain", "no-expiration", "-f", "json")
	var rule struct {
		ID, Severity, Remediation string
		Builtin                   bool
	}
	if err := json.Unmarshal([]byte(r.stdout), &rule); err != nil || r.code != exitOK {
		t.Fatalf("explain -f json: exit %d, %v: %q %s", r.code, err, r.stdout, r.stderr)
	}
	if rule.ID != "no-expiration" || rule.Severity != "high" || rule.Remediation == "" || !rule.Builtin {
		t.Errorf("explain -f json = %+v", rule)
	}
}

var pseudoOrTag = regexp.MustCompile(`^tokencheck v\d+\.\d+\.\d+(-\S+)?(\+dirty)?\n`)

// A plain `go build` in a git checkout (as pre-commit and `go install` from a clone do) says the
// module's tag or pseudo-version, not dev, without any -ldflags. The build runs in a scratch git
// repository holding this working tree's files: the go command stamps no version in a git worktree
// (it looks for a .git directory), and the test must see uncommitted changes.
func TestBuildFromCheckoutIsNotDev(t *testing.T) {
	if testing.Short() {
		t.Skip("copies the tree and builds")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	files, err := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Skip("not a git checkout: the go command records no version")
	}
	src := t.TempDir()
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		raw, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted, not yet committed
		} else if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(src, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, f), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = src
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "--quiet")
	git("add", "-A")
	git("commit", "--quiet", "-m", "scratch")
	bin := filepath.Join(t.TempDir(), "tokencheck")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/tokencheck")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !pseudoOrTag.Match(out) {
		t.Errorf("--version of a build from a checkout = %q, want a tag or pseudo-version", out)
	}
}
