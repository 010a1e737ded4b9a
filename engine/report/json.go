package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/safe"
)

// JSON writes the whole report as one JSON document: findings, summary, errors and incomplete sources.
type JSON struct{}

// jsonHead and jsonTail are the JSON document's keys before and after its tokens and findings
// arrays; the keys and their order are the report format's contract.
type jsonHead struct {
	Schema  string           `json:"schema"`
	Tool    string           `json:"tool"`
	Version string           `json:"version"`
	Now     string           `json:"now"`
	FailOn  finding.Severity `json:"fail_on"`
}

type jsonTail struct {
	Errors        []jsonError            `json:"errors"`
	Incomplete    []jsonIncomplete       `json:"incomplete"`
	Notices       []jsonError            `json:"notices,omitempty"`
	UnusedWaivers []finding.UnusedWaiver `json:"unused_waivers,omitempty"`
	Summary       finding.Summary        `json:"summary"`
	Audit         *AuditSummary          `json:"audit,omitempty"`
	Baseline      string                 `json:"baseline,omitempty"`
}

// jsonError is an input error with its place, when it has one.
type jsonError struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Source  string `json:"source,omitempty"`
	Message string `json:"message"`
}

// jsonIncomplete names a source that could not be read whole, and why.
type jsonIncomplete struct {
	Source string `json:"source"`
	Reason string `json:"reason"`
}

// Write implements Writer.
func (JSON) Write(w io.Writer, r *Report) error {
	s, _ := NewStream("json", w, false)
	return Render(s, r)
}

// jsonStream writes the document as the run goes: the head and each token at once, each finding
// to a spool (the findings array follows the tokens array), the rest at the end. The bytes are
// those of encoding the whole document with two-space indentation; every piece passes through
// safe.JSON (controls escaped, token values redacted) before it is written.
type jsonStream struct {
	out      *bufio.Writer
	findings Spool
	tokens   int
	nFinds   int
	piece    bytes.Buffer
	err      error
}

// encode encodes v as the document would at depth: indented by prefix, no HTML escaping, no
// trailing newline.
func encodeIndented(buf *bytes.Buffer, v any, prefix string) error {
	enc := json.NewEncoder(buf)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}

func (s *jsonStream) write(w io.Writer, b []byte) {
	if s.err == nil {
		_, s.err = w.Write(safe.JSON(b))
	}
}

func (s *jsonStream) fail() error {
	if s.err != nil {
		return fmt.Errorf("write JSON report: %w", s.err)
	}
	return nil
}

func (s *jsonStream) Discard() { s.findings.Close() }

func (s *jsonStream) Begin(r *Report) error {
	s.piece.Reset()
	if err := encodeIndented(&s.piece, jsonHead{Schema: finding.ReportSchema, Tool: r.Tool, Version: r.Version, Now: r.Now, FailOn: r.FailOn}, ""); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	head := bytes.TrimSuffix(s.piece.Bytes(), []byte("\n}"))
	s.write(s.out, append(head, ",\n  \"tokens\": ["...))
	return s.fail()
}

// element appends one array element, after a comma when it is not the first.
func (s *jsonStream) element(w io.Writer, v any, first bool) {
	s.piece.Reset()
	if first {
		s.piece.WriteString("\n    ")
	} else {
		s.piece.WriteString(",\n    ")
	}
	if err := encodeIndented(&s.piece, v, "    "); err != nil && s.err == nil {
		s.err = err
	}
	s.write(w, s.piece.Bytes())
}

func (s *jsonStream) Token(tok *finding.TokenInfo, fs []finding.Finding) error {
	if tok != nil {
		s.element(s.out, tok, s.tokens == 0)
		s.tokens++
	}
	for i := range fs {
		s.element(&s.findings, &fs[i], s.nFinds == 0)
		s.nFinds++
	}
	return s.fail()
}

// closeArray ends an array: on the element's line when it is empty, on its own line otherwise.
func closeArray(n int) string {
	if n == 0 {
		return "]"
	}
	return "\n  ]"
}

func (s *jsonStream) End(r *Report) error {
	defer s.findings.Close()
	s.write(s.out, []byte(closeArray(s.tokens)+",\n  \"findings\": ["))
	if s.err == nil {
		// The spool holds pieces already made safe.
		_, s.err = s.findings.WriteTo(s.out)
	}
	tail := jsonTail{UnusedWaivers: r.UnusedWaivers, Summary: r.Summary, Audit: r.Audit, Baseline: r.Baseline,
		Errors: []jsonError{}, Incomplete: []jsonIncomplete{}}
	for _, p := range r.Errors() {
		tail.Errors = append(tail.Errors, jsonError{File: p.File, Line: p.Line, Source: p.Source, Message: p.Message})
	}
	for _, p := range r.Notices() {
		tail.Notices = append(tail.Notices, jsonError{File: p.File, Line: p.Line, Source: p.Source, Message: p.Message})
	}
	for _, p := range r.Incomplete() {
		tail.Incomplete = append(tail.Incomplete, jsonIncomplete{Source: p.Where(), Reason: p.Message})
	}
	s.piece.Reset()
	if err := encodeIndented(&s.piece, tail, ""); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	rest := bytes.TrimPrefix(s.piece.Bytes(), []byte("{"))
	s.write(s.out, append([]byte(closeArray(s.nFinds)+","), append(rest, '\n')...))
	if s.err == nil {
		s.err = s.out.Flush()
	}
	return s.fail()
}
