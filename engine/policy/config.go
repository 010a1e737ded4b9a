package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
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
}

// Waiver accepts one rule's findings for the tokens whose id matches Token (a glob), until Expires.
type Waiver struct {
	Rule    string    `json:"rule"`
	Token   string    `json:"token"`
	Reason  string    `json:"reason"`
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
	Line    int       `json:"line"`
}

// Matches reports whether the waiver covers a finding of rule on token.
func (w Waiver) Matches(rule, token string) bool {
	if w.Rule != rule {
		return false
	}
	ok, err := path.Match(w.Token, token)
	return err == nil && ok || w.Token == token
}

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
	raw, err := os.ReadFile(file)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
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
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		switch key.Value {
		case "waivers":
			ws, werrs := decodeWaivers(file, val)
			cfg.Waivers = ws
			errs = append(errs, werrs...)
		case "review":
			cfg.Review = val
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
			var v any
			if err := val.Decode(&v); err != nil || !sameKind(def, v) {
				errs = append(errs, fmt.Errorf("%s:%d: setting %s: want %s", file, val.Line, key.Value, kindName(def)))
				continue
			}
			cfg.Settings[key.Value] = normalize(v)
		}
	}
	return cfg, errors.Join(errs...)
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
		out = append(out, Waiver{Rule: w.Rule, Token: w.Token, Reason: w.Reason, Owner: w.Owner, Expires: exp, Line: item.Line})
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
	keys := []string{"disable", "review", "waivers"}
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
			return n >= 0
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
	var unused []Waiver
	for _, w := range c.Waivers {
		used := false
		for _, f := range fs {
			if f.Rule != waiverExpired.ID && w.Matches(f.Rule, f.Token) {
				used = true
				break
			}
		}
		if !used {
			unused = append(unused, w)
		}
	}
	return unused
}
