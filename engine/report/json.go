package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/safe"
)

// JSON writes the whole report as one JSON document: findings, summary, errors and incomplete sources.
type JSON struct{}

// jsonReport is the JSON document's shape; its keys are the report format's contract.
type jsonReport struct {
	Schema        string                 `json:"schema"`
	Tool          string                 `json:"tool"`
	Version       string                 `json:"version"`
	Now           string                 `json:"now"`
	FailOn        finding.Severity       `json:"fail_on"`
	Tokens        []finding.TokenInfo    `json:"tokens"`
	Findings      []finding.Finding      `json:"findings"`
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
	out := jsonReport{
		Schema: finding.ReportSchema, Tool: r.Tool, Version: r.Version, Now: r.Now, FailOn: r.FailOn,
		Tokens: r.Tokens, Findings: r.Findings, UnusedWaivers: r.UnusedWaivers, Summary: r.Summary,
		Audit: r.Audit, Baseline: r.Baseline,
		Errors: []jsonError{}, Incomplete: []jsonIncomplete{},
	}
	if out.Findings == nil {
		out.Findings = []finding.Finding{}
	}
	if out.Tokens == nil {
		out.Tokens = []finding.TokenInfo{}
	}
	for _, p := range r.Errors() {
		out.Errors = append(out.Errors, jsonError{File: p.File, Line: p.Line, Source: p.Source, Message: p.Message})
	}
	for _, p := range r.Notices() {
		out.Notices = append(out.Notices, jsonError{File: p.File, Line: p.Line, Source: p.Source, Message: p.Message})
	}
	for _, p := range r.Incomplete() {
		out.Incomplete = append(out.Incomplete, jsonIncomplete{Source: p.Where(), Reason: p.Message})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	// safe.JSON escapes terminal controls as \uXXXX and redacts token values; the data decodes the same.
	if _, err := w.Write(safe.JSON(buf.Bytes())); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}
