// Package decide turns judged tokens into review decisions: which pending fine-grained token requests
// to approve or deny, which approved grants to revoke, and the reason sent to GitHub. It knows the
// findings and the review configuration, not HTTP; Applier (apply.go) carries a Plan out.
package decide

import (
	"errors"
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/tokencheck/tokencheck/engine/finding"
)

// ApprovePolicy says which requests are approved automatically.
type ApprovePolicy string

// Approve policies.
const (
	// ApproveNever leaves every approval to people (the default).
	ApproveNever ApprovePolicy = "never"
	// ApproveCompliant approves requests with no finding at all.
	ApproveCompliant ApprovePolicy = "compliant"
)

// DenyPolicy says which requests are denied automatically.
type DenyPolicy string

// Deny policies.
const (
	// DenyViolating denies requests with an unwaived finding at or above the fail-on severity (the default).
	DenyViolating DenyPolicy = "violating"
	// DenyNever leaves every denial to people.
	DenyNever DenyPolicy = "never"
)

// RevokePolicy says which approved grants are revoked automatically.
type RevokePolicy string

// Revoke policies.
const (
	// RevokeNever revokes nothing (the default).
	RevokeNever RevokePolicy = "never"
	// RevokeViolating revokes grants with an unwaived finding at or above RevokeOn.
	RevokeViolating RevokePolicy = "violating"
)

// Config is the `review:` section of the configuration.
type Config struct {
	Approve  ApprovePolicy
	Deny     DenyPolicy
	Revoke   RevokePolicy
	RevokeOn finding.Severity
	// MaxRevocations bounds one run: more grants to revoke than this and none is revoked.
	MaxRevocations int
}

// DefaultConfig is what an absent `review:` section means: deny violating requests, approve and
// revoke nothing.
func DefaultConfig() Config {
	return Config{Approve: ApproveNever, Deny: DenyViolating, Revoke: RevokeNever, RevokeOn: finding.Critical, MaxRevocations: 10}
}

// ParseConfig reads the value of the `review` key (a mapping) over DefaultConfig. Every error names
// file and line; the valid keys are still applied. A nil node gives the defaults.
func ParseConfig(node *yaml.Node, file string) (Config, []error) {
	cfg := DefaultConfig()
	if node == nil {
		return cfg, nil
	}
	var errs []error
	bad := func(n *yaml.Node, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: review: %s", file, n.Line, fmt.Sprintf(format, args...)))
	}
	if node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		return cfg, nil
	}
	if node.Kind != yaml.MappingNode {
		bad(node, "want a mapping of approve, deny, revoke, revoke_on, max_revocations")
		return cfg, errs
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if seen[k.Value] {
			bad(k, "%s is given twice", k.Value)
			continue
		}
		seen[k.Value] = true
		if v.Kind != yaml.ScalarNode {
			bad(v, "%s: want a single value", k.Value)
			continue
		}
		switch k.Value {
		case "approve":
			switch p := ApprovePolicy(v.Value); p {
			case ApproveNever, ApproveCompliant:
				cfg.Approve = p
			default:
				bad(v, "approve: %q is not one of never, compliant", v.Value)
			}
		case "deny":
			switch p := DenyPolicy(v.Value); p {
			case DenyViolating, DenyNever:
				cfg.Deny = p
			default:
				bad(v, "deny: %q is not one of violating, never", v.Value)
			}
		case "revoke":
			switch p := RevokePolicy(v.Value); p {
			case RevokeNever, RevokeViolating:
				cfg.Revoke = p
			default:
				bad(v, "revoke: %q is not one of never, violating", v.Value)
			}
		case "revoke_on":
			sev, err := finding.ParseSeverity(v.Value)
			if err != nil {
				bad(v, "revoke_on: %v", err)
				continue
			}
			cfg.RevokeOn = sev
		case "max_revocations":
			n, err := strconv.Atoi(v.Value)
			if err != nil || n < 0 || v.Tag != "!!int" {
				bad(v, "max_revocations: %q is not a whole number of 0 or more", v.Value)
				continue
			}
			cfg.MaxRevocations = n
		default:
			bad(k, "unknown key %q (want approve, deny, revoke, revoke_on, max_revocations)", k.Value)
		}
	}
	return cfg, errs
}

// ErrTooManyRevocations is wrapped by the plan error raised when max_revocations trips.
var ErrTooManyRevocations = errors.New("too many revocations")
