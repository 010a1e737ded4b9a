package main

import (
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// results is everything one run measured.
type results struct {
	rows                  []row
	mem                   []memRow
	floorRate, engineRate float64
	floorN                int
	quick                 bool
	took                  time.Duration
	opaVersion            string
	loadStart, loadEnd    string // /proc/loadavg's three averages, "" when unknown
	bundle                bundleResult
	orgs                  orgResult
}

func render(res results) string {
	rows, mem, floorRate, engineRate, floorN := res.rows, res.mem, res.floorRate, res.engineRate, res.floorN
	var b strings.Builder
	mode := "full"
	if res.quick {
		mode = "QUICK=1"
	}
	fmt.Fprintf(&b, "# tokencheck benchmark results\n\n")
	fmt.Fprintf(&b, "%s, %s mode, %d CPU(s), %s/%s, %s; conftest %s, opa %s; took %s.",
		time.Now().UTC().Format("2006-01-02"), mode, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, goVersion(),
		strings.Split(conftestPkg, "@")[1], res.opaVersion, res.took.Round(time.Second))
	if res.loadStart != "" && res.loadEnd != "" {
		fmt.Fprintf(&b, " Load average (1, 5, 15 min) %s at the start, %s at the end.", res.loadStart, res.loadEnd)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "Command: `make bench` (`go run ./bench/compare`). Whole processes, median wall time of several runs; peak RSS is the largest of the runs. The same Rego rules and facts for all three: conftest and opa eval get the rules through a generated `deny` wrapper that judges each token with `with input as`, as the engine does.\n\n")
	fmt.Fprintln(&b, "| workload | tokencheck | conftest test | opa eval | conftest ÷ tokencheck | opa ÷ tokencheck | tokencheck peak RSS | conftest RSS | opa RSS |")
	fmt.Fprintln(&b, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		tc, cf, op := median(r.tools["tokencheck"]), median(r.tools["conftest"]), median(r.tools["opa eval"])
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.name, ms(tc), ms(cf), ms(op), ratio(cf, tc), ratio(op, tc), mb(tc), mb(cf), mb(op))
	}
	last := rows[len(rows)-1]
	for _, r := range rows {
		if r.tokens == floorN && strings.Contains(r.name, "one file") {
			last = r
		}
	}
	tc := median(last.tools["tokencheck"])
	fmt.Fprintf(&b, "\nThroughput at %d tokens: tokencheck whole process %.0f tokens/s; engine in process (compiled once, facts in memory) %.0f tokens/s; hand-written Go floor (5 representative rules) %.0f tokens/s, so the engine is %.0f× the floor.\n",
		floorN, float64(floorN)/tc.wall.Seconds(), engineRate, floorRate, floorRate/engineRate)
	if len(mem) > 0 {
		fmt.Fprintf(&b, "\n`check --format json -o FILE` on generated facts (one run each): ")
		for i, m := range mem {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%d tokens %s, peak RSS %d MB", m.tokens, ms(m.s), m.s.rss/1024)
		}
		b.WriteString(".\n")
	}
	renderBundle(&b, res.bundle)
	renderOrgs(&b, res.orgs)
	fmt.Fprintf(&b, "\n## Against the targets (issue 15)\n\n| target | measured | met |\n| --- | --- | --- |\n")
	check := func(name, measured string, ok bool) {
		mark := "no"
		if ok {
			mark = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, strings.ReplaceAll(measured, "|", `\|`), mark)
	}
	check(fmt.Sprintf("engine in process ≥ 35,000 tokens/s at %d tokens", floorN), fmt.Sprintf("%.0f tokens/s", engineRate), engineRate >= 35000)
	check(fmt.Sprintf("whole `check` ≤ 5 s at %d tokens", floorN), ms(tc), tc.wall > 0 && tc.wall <= 5*time.Second)
	for _, r := range rows {
		if strings.Contains(r.name, "CI gate") {
			x := median(r.tools["conftest"]).wall.Seconds() / median(r.tools["tokencheck"]).wall.Seconds()
			check("CI gate (10 tokens, whole process) ≥ 2.5× faster than conftest", fmt.Sprintf("%.2f×", x), x >= 2.5)
		}
	}
	if len(mem) == 2 {
		a, c := mem[0].s.rss/1024, mem[1].s.rss/1024
		check(fmt.Sprintf("peak RSS of check --format json ≤ 250 MB at %d tokens", mem[0].tokens), fmt.Sprintf("%d MB", a), a <= 250)
		x := float64(c) / float64(a)
		check(fmt.Sprintf("peak RSS at %d tokens ≤ 1.3× that at %d", mem[1].tokens, mem[0].tokens), fmt.Sprintf("%d MB, %.2f×", c, x), x <= 1.3)
	}
	o := res.orgs
	orgMeasured := fmt.Sprintf("%s against %s serial, %.2f×", dur(o.concurrent), dur(o.serial), o.ratio())
	if o.err != nil {
		orgMeasured = "failed: " + o.err.Error()
	}
	check(fmt.Sprintf("%d organisations at concurrency %d ≤ %.2f× the serial time", orgCount, orgConcurrency, orgTarget), orgMeasured, o.met())
	bd := res.bundle
	bundleMeasured := fmt.Sprintf("%d documents, %d findings identical", len(bd.docs), bd.findings)
	if !bd.identical() {
		bundleMeasured = "differs: " + bd.diff
	}
	check("the bundle on a stock OPA finds what `tokencheck check` finds", bundleMeasured, bd.identical())
	return b.String()
}

// renderBundle writes the section on the bundle run by a stock OPA.
func renderBundle(b *strings.Builder, r bundleResult) {
	fmt.Fprintf(b, "\n## The bundle on a stock OPA\n\n")
	b.WriteString("`tokencheck policy bundle -o FILE` (the binary under test, with each document's configuration), then " +
		"`opa eval --bundle FILE --input DOC --format json data.tokencheck.findings` and `POST /v1/data/tokencheck/findings` " +
		"to `opa run --server --bundle FILE`, against `tokencheck check --now NOW --format json DOC`. Each fixture becomes a facts " +
		"document with a top-level `now`, as in engine/policy's TestBundleOnStockOPA. Compared per finding: rule, token, severity, " +
		"level, subject, message and waived.\n\n")
	if len(r.docs) > 0 {
		fmt.Fprintf(b, "Documents compared (opa eval and opa run --server each): %s.\n", strings.Join(r.docs, "; "))
	}
	fmt.Fprintf(b, "Documents: %d. Findings compared: %d (each with opa eval and with the server).\n", len(r.docs), r.findings)
	if r.identical() {
		b.WriteString("Identical: **yes**.\n")
	} else {
		fmt.Fprintf(b, "Identical: **NO: not met**. First difference: %s\n", r.diff)
	}
	if r.check.wall > 0 && r.opaEval.wall > 0 {
		fmt.Fprintf(b, "\nOn the generated %d-token document (median of the runs, whole processes): `tokencheck check --format json` %s, "+
			"peak RSS %s; `opa eval --bundle` %s, peak RSS %s; opa ÷ tokencheck %s.\n",
			r.genTokens, ms(r.check), mb(r.check), ms(r.opaEval), mb(r.opaEval), ratio(r.opaEval, r.check))
	}
}

// renderOrgs writes the section on the many-organisation audit.
func renderOrgs(b *strings.Builder, o orgResult) {
	fmt.Fprintf(b, "\n## Many organisations\n\n")
	fmt.Fprintf(b, "`audit.Collect` on %d organisations of %d grants each (credential authorizations read too), from the fake GitHub "+
		"(engine/ghapi/ghapitest) answering every page after %s, as BenchmarkOrganisations in engine/source/audit; serial "+
		"and concurrency %d interleaved, median of %d runs each.\n\n", orgCount, orgGrants, orgLatency, orgConcurrency, o.runs)
	if o.err != nil {
		fmt.Fprintf(b, "**Failed: not met**: %v\n", o.err)
		return
	}
	fmt.Fprintf(b, "| organisations | pages | tokens | serial | concurrency %d | ratio | target |\n| ---: | ---: | ---: | ---: | ---: | ---: | --- |\n", orgConcurrency)
	mark := "not met"
	if o.met() {
		mark = "met"
	}
	fmt.Fprintf(b, "| %d | %d | %d | %s | %s | %.2f× | ≤ %.2f×: %s |\n", orgCount, o.pages, o.tokens, dur(o.serial), dur(o.concurrent), o.ratio(), orgTarget, mark)
}

func dur(d time.Duration) string { return ms(sample{wall: d}) }

func ms(s sample) string {
	if s.wall == 0 {
		return "—"
	}
	if s.wall >= 10*time.Second {
		return fmt.Sprintf("%.1f s", s.wall.Seconds())
	}
	return fmt.Sprintf("%.1f ms", float64(s.wall.Microseconds())/1000)
}

func mb(s sample) string {
	if s.rss == 0 {
		return "—"
	}
	return fmt.Sprintf("%d MB", s.rss/1024)
}

func ratio(other, tc sample) string {
	if other.wall == 0 || tc.wall == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", other.wall.Seconds()/tc.wall.Seconds())
}

func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}
