// Package source holds the sources that turn inputs into token facts: inventory files, facts
// documents, fine-grained template links in any text file, live tokens and saved response headers.
// Their problems are finding.Problems, with the file and line they were found at.
package source

import (
	"fmt"

	"github.com/tokencheck/tokencheck/engine/finding"
)

// inputErr is bad input at a file and line; the rest of the input is still judged.
func inputErr(file string, line int, format string, args ...any) finding.Problem {
	return finding.Problem{Kind: finding.Input, File: file, Line: line, Message: fmt.Sprintf(format, args...)}
}
