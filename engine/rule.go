package engine

import (
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// RulesPackage is the package prefix every rule lives under: tokencheck.rules.<id>.
const RulesPackage = "tokencheck.rules"

// Rule is a rule's metadata, read from its package's METADATA annotation.
type Rule struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Severity    string     `json:"severity"`
	Remediation string     `json:"remediation"`
	Resources   []Resource `json:"related_resources,omitempty"`
	File        string     `json:"file"`
	Builtin     bool       `json:"builtin"`
	path        ast.Ref
	levels      []string // deny and/or warn: the sets the package defines
}

// Resource is a documentation link of a rule.
type Resource struct {
	Ref         string `json:"ref"`
	Description string `json:"description,omitempty"`
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
	r := Rule{
		ID:          stringOf(ann.Custom["id"]),
		Title:       ann.Title,
		Description: strings.TrimSpace(ann.Description),
		Severity:    stringOf(ann.Custom["severity"]),
		Remediation: strings.TrimSpace(stringOf(ann.Custom["remediation"])),
		File:        loc.File,
		Builtin:     builtin,
		path:        path,
	}
	for _, level := range []string{LevelDeny, LevelWarn} {
		for _, rule := range m.Rules {
			if ref := rule.Head.Ref(); len(ref) > 0 && ref[0].Value.Compare(ast.Var(level)) == 0 {
				r.levels = append(r.levels, level)
				break
			}
		}
	}
	for _, rr := range ann.RelatedResources {
		if rr.Ref.String() != "" {
			r.Resources = append(r.Resources, Resource{Ref: rr.Ref.String(), Description: rr.Description})
		}
	}
	switch {
	case r.ID == "":
		return r, false, fmt.Errorf("%s: rule package %s: METADATA lacks custom.id", loc, pkg)
	case r.ID != pkgID:
		return r, false, fmt.Errorf("%s: rule package %s: custom.id %q must match the package name %q", loc, pkg, r.ID, pkgID)
	case r.Title == "":
		return r, false, fmt.Errorf("%s: rule %s: METADATA lacks title", loc, r.ID)
	case SeverityRank(r.Severity) < 0:
		return r, false, fmt.Errorf("%s: rule %s: custom.severity %q is not one of %s", loc, r.ID, r.Severity, strings.Join(severities, ", "))
	}
	return r, true, nil
}

func stringOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}
