// Package collect holds the sources that turn inputs into token facts: inventory files, facts
// documents, fine-grained template links in any text file, live tokens and saved response headers.
package source

import "fmt"

// InputError is bad input at a file and line; the rest of the input is still judged.
type InputError struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Msg  string `json:"message"`
}

func (e *InputError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func inputErr(file string, line int, format string, args ...any) *InputError {
	return &InputError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// IncompleteError is a source that could not be read whole: its facts are partial, and the run must
// not pass as compliant.
type IncompleteError struct {
	Source string `json:"source"`
	Reason string `json:"reason"`
}

func (e *IncompleteError) Error() string {
	return fmt.Sprintf("%s: incomplete: %s", e.Source, e.Reason)
}
