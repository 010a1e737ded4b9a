package report

import (
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
	var w bytes.Buffer
	byCase := map[string][]finding.Finding{}
	for _, f := range r.Findings {
		k := f.Token + "\x00" + f.Rule
		byCase[k] = append(byCase[k], f)
	}
	rules := r.Rules
	ruleSet := map[string]bool{}
	for _, rule := range rules {
		ruleSet[rule.ID] = true
	}
	for _, f := range r.Findings { // rules the report does not list still get their case
		if !ruleSet[f.Rule] {
			ruleSet[f.Rule] = true
			rules = append(rules, finding.Rule{ID: f.Rule})
		}
	}
	var order []string
	suites := map[string]*junitSuite{}
	for _, tok := range r.Tokens {
		name := suiteName(tok)
		s := suites[name]
		if s == nil {
			s = &junitSuite{Name: safe.Text(name), Time: "0", Timestamp: r.Now}
			suites[name] = s
			order = append(order, name)
		}
		for _, rule := range rules {
			s.Cases = append(s.Cases, junitCaseFor(r, tok, rule.ID, byCase[tok.ID+"\x00"+rule.ID], name))
		}
	}
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
		suites[s.Name] = s
		order = append(order, s.Name)
	}
	doc := junitSuites{Name: "tokencheck", Time: "0"}
	for _, name := range order {
		s := suites[name]
		for _, c := range s.Cases {
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
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, *s)
	}
	w.WriteString(xml.Header)
	enc := xml.NewEncoder(&w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	w.WriteString("\n")
	if _, err := out.Write(safe.Commands(w.Bytes())); err != nil {
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
