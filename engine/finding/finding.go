// Package finding holds what a judging run produces and every renderer reads: findings, the rules
// that make them, where they point, their severity, and the problems met on the way. It imports no
// policy engine, so a report writer or a decision maker can depend on it alone.
package finding

import (
	"fmt"
	"strings"
)

// Severity ranks how bad a finding is.
type Severity string

// Severities, lowest first.
const (
	Info     Severity = "info"
	Low      Severity = "low"
	Medium   Severity = "medium"
	High     Severity = "high"
	Critical Severity = "critical"
)

// Never is the gate that nothing fails: --fail-on never reports without failing.
const Never Severity = "never"

// Severities lists every severity, lowest first.
var Severities = []Severity{Info, Low, Medium, High, Critical}

// Rank orders severities: info 0 … critical 4; -1 for an unknown name.
func (s Severity) Rank() int {
	for i, name := range Severities {
		if name == s {
			return i
		}
	}
	return -1
}

// Valid reports whether s is one of Severities.
func (s Severity) Valid() bool { return s.Rank() >= 0 }

// AtLeast reports whether s is as severe as other or more.
func (s Severity) AtLeast(other Severity) bool { return s.Rank() >= other.Rank() }

// SeverityNames is the accepted names joined for messages: "info, low, medium, high, critical".
func SeverityNames() string {
	names := make([]string, len(Severities))
	for i, s := range Severities {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// ParseSeverity checks a severity name, as given to --fail-on or in a rule's metadata.
func ParseSeverity(s string) (Severity, error) {
	sev := Severity(strings.ToLower(strings.TrimSpace(s)))
	if !sev.Valid() {
		return "", fmt.Errorf("unknown severity %q (want one of %s)", s, SeverityNames())
	}
	return sev, nil
}

// Level says whether a finding can fail the gate: a deny finding can, a warn finding never does.
type Level string

// Finding levels.
const (
	Deny Level = "deny"
	Warn Level = "warn"
)

// Finding is one rule's verdict on one token.
type Finding struct {
	Rule      string   `json:"rule"`
	Severity  Severity `json:"severity"`
	Level     Level    `json:"level"`
	Token     string   `json:"token"`
	TokenName string   `json:"token_name,omitempty"`
	// Subject is the scope, permission or name the finding is about; empty when it is about the
	// token as a whole. Rule, token and subject identify a finding.
	Subject      string    `json:"subject,omitempty"`
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

// Fails reports whether the finding fails a gate set at failOn.
func (f Finding) Fails(failOn Severity) bool {
	return failOn != Never && !f.Waived && !f.Existing && f.Level == Deny && f.Severity.AtLeast(failOn)
}

// Location points at the file and line a token was declared on.
type Location struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
}

// Rule is a rule's metadata, read from its package's METADATA annotation.
type Rule struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Severity    Severity   `json:"severity"`
	Remediation string     `json:"remediation"`
	Resources   []Resource `json:"related_resources,omitempty"`
	File        string     `json:"file"`
	Builtin     bool       `json:"builtin"`
}

// Resource is a documentation link of a rule.
type Resource struct {
	Ref         string `json:"ref"`
	Description string `json:"description,omitempty"`
}
