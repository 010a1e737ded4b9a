package report

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/safe"
)

// Markdown writes a summary for $GITHUB_STEP_SUMMARY or a pull-request comment: the verdict, counts
// by severity, then one row per finding with token, rule, message and fix link.
type Markdown struct{}

// Write implements Writer. Values are shown through safe.Markdown or safe.Code (HTML escaped, no
// table or link syntax, controls visible), a fix link only when it is a plain https URL, and no
// line can start a workflow command.
func (Markdown) Write(w io.Writer, r *Report) error {
	s, _ := NewStream("markdown", w, false)
	return Render(s, r)
}

// markdownStream spools the findings table's rows, which follow the counts of the whole run.
type markdownStream struct {
	out   *bufio.Writer
	rows  Spool
	row   bytes.Buffer
	nRows int
	r     *Report
}

func (m *markdownStream) Discard() { m.rows.Close() }

func (m *markdownStream) Begin(r *Report) error {
	m.r = r
	return nil
}

func (m *markdownStream) Token(_ *finding.TokenInfo, fs []finding.Finding) error {
	r := m.r
	for _, f := range fs {
		sev := finding.Severity(safe.Markdown(string(f.Severity)))
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
		msg := safe.Markdown(f.Message)
		if f.Waived {
			msg += " — waived: " + safe.Markdown(f.WaiverReason)
		}
		fix := ""
		switch {
		case f.FixURL == "":
		case safe.LinkTarget(safe.Text(f.FixURL)):
			fix = "[template link](" + safe.Text(f.FixURL) + ")"
		default:
			fix = code(f.FixURL)
		}
		m.row.Reset()
		fmt.Fprintf(&m.row, "| %s | %s | %s | %s | %s |\n", sev, token, code(f.Rule), msg, fix)
		if _, err := m.rows.Write(safe.Commands(m.row.Bytes())); err != nil {
			return fmt.Errorf("write Markdown report: %w", err)
		}
		m.nRows++
	}
	return nil
}

func (m *markdownStream) End(r *Report) error {
	defer m.rows.Close()
	var out bytes.Buffer
	bw := &out
	s := r.Summary
	fmt.Fprintf(bw, "### tokencheck: %s\n\n", r.Verdict())
	fmt.Fprintf(bw, "%d token(s), %d finding(s); %d at or above `%s` fail the gate.\n\n", s.Tokens, s.Findings, s.Failing, safe.Markdown(string(r.FailOn)))
	fmt.Fprintln(bw, "| critical | high | medium | low | info | waived | existing | errors | incomplete |")
	fmt.Fprintln(bw, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	fmt.Fprintf(bw, "| %d | %d | %d | %d | %d | %d | %d | %d | %d |\n\n", s.BySeverity["critical"], s.BySeverity["high"],
		s.BySeverity["medium"], s.BySeverity["low"], s.BySeverity["info"], s.Waived, s.Existing, s.Errors, s.Incomplete)
	if m.nRows > 0 {
		fmt.Fprintln(bw, "| severity | token | rule | message | fix |")
		fmt.Fprintln(bw, "| --- | --- | --- | --- | --- |")
		if _, err := m.out.Write(safe.Commands(out.Bytes())); err != nil {
			return fmt.Errorf("write Markdown report: %w", err)
		}
		out.Reset()
		if _, err := m.rows.WriteTo(m.out); err != nil {
			return fmt.Errorf("write Markdown report: %w", err)
		}
		fmt.Fprintln(bw)
	}
	// section lists lines that are already safe Markdown.
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
		errs = append(errs, safe.Markdown(p.Error()))
	}
	section("Errors", errs)
	var notices []string
	for _, p := range r.Notices() {
		notices = append(notices, safe.Markdown(p.Error()))
	}
	section("Skipped inputs", notices)
	var inc []string
	for _, p := range r.Incomplete() {
		inc = append(inc, safe.Markdown(p.Where()+": "+p.Message))
	}
	section("Incomplete (not compliant)", inc)
	var unused []string
	for _, uw := range r.UnusedWaivers {
		at := ""
		if uw.Location != nil {
			at = code(location(uw.Location)) + " "
		}
		unused = append(unused, fmt.Sprintf("%s%s on %s (owner %s): matched no finding, remove it", at, code(uw.Rule), code(uw.Token), safe.Markdown(uw.Owner)))
	}
	section("Unused waivers", unused)
	if a := r.Audit; a != nil {
		fmt.Fprintf(bw, "**Audit of %s** (%d API pages): tokens by source %s; findings by rule %s.\n\n", safe.Markdown(strings.Join(a.Orgs, ", ")), a.APIPages, safe.Markdown(countList(a.TokensBySource)), safe.Markdown(countList(a.FindingsByRule)))
		if a.Preview != nil {
			fmt.Fprintf(bw, "A maximum-lifetime policy of %d days would block %d token(s).\n\n", a.Preview.Days, len(a.Preview.Blocked))
		}
	}
	if _, err := m.out.Write(safe.Commands(out.Bytes())); err != nil {
		return fmt.Errorf("write Markdown report: %w", err)
	}
	if err := m.out.Flush(); err != nil {
		return fmt.Errorf("write Markdown report: %w", err)
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// code wraps s in a code span (safe.Code).
func code(s string) string { return safe.Code(s) }

// StepSummaryLimit is the most a step may write to $GITHUB_STEP_SUMMARY: "each step is restricted
// to a maximum size of 1MiB", and a larger summary is not uploaded at all
// (https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/workflow-commands-for-github-actions#step-isolation-and-limits).
const StepSummaryLimit = 1 << 20

// truncatedNote ends a summary cut to fit StepSummaryLimit; %d is the number of lines left out.
const truncatedNote = "\n> **Truncated:** %d line(s) of this summary were left out to stay within GitHub's 1 MiB step-summary limit. Every finding is in tokencheck's other outputs (the report file, SARIF, `--also json`).\n"

// LimitSummary fits a Markdown summary into budget bytes: whole when it fits, else cut at a line
// boundary and ended with a note saying how many lines were left out. When not even the note fits,
// nothing is returned: GitHub drops a summary over the limit whole.
func LimitSummary(md []byte, budget int) []byte {
	if len(md) <= budget {
		return md
	}
	out, _ := LimitSummaryFrom(bytes.NewReader(md), int64(len(md)), budget) // bytes.Reader does not fail
	return out
}

// LimitSummaryFrom is LimitSummary of the size bytes of md, reading at most budget bytes of them
// into memory (the rest is only counted): a summary spooled to a file is cut without being read
// whole.
func LimitSummaryFrom(md io.ReaderAt, size int64, budget int) ([]byte, error) {
	if size <= int64(budget) {
		return readAt(md, 0, size)
	}
	// Counting the lines first says how long the note is, which says how much of the rest fits.
	lines, last, err := countLines(io.NewSectionReader(md, 0, size))
	if err != nil {
		return nil, err
	}
	reserve := len(fmt.Sprintf(truncatedNote, lines+1))
	if budget < reserve {
		return nil, nil
	}
	kept, err := readAt(md, 0, int64(budget-reserve))
	if err != nil {
		return nil, err
	}
	kept = kept[:bytes.LastIndexByte(kept, '\n')+1]
	left := lines - bytes.Count(kept, []byte("\n"))
	if last != '\n' {
		left++
	}
	return append(kept, fmt.Sprintf(truncatedNote, left)...), nil
}

func readAt(r io.ReaderAt, off, n int64) ([]byte, error) {
	b := make([]byte, n)
	if _, err := r.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b, nil
}

// countLines counts the newlines r holds and returns its last byte.
func countLines(r io.Reader) (int, byte, error) {
	buf := make([]byte, 256<<10)
	n, last := 0, byte(0)
	for {
		k, err := r.Read(buf)
		if k > 0 {
			n += bytes.Count(buf[:k], []byte("\n"))
			last = buf[k-1]
		}
		if errors.Is(err, io.EOF) {
			return n, last, nil
		}
		if err != nil {
			return 0, 0, err
		}
	}
}
