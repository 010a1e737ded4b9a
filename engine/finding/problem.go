package finding

import "fmt"

// ProblemKind tells the two ways a run can fall short of judging everything.
type ProblemKind string

// Problem kinds, in the order the exit code picks them.
const (
	// Input is bad input (a file, a flag, a configuration value or a policy): exit 2.
	Input ProblemKind = "input"
	// Incomplete is a source that could not be read whole: its facts are partial, and the run must
	// not pass as compliant (exit 3).
	Incomplete ProblemKind = "incomplete"
	// Notice is an input that was found but not read (a binary file, a symlink met while walking a
	// directory): shown so that nothing is skipped silently, never failing the run.
	Notice ProblemKind = "notice"
)

// Problem is one thing that went wrong in a run. The rest of the run goes on: what can be judged is
// judged, and every problem is reported in every format.
type Problem struct {
	Kind ProblemKind `json:"kind"`
	// Source names what could not be read (an org's list, a token, a flag) when there is no file.
	Source  string `json:"source,omitempty"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// Where names the place of the problem: "file:line", "file" or its source ("" when it has none).
func (p Problem) Where() string {
	switch {
	case p.File != "" && p.Line > 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	case p.File != "":
		return p.File
	}
	return p.Source
}

// Error renders the problem as the CLI prints it: "file:line: message", "source: message" or, for
// an incomplete source, "source: incomplete: reason".
func (p Problem) Error() string {
	where := p.Where()
	if p.Kind == Incomplete {
		return fmt.Sprintf("%s: incomplete: %s", where, p.Message)
	}
	if where == "" {
		return p.Message
	}
	return where + ": " + p.Message
}

// Location is where the problem points, or nil when it has no file.
func (p Problem) Location() *Location {
	if p.File == "" {
		return nil
	}
	return &Location{File: p.File, Line: p.Line}
}

// InputError returns an input problem at a file and line (0: the whole file).
func InputError(file string, line int, format string, args ...any) Problem {
	return Problem{Kind: Input, File: file, Line: line, Message: fmt.Sprintf(format, args...)}
}

// IncompleteSource returns an incomplete problem for a named source.
func IncompleteSource(source, reason string) Problem {
	return Problem{Kind: Incomplete, Source: source, Message: reason}
}
