// Package report renders a run's findings in the formats people and tools read. It knows findings,
// not where they came from.
package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/tokencheck/tokencheck/engine/finding"
)

// Report is everything one run found.
type Report struct {
	Tool       string            `json:"tool"`
	Version    string            `json:"version"`
	Now        string            `json:"now"`
	FailOn     finding.Severity  `json:"fail_on"`
	Tokens     []Token           `json:"tokens"`
	Findings   []finding.Finding `json:"findings"`
	Errors     []string          `json:"errors"`
	Incomplete []Incomplete      `json:"incomplete"`
	// UnusedWaivers are configured waivers that matched no finding: dead configuration to remove.
	UnusedWaivers []UnusedWaiver `json:"unused_waivers,omitempty"`
	Summary       Summary        `json:"summary"`
	Rules         []finding.Rule `json:"-"`
	// SourceRoot, when set, is the directory file locations are made relative to (the repository
	// root, for code scanning).
	SourceRoot string `json:"-"`
	// Audit is the organisation audit's summary, for audit runs.
	Audit *AuditSummary `json:"audit,omitempty"`
	// Baseline names the --baseline report findings were compared with ("" when none was).
	Baseline string `json:"baseline,omitempty"`
}

// UnusedWaiver is a waiver that matched nothing in this run.
type UnusedWaiver struct {
	Rule     string            `json:"rule"`
	Token    string            `json:"token"`
	Owner    string            `json:"owner"`
	Expires  string            `json:"expires"`
	Location *finding.Location `json:"location,omitempty"`
}

// Token is what a report shows of a judged token besides its findings.
type Token struct {
	ID       string            `json:"id"`
	Name     string            `json:"name,omitempty"`
	Type     string            `json:"type"`
	Source   string            `json:"source,omitempty"`
	LastFour string            `json:"last_four,omitempty"`
	Location *finding.Location `json:"location,omitempty"`
	Unknown  []string          `json:"unknown,omitempty"`
}

// Incomplete names a source that could not be read whole, and why.
type Incomplete struct {
	Source string `json:"source"`
	Reason string `json:"reason"`
}

// Summary counts a run's outcome.
type Summary struct {
	Tokens     int                      `json:"tokens"`
	Findings   int                      `json:"findings"`
	BySeverity map[finding.Severity]int `json:"by_severity"`
	Failing    int                      `json:"failing"`
	Waived     int                      `json:"waived"`
	Existing   int                      `json:"existing"`
	Errors     int                      `json:"errors"`
	Incomplete int                      `json:"incomplete"`
	// UnusedWaivers counts waivers that matched nothing.
	UnusedWaivers int `json:"unused_waivers"`
}

// Summarize fills in the summary from the findings, errors and incomplete sources.
func (r *Report) Summarize() {
	s := Summary{Tokens: len(r.Tokens), Findings: len(r.Findings), BySeverity: map[finding.Severity]int{}, Errors: len(r.Errors), Incomplete: len(r.Incomplete), UnusedWaivers: len(r.UnusedWaivers)}
	for _, f := range r.Findings {
		s.BySeverity[f.Severity]++
		if f.Waived {
			s.Waived++
		}
		if f.Existing {
			s.Existing++
		}
		if f.Fails(r.FailOn) {
			s.Failing++
		}
	}
	r.Summary = s
}

// Verdict is the run's outcome in one word, in the order the exit code picks: ERROR, INCOMPLETE,
// FAIL, PASS.
func (r *Report) Verdict() string {
	switch s := r.Summary; {
	case s.Errors > 0:
		return "ERROR"
	case s.Incomplete > 0:
		return "INCOMPLETE"
	case s.Failing > 0:
		return "FAIL"
	}
	return "PASS"
}

// Writer renders a report in one format.
type Writer interface {
	Write(w io.Writer, r *Report) error
}

// Formats lists the format names New accepts.
var Formats = []string{"text", "json", "sarif", "junit", "github", "markdown"}

// New returns the writer for a format name; colour applies to text on a terminal only.
func New(format string, colour bool) (Writer, error) {
	switch format {
	case "text":
		return Text{Colour: colour}, nil
	case "json":
		return JSON{}, nil
	case "sarif":
		return SARIF{}, nil
	case "junit":
		return JUnit{}, nil
	case "github":
		return GitHub{}, nil
	case "markdown":
		return Markdown{}, nil
	}
	return nil, fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// severityCounts renders "2 critical, 1 high" from highest to lowest.
func severityCounts(by map[finding.Severity]int) string {
	names := make([]finding.Severity, 0, len(by))
	for sev := range by {
		names = append(names, sev)
	}
	sort.Slice(names, func(i, j int) bool { return names[i].Rank() > names[j].Rank() })
	parts := make([]string, 0, len(names))
	for _, sev := range names {
		parts = append(parts, fmt.Sprintf("%d %s", by[sev], sev))
	}
	return strings.Join(parts, ", ")
}
