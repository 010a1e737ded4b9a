package report

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/tokencheck/tokencheck/engine/finding"
)

// SARIF writes SARIF 2.1.0 for GitHub code scanning: one reportingDescriptor per rule and one
// result per finding, with fingerprints that stay stable across runs (rule + token id + subject), so an
// alert is tracked rather than reopened.
type SARIF struct{}

// InformationURI is where the tool's documentation lives.
const InformationURI = "https://github.com/tokencheck/tokencheck"

// fingerprintKey names tokencheck's partial fingerprint; bump the version if its recipe changes.
const fingerprintKey = "tokencheckFinding/v2"

// securitySeverity is GitHub's security-severity score for each severity.
var securitySeverity = map[finding.Severity]string{"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}

// sarifLevel maps a severity to a SARIF result level.
func sarifLevel(f finding.Finding) string {
	if f.Level == finding.Warn {
		return "warning"
	}
	switch f.Severity {
	case "critical", "high":
		return "error"
	case "medium":
		return "warning"
	}
	return "note"
}

// Write implements Writer.
func (SARIF) Write(w io.Writer, r *Report) error {
	doc, err := sarif.New(sarif.Version210)
	if err != nil {
		return fmt.Errorf("write SARIF: %w", err)
	}
	driver := sarif.NewVersionedDriver(r.Tool, r.Version).WithInformationURI(InformationURI)
	run := sarif.NewRun(*sarif.NewTool(driver))
	index := map[string]int{}
	for _, rule := range r.Rules {
		index[rule.ID] = len(driver.Rules)
		driver.AddRule(sarifRule(rule))
	}
	for _, f := range r.Findings {
		if _, ok := index[f.Rule]; !ok { // a rule the report does not describe: describe it minimally
			index[f.Rule] = len(driver.Rules)
			driver.AddRule(sarifRule(finding.Rule{ID: f.Rule, Title: f.Rule, Severity: f.Severity, Remediation: f.Remediation}))
		}
		run.AddResult(sarifResult(r, f, index[f.Rule]))
	}
	inv := sarif.NewInvocation().WithExecutionSuccess(len(r.Problems) == 0)
	for _, p := range r.Problems {
		text := p.Error()
		if p.Kind == finding.Incomplete {
			text = "incomplete: " + p.Where() + ": " + p.Message
		}
		n := sarif.NewNotification().WithLevel("error").WithMessage(sarif.NewTextMessage(text))
		if loc := p.Location(); loc != nil {
			n.AddLocation(sarif.NewLocationWithPhysicalLocation(physicalLocation(r.SourceRoot, loc)))
		}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, n)
	}
	for _, uw := range r.UnusedWaivers {
		inv.ToolConfigurationNotifications = append(inv.ToolConfigurationNotifications,
			sarif.NewNotification().WithLevel("warning").WithMessage(sarif.NewTextMessage(
				fmt.Sprintf("unused waiver: %s on %s (owner %s) matched no finding", uw.Rule, uw.Token, uw.Owner))))
	}
	run.Invocations = []*sarif.Invocation{inv}
	doc.AddRun(run)
	if err := doc.PrettyWrite(w); err != nil {
		return fmt.Errorf("write SARIF: %w", err)
	}
	return nil
}

func sarifRule(rule finding.Rule) *sarif.ReportingDescriptor {
	d := sarif.NewRule(rule.ID).WithName(pascal(rule.ID)).
		WithShortDescription(sarif.NewMultiformatMessageString(orText(rule.Title, rule.ID)))
	if rule.Description != "" {
		d.WithFullDescription(sarif.NewMultiformatMessageString(rule.Description))
	}
	text, md := rule.Remediation, rule.Remediation
	for _, res := range rule.Resources {
		label := orText(res.Description, res.Ref)
		text += "\n" + label + ": " + res.Ref
		md += "\n\n- [" + label + "](" + res.Ref + ")"
	}
	d.WithHelp(sarif.NewMultiformatMessageString(text).WithMarkdown(md))
	if len(rule.Resources) > 0 {
		d.WithHelpURI(rule.Resources[0].Ref)
	}
	d.WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(sarifLevel(finding.Finding{Severity: rule.Severity})))
	d.WithProperties(sarif.Properties{
		"security-severity": securitySeverity[rule.Severity],
		"tags":              []string{"security", "github-token", string(rule.Severity)},
		"precision":         "very-high",
	})
	return d
}

func sarifResult(r *Report, f finding.Finding, ruleIndex int) *sarif.Result {
	msg := f.Message
	if f.FixURL != "" {
		msg += ". Fix: " + f.FixURL
	}
	res := sarif.NewRuleResult(f.Rule).WithRuleIndex(ruleIndex).WithLevel(sarifLevel(f)).
		WithMessage(sarif.NewTextMessage(msg))
	var loc *sarif.Location
	if f.Location != nil && f.Location.File != "" {
		loc = sarif.NewLocationWithPhysicalLocation(physicalLocation(r.SourceRoot, f.Location))
	} else {
		loc = sarif.NewLocation().WithLogicalLocations([]*sarif.LogicalLocation{
			sarif.NewLogicalLocation().WithName(f.Token).WithFullyQualifiedName(f.Token).WithKind("resource"),
		})
	}
	res.AddLocation(loc)
	fp := findingFingerprint(f)
	res.WithPartialFingerPrints(map[string]interface{}{fingerprintKey: fp})
	res.AttachPropertyBag(&sarif.PropertyBag{Properties: sarif.Properties{"token": f.Token, "severity": f.Severity}})
	if f.Waived {
		// go-sarif writes every suppression field, so each one is set: a null would break the schema.
		res.AddSuppression(sarif.NewSuppression("external").WithStatus("accepted").
			WithJustifcation(f.WaiverReason).WithGuid(guidFrom(fp)).WithLocation(loc))
	}
	if r.Baseline != "" {
		state := "new"
		if f.Existing {
			state = "unchanged"
		}
		res.WithBaselineState(state)
	}
	return res
}

// findingFingerprint is stable across runs: it depends on what the finding is about (the rule,
// the token id and the subject: the scope, permission or name), never on its wording.
func findingFingerprint(f finding.Finding) string {
	sum := sha256.Sum256([]byte(f.Rule + "\x00" + f.Token + "\x00" + f.Subject))
	return hex.EncodeToString(sum[:16])
}

// guidFrom shapes a hex digest as a version-5-style GUID, as the SARIF schema requires of guids.
func guidFrom(hexDigest string) string {
	b := []byte(hexDigest[:32])
	b[12] = '5'
	b[16] = "89ab"[b[16]%4]
	return fmt.Sprintf("%s-%s-%s-%s-%s", b[0:8], b[8:12], b[12:16], b[16:20], b[20:32])
}

// relativeTo makes a file path relative to root (the repository root) with forward slashes, as code
// scanning expects; paths outside root stay as given.
// physicalLocation is a file location as code scanning wants it: relative to the repository root,
// with the line when there is one.
func physicalLocation(root string, l *finding.Location) *sarif.PhysicalLocation {
	pl := sarif.NewPhysicalLocation().WithArtifactLocation(sarif.NewSimpleArtifactLocation(relativeTo(root, l.File)))
	if l.Line > 0 {
		pl.WithRegion(sarif.NewRegion().WithStartLine(l.Line))
	}
	return pl
}

func relativeTo(root, file string) string {
	if root == "" {
		return filepath.ToSlash(file)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return filepath.ToSlash(file)
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(file)
	}
	return filepath.ToSlash(rel)
}

// pascal turns a rule id ("no-expiration") into a SARIF rule name ("NoExpiration").
func pascal(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
