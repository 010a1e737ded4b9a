package engine

import (
	"encoding/json"
	"fmt"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/fsguard"
)

// Baseline is the set of findings an earlier run reported, keyed by rule and token id: never by
// message, which changes with wording and with facts that do not change the verdict.
type Baseline map[string]bool

func baselineKey(rule, token string) string { return rule + "\x00" + token }

// LoadBaseline reads the findings of a JSON report (tokencheck --format json, or --write-baseline).
func LoadBaseline(file string) (Baseline, error) {
	raw, err := fsguard.ReadRegular(file, fsguard.MaxBaselineBytes, "--baseline")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Findings *[]struct {
			Rule  string `json:"rule"`
			Token string `json:"token"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("--baseline %s: not a tokencheck JSON report: %w", file, err)
	}
	if doc.Findings == nil {
		return nil, fmt.Errorf("--baseline %s: not a tokencheck JSON report (no findings list)", file)
	}
	b := Baseline{}
	for i, f := range *doc.Findings {
		if f.Rule == "" || f.Token == "" {
			return nil, fmt.Errorf("--baseline %s: finding %d lacks rule or token", file, i+1)
		}
		b[baselineKey(f.Rule, f.Token)] = true
	}
	return b, nil
}

// Apply marks the findings the baseline already holds as existing and returns how many it marked.
func (b Baseline) Apply(fs []finding.Finding) int {
	n := 0
	for i := range fs {
		if b[baselineKey(fs[i].Rule, fs[i].Token)] {
			fs[i].Existing = true
			n++
		}
	}
	return n
}
