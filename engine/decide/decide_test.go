package decide_test

import (
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tokencheck/tokencheck/engine/decide"
	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/policies"
)

func catalog(t *testing.T) *facts.Catalog {
	t.Helper()
	raw, err := fs.ReadFile(policies.FS, policies.CatalogFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := facts.ParseCatalog(raw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func parse(t *testing.T, src string) (decide.Config, []error) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	for i := 0; i < len(root.Content); i += 2 {
		if root.Content[i].Value == "review" {
			return decide.ParseConfig(root.Content[i+1], ".tokencheck.yaml")
		}
	}
	return decide.ParseConfig(nil, ".tokencheck.yaml")
}

func TestParseConfig(t *testing.T) {
	cfg, errs := parse(t, "other: 1\n")
	if len(errs) != 0 || cfg != decide.DefaultConfig() {
		t.Fatalf("absent section = %+v, %v; want the defaults", cfg, errs)
	}
	if d := decide.DefaultConfig(); d.Approve != decide.ApproveNever || d.Deny != decide.DenyViolating || d.Revoke != decide.RevokeNever || d.RevokeOn != finding.Critical || d.MaxRevocations != 10 {
		t.Fatalf("defaults = %+v", d)
	}
	cfg, errs = parse(t, "review:\n  approve: compliant\n  deny: never\n  revoke: violating\n  revoke_on: high\n  max_revocations: 3\n")
	want := decide.Config{Approve: decide.ApproveCompliant, Deny: decide.DenyNever, Revoke: decide.RevokeViolating, RevokeOn: finding.High, MaxRevocations: 3}
	if len(errs) != 0 || cfg != want {
		t.Fatalf("got %+v, %v; want %+v", cfg, errs, want)
	}

	cfg, errs = parse(t, `review:
  approve: always
  deny: violating
  revoke: yes
  revoke_on: severe
  max_revocations: -1
  max_revocation: 2
  deny: never
`)
	wantErrs := []string{
		`.tokencheck.yaml:2: review: approve: "always" is not one of never, compliant`,
		`.tokencheck.yaml:4: review: revoke: "yes" is not one of never, violating`,
		`.tokencheck.yaml:5: review: revoke_on: unknown severity "severe"`,
		`.tokencheck.yaml:6: review: max_revocations: "-1" is not a whole number`,
		`.tokencheck.yaml:7: review: unknown key "max_revocation"`,
		`.tokencheck.yaml:8: review: deny is given twice`,
	}
	if len(errs) != len(wantErrs) {
		t.Fatalf("errors = %v, want %d", errs, len(wantErrs))
	}
	for i, w := range wantErrs {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d = %q, want prefix %q", i, errs[i], w)
		}
	}
	if cfg.Deny != decide.DenyViolating || cfg.Approve != decide.ApproveNever {
		t.Errorf("bad values changed the config: %+v", cfg)
	}
	if _, errs := parse(t, "review: [approve]\n"); len(errs) != 1 || !strings.Contains(errs[0].Error(), ".tokencheck.yaml:1: review: want a mapping") {
		t.Errorf("a list = %v", errs)
	}
	if _, errs := parse(t, "review:\n  max_revocations: \"3\"\n"); len(errs) != 1 {
		t.Errorf("a quoted number accepted: %v", errs)
	}
}

var now = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func request(id int64, fs ...finding.Finding) decide.Subject {
	exp := now.AddDate(0, 0, 400)
	tok := facts.Token{ID: "org:acme/request:" + itoa(id), Name: "deploy", Type: facts.TypeFineGrained, Owner: "octocat", ResourceOwner: "acme",
		RepositorySelection: facts.SelectAll, ExpiresAt: &exp, Approval: facts.ApprovalPending,
		Permissions: &facts.Permissions{Repository: map[string]string{"contents": "write", "administration": "write", "metadata": "read"}, Organization: map[string]string{"members": "read"}, Other: map[string]string{"bogus": "write"}}}
	for i := range fs {
		fs[i].Token = tok.ID
	}
	return decide.Subject{Kind: decide.KindRequest, Org: "acme", ID: id, TokenID: 1000 + id, Token: tok, Findings: fs}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func f(rule string, sev finding.Severity) finding.Finding {
	return finding.Finding{Rule: rule, Severity: sev, Level: finding.Deny, Message: rule + " fired"}
}

func opts(t *testing.T, cfg decide.Config) decide.Options {
	return decide.Options{Config: cfg, FailOn: finding.High, Catalog: catalog(t), Now: now,
		Template: decide.Template{ExpiresInDays: 90, DangerousPermissions: []string{"administration", "members"}}}
}

func TestPlanRequests(t *testing.T) {
	pending := f(decide.RuleApprovalPending, finding.Medium)
	waived := f("all-repositories", finding.High)
	waived.Waived = true
	warn := f("stale-token", finding.Low)
	warn.Level = finding.Warn
	incomplete := request(6)
	incomplete.Token.MarkUnknown("repositories")
	incomplete.Findings = []finding.Finding{f("dangerous-permission", finding.Critical)}
	problem := request(7, f("no-expiration", finding.High))
	problem.Problems = []finding.Problem{finding.IncompleteSource("org:acme personal-access-token-requests/7/repositories", "502 after 3 attempts")}
	subjects := []decide.Subject{
		request(1, pending), // compliant once approved: the approval rule does not count
		request(2, f("dangerous-permission", finding.High), f("lifetime-too-long", finding.Medium), pending),
		request(3, waived), // waived: not violating, not compliant
		request(4, warn),   // below fail-on
		request(5, f("invalid-permission", finding.Medium)), // below fail-on
		incomplete,
		problem,
	}
	cases := []struct {
		cfg  decide.Config
		want []decide.Action
	}{
		{decide.DefaultConfig(), []decide.Action{"leave", "deny", "leave", "leave", "leave", "leave", "leave"}},
		{decide.Config{Approve: decide.ApproveCompliant, Deny: decide.DenyViolating}, []decide.Action{"approve", "deny", "leave", "leave", "leave", "leave", "leave"}},
		{decide.Config{Approve: decide.ApproveCompliant, Deny: decide.DenyNever}, []decide.Action{"approve", "leave", "leave", "leave", "leave", "leave", "leave"}},
	}
	for _, c := range cases {
		plan := decide.MakePlan(subjects, opts(t, c.cfg))
		for i, d := range plan.Decisions {
			if d.Action != c.want[i] {
				t.Errorf("%+v: request %d = %s (%s), want %s", c.cfg, d.ID, d.Action, d.Why, c.want[i])
			}
			if d.Action.Writes() != (d.Reason != "") {
				t.Errorf("request %d: action %s with reason %q", d.ID, d.Action, d.Reason)
			}
		}
		if len(plan.Problems) != 0 {
			t.Errorf("problems = %v", plan.Problems)
		}
	}
	plan := decide.MakePlan(subjects, opts(t, decide.DefaultConfig()))
	if got := plan.Decisions[5].Why; !strings.Contains(got, "incomplete") || !strings.Contains(got, "repositories") {
		t.Errorf("incomplete request why = %q", got)
	}
	if got := plan.Decisions[6].Why; !strings.Contains(got, "502 after 3 attempts") {
		t.Errorf("problem request why = %q", got)
	}
	deny := plan.Decisions[1]
	if deny.TokenID != 1002 || deny.Owner != "octocat" || deny.TokenName != "deploy" || deny.Org != "acme" {
		t.Errorf("deny identity = %+v", deny)
	}
	for _, fd := range deny.Findings {
		if fd.Rule == decide.RuleApprovalPending {
			t.Errorf("approval-pending kept among the findings of a decision")
		}
	}
	if !strings.HasPrefix(deny.Reason, "Denied by tokencheck (token policy): [dangerous-permission] dangerous-permission fired.") ||
		strings.Contains(deny.Reason, "lifetime-too-long") {
		t.Errorf("reason = %q: want only the failing findings", deny.Reason)
	}
	if !strings.HasSuffix(deny.Reason, deny.TemplateURL) || deny.TemplateURL == "" {
		t.Fatalf("reason %q lacks the template link %q", deny.Reason, deny.TemplateURL)
	}
	u, err := url.Parse(deny.TemplateURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	wantQ := map[string]string{"name": "deploy", "target_name": "acme", "expires_in": "90", "contents": "write", "administration": "read", "metadata": "read", "members": "read", "bogus": ""}
	for k, v := range wantQ {
		if q.Get(k) != v {
			t.Errorf("template %s = %q, want %q (%s)", k, q.Get(k), v, deny.TemplateURL)
		}
	}
	if u.Host != "github.com" || u.Path != "/settings/personal-access-tokens/new" {
		t.Errorf("template link %s", deny.TemplateURL)
	}
}

func TestTemplateExpiryKeepsShorterRequest(t *testing.T) {
	s := request(1, f("dangerous-permission", finding.High))
	exp := now.Add(20*24*time.Hour + time.Hour)
	s.Token.ExpiresAt = &exp
	s.Token.Needs = map[string]string{"contents": "read"}
	d := decide.MakePlan([]decide.Subject{s}, opts(t, decide.DefaultConfig())).Decisions[0]
	u, _ := url.Parse(d.TemplateURL)
	q := u.Query()
	if q.Get("expires_in") != "21" || q.Get("contents") != "read" || q.Get("administration") != "" {
		t.Errorf("template = %s: want 21 days and only contents:read (the need)", d.TemplateURL)
	}
}

func TestReasonFitsGitHubsLimit(t *testing.T) {
	var many []finding.Finding
	for i := 0; i < 40; i++ {
		x := f("rule-"+itoa(int64(i)), finding.Critical)
		x.Message = strings.Repeat("very long message ", 30)
		many = append(many, x)
	}
	s := request(9, many...)
	s.Token.Name = strings.Repeat("n", 40)
	d := decide.MakePlan([]decide.Subject{s}, opts(t, decide.DefaultConfig())).Decisions[0]
	if d.Action != decide.ActionDeny || len([]rune(d.Reason)) > decide.MaxReason || len(d.Reason) > decide.MaxReason {
		t.Fatalf("reason of %d bytes: %q", len(d.Reason), d.Reason)
	}
	if !strings.Contains(d.Reason, "[rule-0]") || !strings.Contains(d.Reason, "more") || !strings.HasSuffix(d.Reason, d.TemplateURL) {
		t.Errorf("reason = %q: want the first rules, a count of the rest and the link", d.Reason)
	}
}

func grant(id int64, fs ...finding.Finding) decide.Subject {
	s := request(id, fs...)
	s.Kind = decide.KindGrant
	s.Token.ID = "org:acme/pat:" + itoa(1000+id)
	s.Token.Approval = facts.ApprovalApproved
	return s
}

func TestPlanGrants(t *testing.T) {
	waived := f("dangerous-permission", finding.Critical)
	waived.Waived = true
	partial := grant(4, f("dangerous-permission", finding.Critical))
	partial.Token.MarkUnknown("repositories")
	grants := []decide.Subject{
		grant(1, f("dangerous-permission", finding.Critical)),
		grant(2, f("no-expiration", finding.High)),
		grant(3, waived),
		partial,
	}
	on := decide.Config{Approve: decide.ApproveNever, Deny: decide.DenyViolating, Revoke: decide.RevokeViolating, RevokeOn: finding.Critical, MaxRevocations: 1}
	plan := decide.MakePlan(grants, opts(t, on))
	want := []decide.Action{"revoke", "keep", "keep", "keep"}
	for i, d := range plan.Decisions {
		if d.Action != want[i] || d.Reason != "" {
			t.Errorf("grant %d = %s (%s) reason %q, want %s", d.ID, d.Action, d.Why, d.Reason, want[i])
		}
	}
	if len(plan.Problems) != 0 || len(plan.Writes()) != 1 || plan.Writes()[0].ID != 1 {
		t.Errorf("problems %v, writes %+v", plan.Problems, plan.Writes())
	}

	off := decide.MakePlan(grants, opts(t, decide.DefaultConfig()))
	if off.Count(decide.ActionRevoke) != 0 {
		t.Errorf("revoke: never revoked %d", off.Count(decide.ActionRevoke))
	}

	// Two to revoke with max_revocations 1: nothing is revoked, and the count is named.
	grants = append(grants, grant(5, f("dangerous-scope", finding.Critical)))
	plan = decide.MakePlan(grants, opts(t, on))
	if plan.Count(decide.ActionRevoke) != 0 || len(plan.Writes()) != 0 {
		t.Errorf("max_revocations exceeded, still revoking: %+v", plan.Writes())
	}
	if len(plan.Problems) != 1 || plan.Problems[0].Kind != finding.Input ||
		!strings.Contains(plan.Problems[0].Message, "2 grants would be revoked, more than max_revocations (1)") {
		t.Errorf("problems = %+v", plan.Problems)
	}
	if !strings.Contains(plan.Decisions[0].Why, "held back") {
		t.Errorf("why = %q", plan.Decisions[0].Why)
	}
}

func TestTemplateFrom(t *testing.T) {
	tp := decide.TemplateFrom(map[string]any{"replacement_expires_in_days": float64(90), "max_lifetime_days": float64(366), "dangerous_permissions": []any{"secrets"}})
	if tp.ExpiresInDays != 90 || len(tp.DangerousPermissions) != 1 || tp.DangerousPermissions[0] != "secrets" {
		t.Errorf("TemplateFrom = %+v", tp)
	}
	if tp := decide.TemplateFrom(map[string]any{"max_lifetime_days": float64(30)}); tp.ExpiresInDays != 30 {
		t.Errorf("fallback to max_lifetime_days: %+v", tp)
	}
	if tp := decide.TemplateFrom(map[string]any{"replacement_expires_in_days": 90, "max_lifetime_days": 60}); tp.ExpiresInDays != 60 {
		t.Errorf("capped by max_lifetime_days: %+v", tp)
	}
}
