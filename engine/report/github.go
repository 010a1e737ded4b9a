package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/safe"
)

// GitHub writes workflow commands, so findings annotate the pull request diff without code
// scanning: ::error for findings that fail the gate, ::warning for those below it, ::notice for
// waived and existing ones. Errors and incomplete sources are ::error lines of their own.
type GitHub struct{}

// Write implements Writer.
func (GitHub) Write(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
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
		writeCommand(bw, cmd, f.Location, f.Rule, msg)
	}
	for _, p := range r.Errors() {
		if loc := p.Location(); loc != nil {
			writeCommand(bw, "error", loc, "tokencheck input error", safe.Text(p.Message))
		} else {
			writeCommand(bw, "error", nil, "tokencheck input error", safe.Text(p.Error()))
		}
	}
	for _, p := range r.Notices() {
		writeCommand(bw, "notice", p.Location(), "tokencheck skipped", safe.Text(p.Error()))
	}
	for _, p := range r.Incomplete() {
		writeCommand(bw, "error", p.Location(), "tokencheck incomplete", safe.Text(p.Where()+": "+p.Message))
	}
	for _, uw := range r.UnusedWaivers {
		writeCommand(bw, "warning", uw.Location, "unused waiver",
			fmt.Sprintf("waiver of %s on %s (owner %s) matched no finding; remove it", safe.Text(uw.Rule), safe.Text(uw.Token), safe.Text(uw.Owner)))
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
