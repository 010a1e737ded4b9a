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

// Report is one run's result with what a rendering needs besides: the tool's name and version,
// the directory locations are relative to, and the parts only some commands have.
type Report struct {
	Tool    string `json:"tool"`
	Version string `json:"version"`
	*finding.Result
	// SourceRoot, when set, is the directory file locations are made relative to (the repository
	// root, for code scanning).
	SourceRoot string `json:"-"`
	// Audit is the organisation audit's summary, for audit runs.
	Audit *AuditSummary `json:"audit,omitempty"`
	// Baseline names the --baseline report findings were compared with ("" when none was).
	Baseline string `json:"baseline,omitempty"`
	// Command is the command that ran (check, scan, audit): SARIF's automationDetails.id and the
	// artifact of findings not read from a file are named after it.
	Command string `json:"-"`
	// Category, when set, makes SARIF's analysis category unique among jobs running one command
	// (see AutomationID).
	Category string `json:"-"`
}

// CategoryEnv names the environment variable whose value becomes Report.Category: set it when two
// jobs of a workflow upload SARIF of one command for different inputs.
const CategoryEnv = "TOKENCHECK_SARIF_CATEGORY"

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
		return SARIF{}, nil // waived findings left out, at most SARIFMaxResults results
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
