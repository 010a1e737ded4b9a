package decide

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
)

// Kind is what a subject of review is.
type Kind string

// Subject kinds.
const (
	// KindRequest is a pending fine-grained token request (pat_request_id).
	KindRequest Kind = "request"
	// KindGrant is an approved fine-grained token grant (pat_id, the grant's id, not its token_id).
	KindGrant Kind = "grant"
)

// Action is what is done about a subject.
type Action string

// Actions. Only approve, deny and revoke are written to GitHub.
const (
	ActionApprove Action = "approve"
	ActionDeny    Action = "deny"
	ActionLeave   Action = "leave"  // a request left for people
	ActionRevoke  Action = "revoke" // a grant revoked
	ActionKeep    Action = "keep"   // a grant kept
)

// Writes reports whether the action is sent to GitHub.
func (a Action) Writes() bool { return a == ActionApprove || a == ActionDeny || a == ActionRevoke }

// Rules that describe the approval state itself: a request is judged as the token it would become
// once approved, so these never count in a decision.
const (
	RuleApprovalPending = "approval-pending"
	RuleApprovalDenied  = "approval-denied"
)

// MaxReason is GitHub's limit on the reason of a review.
const MaxReason = 1024

// Subject is one pending request or approved grant with its judgement.
type Subject struct {
	Kind Kind
	Org  string
	// ID is the pat_request_id of a request, or the pat_id (grant id) of a grant.
	ID int64
	// TokenID is GitHub's token_id of the token concerned.
	TokenID int64
	Token   facts.Token
	// Findings are the policy's findings on Token.
	Findings []finding.Finding
	// Problems are what went wrong collecting this subject; an incomplete one (or a fact listed in
	// Token.Unknown) leaves the subject for people.
	Problems []finding.Problem
}

// Decision is what is to be done about one subject, and why.
type Decision struct {
	Kind      Kind   `json:"kind"`
	Org       string `json:"org"`
	ID        int64  `json:"id"`
	TokenID   int64  `json:"token_id,omitempty"`
	Token     string `json:"token"` // the facts id, as findings name it
	TokenName string `json:"token_name,omitempty"`
	Owner     string `json:"owner,omitempty"`
	Action    Action `json:"decision"`
	// Why explains the action to the operator (not sent to GitHub).
	Why string `json:"why"`
	// Findings are the findings that count in the decision (approval rules left out).
	Findings []finding.Finding `json:"findings"`
	// Reason is what is sent to GitHub with an approval or a denial (at most MaxReason characters).
	Reason string `json:"reason,omitempty"`
	// TemplateURL, for a denial, pre-fills a token that would comply.
	TemplateURL string `json:"template_url,omitempty"`
}

// Plan is every decision of one run.
type Plan struct {
	Decisions []Decision
	// Problems are reasons the plan was held back (max_revocations exceeded: an input problem).
	Problems []finding.Problem
}

// Count returns how many decisions take action a.
func (p Plan) Count(a Action) int {
	n := 0
	for _, d := range p.Decisions {
		if d.Action == a {
			n++
		}
	}
	return n
}

// Writes returns the decisions that are sent to GitHub, in plan order.
func (p Plan) Writes() []Decision {
	var out []Decision
	for _, d := range p.Decisions {
		if d.Action.Writes() {
			out = append(out, d)
		}
	}
	return out
}

// Template says what a compliant replacement token looks like.
type Template struct {
	// ExpiresInDays caps the expiry of the suggested token (the policy's replacement_expires_in_days).
	ExpiresInDays int
	// DangerousPermissions are lowered to read in the suggested token when the request was found
	// to grant them above read.
	DangerousPermissions []string
}

// TemplateFrom reads the template settings from the policy settings (policy.Config.Settings):
// replacement_expires_in_days capped by max_lifetime_days, and dangerous_permissions.
func TemplateFrom(settings map[string]any) Template {
	var t Template
	num := func(k string) int {
		switch v := settings[k].(type) {
		case float64:
			return int(v)
		case int:
			return v
		case int64:
			return int(v)
		}
		return 0
	}
	t.ExpiresInDays = num("replacement_expires_in_days")
	if max := num("max_lifetime_days"); max > 0 && (t.ExpiresInDays <= 0 || max < t.ExpiresInDays) {
		t.ExpiresInDays = max // never suggest a token the lifetime rule would flag
	}
	switch v := settings["dangerous_permissions"].(type) {
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				t.DangerousPermissions = append(t.DangerousPermissions, s)
			}
		}
	case []string:
		t.DangerousPermissions = append(t.DangerousPermissions, v...)
	}
	return t
}

// Options configure MakePlan.
type Options struct {
	Config Config
	// FailOn is the --fail-on severity: a request with an unwaived deny finding at or above it is violating.
	FailOn finding.Severity
	// Catalog builds template links; nil: denials carry no link.
	Catalog *facts.Catalog
	// Host is the web host for template links (github.com or an Enterprise Server host).
	Host     string
	Template Template
	// Now is the clock for expiry arithmetic (zero: time.Now).
	Now time.Time
}

// MakePlan decides every subject. It never writes anything.
func MakePlan(subjects []Subject, opts Options) Plan {
	if opts.FailOn == "" {
		opts.FailOn = finding.High
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	var plan Plan
	for _, s := range subjects {
		plan.Decisions = append(plan.Decisions, decide(s, opts))
	}
	cfg := opts.Config
	if n := plan.Count(ActionRevoke); n > cfg.MaxRevocations {
		for i := range plan.Decisions {
			if d := &plan.Decisions[i]; d.Action == ActionRevoke {
				d.Action = ActionKeep
				d.Why = fmt.Sprintf("held back: %d grants to revoke exceed max_revocations %d (%s)", n, cfg.MaxRevocations, d.Why)
			}
		}
		plan.Problems = append(plan.Problems, finding.Problem{Kind: finding.Input, Source: "review.max_revocations",
			Message: fmt.Sprintf("%v: %d grants would be revoked, more than max_revocations (%d); nothing is revoked", ErrTooManyRevocations, n, cfg.MaxRevocations)})
	}
	return plan
}

func decide(s Subject, opts Options) Decision {
	d := Decision{Kind: s.Kind, Org: s.Org, ID: s.ID, TokenID: s.TokenID, Token: s.Token.ID, TokenName: s.Token.Name, Owner: s.Token.Owner}
	for _, f := range s.Findings {
		if f.Rule != RuleApprovalPending && f.Rule != RuleApprovalDenied {
			d.Findings = append(d.Findings, f)
		}
	}
	if d.Findings == nil {
		d.Findings = []finding.Finding{}
	}
	incomplete := incompleteReason(s)
	if s.Kind == KindGrant {
		return decideGrant(d, incomplete, opts.Config)
	}
	if incomplete != "" {
		d.Action, d.Why = ActionLeave, "left for people: collection incomplete: "+incomplete
		return d
	}
	var failing []finding.Finding
	for _, f := range d.Findings {
		if f.Fails(opts.FailOn) {
			failing = append(failing, f)
		}
	}
	switch {
	case len(failing) > 0 && opts.Config.Deny == DenyViolating:
		d.Action = ActionDeny
		d.Why = fmt.Sprintf("violating: %d finding(s) at or above %s", len(failing), opts.FailOn)
		d.TemplateURL = templateURL(s, failing, opts)
		d.Reason = denyReason(failing, d.TemplateURL)
	case len(failing) > 0:
		d.Action, d.Why = ActionLeave, fmt.Sprintf("violating (%d finding(s) at or above %s), but deny is never", len(failing), opts.FailOn)
	case len(d.Findings) == 0 && opts.Config.Approve == ApproveCompliant:
		d.Action, d.Why = ActionApprove, "compliant: no finding"
		d.Reason = "Approved by tokencheck: the requested token meets the organisation's token policy."
	case len(d.Findings) == 0:
		d.Action, d.Why = ActionLeave, "compliant, but approve is never"
	default:
		d.Action, d.Why = ActionLeave, fmt.Sprintf("not compliant: %d finding(s) below %s or waived", len(d.Findings), opts.FailOn)
	}
	return d
}

func decideGrant(d Decision, incomplete string, cfg Config) Decision {
	d.Action = ActionKeep
	if cfg.Revoke != RevokeViolating {
		d.Why = "revoke is never"
		return d
	}
	if incomplete != "" {
		d.Why = "kept: collection incomplete: " + incomplete
		return d
	}
	var rules []string
	for _, f := range d.Findings {
		if !f.Waived && f.Level == finding.Deny && f.Severity.AtLeast(cfg.RevokeOn) {
			rules = append(rules, f.Rule)
		}
	}
	if len(rules) == 0 {
		d.Why = "no unwaived finding at or above " + string(cfg.RevokeOn)
		return d
	}
	d.Action = ActionRevoke
	d.Why = fmt.Sprintf("%s at or above %s", strings.Join(uniq(rules), ", "), cfg.RevokeOn)
	return d
}

// incompleteReason says why a subject's facts are partial ("" when they are whole).
func incompleteReason(s Subject) string {
	var why []string
	for _, p := range s.Problems {
		if p.Kind == finding.Incomplete {
			why = append(why, p.Message)
		}
	}
	if len(s.Token.Unknown) > 0 {
		why = append(why, "not known: "+strings.Join(s.Token.Unknown, ", "))
	}
	return strings.Join(why, "; ")
}

// denyReason lists the rule ids and short messages, then the template link, within MaxReason
// characters: findings that do not fit are counted, the link is kept whole or left out.
func denyReason(failing []finding.Finding, link string) string {
	head := "Denied by tokencheck (token policy):"
	tail := ""
	if link != "" {
		tail = " Request a compliant token instead: " + link
	}
	if len(head)+len(tail) > MaxReason-80 {
		tail = "" // a link that leaves no room for the reasons is not worth sending
	}
	body := head
	for i, f := range failing {
		item := fmt.Sprintf(" [%s] %s;", f.Rule, shorten(f.Message, 160))
		rest := len(failing) - i - 1
		more := ""
		if rest > 0 {
			more = fmt.Sprintf(" and %d more;", rest)
		}
		if len(body)+len(item)+len(more)+len(tail) > MaxReason {
			body += fmt.Sprintf(" and %d more;", len(failing)-i)
			break
		}
		body += item
	}
	out := strings.TrimSuffix(body, ";") + "." + tail
	if len(out) > MaxReason { // cannot happen with the budget above; never send more than GitHub takes
		out = out[:MaxReason]
	}
	return out
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// templateURL is a link to the requested token without the excess: permissions GitHub does not
// define dropped, permissions beyond a declared need cut to it, dangerous permissions flagged above
// read lowered to read, and the expiry capped.
func templateURL(s Subject, failing []finding.Finding, opts Options) string {
	if opts.Catalog == nil || s.Token.Permissions == nil {
		return ""
	}
	fired := map[string]bool{}
	for _, f := range failing {
		fired[f.Rule] = true
	}
	dangerous := map[string]bool{}
	if fired["dangerous-permission"] {
		for _, p := range opts.Template.DangerousPermissions {
			dangerous[p] = true
		}
	}
	levels := opts.Catalog.Levels
	perms := map[string]string{}
	for _, group := range []map[string]string{s.Token.Permissions.Repository, s.Token.Permissions.Organization, s.Token.Permissions.Account} {
		for name, level := range group {
			if s.Token.Needs != nil {
				need, ok := s.Token.Needs[name]
				if !ok {
					continue
				}
				if levels[need] < levels[level] {
					level = need
				}
			}
			if dangerous[name] && levels[level] > levels["read"] {
				level = "read"
			}
			perms[name] = level
		}
	}
	days := opts.Template.ExpiresInDays
	if days <= 0 {
		days = opts.Catalog.TemplateLink.ExpiresInDefaultDays
	}
	if exp := s.Token.ExpiresAt; exp != nil {
		if left := int(math.Ceil(exp.Sub(opts.Now).Hours() / 24)); left > 0 && left < days {
			days = left
		}
	}
	if max := opts.Catalog.TemplateLink.ExpiresInMax; max > 0 && days > max {
		days = max
	}
	target := s.Token.ResourceOwner
	if target == "" {
		target = s.Org
	}
	return opts.Catalog.URL(facts.TemplateLink{Host: opts.Host, Name: s.Token.Name, TargetName: target, ExpiresInDays: days, Permissions: perms})
}

func uniq(xs []string) []string {
	sort.Strings(xs)
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}
