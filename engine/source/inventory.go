package source

import (
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tokencheck/tokencheck/engine/facts"
)

var declarationKeys = []string{
	"id", "name", "description", "type", "owner", "resource_owner", "repositories", "permissions", "scopes",
	"created_at", "expires_at", "expires_in_days", "approval", "last_used_at", "needs", "uses", "classic_reason", "template_link",
}

var (
	declaredTypes   = []facts.TokenType{facts.TypeClassic, facts.TypeFineGrained, facts.TypeOAuth, facts.TypeAppUser, facts.TypeAppInstallation}
	approvals       = []facts.Approval{facts.ApprovalApproved, facts.ApprovalPending, facts.ApprovalDenied, facts.ApprovalNotRequired}
	classicReasons  = []string{"packages", "enterprise", "outside_collaborator", "multiple_orgs", "checks_api", "public_contrib"}
	templateLinkSet = []string{"name", "description", "resource_owner", "permissions", "expires_at", "expires_in_days", "type"}
)

// Inventory decodes a token inventory (YAML or JSON with a top-level tokens list) into token facts.
// Every problem is an input finding.Problem naming file, line and key; declarations without problems are kept,
// and a declaration with a bad field keeps its other fields.
func Inventory(file string, root *yaml.Node, cat *facts.Catalog, now time.Time) ([]facts.Token, []error) {
	d := &decoder{file: file, cat: cat, now: now}
	if root.Kind != yaml.MappingNode {
		return nil, []error{inputErr(file, root.Line, "inventory must be a mapping with a tokens list")}
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value == "schema" {
			if v.Kind != yaml.ScalarNode || v.Value != InventorySchema {
				d.fail(v, "schema %q is not an inventory schema this tokencheck reads (want %s)", v.Value, InventorySchema)
			}
			continue
		}
		if k.Value != "tokens" {
			d.fail(k, "unknown top-level key %q (an inventory has schema and tokens)", k.Value)
			continue
		}
		if list != nil {
			// A second tokens key would silently replace the first list: refuse the file.
			d.fail(k, "top-level key tokens appears twice (first at line %d); an inventory has one tokens list", list.Line)
			return nil, d.errs
		}
		list = v
	}
	if list == nil || list.Kind != yaml.SequenceNode {
		line := root.Line
		if list != nil {
			line = list.Line
		}
		d.errs = append(d.errs, inputErr(file, line, "tokens must be a list of token declarations"))
		return nil, d.errs
	}
	var out []facts.Token
	for _, item := range list.Content {
		if t, ok := d.declaration(item); ok {
			out = append(out, t)
		}
	}
	return out, d.errs
}

type decoder struct {
	file string
	cat  *facts.Catalog
	now  time.Time
	errs []error
}

func (d *decoder) fail(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, inputErr(d.file, n.Line, format, args...))
}

func (d *decoder) declaration(item *yaml.Node) (facts.Token, bool) {
	t := facts.Token{Source: facts.Source{Kind: facts.SourceInventory, File: d.file, Line: item.Line}}
	if item.Kind != yaml.MappingNode {
		d.fail(item, "a token declaration must be a mapping")
		return t, false
	}
	fields := map[string]*yaml.Node{}
	for i := 0; i+1 < len(item.Content); i += 2 {
		k, v := item.Content[i], item.Content[i+1]
		if !slices.Contains(declarationKeys, k.Value) {
			d.fail(k, "unknown key %q in token declaration (allowed: %s)", k.Value, strings.Join(declarationKeys, ", "))
			continue
		}
		if _, dup := fields[k.Value]; dup {
			d.fail(k, "key %q appears twice", k.Value)
		}
		fields[k.Value] = v
	}
	idNode, ok := fields["id"]
	if !ok || d.str(idNode, "id") == "" {
		d.fail(item, "token declaration needs an id")
		return t, false
	}
	t.ID = d.str(idNode, "id")

	if link, ok := fields["template_link"]; ok {
		d.fromLink(&t, link, fields)
	}
	if n, ok := fields["type"]; ok {
		t.Type = enum(d, n, "type", declaredTypes)
	}
	if _, declared := fields["type"]; t.Type == "" && !declared {
		d.fail(item, "token %s: declare type (%s) or template_link", t.ID, joinNames(declaredTypes, " | "))
	}
	if t.Type == "" {
		t.Type = facts.TypeUnknown
	}
	setStr := func(key string, dst *string) {
		if n, ok := fields[key]; ok {
			*dst = d.str(n, key)
		}
	}
	setStr("name", &t.Name)
	setStr("description", &t.Description)
	setStr("owner", &t.Owner)
	setStr("resource_owner", &t.ResourceOwner)
	if n, ok := fields["approval"]; ok {
		t.Approval = enum(d, n, "approval", approvals)
	}
	if n, ok := fields["classic_reason"]; ok {
		t.ClassicReason = enum(d, n, "classic_reason", classicReasons)
	}
	if n, ok := fields["repositories"]; ok {
		d.repositories(&t, n)
	}
	if n, ok := fields["scopes"]; ok {
		t.Scopes = d.strList(n, "scopes")
		if t.Scopes == nil {
			t.Scopes = []string{}
		}
	}
	if n, ok := fields["permissions"]; ok {
		t.Permissions = d.cat.Group(d.strMap(n, "permissions"))
	}
	if n, ok := fields["needs"]; ok {
		switch n.Kind {
		case yaml.SequenceNode:
			t.NeedsScopes = d.strList(n, "needs")
		default:
			t.Needs = d.strMap(n, "needs")
		}
	}
	if n, ok := fields["uses"]; ok {
		d.uses(&t, n)
	}
	t.CreatedAt = d.timeField(fields, "created_at")
	t.LastUsedAt = d.timeField(fields, "last_used_at")
	d.expiry(&t, fields)
	return t, true
}

// uses reads the API calls the token's automation makes ("METHOD /path") and adds the least
// fine-grained permissions that allow them to the token's needs, so excess-permission judges the
// grant against them and classic-token's fix link asks for exactly them. An unknown or malformed
// call is an error at its line, with the nearest known endpoints; a call only a classic token can
// make is an error on a fine-grained token and needs no permission on a classic one.
func (d *decoder) uses(t *facts.Token, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, "uses: want a list of API calls, \"METHOD /path\"")
		return
	}
	eps, err := embeddedEndpoints()
	if err != nil {
		d.fail(n, "uses: %v", err)
		return
	}
	var calls []facts.Call
	known := 0 // calls found in the table, including those only a classic token can make
	for _, item := range n.Content {
		s := d.str(item, "uses")
		if s == "" {
			continue
		}
		c, err := facts.ParseCall(s)
		if err != nil {
			d.fail(item, "token %s: uses: %v", t.ID, err)
			continue
		}
		if _, ok := eps.Match(c.Method, c.Path); ok {
			calls = append(calls, c)
			known++
			continue
		}
		if scope, ok := eps.ClassicScope(c); ok {
			known++
			if t.Type == facts.TypeFineGrained {
				d.fail(item, "token %s: uses %s, which a fine-grained token cannot call (a classic token with %s can)", t.ID, c, scope)
			}
			continue
		}
		d.fail(item, "token %s: uses %s: no such endpoint in GitHub's table (REST API %s); nearest: %s",
			t.ID, c, eps.Source.APIVersion, strings.Join(eps.Suggest(c, 3), ", "))
	}
	if known == 0 {
		return
	}
	perms, _, _ := eps.LeastPermissions(calls)
	if len(perms) == 0 {
		// Calls that need no permission (GET /user) need the least a fine-grained token carries,
		// so that any grant beyond it is judged excess and a fix link asks for nothing more.
		perms = map[string]string{"metadata": "read"}
	}
	if t.Needs == nil {
		t.Needs = map[string]string{}
	}
	for name, level := range perms {
		facts.RaiseLevel(t.Needs, name, level)
	}
}

// fromLink fills the facts a template link states; the declaration may add what a link cannot say.
func (d *decoder) fromLink(t *facts.Token, n *yaml.Node, fields map[string]*yaml.Node) {
	for _, key := range templateLinkSet {
		if other, ok := fields[key]; ok {
			d.fail(other, "token %s: %s is set by template_link; do not declare it twice", t.ID, key)
		}
	}
	link, problems := ParseTemplateLink(d.str(n, "template_link"), d.cat)
	for _, p := range problems {
		d.fail(n, "token %s: %s", t.ID, p)
	}
	lt := link.Token(d.cat, d.now)
	lt.ID, lt.Source = t.ID, t.Source
	*t = lt
}

func (d *decoder) expiry(t *facts.Token, fields map[string]*yaml.Node) {
	exp, hasExp := fields["expires_at"]
	days, hasDays := fields["expires_in_days"]
	switch {
	case hasExp && hasDays:
		d.fail(days, "token %s: declare expires_at or expires_in_days, not both", t.ID)
	case hasExp:
		if strings.EqualFold(exp.Value, "never") {
			t.ExpiresAt = nil
			return
		}
		if t.ExpiresAt = d.timeField(fields, "expires_at"); t.ExpiresAt == nil {
			t.MarkUnknown(facts.FactExpiresAt)
		}
	case hasDays:
		var n int64
		if err := days.Decode(&n); err != nil || n <= 0 {
			d.fail(days, "expires_in_days: want a positive whole number of days")
			t.MarkUnknown(facts.FactExpiresAt)
			return
		}
		start := d.now.UTC()
		if t.CreatedAt != nil {
			start = *t.CreatedAt
		}
		e := facts.AddDays(start, n) // saturates: 99999999999 days is far in the future, never an overflow
		t.ExpiresAt = &e
	}
}

func (d *decoder) repositories(t *facts.Token, n *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "all", "none":
			t.RepositorySelection = facts.RepositorySelection(n.Value)
		default:
			d.fail(n, "repositories: want all, none or a list of owner/repo")
		}
		return
	}
	repos := d.strList(n, "repositories")
	for _, r := range repos {
		if strings.Count(r, "/") != 1 || strings.HasPrefix(r, "/") || strings.HasSuffix(r, "/") {
			d.fail(n, "repositories: %q is not owner/repo", r)
		}
	}
	t.RepositorySelection, t.Repositories = facts.SelectSubset, repos
}

func (d *decoder) timeField(fields map[string]*yaml.Node, key string) *time.Time {
	n, ok := fields[key]
	if !ok {
		return nil
	}
	ts, err := facts.ParseTime(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		d.fail(n, "%s: %v", key, err)
		return nil
	}
	return &ts
}

func (d *decoder) str(n *yaml.Node, key string) string {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, "%s: want a string", key)
		return ""
	}
	return n.Value
}

// joinNames joins typed names for messages.
func joinNames[T ~string](names []T, sep string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = string(n)
	}
	return strings.Join(out, sep)
}

// enum reads a string that must be one of allowed.
func enum[T ~string](d *decoder, n *yaml.Node, key string, allowed []T) T {
	v := T(d.str(n, key))
	if v != "" && !slices.Contains(allowed, v) {
		d.fail(n, "%s: %q is not one of %s", key, v, joinNames(allowed, ", "))
		return ""
	}
	return v
}

func (d *decoder) strList(n *yaml.Node, key string) []string {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, "%s: want a list", key)
		return nil
	}
	var out []string
	for _, c := range n.Content {
		if v := d.str(c, key); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (d *decoder) strMap(n *yaml.Node, key string) map[string]string {
	if n.Kind != yaml.MappingNode {
		d.fail(n, "%s: want a mapping of name: level", key)
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		out[k.Value] = d.str(v, key+"."+k.Value)
	}
	return out
}
