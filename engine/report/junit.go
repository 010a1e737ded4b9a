package report

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/safe"
)

// JUnit writes JUnit XML for CI test reporters: one test suite per input (file, or source kind for
// tokens not read from a file), one test case per token and rule, a failure for each finding that
// fails the gate. Findings below the gate pass with their text in system-out; waived and existing
// findings are skipped with the reason. Errors and incomplete sources are a suite of their own.
type JUnit struct{}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// Write implements Writer. Values pass through safe.Text and no line of the XML can start a
// workflow command.
func (JUnit) Write(out io.Writer, r *Report) error {
	s, _ := NewStream("junit", out, false)
	return Render(s, r)
}

// junitStream renders each token's test cases as it is judged into a spool, remembering which
// stretches of the spool belong to which suite: a suite's counts and the totals open the document,
// so the cases are written at the end, suite by suite.
type junitStream struct {
	out    *bufio.Writer
	r      *Report
	rules  []finding.Rule
	known  map[string]bool
	cases  Spool
	piece  bytes.Buffer
	order  []string
	suites map[string]*junitSpooled
}

// junitSpooled is a suite's counts and the stretches of the spool holding its cases.
type junitSpooled struct {
	junitSuite
	spans [][2]int64 // offset, length
}

func (j *junitStream) Discard() { j.cases.Close() }

func (j *junitStream) Begin(r *Report) error {
	j.r, j.suites, j.known = r, map[string]*junitSpooled{}, map[string]bool{}
	j.rules = append([]finding.Rule(nil), r.Rules...)
	for _, rule := range j.rules {
		j.known[rule.ID] = true
	}
	for _, f := range r.Findings { // rules the report does not list still get their case
		if !j.known[f.Rule] {
			j.known[f.Rule] = true
			j.rules = append(j.rules, finding.Rule{ID: f.Rule})
		}
	}
	return nil
}

func (j *junitStream) Token(tok *finding.TokenInfo, fs []finding.Finding) error {
	if tok == nil {
		return nil // a held report's findings of unlisted tokens have no test case, as before
	}
	for _, f := range fs { // a rule met only now (streamed): its case from this token on
		if !j.known[f.Rule] {
			j.known[f.Rule] = true
			j.rules = append(j.rules, finding.Rule{ID: f.Rule})
		}
	}
	name := suiteName(*tok)
	s := j.suites[name]
	if s == nil {
		s = &junitSpooled{junitSuite: junitSuite{Name: safe.Text(name), Time: "0", Timestamp: j.r.Now}}
		j.suites[name] = s
		j.order = append(j.order, name)
	}
	byRule := map[string][]finding.Finding{}
	for _, f := range fs {
		byRule[f.Rule] = append(byRule[f.Rule], f)
	}
	j.piece.Reset()
	enc := xml.NewEncoder(&j.piece)
	enc.Indent("    ", "  ")
	if len(j.rules) > 0 {
		j.piece.WriteByte('\n') // the encoder starts each later case on a line of its own
	}
	for _, rule := range j.rules {
		c := junitCaseFor(j.r, *tok, rule.ID, byRule[rule.ID], name)
		s.count(c)
		if err := enc.EncodeElement(c, xml.StartElement{Name: xml.Name{Local: "testcase"}}); err != nil {
			return fmt.Errorf("write JUnit report: %w", err)
		}
	}
	off := j.cases.size
	if _, err := j.cases.Write(safe.Commands(j.piece.Bytes())); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	n := j.cases.size - off
	if k := len(s.spans); k > 0 && s.spans[k-1][0]+s.spans[k-1][1] == off {
		s.spans[k-1][1] += n // the same suite's next token: one stretch
	} else {
		s.spans = append(s.spans, [2]int64{off, n})
	}
	return nil
}

// count adds one test case to the suite's counts.
func (s *junitSuite) count(c junitCase) {
	s.Tests++
	switch {
	case c.Failure != nil:
		s.Failures++
	case c.Error != nil:
		s.Errors++
	case c.Skipped != nil:
		s.Skipped++
	}
}

// openTag renders an element's start tag with its attributes, as the encoder writes them.
func openTag(v any, name string) ([]byte, error) {
	var b bytes.Buffer
	if err := xml.NewEncoder(&b).EncodeElement(v, xml.StartElement{Name: xml.Name{Local: name}}); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("</"+name+">")), nil
}

func (j *junitStream) End(r *Report) error {
	defer j.cases.Close()
	var problems *junitSuite
	if errs, inc := r.Errors(), r.Incomplete(); len(errs)+len(inc) > 0 {
		s := &junitSuite{Name: "tokencheck", Time: "0", Timestamp: r.Now}
		for _, p := range errs {
			e := safe.Text(p.Error())
			c := junitCase{Name: "input: " + firstLine(e), Classname: "tokencheck.errors", Time: "0",
				Error: &junitProblem{Message: e, Type: "input-error", Body: e}}
			if p.File != "" {
				c.File, c.Line = safe.Text(p.File), p.Line
			}
			s.Cases = append(s.Cases, c)
		}
		for _, p := range inc {
			msg := safe.Text(p.Where() + ": " + p.Message)
			s.Cases = append(s.Cases, junitCase{Name: "incomplete: " + safe.Text(p.Where()), Classname: "tokencheck.incomplete", Time: "0",
				Error: &junitProblem{Message: msg, Type: "incomplete", Body: msg}})
		}
		for _, c := range s.Cases {
			s.count(c)
		}
		problems = s
	}
	doc := junitSuites{Name: "tokencheck", Time: "0"}
	var suites []junitSuite
	for _, name := range j.order {
		suites = append(suites, j.suites[name].junitSuite)
	}
	if problems != nil {
		suites = append(suites, *problems)
	}
	for _, s := range suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
	}
	out := j.out
	write := func(b []byte) {
		out.Write(safe.Commands(b))
	}
	head, err := openTag(doc, "testsuites")
	if err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	out.WriteString(xml.Header)
	write(head)
	for _, name := range j.order {
		s := j.suites[name]
		tag, err := openTag(s.junitSuite, "testsuite")
		if err != nil {
			return fmt.Errorf("write JUnit report: %w", err)
		}
		write(append([]byte("\n  "), tag...))
		for _, span := range s.spans {
			in, err := j.cases.section(span[0], span[1])
			if err == nil {
				_, err = io.Copy(out, in)
			}
			if err != nil {
				return fmt.Errorf("write JUnit report: %w", err)
			}
		}
		if len(s.spans) > 0 {
			out.WriteString("\n  ")
		}
		out.WriteString("</testsuite>")
	}
	if problems != nil {
		var b bytes.Buffer
		enc := xml.NewEncoder(&b)
		enc.Indent("  ", "  ")
		if err := enc.EncodeElement(problems, xml.StartElement{Name: xml.Name{Local: "testsuite"}}); err != nil {
			return fmt.Errorf("write JUnit report: %w", err)
		}
		write(append([]byte("\n"), b.Bytes()...))
	}
	if len(suites) > 0 {
		out.WriteString("\n")
	}
	out.WriteString("</testsuites>\n")
	if err := out.Flush(); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	return nil
}

func junitCaseFor(r *Report, tok finding.TokenInfo, rule string, fs []finding.Finding, suite string) junitCase {
	c := junitCase{Name: safe.Text(tok.ID + ": " + rule), Classname: safe.Text(suite), Time: "0"}
	if tok.Location != nil {
		c.File, c.Line = safe.Text(tok.Location.File), tok.Location.Line
	}
	sort.SliceStable(fs, func(i, j int) bool {
		return fs[i].Severity.Rank() > fs[j].Severity.Rank()
	})
	var failing, other []string
	for _, f := range fs {
		line := fmt.Sprintf("[%s] %s", safe.Text(string(f.Severity)), safe.Text(f.Message))
		if f.FixURL != "" {
			line += "\nfix: " + safe.Text(f.FixURL)
		}
		switch {
		case f.Fails(r.FailOn):
			failing = append(failing, line)
		case f.Waived:
			other = append(other, line+"\nwaived: "+safe.Text(f.WaiverReason))
		case f.Existing:
			other = append(other, line+"\nexisting: in the baseline")
		default:
			other = append(other, line+"\nbelow --fail-on "+string(r.FailOn))
		}
	}
	switch {
	case len(failing) > 0:
		body := strings.Join(failing, "\n")
		if fs[0].Remediation != "" {
			body += "\nremediation: " + safe.Text(fs[0].Remediation)
		}
		if c.File != "" {
			body += fmt.Sprintf("\nat: %s:%d", c.File, c.Line)
		}
		c.Failure = &junitProblem{Message: firstLine(failing[0]), Type: safe.Text(string(fs[0].Severity)), Body: body}
	case len(fs) > 0 && allSkipped(fs):
		reason := "existing: in the baseline"
		if fs[0].Waived {
			reason = "waived: " + safe.Text(fs[0].WaiverReason)
		}
		c.Skipped = &junitSkipped{Message: reason}
	}
	if len(other) > 0 {
		c.SystemOut = strings.Join(other, "\n")
	}
	return c
}

func allSkipped(fs []finding.Finding) bool {
	for _, f := range fs {
		if !f.Waived && !f.Existing {
			return false
		}
	}
	return true
}

// suiteName groups tokens by the input they came from.
func suiteName(tok finding.TokenInfo) string {
	switch {
	case tok.Location != nil && tok.Location.File != "":
		return tok.Location.File
	case tok.Source != "":
		return tok.Source
	}
	return "tokens"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
