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

// Write implements Writer.
func (JSON) Write(w io.Writer, r *Report) error {
	out := *r
	if out.Findings == nil {
		out.Findings = []finding.Finding{}
	}
	if out.Errors == nil {
		out.Errors = []string{}
	}
	if out.Incomplete == nil {
		out.Incomplete = []Incomplete{}
	}
	if out.Tokens == nil {
		out.Tokens = []Token{}
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
