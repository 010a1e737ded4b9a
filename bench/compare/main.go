// Command compare is tokencheck's benchmark harness: it generates token facts (a realistic mix of
// classic and fine-grained tokens), judges them with tokencheck, with `conftest test` and with
// `opa eval` running the same Rego rules on the same facts, and with a hand-written Go floor of a
// few representative rules, then prints medians, ratios and peak RSS and writes bench/results.md.
// It also runs the policy bundle written by `tokencheck policy bundle` on a stock OPA (opa eval and
// opa run --server) and compares its findings with `tokencheck check` on every fixture and on a
// generated document, and times an audit of many organisations against the fake GitHub, serial and
// concurrent. A difference in the bundle's findings or a failed audit is written as "not met" and
// makes the harness exit 1 after writing the results.
//
//	go -C bench run ./compare            # full: 1, 10, 1k, 10k, 100k tokens (a few minutes)
//	QUICK=1 go -C bench run ./compare    # 1, 10, 1k tokens, fewer runs (under a minute)
//	go -C bench run ./compare gen N FILE # only write the N-token facts document
//
// conftest and opa are installed with `go install` into bench/.bin on first use, conftest at the
// version below and opa at the version the root module's go.mod requires (an opa of another version
// is replaced); the build is not timed.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/policy"
)

const (
	conftestPkg = "github.com/open-policy-agent/conftest@v0.71.1"
	// opaModule is installed at the version the root module's go.mod requires.
	opaModule = "github.com/open-policy-agent/opa"
	nowText   = "2026-11-22T00:00:00Z"
)

func main() {
	if len(os.Args) == 4 && os.Args[1] == "gen" {
		// go run ./bench/compare gen N FILE: write the facts document of the N-token workload.
		n, err := strconv.Atoi(os.Args[2])
		if err == nil {
			err = writeFacts(os.Args[3], generate(n, 42))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "compare gen:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

type sample struct {
	wall time.Duration
	rss  int64 // KiB
}

// memRow is one peak-RSS measurement of `check --format json`.
type memRow struct {
	tokens int
	s      sample
}

type row struct {
	name   string
	tokens int
	tools  map[string][]sample
}

func run(ctx context.Context) error {
	quick := os.Getenv("QUICK") != ""
	root, err := repoRoot()
	if err != nil {
		return err
	}
	out := filepath.Join(root, "bench", "out")
	bin := filepath.Join(root, "bench", ".bin")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	start, loadStart := time.Now(), loadAverage()
	fmt.Fprintln(os.Stderr, "building tokencheck; installing conftest and opa into bench/.bin if missing ...")
	tokencheck := filepath.Join(bin, "tokencheck")
	if err := goCmd(ctx, root, nil, "build", "-o", tokencheck, "./cmd/tokencheck"); err != nil {
		return err
	}
	opaVer, err := opaVersion(root)
	if err != nil {
		return err
	}
	opa := filepath.Join(bin, "opa")
	for _, pkg := range []string{conftestPkg, opaModule + "@" + opaVer} {
		name := strings.Split(filepath.Base(strings.Split(pkg, "@")[0]), "/")[0]
		stale := false
		if name == "opa" { // an opa left from an earlier version of go.mod is replaced
			v, err := exec.CommandContext(ctx, opa, "version").Output()
			stale = err == nil && !strings.Contains(string(v), "Version: "+strings.TrimPrefix(opaVer, "v")+"\n")
		}
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil || stale {
			if err := goCmd(ctx, root, []string{"GOBIN=" + bin}, "install", pkg); err != nil {
				return err
			}
		}
	}
	cat, err := policy.LoadCatalog()
	if err != nil {
		return err
	}
	if err := writeOPAFixtures(out, cat); err != nil {
		return err
	}

	sizes := []int{1, 10, 1000, 10000, 100000}
	runsFor := func(n int) int {
		switch {
		case n >= 100000:
			return 3
		case n >= 10000:
			return 3
		}
		return 7
	}
	if quick {
		sizes = []int{1, 10, 1000}
		runsFor = func(int) int { return 3 }
	}
	var rows []row
	// The shape of many small files first: 1,000 files of one token each.
	if !quick {
		dir := filepath.Join(out, "files-1000")
		opaDir := filepath.Join(out, "opa-files-1000")
		os.RemoveAll(dir)
		os.RemoveAll(opaDir)
		os.MkdirAll(dir, 0o755)
		os.MkdirAll(opaDir, 0o755)
		tokens := generate(1000, 7)
		for i := range tokens {
			if err := writeFacts(filepath.Join(dir, fmt.Sprintf("t%04d.json", i)), tokens[i:i+1]); err != nil {
				return err
			}
			if err := writeOPAInput(filepath.Join(opaDir, fmt.Sprintf("t%04d.json", i)), tokens[i:i+1], cat); err != nil {
				return err
			}
		}
		r := row{name: "1,000 tokens in 1,000 files", tokens: 1000, tools: map[string][]sample{}}
		cmds := map[string][]string{
			"tokencheck": {tokencheck, "check", "--now", nowText, dir},
			"conftest":   {filepath.Join(bin, "conftest"), "test", "--no-color", "--policy", filepath.Join(out, "policy"), "--data", filepath.Join(out, "data"), opaDir},
		}
		if err := measureRow(ctx, &r, cmds, []string{"tokencheck", "conftest"}, 3); err != nil {
			return err
		}
		rows = append(rows, r)
	}
	for _, n := range sizes {
		factsFile := filepath.Join(out, fmt.Sprintf("facts-%d.json", n))
		opaFile := filepath.Join(out, fmt.Sprintf("opa-%d.json", n))
		tokens := generate(n, 42)
		if err := writeFacts(factsFile, tokens); err != nil {
			return err
		}
		if err := writeOPAInput(opaFile, tokens, cat); err != nil {
			return err
		}
		tokens = nil
		r := row{name: fmt.Sprintf("%d token(s) in one file", n), tokens: n, tools: map[string][]sample{}}
		if n == 10 {
			r.name = "10 tokens in one file (CI gate)"
		}
		cmds := map[string][]string{
			"tokencheck": {tokencheck, "check", "--now", nowText, factsFile},
			"conftest":   {filepath.Join(bin, "conftest"), "test", "--no-color", "--policy", filepath.Join(out, "policy"), "--data", filepath.Join(out, "data"), opaFile},
			"opa eval":   {opa, "eval", "--format", "pretty", "-d", filepath.Join(out, "policy"), "-d", filepath.Join(out, "data"), "-i", opaFile, "data.bench.findings"},
		}
		if err := measureRow(ctx, &r, cmds, []string{"tokencheck", "conftest", "opa eval"}, runsFor(n)); err != nil {
			return err
		}
		rows = append(rows, r)
		fmt.Fprintf(os.Stderr, "%-34s tokencheck %8s  conftest %8s  opa eval %8s\n", r.name,
			median(r.tools["tokencheck"]).wall.Round(time.Millisecond), median(r.tools["conftest"]).wall.Round(time.Millisecond), median(r.tools["opa eval"]).wall.Round(time.Millisecond))
	}
	// Peak RSS of the JSON report at 100,000 and 300,000 tokens (issue 15: memory that does not grow
	// with the token count).
	var mem []memRow
	if !quick {
		for _, n := range []int{100000, 300000} {
			factsFile := filepath.Join(out, fmt.Sprintf("facts-%d.json", n))
			if err := writeFacts(factsFile, generate(n, 42)); err != nil {
				return err
			}
			runtime.GC()
			debug.FreeOSMemory()
			s, err := measure(ctx, []string{tokencheck, "check", "--now", nowText, "--format", "json", "-o", filepath.Join(out, "report.json"), factsFile})
			if err != nil {
				return err
			}
			mem = append(mem, memRow{tokens: n, s: s})
			fmt.Fprintf(os.Stderr, "check --format json, %d tokens: %s, %d MB\n", n, s.wall.Round(time.Millisecond), s.rss/1024)
		}
	}
	// The bundle on a stock OPA against check, and the many-organisation audit: both quick.
	bundle := compareBundle(ctx, root, out, tokencheck, opa, cat, generate(1000, 42), runsFor(1000))
	if !bundle.identical() {
		fmt.Fprintf(os.Stderr, "BUNDLE ON STOCK OPA: NOT MET: %s\n", bundle.diff)
	}
	orgs := runOrgs(ctx, cat, 3)
	if orgs.err != nil {
		fmt.Fprintf(os.Stderr, "MANY-ORGANISATION AUDIT: NOT MET: %v\n", orgs.err)
	}
	// In process last, so the harness's own memory never inflates a child's peak RSS.
	largest := sizes[len(sizes)-1]
	floorRate, engineRate, err := inProcess(ctx, generate(largest, 42), cat, runsFor(largest))
	if err != nil {
		return err
	}
	report := render(results{rows: rows, mem: mem, floorRate: floorRate, engineRate: engineRate, floorN: largest,
		quick: quick, took: time.Since(start), opaVersion: opaVer, loadStart: loadStart, loadEnd: loadAverage(), bundle: bundle, orgs: orgs})
	fmt.Print(report)
	file := filepath.Join(root, "bench", "results.md")
	if quick {
		file = filepath.Join(out, "results-quick.md")
	}
	if err := os.WriteFile(file, []byte(report), 0o644); err != nil {
		return err
	}
	if !bundle.identical() || orgs.err != nil {
		return fmt.Errorf("the bundle comparison or the many-organisation audit failed (see %s)", file)
	}
	return nil
}

// measureRow runs each tool's command runs times, interleaved, after returning the harness's
// free memory to the system: a child's peak RSS (rusage) counts pages it shared with the harness
// before exec.
func measureRow(ctx context.Context, r *row, cmds map[string][]string, tools []string, runs int) error {
	runtime.GC()
	debug.FreeOSMemory()
	for i := 0; i < runs; i++ {
		for _, tool := range tools {
			s, err := measure(ctx, cmds[tool])
			if err != nil {
				return fmt.Errorf("%s, %s: %w", r.name, tool, err)
			}
			r.tools[tool] = append(r.tools[tool], s)
		}
	}
	return nil
}

// measure runs a command once, discarding its output; exit codes 0 and 1 (findings) are success.
// Peak RSS comes from /usr/bin/time when it is installed: the rusage of a child of this (large)
// process would count the pages it shared with it before exec.
func measure(ctx context.Context, argv []string) (sample, error) {
	var rssFile string
	if _, err := os.Stat("/usr/bin/time"); err == nil {
		f, err := os.CreateTemp("", "rss")
		if err != nil {
			return sample{}, err
		}
		f.Close()
		rssFile = f.Name()
		defer os.Remove(rssFile)
		argv = append([]string{"/usr/bin/time", "-q", "-f", "%M", "-o", rssFile}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		err = nil
	}
	if err != nil {
		return sample{}, fmt.Errorf("%v: %s", err, tail(stderr.String()))
	}
	var rss int64
	if rssFile != "" {
		raw, _ := os.ReadFile(rssFile)
		fmt.Sscanf(strings.TrimSpace(lastLine(string(raw))), "%d", &rss)
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	return sample{wall: wall, rss: rss}, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func tail(s string) string {
	if len(s) > 400 {
		return "…" + s[len(s)-400:]
	}
	return s
}

func median(ss []sample) sample {
	if len(ss) == 0 {
		return sample{}
	}
	w := make([]sample, len(ss))
	copy(w, ss)
	sort.Slice(w, func(i, j int) bool { return w[i].wall < w[j].wall })
	m := w[len(w)/2]
	var maxRSS int64
	for _, s := range ss {
		maxRSS = max(maxRSS, s.rss)
	}
	m.rss = maxRSS
	return m
}

// inProcess measures the engine alone (compiled once, facts in memory) and the Go floor on the
// same tokens, best of runs. Each run judges with a new evaluator, as each run of the CLI does, so
// the memoised rules start from empty caches every time.
func inProcess(ctx context.Context, tokens []facts.Token, cat *facts.Catalog, runs int) (floor, eng float64, err error) {
	cfg, err := policy.DefaultConfig()
	if err != nil {
		return 0, 0, err
	}
	now, _ := time.Parse(time.RFC3339, nowText)
	bestEngine, bestFloor := time.Duration(1<<62), time.Duration(1<<62)
	for i := 0; i < runs; i++ {
		e, err := policy.New(ctx, policy.Options{Config: cfg, Catalog: cat})
		if err != nil {
			return 0, 0, err
		}
		start := time.Now()
		if _, err := e.Evaluate(ctx, tokens, now); err != nil {
			return 0, 0, err
		}
		bestEngine = min(bestEngine, time.Since(start))
		start = time.Now()
		n := goFloor(tokens, cat, now)
		bestFloor = min(bestFloor, time.Since(start))
		if n == 0 {
			return 0, 0, fmt.Errorf("the Go floor found nothing")
		}
	}
	return float64(len(tokens)) / bestFloor.Seconds(), float64(len(tokens)) / bestEngine.Seconds(), nil
}

// loadAverage is the 1, 5 and 15 minute load averages, "" where /proc/loadavg is missing.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], ", ")
}

func goCmd(ctx context.Context, dir string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for { // the tokencheck module's root, above bench/ (its own module, so pre-commit's go install ./... skips it)
		if _, err := os.Stat(filepath.Join(dir, "cmd", "tokencheck", "main.go")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run from inside the tokencheck module")
		}
		dir = parent
	}
}
