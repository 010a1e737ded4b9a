package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// JSONStream writes the same document as JSON, byte for byte, one token and one finding at a
// time: it never builds the whole document in memory (JSON marshals it into one buffer and
// indents a second copy, ~150 MB each at 100,000 tokens).
type JSONStream struct{}

// jsonStreamWriter encodes the pieces of the document with the indentation JSON's encoder gives them.
type jsonStreamWriter struct {
	w   *bufio.Writer
	buf bytes.Buffer
	enc *json.Encoder
	err error
}

// value writes v as the encoder would at the given depth (prefix), without its trailing newline.
func (s *jsonStreamWriter) value(prefix string, v any) {
	if s.err != nil {
		return
	}
	s.buf.Reset()
	s.enc.SetIndent(prefix, "  ")
	if s.err = s.enc.Encode(v); s.err != nil {
		return
	}
	b := s.buf.Bytes()
	_, s.err = s.w.Write(b[:len(b)-1])
}

func (s *jsonStreamWriter) raw(text string) {
	if s.err == nil {
		_, s.err = s.w.WriteString(text)
	}
}

// field writes one top-level key and value; first is the document's first key.
func (s *jsonStreamWriter) field(first bool, key string, v any) {
	if !first {
		s.raw(",\n")
	}
	s.raw("  ")
	s.value("  ", key)
	s.raw(": ")
	s.value("  ", v)
}

// list writes one top-level key whose value is an array of n elements, each given by elem.
func list[T any](s *jsonStreamWriter, key string, items []T) {
	s.raw(",\n  ")
	s.value("  ", key)
	if len(items) == 0 {
		s.raw(": []")
		return
	}
	s.raw(": [\n")
	for i := range items {
		if i > 0 {
			s.raw(",\n")
		}
		s.raw("    ")
		s.value("    ", &items[i])
	}
	s.raw("\n  ]")
}

// Write implements Writer.
func (JSONStream) Write(w io.Writer, r *Report) error {
	s := &jsonStreamWriter{w: bufio.NewWriterSize(w, 64<<10)}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)

	errs := []jsonError{}
	for _, p := range r.Errors() {
		errs = append(errs, jsonError{File: p.File, Line: p.Line, Source: p.Source, Message: p.Message})
	}
	incomplete := []jsonIncomplete{}
	for _, p := range r.Incomplete() {
		incomplete = append(incomplete, jsonIncomplete{Source: p.Where(), Reason: p.Message})
	}

	s.raw("{\n")
	s.field(true, "tool", r.Tool)
	s.field(false, "version", r.Version)
	s.field(false, "now", r.Now)
	s.field(false, "fail_on", r.FailOn)
	list(s, "tokens", r.Tokens)
	list(s, "findings", r.Findings)
	list(s, "errors", errs)
	list(s, "incomplete", incomplete)
	if len(r.UnusedWaivers) > 0 {
		list(s, "unused_waivers", r.UnusedWaivers)
	}
	s.field(false, "summary", r.Summary)
	if r.Audit != nil {
		s.field(false, "audit", r.Audit)
	}
	if r.Baseline != "" {
		s.field(false, "baseline", r.Baseline)
	}
	s.raw("\n}\n")
	if s.err == nil {
		s.err = s.w.Flush()
	}
	if s.err != nil {
		return fmt.Errorf("write JSON report: %w", s.err)
	}
	return nil
}

var _ Writer = JSONStream{}
