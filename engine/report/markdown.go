package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Markdown writes a summary for $GITHUB_STEP_SUMMARY or a pull-request comment: the verdict, counts
// by severity, then one row per finding with token, rule, message and fix link.
type Markdown struct{}

// Write implements Writer.
func (Markdown) Write(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	s := r.Summary
	fmt.Fprintf(bw, "### tokencheck: %s\n\n", r.Verdict())
	fmt.Fprintf(bw, "%d token(s), %d finding(s); %d at or above `%s` fail the gate.\n\n", s.Tokens, s.Findings, s.Failing, r.FailOn)
	fmt.Fprintln(bw, "| critical | high | medium | low | info | waived | existing | errors | incomplete |")
	fmt.Fprintln(bw, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	fmt.Fprintf(bw, "| %d | %d | %d | %d | %d | %d | %d | %d | %d |\n\n", s.BySeverity["critical"], s.BySeverity["high"],
		s.BySeverity["medium"], s.BySeverity["low"], s.BySeverity["info"], s.Waived, s.Existing, s.Errors, s.Incomplete)
	if len(r.Findings) > 0 {
		fmt.Fprintln(bw, "| severity | token | rule | message | fix |")
		fmt.Fprintln(bw, "| --- | --- | --- | --- | --- |")
		for _, f := range r.Findings {
			sev := f.Severity
			switch {
			case f.Waived:
				sev += " (waived)"
			case f.Existing:
				sev += " (existing)"
			case f.Fails(r.FailOn):
				sev = "**" + sev + "**"
			}
			token := code(f.Token)
			if f.Location != nil && location(f.Location) != f.Token {
				token += " " + code(location(f.Location))
			}
			msg := f.Message
			if f.Waived {
				msg += " — waived: " + f.WaiverReason
			}
			fix := ""
			if f.FixURL != "" {
				fix = "[template link](" + f.FixURL + ")"
			}
			fmt.Fprintf(bw, "| %s | %s | %s | %s | %s |\n", sev, cell(token), code(f.Rule), cell(msg), fix)
		}
		fmt.Fprintln(bw)
	}
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintf(bw, "**%s**\n\n", title)
		for _, l := range lines {
			fmt.Fprintf(bw, "- %s\n", oneLine(l))
		}
		fmt.Fprintln(bw)
	}
	var errs []string
	for _, p := range r.Errors() {
		errs = append(errs, p.Error())
	}
	section("Errors", errs)
	var inc []string
	for _, p := range r.Incomplete() {
		inc = append(inc, p.Where()+": "+p.Message)
	}
	section("Incomplete (not compliant)", inc)
	var unused []string
	for _, uw := range r.UnusedWaivers {
		at := ""
		if uw.Location != nil {
			at = code(location(uw.Location)) + " "
		}
		unused = append(unused, fmt.Sprintf("%s%s on %s (owner %s): matched no finding, remove it", at, code(uw.Rule), code(uw.Token), uw.Owner))
	}
	section("Unused waivers", unused)
	if a := r.Audit; a != nil {
		fmt.Fprintf(bw, "**Audit of %s** (%d API pages): tokens by source %s; findings by rule %s.\n\n", strings.Join(a.Orgs, ", "), a.APIPages, countList(a.TokensBySource), countList(a.FindingsByRule))
		if a.Preview != nil {
			fmt.Fprintf(bw, "A maximum-lifetime policy of %d days would block %d token(s).\n\n", a.Preview.Days, len(a.Preview.Blocked))
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write Markdown report: %w", err)
	}
	return nil
}

// cell makes text safe inside a table cell.
func cell(s string) string { return strings.ReplaceAll(oneLine(s), "|", `\|`) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// code wraps s in a code span long enough to hold any backticks in it.
func code(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
