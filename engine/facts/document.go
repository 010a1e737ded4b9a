package facts

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// DocumentWriter writes a facts document token by token, so a large collection is saved without
// holding it: the same bytes as one indented JSON document of every token.
type DocumentWriter struct {
	w       *bufio.Writer
	written int
	err     error
}

// NewDocumentWriter starts a facts document on w.
func NewDocumentWriter(w io.Writer) *DocumentWriter {
	d := &DocumentWriter{w: bufio.NewWriter(w)}
	_, d.err = fmt.Fprintf(d.w, "{\n  \"schema\": %q,\n  \"tokens\": [", Schema)
	return d
}

// Write appends tokens to the document.
func (d *DocumentWriter) Write(tokens []Token) error {
	for i := range tokens {
		if d.err != nil {
			return d.err
		}
		b, err := json.MarshalIndent(&tokens[i], "    ", "  ")
		if err != nil {
			d.err = fmt.Errorf("encode token %s: %w", tokens[i].ID, err)
			return d.err
		}
		sep := ",\n    "
		if d.written == 0 {
			sep = "\n    "
		}
		if _, err := d.w.WriteString(sep); err != nil {
			d.err = err
			return err
		}
		if _, err := d.w.Write(b); err != nil {
			d.err = err
			return err
		}
		d.written++
	}
	return d.err
}

// Close ends the document and flushes it; it does not close the underlying writer.
func (d *DocumentWriter) Close() error {
	if d.err != nil {
		return d.err
	}
	end := "]\n}\n"
	if d.written > 0 {
		end = "\n  ]\n}\n"
	}
	if _, err := d.w.WriteString(end); err != nil {
		return err
	}
	return d.w.Flush()
}
