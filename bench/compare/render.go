package main

import (
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

func render(rows []row, floorRate, engineRate float64, floorN int, quick bool, took time.Duration) string {
	var b strings.Builder
	mode := "full"
	if quick {
		mode = "QUICK=1"
	}
	fmt.Fprintf(&b, "# tokencheck benchmark results\n\n")
	fmt.Fprintf(&b, "%s, %s mode, %d CPU(s), %s/%s, %s; conftest %s, opa %s; took %s.\n",
		time.Now().UTC().Format("2006-01-02"), mode, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, goVersion(),
		strings.Split(conftestPkg, "@")[1], strings.Split(opaPkg, "@")[1], took.Round(time.Second))
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
	fmt.Fprintf(&b, "\n## Against the targets (issue 6)\n\n| target | measured | met |\n| --- | --- | --- |\n")
	check := func(name, measured string, ok bool) {
		mark := "no"
		if ok {
			mark = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, measured, mark)
	}
	for _, r := range rows {
		if strings.Contains(r.name, "CI gate") {
			x := median(r.tools["conftest"]).wall.Seconds() / median(r.tools["tokencheck"]).wall.Seconds()
			check("CI gate (10 tokens, whole process) ≥ 2.5× faster than conftest", fmt.Sprintf("%.2f×", x), x >= 2.5)
		}
	}
	rate := float64(floorN) / tc.wall.Seconds()
	check(fmt.Sprintf("≥ 30,000 tokens/s at %d tokens", floorN), fmt.Sprintf("%.0f tokens/s", rate), rate >= 30000)
	if op := median(last.tools["opa eval"]); op.wall > 0 {
		x := op.wall.Seconds() / tc.wall.Seconds()
		check(fmt.Sprintf("≥ 3× faster than opa eval at %d tokens", floorN), fmt.Sprintf("%.2f×", x), x >= 3)
	}
	check("within 20× of the hand-written Go floor", fmt.Sprintf("%.0f×", floorRate/engineRate), floorRate/engineRate <= 20)
	check(fmt.Sprintf("peak RSS ≤ 300 MB at %d tokens", floorN), fmt.Sprintf("%d MB", tc.rss/1024), tc.rss/1024 <= 300)
	return b.String()
}

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
