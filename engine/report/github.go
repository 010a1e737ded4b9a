package report

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/safe"
)

// GitHub writes workflow commands, so findings annotate the pull request diff without code
// scanning: ::error for findings that fail the gate, ::warning for those below it, ::notice for
// waived and existing ones. Errors and incomplete sources are ::error lines of their own.
//
// GitHub shows at most AnnotationsPerKind annotations of each kind per step and drops the rest
// silently, so the most severe are written first, up to that many of each kind, then one ::notice
// says how many were left out; those are written to the step's log as plain lines.
type GitHub struct{}

// AnnotationsPerKind is how many ::error and how many ::warning annotations GitHub shows for one
// step: "10 warning annotations and 10 error annotations per step, 50 annotations per job"
// (https://github.com/orgs/community/discussions/26680; GitHub's docs give no number). Notices are
// held to the same number, so the note about what was left out is always seen.
const AnnotationsPerKind = 10

// annotation is one workflow command to write; rank orders annotations of a kind, highest first.
type annotation struct {
	cmd        string
	loc        *finding.Location
	title, msg string
	rank       int
}

// Write implements Writer.
func (GitHub) Write(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	var all []annotation
	for _, f := range r.Findings {
		cmd := "warning"
		switch {
		case f.Fails(r.FailOn):
			cmd = "error"
		case f.Waived, f.Existing:
			cmd = "notice"
		}
		msg := fmt.Sprintf("[%s] %s: %s", safe.Text(string(f.Severity)), safe.Text(f.Token), safe.Text(f.Message))
		switch {
		case f.Waived:
			msg += " (waived: " + safe.Text(f.WaiverReason) + ")"
		case f.Existing:
			msg += " (existing: in the baseline)"
		}
		if f.FixURL != "" {
			msg += "\nFix: " + safe.Text(f.FixURL)
		}
		if f.Remediation != "" {
			msg += "\n" + safe.Text(f.Remediation)
		}
		all = append(all, annotation{cmd, f.Location, f.Rule, msg, findingRank(f)})
	}
	// Input errors and incomplete sources rank above every finding: they make the verdict.
	const problemRank = 1 << 10
	for _, p := range r.Errors() {
		if loc := p.Location(); loc != nil {
			all = append(all, annotation{"error", loc, "tokencheck input error", safe.Text(p.Message), problemRank})
		} else {
			all = append(all, annotation{"error", nil, "tokencheck input error", safe.Text(p.Error()), problemRank})
		}
	}
	for _, p := range r.Notices() {
		all = append(all, annotation{"notice", p.Location(), "tokencheck skipped", safe.Text(p.Error()), 0})
	}
	for _, p := range r.Incomplete() {
		all = append(all, annotation{"error", p.Location(), "tokencheck incomplete", safe.Text(p.Where() + ": " + p.Message), problemRank})
	}
	for _, uw := range r.UnusedWaivers {
		all = append(all, annotation{"warning", uw.Location, "unused waiver",
			fmt.Sprintf("waiver of %s on %s (owner %s) matched no finding; remove it", safe.Text(uw.Rule), safe.Text(uw.Token), safe.Text(uw.Owner)), -1})
	}
	byKind := map[string][]annotation{}
	for _, a := range all {
		byKind[a.cmd] = append(byKind[a.cmd], a)
	}
	left := map[string][]annotation{}
	for _, kind := range []string{"error", "warning", "notice"} {
		as := byKind[kind]
		sort.SliceStable(as, func(i, j int) bool { return as[i].rank > as[j].rank })
		limit := AnnotationsPerKind
		if kind == "notice" && len(left["error"])+len(left["warning"])+len(as) > AnnotationsPerKind {
			limit-- // room for the notice about what was left out
		}
		if len(as) > limit {
			as, left[kind] = as[:limit], as[limit:]
		}
		byKind[kind] = as
	}
	for _, kind := range []string{"error", "warning"} {
		for _, a := range byKind[kind] {
			writeCommand(bw, a.cmd, a.loc, a.title, a.msg)
		}
	}
	if n := len(left["error"]) + len(left["warning"]) + len(left["notice"]); n > 0 {
		writeCommand(bw, "notice", nil, "tokencheck: annotations left out", fmt.Sprintf(
			"%d error, %d warning and %d notice annotation(s) not shown: GitHub shows at most %d of each kind per step, so the most severe were written. The others are in this step's log (lines starting \"tokencheck: left out\") and in the full report (--also json=FILE, SARIF, --summary).",
			len(left["error"]), len(left["warning"]), len(left["notice"]), AnnotationsPerKind))
	}
	for _, a := range byKind["notice"] {
		writeCommand(bw, a.cmd, a.loc, a.title, a.msg)
	}
	for _, kind := range []string{"error", "warning", "notice"} {
		for _, a := range left[kind] {
			at := ""
			if a.loc != nil && a.loc.File != "" {
				at = location(&finding.Location{File: safe.Text(a.loc.File), Line: a.loc.Line}) + ": "
			}
			fmt.Fprintf(bw, "tokencheck: left out %s: %s%s: %s\n", kind, at, safe.Text(a.title), strings.ReplaceAll(a.msg, "\n", " — "))
		}
	}
	s := r.Summary
	fmt.Fprintf(bw, "tokencheck: %d token(s), %d finding(s), %d at or above %s, %d waived, %d existing, %d error(s), %d incomplete: %s\n",
		s.Tokens, s.Findings, s.Failing, safe.Text(string(r.FailOn)), s.Waived, s.Existing, s.Errors, s.Incomplete, r.Verdict())
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write GitHub annotations: %w", err)
	}
	return nil
}

// writeCommand writes one workflow command; msg may hold the writer's own line breaks, and is
// otherwise already safe.Text. The title and file are made safe here.
func writeCommand(w io.Writer, cmd string, loc *finding.Location, title, msg string) {
	var props []string
	if loc != nil && loc.File != "" {
		props = append(props, "file="+escapeProperty(safe.Text(loc.File)))
		if loc.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", loc.Line))
		}
	}
	props = append(props, "title="+escapeProperty(safe.Text(title)))
	fmt.Fprintf(w, "::%s %s::%s\n", cmd, strings.Join(props, ","), escapeData(msg))
}

// escapeData escapes a workflow command's message as the runner expects.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command property value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
