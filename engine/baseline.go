package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/tokencheck/tokencheck/engine/finding"
)

// Baseline is the set of findings an earlier run reported, keyed by what each is about: the rule,
// the token and the finding's subject (the scope, permission or name), never the message, which
// changes with wording and with facts that do not change the verdict. A baselined token that gains
// a dangerous scope therefore has a new finding.
type Baseline map[string]bool

func baselineKey(f finding.Finding) string { return f.Rule + "\x00" + f.Token + "\x00" + f.Subject }

// maxBaselineSize bounds the report read as a baseline (64 MiB).
const maxBaselineSize = 64 << 20

// LoadBaseline reads the findings of a JSON report (tokencheck --format json, or --write-baseline).
// A report written before findings had subjects is refused, with how to rewrite it: read with
// the new key it would let a token's new scopes pass as old ones.
func LoadBaseline(file string) (Baseline, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", file)
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxBaselineSize+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxBaselineSize {
		return nil, fmt.Errorf("%s: larger than %d MiB; not a baseline", file, maxBaselineSize>>20)
	}
	var doc struct {
		Schema   string             `json:"schema"`
		Findings *[]finding.Finding `json:"findings"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: not a tokencheck JSON report: %w", file, err)
	}
	if doc.Findings == nil {
		return nil, fmt.Errorf("%s: not a tokencheck JSON report (no findings list)", file)
	}
	if doc.Schema != finding.ReportSchema {
		return nil, fmt.Errorf("%s: a report of an earlier tokencheck (schema %q, not %s), whose findings are not keyed by their subject; rewrite the baseline with this version: tokencheck check --write-baseline %s PATH...", file, doc.Schema, finding.ReportSchema, file)
	}
	b := Baseline{}
	for i, f := range *doc.Findings {
		if f.Rule == "" || f.Token == "" {
			return nil, fmt.Errorf("%s: finding %d lacks rule or token", file, i+1)
		}
		b[baselineKey(f)] = true
	}
	return b, nil
}

// Apply marks the findings the baseline already holds as existing and returns how many it marked.
func (b Baseline) Apply(fs []finding.Finding) int {
	n := 0
	for i := range fs {
		if b[baselineKey(fs[i])] {
			fs[i].Existing = true
			n++
		}
	}
	return n
}
