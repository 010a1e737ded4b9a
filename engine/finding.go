// Package engine compiles tokencheck's Rego rules once, judges token facts with them, applies
// waivers and returns findings. It knows Rego, not HTTP or file formats.
package engine

import (
	"fmt"
	"strings"
)

// Severities, lowest first.
var severities = []string{"info", "low", "medium", "high", "critical"}

// SeverityRank orders severities: info 0 … critical 4; -1 for an unknown name.
func SeverityRank(s string) int {
	for i, name := range severities {
		if name == s {
			return i
		}
	}
	return -1
}

// ParseSeverity checks a severity name, as given to --fail-on or in a rule's metadata.
func ParseSeverity(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if SeverityRank(s) < 0 {
		return "", fmt.Errorf("unknown severity %q (want one of %s)", s, strings.Join(severities, ", "))
	}
	return s, nil
}

// Finding levels: a deny finding can fail the gate, a warn finding never does.
const (
	LevelDeny = "deny"
	LevelWarn = "warn"
)

// Finding is one rule's verdict on one token.
type Finding struct {
	Rule         string    `json:"rule"`
	Severity     string    `json:"severity"`
	Level        string    `json:"level"`
	Token        string    `json:"token"`
	TokenName    string    `json:"token_name,omitempty"`
	Message      string    `json:"message"`
	Remediation  string    `json:"remediation,omitempty"`
	FixURL       string    `json:"fix_url,omitempty"`
	Location     *Location `json:"location,omitempty"`
	Waived       bool      `json:"waived"`
	WaiverReason string    `json:"waiver_reason,omitempty"`
	// Existing is true when the finding was already in the --baseline report: it is shown, but
	// only new findings fail the gate.
	Existing bool `json:"existing,omitempty"`
}

// Location points at the file and line a token was declared on.
type Location struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
}

// Fails reports whether the finding fails a gate set at failOn.
func (f Finding) Fails(failOn string) bool {
	return !f.Waived && !f.Existing && f.Level == LevelDeny && SeverityRank(f.Severity) >= SeverityRank(failOn)
}
