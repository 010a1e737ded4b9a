package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/gobwas/glob"
	"go.yaml.in/yaml/v3"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/fsguard"
	"github.com/tokencheck/tokencheck/policies"
)

// DefaultConfigFile is the settings file looked for in the working directory.
const DefaultConfigFile = ".tokencheck.yaml"

// Config is what a policy run is configured with: rule settings (the embedded defaults overlaid with
// .tokencheck.yaml), waivers and disabled rules.
type Config struct {
	File     string
	Settings map[string]any
	Waivers  []Waiver
	Disable  []string
	// Review is the `review:` section as written, for decide.ParseConfig (review and serve); nil when absent.
	Review *yaml.Node
	// Ignore are path globs check does not read (`ignore:`, like --ignore).
	Ignore []string
	// Inventories are path globs check reads as inventories without their schema marker
	// (`inventories:`).
	Inventories []string
}

// Waiver accepts one rule's findings for the tokens whose id matches Token (a glob), until Expires.
type Waiver struct {
	Rule    string    `json:"rule"`
	Token   string    `json:"token"`
	Reason  string    `json:"reason"`
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
	Line    int       `json:"line"`
	glob    *glob.Pattern
}

// Matches reports whether the waiver covers a finding of rule on token. In Token, * matches any
// run of characters, / included (token ids such as org:acme/pat:12 hold slashes), ? one character,
// [abc] and {a,b} as usual.
func (w Waiver) Matches(rule, token string) bool {
	if w.Rule != rule {
		return false
	}
	if w.Token == token {
		return true
	}
	g := w.glob
	if g == nil {
		var err error
		if g, err = glob.Compile(w.Token); err != nil {
			return false
		}
	}
	return g.Match(token)
}

// Limits on settings (documented in the README): day counts are whole numbers up to MaxSettingDays.
const MaxSettingDays = 100000

// DefaultConfig is the configuration with the embedded defaults only.
func DefaultConfig() (Config, error) {
	raw, err := fs.ReadFile(policies.FS, policies.DefaultsFile)
	if err != nil {
		return Config{}, fmt.Errorf("read embedded defaults: %w", err)
	}
	var settings map[string]any
	if err := json.Unmarshal(raw, &settings); err != nil {
		return Config{}, fmt.Errorf("parse embedded defaults: %w", err)
	}
	return Config{Settings: settings}, nil
}

// LoadConfig reads a settings file over the defaults. Unknown keys, values of the wrong type and
// incomplete waivers are errors naming the file and line.
func LoadConfig(file string) (Config, error) {
	cfg, err := DefaultConfig()
	if err != nil {
		return cfg, err
	}
	raw, err := fsguard.ReadRegular(file, fsguard.MaxConfigBytes, "config")
	if err != nil {
		return cfg, err
	}
	cfg.File = file
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return cfg, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return cfg, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return cfg, fmt.Errorf("%s:%d: config must be a mapping of settings", file, root.Line)
	}
	var errs []error
	if err := duplicateKey(file, root); err != nil {
		return cfg, err // which of two values was meant cannot be known
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		switch key.Value {
		case "waivers":
			ws, werrs := decodeWaivers(file, val)
			cfg.Waivers = ws
			errs = append(errs, werrs...)
		case "review":
			cfg.Review = val
		case "ignore":
			globs, err := decodeGlobs(file, key.Value, val)
			cfg.Ignore = globs
			errs = append(errs, err...)
		case "inventories":
			globs, err := decodeGlobs(file, key.Value, val)
			cfg.Inventories = globs
			errs = append(errs, err...)
		case "disable":
			if err := val.Decode(&cfg.Disable); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: disable: want a list of rule ids", file, val.Line))
			}
		default:
			def, known := cfg.Settings[key.Value]
			if !known {
				errs = append(errs, fmt.Errorf("%s:%d: unknown setting %q (known: %s)", file, key.Line, key.Value, knownKeys(cfg.Settings)))
				continue
			}
			if val.Kind == yaml.MappingNode {
				if err := duplicateKey(file, val); err != nil {
					errs = append(errs, err)
					continue
				}
			}
			var v any
			if err := val.Decode(&v); err != nil || !sameKind(def, v) {
				errs = append(errs, fmt.Errorf("%s:%d: setting %s: want %s", file, val.Line, key.Value, kindName(def)))
				continue
			}
			if err := checkSetting(file, key.Value, def, v, val); err != nil {
				errs = append(errs, err)
				continue
			}
			cfg.Settings[key.Value] = normalize(v)
		}
	}
	return cfg, errors.Join(errs...)
}

// duplicateKey refuses a mapping with a key given twice.
func duplicateKey(file string, n *yaml.Node) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if first, dup := seen[k.Value]; dup {
			return fmt.Errorf("%s:%d: key %q appears twice (first at line %d)", file, k.Line, k.Value, first)
		}
		seen[k.Value] = k.Line
	}
	return nil
}

// checkSetting holds a setting to what the rules can use: numbers finite, whole and at most
// MaxSettingDays (not .inf, .nan or 1e300), list items of the default's item type, and
// dangerous_scopes values severities, each error at its line.
func checkSetting(file, key string, def, v any, node *yaml.Node) error {
	switch n := v.(type) {
	case float64:
		if math.IsInf(n, 0) || math.IsNaN(n) || n != math.Trunc(n) || n > MaxSettingDays {
			return fmt.Errorf("%s:%d: setting %s: %v is not a whole number from 0 to %d", file, node.Line, key, node.Value, MaxSettingDays)
		}
	case int:
		if n > MaxSettingDays {
			return fmt.Errorf("%s:%d: setting %s: %d is more than %d", file, node.Line, key, n, MaxSettingDays)
		}
	case []any:
		for i, item := range n {
			if _, ok := item.(string); !ok {
				return fmt.Errorf("%s:%d: setting %s: item %d is not a string", file, node.Content[i].Line, key, i+1)
			}
		}
	case map[string]any:
		if err := duplicateKey(file, node); err != nil {
			return err
		}
		if key == "dangerous_scopes" {
			for i := 0; i+1 < len(node.Content); i += 2 {
				k, val := node.Content[i], node.Content[i+1]
				if val.Kind != yaml.ScalarNode || !finding.Severity(val.Value).Valid() {
					return fmt.Errorf("%s:%d: setting dangerous_scopes: %s: %q is not a severity (%s)", file, val.Line, k.Value, val.Value, finding.SeverityNames())
				}
			}
		}
	}
	return nil
}

func decodeWaivers(file string, node *yaml.Node) ([]Waiver, []error) {
	if node.Kind != yaml.SequenceNode {
		return nil, []error{fmt.Errorf("%s:%d: waivers: want a list", file, node.Line)}
	}
	var out []Waiver
	var errs []error
	for _, item := range node.Content {
		var w struct {
			Rule, Token, Reason, Owner, Expires string
		}
		if err := checkKeys(item, "rule", "token", "reason", "owner", "expires"); err != nil {
			errs = append(errs, fmt.Errorf("%s:%w", file, err))
			continue
		}
		if err := duplicateKey(file, item); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := item.Decode(&w); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: waiver: %w", file, item.Line, err))
			continue
		}
		var missing []string
		for name, v := range map[string]string{"rule": w.Rule, "token": w.Token, "reason": w.Reason, "owner": w.Owner, "expires": w.Expires} {
			if strings.TrimSpace(v) == "" {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			errs = append(errs, fmt.Errorf("%s:%d: waiver needs %s", file, item.Line, strings.Join(missing, ", ")))
			continue
		}
		exp, err := facts.ParseTime(w.Expires)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: waiver expires: %w", file, item.Line, err))
			continue
		}
		g, err := glob.Compile(w.Token)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: waiver token %q is not a valid glob: %v", file, item.Line, w.Token, err))
			continue
		}
		out = append(out, Waiver{Rule: w.Rule, Token: w.Token, Reason: w.Reason, Owner: w.Owner, Expires: exp, Line: item.Line, glob: g})
	}
	return out, errs
}

// checkKeys reports the first key of a mapping node that is not allowed, as "line: message".
func checkKeys(node *yaml.Node, allowed ...string) error {
	if node.Kind != yaml.MappingNode {
		return fmt.Errorf("%d: want a mapping", node.Line)
	}
	for i := 0; i < len(node.Content); i += 2 {
		k := node.Content[i]
		ok := false
		for _, a := range allowed {
			ok = ok || k.Value == a
		}
		if !ok {
			return fmt.Errorf("%d: unknown key %q (allowed: %s)", k.Line, k.Value, strings.Join(allowed, ", "))
		}
	}
	return nil
}

func knownKeys(settings map[string]any) string {
	keys := []string{"disable", "ignore", "inventories", "review", "waivers"}
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// normalize turns YAML's decoded values into JSON's (map[string]any, float64) so Rego sees them alike.
func normalize(v any) any {
	out, err := toJSONValue(v)
	if err != nil {
		return v
	}
	return out
}

func sameKind(def, v any) bool {
	switch def.(type) {
	case float64:
		switch n := v.(type) {
		case int:
			return n >= 0
		case float64:
			return n >= 0 || math.IsNaN(n) // NaN is reported by checkSetting
		}
		return false
	case []any:
		_, ok := v.([]any)
		return ok || v == nil
	case map[string]any:
		_, ok := v.(map[string]any)
		return ok
	case string:
		_, ok := v.(string)
		return ok
	}
	return false
}

func kindName(def any) string {
	switch def.(type) {
	case float64:
		return "a non-negative number"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return "a string"
}

// UnusedWaivers are the configured waivers that match none of the findings: dead configuration to
// clean up. A waiver that matched counts as used whether it waived or had expired.
func (c Config) UnusedWaivers(fs []finding.Finding) []Waiver {
	used := make([]bool, len(c.Waivers))
	c.MarkUsedWaivers(used, fs)
	return c.WaiversNotUsed(used)
}

// MarkUsedWaivers sets used[i] for each waiver i (an index into c.Waivers) that matches one of
// the findings: with WaiversNotUsed, the unused waivers of a run whose findings stream by in batches.
func (c Config) MarkUsedWaivers(used []bool, fs []finding.Finding) {
	for i, w := range c.Waivers {
		if used[i] {
			continue
		}
		for _, f := range fs {
			if f.Rule != waiverExpired.ID && w.Matches(f.Rule, f.Token) {
				used[i] = true
				break
			}
		}
	}
}

// WaiversNotUsed lists the waivers MarkUsedWaivers did not mark, in configuration order.
func (c Config) WaiversNotUsed(used []bool) []Waiver {
	var unused []Waiver
	for i, w := range c.Waivers {
		if !used[i] {
			unused = append(unused, w)
		}
	}
	return unused
}

// readDataFile reads a --data file: a regular file of at most fsguard.MaxDataBytes holding one
// YAML or JSON mapping, keys not repeated. Errors name the file and, where known, the line.
func readDataFile(file string) (map[string]any, error) {
	raw, err := fsguard.ReadRegular(file, fsguard.MaxDataBytes, "data file")
	if err != nil {
		return nil, err
	}
	var node yaml.Node
	if err := yaml.Unmarshal(raw, &node); err != nil {
		return nil, fmt.Errorf("data file %s: %w", file, err)
	}
	if len(node.Content) == 0 {
		return nil, fmt.Errorf("data file %s: empty file; want a mapping of data for rules", file)
	}
	root := node.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("data file %s:%d: want a mapping at the top", file, root.Line)
	}
	var doc map[string]any
	if err := root.Decode(&doc); err != nil { // refuses repeated keys at every level
		return nil, fmt.Errorf("data file %s: %w", file, err)
	}
	m, ok := normalize(doc).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("data file %s:%d: want a mapping at the top", file, root.Line)
	}
	return m, nil
}

// checkWaivers keeps the waivers that name an existing rule and expire at most max_waiver_days
// after now, and reports the others at their lines.
func checkWaivers(cfg Config, rules map[string]Rule, now time.Time) ([]finding.Problem, []Waiver) {
	if now.IsZero() {
		now = time.Now()
	}
	maxDays := 366.0
	if n, ok := cfg.Settings["max_waiver_days"].(float64); ok {
		maxDays = n
	}
	limit := facts.AddDays(now, int64(maxDays))
	var problems []finding.Problem
	var kept []Waiver
	for _, w := range cfg.Waivers {
		if _, ok := rules[w.Rule]; !ok {
			problems = append(problems, finding.InputError(cfg.File, w.Line, "waiver rule %q is not a rule (tokencheck policy list shows them); the waiver is ignored", w.Rule))
			continue
		}
		if w.Expires.After(limit) {
			problems = append(problems, finding.InputError(cfg.File, w.Line, "waiver expires %s, more than max_waiver_days (%v) ahead; the waiver is ignored", w.Expires.Format("2006-01-02"), maxDays))
			continue
		}
		kept = append(kept, w)
	}
	return problems, kept
}

// decodeGlobs reads a list of path globs (ignore:, inventories:), each error at its line. A glob
// matches as check's --ignore does: * and ? within one path segment, ** across them.
func decodeGlobs(file, key string, node *yaml.Node) ([]string, []error) {
	if node.Kind != yaml.SequenceNode {
		return nil, []error{fmt.Errorf("%s:%d: %s: want a list of path globs", file, node.Line, key)}
	}
	var out []string
	var errs []error
	for _, item := range node.Content {
		if item.Kind != yaml.ScalarNode || strings.TrimSpace(item.Value) == "" {
			errs = append(errs, fmt.Errorf("%s:%d: %s: want a path glob (a string)", file, item.Line, key))
			continue
		}
		if _, err := glob.Compile(strings.TrimPrefix(item.Value, "./"), '/'); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %s: %q is not a valid glob: %v", file, item.Line, key, item.Value, err))
			continue
		}
		out = append(out, item.Value)
	}
	return out, errs
}
