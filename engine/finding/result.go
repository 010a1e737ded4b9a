package finding

// ReportSchema marks a JSON report (and so a baseline): what tokencheck writes is never read back
// as an input, and a baseline's findings are known to be keyed by their subject.
const ReportSchema = "tokencheck.report/v1"

// Exit codes, as DESIGN.md fixes them.
const (
	ExitOK         = 0 // nothing at or above the gate's severity
	ExitViolations = 1 // findings fail the gate
	ExitError      = 2 // usage, input or policy error
	ExitIncomplete = 3 // facts could not be read whole: never compliant
)

// Verdict is a run's outcome in one word.
type Verdict string

// Verdicts, in the order the exit code picks them.
const (
	VerdictError      Verdict = "ERROR"
	VerdictIncomplete Verdict = "INCOMPLETE"
	VerdictFail       Verdict = "FAIL"
	VerdictPass       Verdict = "PASS"
)

// TokenInfo is what a report shows of a judged token besides its findings.
type TokenInfo struct {
	ID       string    `json:"id"`
	Name     string    `json:"name,omitempty"`
	Type     string    `json:"type"`
	Source   string    `json:"source,omitempty"`
	LastFour string    `json:"last_four,omitempty"`
	Location *Location `json:"location,omitempty"`
	Unknown  []string  `json:"unknown,omitempty"`
}

// UnusedWaiver is a configured waiver that matched nothing in a run: dead configuration to remove.
type UnusedWaiver struct {
	Rule     string    `json:"rule"`
	Token    string    `json:"token"`
	Owner    string    `json:"owner"`
	Expires  string    `json:"expires"`
	Location *Location `json:"location,omitempty"`
}

// Result is everything one judging run produced: the tokens judged, their findings, and the
// problems met on the way. Its summary and exit code follow from those.
type Result struct {
	Now           string         `json:"now"`
	FailOn        Severity       `json:"fail_on"`
	Tokens        []TokenInfo    `json:"tokens"`
	Findings      []Finding      `json:"findings"`
	Problems      []Problem      `json:"-"`
	UnusedWaivers []UnusedWaiver `json:"unused_waivers,omitempty"`
	Summary       Summary        `json:"summary"`
	// Rules are the rules the run judged with, built-in and user, by id.
	Rules []Rule `json:"-"`
	// Ignored counts the paths an ignore glob skipped (check --ignore, ignore:).
	Ignored int `json:"-"`
	// OwnOutputs counts tokencheck's own outputs met among the inputs (reports, baselines, SARIF),
	// recognised and not read.
	OwnOutputs int `json:"-"`
	// Streamed counts the tokens and findings handed to the report writers as they were judged and
	// not kept in Tokens and Findings (see Count); Summarize adds them to the held ones.
	Streamed Summary `json:"-"`
}

// Summary counts a run's outcome.
type Summary struct {
	Tokens     int              `json:"tokens"`
	Findings   int              `json:"findings"`
	BySeverity map[Severity]int `json:"by_severity"`
	Failing    int              `json:"failing"`
	Waived     int              `json:"waived"`
	Existing   int              `json:"existing"`
	Errors     int              `json:"errors"`
	Incomplete int              `json:"incomplete"`
	// UnusedWaivers counts waivers that matched nothing.
	UnusedWaivers int `json:"unused_waivers"`
	// Ignored counts the paths an ignore glob skipped: not read, not notices.
	Ignored int `json:"ignored,omitempty"`
	// OwnOutputs counts tokencheck's own outputs met among the inputs: recognised, not read.
	OwnOutputs int `json:"own_outputs,omitempty"`
}

// Errors are the run's input problems.
func (r *Result) Errors() []Problem { return r.problems(Input) }

// Notices are inputs found but not read (a binary file met while walking): said, never failing.
func (r *Result) Notices() []Problem { return r.problems(Notice) }

// Incomplete are the sources that could not be read whole.
func (r *Result) Incomplete() []Problem { return r.problems(Incomplete) }

func (r *Result) problems(kind ProblemKind) []Problem {
	var out []Problem
	for _, p := range r.Problems {
		if p.Kind == kind {
			out = append(out, p)
		}
	}
	return out
}

// Count adds tokens and findings that were streamed to the report writers, not kept, to the
// counts Summarize reports. FailOn must be set first.
func (r *Result) Count(tokens int, fs []Finding) {
	r.Streamed.Tokens += tokens
	countFindings(&r.Streamed, fs, r.FailOn)
}

func countFindings(s *Summary, fs []Finding, failOn Severity) {
	if s.BySeverity == nil {
		s.BySeverity = map[Severity]int{}
	}
	s.Findings += len(fs)
	for _, f := range fs {
		s.BySeverity[f.Severity]++
		if f.Waived {
			s.Waived++
		}
		if f.Existing {
			s.Existing++
		}
		if f.Fails(failOn) {
			s.Failing++
		}
	}
}

// Summarize fills in the summary from the tokens and findings (held and streamed), problems and
// unused waivers.
func (r *Result) Summarize() {
	st := r.Streamed
	s := Summary{Tokens: st.Tokens + len(r.Tokens), Findings: st.Findings, BySeverity: map[Severity]int{}, UnusedWaivers: len(r.UnusedWaivers),
		Ignored: r.Ignored, OwnOutputs: r.OwnOutputs, Waived: st.Waived, Existing: st.Existing, Failing: st.Failing}
	for sev, n := range st.BySeverity {
		s.BySeverity[sev] = n
	}
	for _, p := range r.Problems {
		switch p.Kind {
		case Input:
			s.Errors++
		case Incomplete:
			s.Incomplete++
		}
	}
	countFindings(&s, r.Findings, r.FailOn)
	r.Summary = s
}

// Verdict is the run's outcome in one word, in the order the exit code picks: ERROR, INCOMPLETE,
// FAIL, PASS. It reads the summary: call Summarize first.
func (r *Result) Verdict() Verdict {
	switch s := r.Summary; {
	case s.Errors > 0:
		return VerdictError
	case s.Incomplete > 0:
		return VerdictIncomplete
	case s.Failing > 0:
		return VerdictFail
	}
	return VerdictPass
}

// ExitCode is the process exit code the run ends with: the first of 2, 3, 1, 0 that holds.
func (r *Result) ExitCode() int {
	switch r.Verdict() {
	case VerdictError:
		return ExitError
	case VerdictIncomplete:
		return ExitIncomplete
	case VerdictFail:
		return ExitViolations
	}
	return ExitOK
}
