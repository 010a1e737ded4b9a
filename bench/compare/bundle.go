package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/policy"
	"github.com/tokencheck/tokencheck/engine/source"
)

// bundleDoc is one facts document judged both by `tokencheck check` and by a stock OPA running the
// bundle `tokencheck policy bundle` wrote with the same configuration.
type bundleDoc struct {
	name   string
	file   string // the facts document, with a top-level now
	config string // --config for both the bundle and check; "" for the defaults
}

// bundleResult is what the comparison found.
type bundleResult struct {
	docs     []string // the documents compared
	findings int      // findings of tokencheck check, each compared with opa eval's and the server's
	server   int      // documents also posted to opa run --server
	// diff is the first difference, or why the comparison could not be made; "" when identical.
	diff string
	// Timings on the generated document, median of the runs.
	genTokens      int
	check, opaEval sample
}

func (b bundleResult) identical() bool { return b.diff == "" && len(b.docs) > 0 && b.findings > 0 }

// bundleFinding is what both sides must agree on, for each finding.
type bundleFinding struct {
	Rule     string `json:"rule"`
	Token    string `json:"token"`
	Severity string `json:"severity"`
	Level    string `json:"level"`
	Subject  string `json:"subject"`
	Message  string `json:"message"`
	Waived   *bool  `json:"waived"`
}

func (f bundleFinding) String() string {
	w := "nil"
	if f.Waived != nil {
		w = fmt.Sprint(*f.Waived)
	}
	return fmt.Sprintf("rule=%s token=%s severity=%s level=%s subject=%q waived=%s message=%q", f.Rule, f.Token, f.Severity, f.Level, f.Subject, w, f.Message)
}

// compareBundle writes the bundles with the tokencheck binary under test, judges every fixture
// (turned into a facts document, as TestBundleOnStockOPA in engine/policy does) and the generated
// document with `tokencheck check --format json` and with `opa eval --bundle` and `opa run --server`,
// and times check against opa eval on the generated document. A difference, or a side that cannot
// be run, is the result's diff: the harness goes on and says "not met".
func compareBundle(ctx context.Context, root, out, tokencheck, opa string, cat *facts.Catalog, generated []facts.Token, runs int) bundleResult {
	var res bundleResult
	dir := filepath.Join(out, "bundle")
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		res.diff = err.Error()
		return res
	}
	docs, err := bundleDocs(ctx, root, dir, cat, generated)
	if err != nil {
		res.diff = err.Error()
		return res
	}
	res.genTokens = len(generated)
	// One bundle per configuration, written by the binary under test.
	bundles := map[string]string{}
	for _, d := range docs {
		if _, ok := bundles[d.config]; ok {
			continue
		}
		file := filepath.Join(dir, fmt.Sprintf("bundle-%d.tar.gz", len(bundles)))
		args := []string{"policy", "bundle", "-o", file}
		if d.config != "" {
			args = append(args, "--config", d.config)
		}
		if _, err := output(ctx, dir, tokencheck, args, 0); err != nil {
			res.diff = fmt.Sprintf("tokencheck policy bundle: %v", err)
			return res
		}
		bundles[d.config] = file
	}
	servers := map[string]string{}
	var stops []func()
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	for _, d := range docs {
		want, err := checkFindings(ctx, dir, tokencheck, d)
		if err != nil {
			res.diff = fmt.Sprintf("%s: tokencheck check: %v", d.name, err)
			return res
		}
		if len(want) == 0 {
			res.diff = fmt.Sprintf("%s: tokencheck check found nothing: the comparison would prove nothing", d.name)
			return res
		}
		got, err := opaEvalFindings(ctx, dir, opa, bundles[d.config], d.file)
		if err != nil {
			res.diff = fmt.Sprintf("%s: opa eval: %v", d.name, err)
			return res
		}
		if diff := firstDiff(want, got); diff != "" {
			res.diff = fmt.Sprintf("%s, opa eval --bundle: %s", d.name, diff)
			return res
		}
		base, ok := servers[d.config]
		if !ok {
			var stop func()
			base, stop, err = startOPAServer(ctx, opa, bundles[d.config])
			if err != nil {
				res.diff = fmt.Sprintf("opa run --server: %v", err)
				return res
			}
			stops = append(stops, stop)
			servers[d.config] = base
		}
		got, err = opaServerFindings(ctx, base, d.file)
		if err != nil {
			res.diff = fmt.Sprintf("%s: opa run --server: %v", d.name, err)
			return res
		}
		if diff := firstDiff(want, got); diff != "" {
			res.diff = fmt.Sprintf("%s, opa run --server: %s", d.name, diff)
			return res
		}
		res.docs = append(res.docs, fmt.Sprintf("%s (%d findings)", d.name, len(want)))
		res.findings += len(want)
		res.server++
	}
	// The time of each on the generated document, interleaved.
	gen := docs[len(docs)-1]
	var checks, evals []sample
	for range runs {
		s, err := measure(ctx, []string{tokencheck, "check", "--now", nowText, "--format", "json", gen.file})
		if err != nil {
			res.diff = fmt.Sprintf("timing tokencheck check: %v", err)
			return res
		}
		checks = append(checks, s)
		s, err = measure(ctx, []string{opa, "eval", "--bundle", bundles[gen.config], "--input", gen.file, "--format", "json", policy.BundleQuery})
		if err != nil {
			res.diff = fmt.Sprintf("timing opa eval --bundle: %v", err)
			return res
		}
		evals = append(evals, s)
	}
	res.check, res.opaEval = median(checks), median(evals)
	fmt.Fprintf(os.Stderr, "bundle on stock OPA: %d documents, %d findings identical; %d tokens: check %s, opa eval --bundle %s\n",
		len(res.docs), res.findings, res.genTokens, res.check.wall.Round(time.Millisecond), res.opaEval.wall.Round(time.Millisecond))
	return res
}

// bundleDocs writes the facts documents: the fixtures as TestBundleOnStockOPA judges them (the
// inventory fixtures with the defaults and with the CI configuration, the bad-input fixtures) plus
// the uses fixtures, and the generated tokens last.
func bundleDocs(ctx context.Context, root, dir string, cat *facts.Catalog, generated []facts.Token) ([]bundleDoc, error) {
	now, err := time.Parse(time.RFC3339, nowText)
	if err != nil {
		return nil, err
	}
	fixtures := filepath.Join(root, "fixtures")
	ciConfig := filepath.Join(fixtures, "ci", "tokencheck.yaml")
	type fixture struct{ name, path, config string }
	var docs []bundleDoc
	for _, f := range []fixture{
		{"fixtures/inventory", "inventory", ""},
		{"fixtures/inventory with fixtures/ci/tokencheck.yaml", "inventory", ciConfig},
		{"fixtures/bad", "bad", ""},
		{"fixtures/uses", "uses", ""},
	} {
		read := source.Files(ctx, []string{filepath.Join(fixtures, f.path)}, cat, now)
		if len(read.Tokens) == 0 {
			return nil, fmt.Errorf("%s: no tokens read (%v)", f.name, read.Errors)
		}
		file := filepath.Join(dir, fmt.Sprintf("doc-%d.json", len(docs)))
		if err := writeDocument(file, read.Tokens); err != nil {
			return nil, err
		}
		docs = append(docs, bundleDoc{name: f.name, file: file, config: f.config})
	}
	file := filepath.Join(dir, fmt.Sprintf("generated-%d.json", len(generated)))
	if err := writeDocument(file, generated); err != nil {
		return nil, err
	}
	return append(docs, bundleDoc{name: fmt.Sprintf("generated, %d tokens", len(generated)), file: file}), nil
}

// writeDocument writes a facts document with the top-level now a stock OPA judges at.
func writeDocument(file string, tokens []facts.Token) error {
	b, err := json.Marshal(facts.Document{Schema: facts.Schema, Tokens: tokens, Now: nowText})
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

// checkFindings runs tokencheck check --format json on the document, in dir (no ./.tokencheck.yaml).
func checkFindings(ctx context.Context, dir, tokencheck string, d bundleDoc) ([]bundleFinding, error) {
	args := []string{"check", "--now", nowText, "--format", "json", "--fail-on", "never"}
	if d.config != "" {
		args = append(args, "--config", d.config)
	}
	// With --fail-on never, exit 3 (incomplete facts: a token with unknown facts) still reports.
	raw, err := output(ctx, dir, tokencheck, append(args, d.file), 0, 3)
	if err != nil {
		return nil, err
	}
	var rep struct {
		Findings []bundleFinding  `json:"findings"`
		Errors   []map[string]any `json:"errors"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, fmt.Errorf("decode the JSON report: %w", err)
	}
	if len(rep.Errors) > 0 {
		return nil, fmt.Errorf("the report has errors: %v", rep.Errors)
	}
	return rep.Findings, nil
}

// opaEvalFindings runs opa eval --bundle on the document.
func opaEvalFindings(ctx context.Context, dir, opa, bundleFile, input string) ([]bundleFinding, error) {
	raw, err := output(ctx, dir, opa, []string{"eval", "--bundle", bundleFile, "--input", input, "--format", "json", policy.BundleQuery}, 0)
	if err != nil {
		return nil, err
	}
	var res struct {
		Result []struct {
			Expressions []struct {
				Value json.RawMessage `json:"value"`
			} `json:"expressions"`
		} `json:"result"`
	}
	if err := json.Unmarshal(raw, &res); err != nil || len(res.Result) != 1 || len(res.Result[0].Expressions) != 1 {
		return nil, fmt.Errorf("unexpected output (%v): %s", err, tail(string(raw)))
	}
	return decodeFindings(res.Result[0].Expressions[0].Value)
}

// opaServerFindings posts the document to the server's data API.
func opaServerFindings(ctx context.Context, base, input string) ([]bundleFinding, error) {
	doc, err := os.ReadFile(input)
	if err != nil {
		return nil, err
	}
	body := append(append([]byte(`{"input":`), doc...), '}')
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/data/tokencheck/findings", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST /v1/data/tokencheck/findings: %s: %s", resp.Status, tail(string(raw)))
	}
	var res struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(raw, &res); err != nil || res.Result == nil {
		return nil, fmt.Errorf("no result (%v): %s", err, tail(string(raw)))
	}
	return decodeFindings(res.Result)
}

func decodeFindings(raw json.RawMessage) ([]bundleFinding, error) {
	var fs []bundleFinding
	if err := json.Unmarshal(raw, &fs); err != nil {
		return nil, fmt.Errorf("decode OPA's findings: %w", err)
	}
	return fs, nil
}

// firstDiff compares the findings as multisets and describes the first difference.
func firstDiff(want, got []bundleFinding) string {
	count := func(fs []bundleFinding) (map[string]int, []string) {
		m := map[string]int{}
		var keys []string
		for _, f := range fs {
			k := f.String()
			if m[k] == 0 {
				keys = append(keys, k)
			}
			m[k]++
		}
		sort.Strings(keys)
		return m, keys
	}
	w, wk := count(want)
	g, gk := count(got)
	for _, k := range wk {
		if g[k] < w[k] {
			return fmt.Sprintf("lacks tokencheck's finding {%s} (%d findings against tokencheck's %d)", k, len(got), len(want))
		}
	}
	for _, k := range gk {
		if w[k] < g[k] {
			return fmt.Sprintf("has a finding tokencheck does not: {%s} (%d findings against tokencheck's %d)", k, len(got), len(want))
		}
	}
	return ""
}

// output runs a command in dir and returns its stdout; the exit codes ok are success.
func output(ctx context.Context, dir, name string, args []string, ok ...int) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ee, isExit := err.(*exec.ExitError); isExit && slices.Contains(ok, ee.ExitCode()) {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, tail(stderr.String()))
	}
	return out, nil
}

// startOPAServer runs opa run --server on a free loopback port and waits until it has the bundle;
// stop ends it.
func startOPAServer(ctx context.Context, opa, bundleFile string) (base string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.CommandContext(ctx, opa, "run", "--server", "--addr", addr, "--bundle", bundleFile, "--disable-telemetry", "--log-level", "error")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	base = "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/health?bundles")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("not healthy on %s after 30 s: %v: %s", addr, err, tail(logs.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// opaVersion is the OPA version the root module requires, read from its go.mod.
func opaVersion(root string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "github.com/open-policy-agent/opa" {
			return f[1], nil
		}
		if len(f) >= 3 && f[0] == "require" && f[1] == "github.com/open-policy-agent/opa" {
			return f[2], nil
		}
	}
	return "", fmt.Errorf("go.mod does not require github.com/open-policy-agent/opa")
}
