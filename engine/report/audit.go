package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/safe"
)

// AuditSummary is what an organisation audit adds to a report: where the tokens came from, which
// rules they break, whose tokens break most, and what a maximum-lifetime policy would block.
type AuditSummary struct {
	Orgs           []string         `json:"orgs"`
	TokensBySource map[string]int   `json:"tokens_by_source"`
	FindingsByRule map[string]int   `json:"findings_by_rule"`
	TopOwners      []OwnerCount     `json:"top_owners"`
	APIPages       int              `json:"api_pages"`
	Preview        *LifetimePreview `json:"max_lifetime_preview,omitempty"`
	// byOwner tallies findings by owner as Count sees them.
	byOwner map[string]*ownerTally
}

// OwnerCount is one token owner's share of the findings.
type OwnerCount struct {
	Owner    string `json:"owner"`
	Findings int    `json:"findings"`
	Tokens   int    `json:"tokens"`
}

// LifetimePreview lists the tokens a maximum-lifetime policy of Days would block.
type LifetimePreview struct {
	Days    int            `json:"days"`
	Blocked []PreviewToken `json:"blocked"`
}

// PreviewToken is one token the previewed policy would block, and why.
type PreviewToken struct {
	Token  string `json:"token"`
	Name   string `json:"name,omitempty"`
	Owner  string `json:"owner,omitempty"`
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// CountFindings fills FindingsByRule and TopOwners (at most top) from the findings; owners maps
// token ids to their owners.
func (a *AuditSummary) CountFindings(fs []finding.Finding, owners map[string]string, top int) {
	a.FindingsByRule = map[string]int{}
	a.Count(fs, owners)
	a.RankOwners(top)
}

// Count adds findings to FindingsByRule and to their owners' counts, as they are judged; owners
// maps the findings' token ids to their owners. RankOwners then fills TopOwners.
func (a *AuditSummary) Count(fs []finding.Finding, owners map[string]string) {
	if a.FindingsByRule == nil {
		a.FindingsByRule = map[string]int{}
	}
	if a.byOwner == nil {
		a.byOwner = map[string]*ownerTally{}
	}
	for _, f := range fs {
		a.FindingsByRule[f.Rule]++
		owner := owners[f.Token]
		if owner == "" {
			owner = "(unknown)"
		}
		t := a.byOwner[owner]
		if t == nil {
			t = &ownerTally{tokens: map[string]bool{}}
			a.byOwner[owner] = t
		}
		t.findings++
		t.tokens[f.Token] = true
	}
}

// ownerTally is one owner's findings and the tokens they are on.
type ownerTally struct {
	findings int
	tokens   map[string]bool
}

// RankOwners fills TopOwners with the top owners by findings (then by login) counted so far.
func (a *AuditSummary) RankOwners(top int) {
	a.TopOwners = nil
	for owner, t := range a.byOwner {
		a.TopOwners = append(a.TopOwners, OwnerCount{Owner: owner, Findings: t.findings, Tokens: len(t.tokens)})
	}
	sort.Slice(a.TopOwners, func(i, j int) bool {
		x, y := a.TopOwners[i], a.TopOwners[j]
		if x.Findings != y.Findings {
			return x.Findings > y.Findings
		}
		return x.Owner < y.Owner
	})
	if len(a.TopOwners) > top {
		a.TopOwners = a.TopOwners[:top]
	}
}

// writeText renders the audit summary for the text report.
func (a *AuditSummary) writeText(w io.Writer) {
	fmt.Fprintf(w, "Audit of %s: %d API page(s)\n", safe.Text(strings.Join(a.Orgs, ", ")), a.APIPages)
	fmt.Fprintf(w, "  tokens by source: %s\n", countList(a.TokensBySource))
	if len(a.FindingsByRule) > 0 {
		fmt.Fprintf(w, "  findings by rule: %s\n", countList(a.FindingsByRule))
	}
	if len(a.TopOwners) > 0 {
		parts := make([]string, 0, len(a.TopOwners))
		for _, o := range a.TopOwners {
			parts = append(parts, fmt.Sprintf("%s %d (%d token(s))", safe.Text(o.Owner), o.Findings, o.Tokens))
		}
		fmt.Fprintf(w, "  top owners by findings: %s\n", strings.Join(parts, ", "))
	}
	if p := a.Preview; p != nil {
		fmt.Fprintf(w, "  a maximum-lifetime policy of %d days would block %d token(s)", p.Days, len(p.Blocked))
		if len(p.Blocked) > 0 {
			fmt.Fprint(w, ":")
		}
		fmt.Fprintln(w)
		for _, b := range p.Blocked {
			name := ""
			if b.Name != "" {
				name = " (" + safe.Text(b.Name) + ")"
			}
			fmt.Fprintf(w, "    %s%s [%s] owner %s: %s\n", safe.Text(b.Token), name, safe.Text(b.Type), safe.Text(orText(b.Owner, "unknown")), safe.Text(b.Reason))
		}
	}
	fmt.Fprintln(w)
}

// countList renders "a 3, b 1", largest first.
func countList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", safe.Text(k), m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
