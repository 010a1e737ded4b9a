package report

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/safe"
)

// Text writes one block per token with findings (highest severity first), then errors, incomplete
// sources and a summary line. Colour is for terminals only.
type Text struct {
	Colour bool
}

var severityColours = map[finding.Severity]string{"critical": "\x1b[1;31m", "high": "\x1b[31m", "medium": "\x1b[33m", "low": "\x1b[36m", "info": "\x1b[2m"}

const reset = "\x1b[0m"

func (t Text) paint(colour, s string) string {
	if !t.Colour || colour == "" {
		return s
	}
	return colour + s + reset
}

// Write implements Writer. Every value from a file, a token or an API passes through safe.Text, and
// no line of the output can start a workflow command (safe.Commands).
func (t Text) Write(w io.Writer, r *Report) error {
	s, _ := NewStream("text", w, t.Colour)
	return Render(s, r)
}

// textStream writes a token's block as soon as it is judged; the clean tokens are counted.
type textStream struct {
	t      Text
	out    *bufio.Writer
	block  bytes.Buffer
	clean  int
	tokens int // listed tokens seen
	err    error
}

func (s *textStream) Begin(*Report) error { return nil }

func (s *textStream) Discard() {}

// flush writes the block rendered so far, made safe line by line.
func (s *textStream) flush() error {
	if s.err == nil {
		_, s.err = s.out.Write(safe.Commands(s.block.Bytes()))
	}
	s.block.Reset()
	if s.err != nil {
		return fmt.Errorf("write text report: %w", s.err)
	}
	return nil
}

func (s *textStream) Token(tok *finding.TokenInfo, fs []finding.Finding) error {
	orphan := tok == nil // findings of a token the report does not list: shown, not dropped
	if orphan {
		tok = &finding.TokenInfo{ID: fs[0].Token}
	} else {
		s.tokens++
	}
	if len(fs) == 0 && len(tok.Unknown) == 0 {
		s.clean++
		return nil
	}
	t, bw := s.t, &s.block
	header := safe.Text(tok.ID)
	if tok.Name != "" && tok.Name != tok.ID {
		header += fmt.Sprintf(" (%s)", safe.Text(tok.Name))
	}
	if tok.LastFour != "" {
		header += " (…" + safe.Text(tok.LastFour) + ")"
	}
	if !orphan {
		header += " [" + safe.Text(tok.Type) + "]"
	}
	if tok.Location != nil && location(tok.Location) != tok.ID {
		header = fmt.Sprintf("%s  %s", safe.Text(location(tok.Location)), header)
	}
	fmt.Fprintln(bw, t.paint("\x1b[1m", header))
	for _, f := range fs {
		sev := fmt.Sprintf("%-8s", strings.ToUpper(string(f.Severity)))
		line := fmt.Sprintf("  %s %-26s %s", t.paint(severityColours[f.Severity], safe.Text(sev)), safe.Text(f.Rule), safe.Text(f.Message))
		if f.Waived {
			line += fmt.Sprintf(" (waived: %s)", safe.Text(f.WaiverReason))
		}
		if f.Existing {
			line += " (existing: in the baseline)"
		}
		fmt.Fprintln(bw, line)
		if f.FixURL != "" {
			fmt.Fprintf(bw, "  %-8s %-26s fix: %s\n", "", "", safe.Text(f.FixURL))
		}
	}
	if len(tok.Unknown) > 0 {
		fmt.Fprintf(bw, "  %-8s %-26s not knowable from this source: %s\n", "", "", safe.Text(strings.Join(tok.Unknown, ", ")))
	}
	fmt.Fprintln(bw)
	return s.flush()
}

func (s *textStream) End(r *Report) error {
	t, bw := s.t, &s.block
	if s.tokens == 0 {
		fmt.Fprintf(bw, "No tokens were judged.\n\n")
	}
	if s.clean > 0 {
		fmt.Fprintf(bw, "%d token(s) without findings\n\n", s.clean)
	}
	if errs := r.Errors(); len(errs) > 0 {
		fmt.Fprintln(bw, t.paint("\x1b[1;31m", "Errors:"))
		for _, p := range errs {
			fmt.Fprintf(bw, "  %s\n", safe.Text(p.Error()))
		}
		fmt.Fprintln(bw)
	}
	if notices := r.Notices(); len(notices) > 0 {
		fmt.Fprintln(bw, "Found but not read:")
		for _, p := range notices {
			fmt.Fprintf(bw, "  %s\n", safe.Text(p.Error()))
		}
		fmt.Fprintln(bw)
	}
	if inc := r.Incomplete(); len(inc) > 0 {
		fmt.Fprintln(bw, t.paint("\x1b[1;33m", "Incomplete (facts could not be read whole; not compliant):"))
		for _, p := range inc {
			fmt.Fprintf(bw, "  %s: %s\n", safe.Text(p.Where()), safe.Text(p.Message))
		}
		fmt.Fprintln(bw)
	}
	if len(r.UnusedWaivers) > 0 {
		fmt.Fprintln(bw, "Unused waivers (matched no finding; remove them):")
		for _, w := range r.UnusedWaivers {
			at := ""
			if w.Location != nil {
				at = safe.Text(location(w.Location)) + ": "
			}
			fmt.Fprintf(bw, "  %s%s on %s (owner %s, expires %s)\n", at, safe.Text(w.Rule), safe.Text(w.Token), safe.Text(w.Owner), safe.Text(w.Expires))
		}
		fmt.Fprintln(bw)
	}
	if r.Audit != nil {
		r.Audit.writeText(bw)
	}
	sum := r.Summary
	verdict := r.Verdict()
	counts := ""
	if sum.Findings > 0 {
		counts = " (" + severityCounts(sum.BySeverity) + ")"
	}
	existing := ""
	if sum.Existing > 0 {
		existing = fmt.Sprintf(", %d existing", sum.Existing)
	}
	fmt.Fprintf(bw, "%d token(s), %d finding(s)%s, %d at or above %s, %d waived%s, %d error(s), %d incomplete: %s\n",
		sum.Tokens, sum.Findings, counts, sum.Failing, safe.Text(string(r.FailOn)), sum.Waived, existing, sum.Errors, sum.Incomplete, verdict)
	if err := s.flush(); err != nil {
		return err
	}
	if err := s.out.Flush(); err != nil {
		return fmt.Errorf("write text report: %w", err)
	}
	return nil
}

func location(l *finding.Location) string {
	if l.Line > 0 {
		return fmt.Sprintf("%s:%d", l.File, l.Line)
	}
	return l.File
}
