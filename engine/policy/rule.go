package policy

import (
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/tokencheck/tokencheck/engine/finding"
)

// RulesPackage is the package prefix every rule lives under: tokencheck.rules.<id>.
const RulesPackage = "tokencheck.rules"

// Rule is a loaded rule: its metadata, read from its package's METADATA annotation, and where its
// sets live in the compiled policy.
type Rule struct {
	finding.Rule
	path   ast.Ref
	levels []finding.Level // deny and/or warn: the sets the package defines
	line   int             // the package line in File
}

// ruleFromModule reads the rule a module defines; ok is false for modules outside tokencheck.rules
// (helpers, tests).
func ruleFromModule(m *ast.Module, builtin bool) (Rule, bool, error) {
	path := m.Package.Path
	pkg := strings.TrimPrefix(path.String(), "data.")
	if !strings.HasPrefix(pkg, RulesPackage+".") && !strings.HasPrefix(pkg, RulesPackage+"[") || len(path) != 4 {
		return Rule{}, false, nil
	}
	idTerm, ok := path[3].Value.(ast.String)
	if !ok {
		return Rule{}, false, nil
	}
	pkgID := string(idTerm)
	loc := m.Package.Location
	var ann *ast.Annotations
	for _, a := range m.Annotations {
		if a.Scope == "package" {
			ann = a
		}
	}
	if ann == nil {
		return Rule{}, false, fmt.Errorf("%s: package %s has no # METADATA block (title, description, custom.id, custom.severity, custom.remediation)", loc, pkg)
	}
	r := Rule{Rule: finding.Rule{
		ID:          stringOf(ann.Custom["id"]),
		Title:       ann.Title,
		Description: strings.TrimSpace(ann.Description),
		Severity:    finding.Severity(stringOf(ann.Custom["severity"])),
		Remediation: strings.TrimSpace(stringOf(ann.Custom["remediation"])),
		File:        loc.File,
		Builtin:     builtin,
	}, path: path, line: loc.Row}
	for _, level := range []finding.Level{finding.Deny, finding.Warn} {
		for _, rule := range m.Rules {
			if ref := rule.Head.Ref(); len(ref) > 0 && ref[0].Value.Compare(ast.Var(string(level))) == 0 {
				r.levels = append(r.levels, level)
				break
			}
		}
	}
	for _, rr := range ann.RelatedResources {
		if rr.Ref.String() != "" {
			r.Resources = append(r.Resources, finding.Resource{Ref: rr.Ref.String(), Description: rr.Description})
		}
	}
	switch {
	case r.ID == "":
		return r, false, fmt.Errorf("%s: rule package %s: METADATA lacks custom.id", loc, pkg)
	case r.ID != pkgID:
		return r, false, fmt.Errorf("%s: rule package %s: custom.id %q must match the package name %q", loc, pkg, r.ID, pkgID)
	case r.Title == "":
		return r, false, fmt.Errorf("%s: rule %s: METADATA lacks title", loc, r.ID)
	case !r.Severity.Valid():
		return r, false, fmt.Errorf("%s: rule %s: custom.severity %q is not one of %s", loc, r.ID, r.Severity, finding.SeverityNames())
	}
	return r, true, nil
}

func stringOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}
