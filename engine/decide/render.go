package decide

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// PlanSchema marks a plan written as JSON; tokencheck never reads it back as input.
const PlanSchema = "tokencheck.review-plan/v1"

// WriteJSON writes the plan as one JSON document: {"schema", "decisions", "problems", "counts"}.
func (p Plan) WriteJSON(w io.Writer) error {
	counts := map[Action]int{}
	for _, d := range p.Decisions {
		counts[d.Action]++
	}
	doc := struct {
		Schema    string         `json:"schema"`
		Decisions []Decision     `json:"decisions"`
		Problems  any            `json:"problems"`
		Counts    map[Action]int `json:"counts"`
	}{PlanSchema, p.Decisions, p.Problems, counts}
	if doc.Decisions == nil {
		doc.Decisions = []Decision{}
	}
	if p.Problems == nil {
		doc.Problems = []any{}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

// WriteText writes the plan for people: one block per decision with its findings and the reason
// that is (or would be) sent, then the problems and a count per action. Text from GitHub (names,
// messages) has its control characters replaced.
func (p Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, d := range p.Decisions {
		what := fmt.Sprintf("%s %d", d.Kind, d.ID)
		fmt.Fprintf(&b, "%-7s %s/%s %q by %s: %s\n", strings.ToUpper(string(d.Action)), d.Org, what, clean(d.TokenName), clean(d.Owner), clean(d.Why))
		for _, f := range d.Findings {
			mark := ""
			if f.Waived {
				mark = " (waived)"
			}
			fmt.Fprintf(&b, "        %s %s [%s]%s: %s\n", f.Level, f.Severity, f.Rule, mark, clean(f.Message))
		}
		if d.Reason != "" {
			fmt.Fprintf(&b, "        reason: %s\n", clean(d.Reason))
		}
	}
	for _, pr := range p.Problems {
		fmt.Fprintf(&b, "error: %s\n", clean(pr.Error()))
	}
	fmt.Fprintf(&b, "%d to approve, %d to deny, %d left for people, %d to revoke, %d kept\n",
		p.Count(ActionApprove), p.Count(ActionDeny), p.Count(ActionLeave), p.Count(ActionRevoke), p.Count(ActionKeep))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

// clean keeps hostile text from steering a terminal.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
