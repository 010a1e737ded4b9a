package report

import (
	"bytes"
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/owenrumney/go-sarif/v2/sarif"
	"golang.org/x/mod/semver"

	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/safe"
)

// SARIF writes SARIF 2.1.0 for GitHub code scanning: one reportingDescriptor per rule and one
// result per finding, with fingerprints that stay stable across runs (rule + token id + subject), so an
// alert is tracked rather than reopened.
//
// Every result has a physical location, as code scanning requires: the file the token was read
// from, else a stable artifact (see Artifact). Waived findings are left out unless IncludeWaived is
// set: code scanning ignores SARIF suppressions and would open an alert for each. At most
// MaxResults results are written, the most severe kept, with a notification saying how many were not.
type SARIF struct {
	// IncludeWaived writes waived findings too, each with an accepted suppression.
	IncludeWaived bool
	// MaxResults caps the results of the run; 0 means SARIFMaxResults.
	MaxResults int
}

// SARIFMaxResults is the most results code scanning accepts in one run: "Results per run: 25,000"
// (https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning#validating-your-sarif-file).
const SARIFMaxResults = 25000

// FullName is the SARIF driver's fullName.
const FullName = "tokencheck: GitHub token policy checker"

// DevVersion is the driver version of a build that knows none: code scanning wants a semantic
// version, so "dev" is written as this pre-release.
const DevVersion = "0.0.0-dev"

// ArtifactRoot is the folder of the stable artifacts a finding is placed on when it was not read
// from a file: code scanning rejects a result without a physical location, and these paths do not
// change between runs, so an alert stays where it was.
const ArtifactRoot = ".github/tokencheck"

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
func (s SARIF) Write(w io.Writer, r *Report) error {
	return Render(&sarifStream{s: s, out: w}, r)
}

// sarifStream keeps, as the run goes, the SARIFMaxResults most severe results (earliest first
// among equals) and counts the rest: code scanning takes no more, so memory stays bounded.
type sarifStream struct {
	s       SARIF
	out     io.Writer
	kept    rankedFindings
	seq     int
	dropped int
	waived  int
}

func (st *sarifStream) Begin(*Report) error { return nil }

func (st *sarifStream) Discard() {}

func (st *sarifStream) Token(_ *finding.TokenInfo, fs []finding.Finding) error {
	max := orNumber(st.s.MaxResults, SARIFMaxResults)
	for _, f := range fs {
		if f.Waived && !st.s.IncludeWaived {
			st.waived++
			continue
		}
		st.seq++
		if st.kept.keep(rankedFinding{f, findingRank(f), st.seq}, max) {
			st.dropped++
		}
	}
	return nil
}

func (st *sarifStream) End(r *Report) error {
	s, w, waived := st.s, st.out, st.waived
	doc, err := sarif.New(sarif.Version210)
	if err != nil {
		return fmt.Errorf("write SARIF: %w", err)
	}
	version := SemanticVersion(r.Version)
	driver := sarif.NewVersionedDriver(r.Tool, version).WithSemanticVersion(version).
		WithFullName(FullName).WithInformationURI(InformationURI)
	run := sarif.NewRun(*sarif.NewTool(driver))
	run.WithAutomationDetails(sarif.NewRunAutomationDetails().WithID(AutomationID(r)))
	index := map[string]int{}
	for _, rule := range r.Rules {
		index[rule.ID] = len(driver.Rules)
		driver.AddRule(sarifRule(rule))
	}
	findings, dropped := st.kept.ordered(st.dropped > 0), st.dropped
	for _, f := range findings {
		if _, ok := index[f.Rule]; !ok { // a rule the report does not describe: describe it minimally
			index[f.Rule] = len(driver.Rules)
			driver.AddRule(sarifRule(finding.Rule{ID: f.Rule, Title: f.Rule, Severity: f.Severity, Remediation: f.Remediation}))
		}
		run.AddResult(sarifResult(r, f, index[f.Rule]))
	}
	inv := sarif.NewInvocation().WithExecutionSuccess(len(r.Errors())+len(r.Incomplete()) == 0)
	if dropped > 0 {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarif.NewNotification().WithLevel("warning").
			WithMessage(sarif.NewTextMessage(fmt.Sprintf("%d of %d results left out: code scanning accepts at most %d results per run; the most severe were kept, and the other formats (--also json) list every finding",
				dropped, dropped+len(findings), orNumber(s.MaxResults, SARIFMaxResults)))))
	}
	if waived > 0 {
		inv.ToolConfigurationNotifications = append(inv.ToolConfigurationNotifications, sarif.NewNotification().WithLevel("note").
			WithMessage(sarif.NewTextMessage(fmt.Sprintf("%d waived finding(s) left out: code scanning ignores SARIF suppressions and would open alerts for them; the other formats list them as waived", waived))))
	}
	for _, p := range r.Problems {
		text, level := p.Error(), "error"
		switch p.Kind {
		case finding.Incomplete:
			text = "incomplete: " + p.Where() + ": " + p.Message
		case finding.Notice:
			level = "note"
		}
		n := sarif.NewNotification().WithLevel(level).WithMessage(sarif.NewTextMessage(safe.Text(text)))
		if loc := p.Location(); loc != nil {
			n.AddLocation(sarif.NewLocationWithPhysicalLocation(physicalLocation(r.SourceRoot, loc)))
		}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, n)
	}
	for _, uw := range r.UnusedWaivers {
		inv.ToolConfigurationNotifications = append(inv.ToolConfigurationNotifications,
			sarif.NewNotification().WithLevel("warning").WithMessage(sarif.NewTextMessage(
				safe.Text(fmt.Sprintf("unused waiver: %s on %s (owner %s) matched no finding", uw.Rule, uw.Token, uw.Owner)))))
	}
	run.Invocations = []*sarif.Invocation{inv}
	doc.AddRun(run)
	var buf bytes.Buffer
	if err := doc.PrettyWrite(&buf); err != nil {
		return fmt.Errorf("write SARIF: %w", err)
	}
	if _, err := w.Write(safe.JSON(buf.Bytes())); err != nil {
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
	msg := safe.Text(f.Message)
	if f.FixURL != "" {
		msg += ". Fix: " + safe.Text(f.FixURL)
	}
	res := sarif.NewRuleResult(f.Rule).WithRuleIndex(ruleIndex).WithLevel(sarifLevel(f)).
		WithMessage(sarif.NewTextMessage(msg))
	loc := sarif.NewLocationWithPhysicalLocation(physicalLocation(r.SourceRoot, Artifact(r, f)))
	if !fromFile(f) {
		// Not read from a file: the token id stays as a logical location beside the artifact.
		loc.WithLogicalLocations([]*sarif.LogicalLocation{
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
			WithJustifcation(safe.Text(f.WaiverReason)).WithGuid(guidFrom(fp)).WithLocation(loc))
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

// physicalLocation is a file location as code scanning wants it: relative to the repository root,
// with the line when there is one.
func physicalLocation(root string, l *finding.Location) *sarif.PhysicalLocation {
	pl := sarif.NewPhysicalLocation().WithArtifactLocation(sarif.NewSimpleArtifactLocation(relativeTo(root, l.File)))
	if l.Line > 0 {
		pl.WithRegion(sarif.NewRegion().WithStartLine(l.Line))
	}
	return pl
}

// relativeTo makes a file path relative to root (the repository root) with forward slashes, as code
// scanning expects; paths outside root stay as given.
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

// Artifact is the file a finding's SARIF result points at: the file the token was read from (an
// inventory, a document, a header dump); else a stable path under ArtifactRoot that exists in no
// repository but never changes: "org-ACME" for a token of the organisation audit (its id is
// "org:ACME/..."), else the command's name ("scan" for a live token).
func Artifact(r *Report, f finding.Finding) *finding.Location {
	if fromFile(f) {
		return f.Location
	}
	if file, ok := strings.CutPrefix(f.Token, "headers:"); ok && file != "" {
		return &finding.Location{File: file}
	}
	if rest, ok := strings.CutPrefix(f.Token, "org:"); ok {
		if org, _, _ := strings.Cut(rest, "/"); org != "" {
			return &finding.Location{File: ArtifactRoot + "/org-" + pathSafe(org)}
		}
	}
	return &finding.Location{File: ArtifactRoot + "/" + pathSafe(orText(r.Command, "scan"))}
}

// fromFile reports whether the finding's token was read from a file ("-" is standard input).
func fromFile(f finding.Finding) bool {
	return f.Location != nil && f.Location.File != "" && f.Location.File != "-"
}

// pathSafe keeps the characters of a GitHub login ([A-Za-z0-9-], and _) and turns any other (a
// dot, a slash) into "-", so a name cannot leave ArtifactRoot.
func pathSafe(s string) string {
	s = strings.Map(func(c rune) rune {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			return c
		}
		return '-'
	}, s)
	return s
}

// AutomationID is the run's automationDetails.id: "tokencheck/COMMAND/" plus the report's Category
// and "/" when it has one. Code scanning takes everything before the last "/" as the analysis
// category, and replaces an analysis only with one of the same category, so check, scan and
// audit uploads never close each other's alerts; two jobs running one command on different inputs
// give each its own Category (TOKENCHECK_SARIF_CATEGORY).
func AutomationID(r *Report) string {
	id := "tokencheck/" + pathSafe(orText(r.Command, "check")) + "/"
	if c := strings.Trim(r.Category, "/"); c != "" {
		id += c + "/"
	}
	return id
}

// SemanticVersion is the version the SARIF driver reports: a semantic version without the "v"
// (a release tag or a Go pseudo-version such as 0.0.0-20261123120000-abcdef123456), else DevVersion.
func SemanticVersion(v string) string {
	sv := "v" + strings.TrimPrefix(v, "v")
	if !semver.IsValid(sv) || semver.Canonical(sv)+semver.Build(sv) != sv {
		return DevVersion
	}
	return sv[1:]
}

// rankedFinding is a finding with its rank and its place in the run.
type rankedFinding struct {
	f    finding.Finding
	rank int
	seq  int
}

// worse reports whether a is dropped before b: lower rank, then later in the run.
func (a rankedFinding) worse(b rankedFinding) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.seq > b.seq
}

// rankedFindings is a min-heap on worse: the finding to drop first is at the root.
type rankedFindings []rankedFinding

func (h rankedFindings) Len() int           { return len(h) }
func (h rankedFindings) Less(i, j int) bool { return h[i].worse(h[j]) }
func (h rankedFindings) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *rankedFindings) Push(x any)        { *h = append(*h, x.(rankedFinding)) }
func (h *rankedFindings) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// keep adds f, keeping at most max of the most severe; it reports whether one was dropped.
func (h *rankedFindings) keep(f rankedFinding, max int) bool {
	if h.Len() < max {
		heap.Push(h, f)
		return false
	}
	if (*h)[0].worse(f) {
		(*h)[0] = f
		heap.Fix(h, 0)
	}
	return true
}

// ordered lists the kept findings: in run order, or most severe first (earliest first among
// equals) when some were dropped, as a stable sort of the whole run by rank would.
func (h rankedFindings) ordered(bySeverity bool) []finding.Finding {
	sorted := append(rankedFindings(nil), h...)
	sort.Slice(sorted, func(i, j int) bool {
		if bySeverity && sorted[i].rank != sorted[j].rank {
			return sorted[i].rank > sorted[j].rank
		}
		return sorted[i].seq < sorted[j].seq
	})
	out := make([]finding.Finding, len(sorted))
	for i := range sorted {
		out[i] = sorted[i].f
	}
	return out
}

func findingRank(f finding.Finding) int {
	rank := 2 * f.Severity.Rank()
	if f.Level != finding.Warn {
		rank++
	}
	return rank
}

func orNumber(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}
