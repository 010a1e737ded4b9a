package facts

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
)

// Permission groups, as GitHub names the resources a fine-grained permission applies to.
const (
	GroupRepository   = "repository"
	GroupOrganization = "organization"
	GroupAccount      = "account"
	GroupOther        = "other"
)

// Catalog is GitHub's classic scope tree and fine-grained permission catalogue, read from the
// embedded policies/catalog.json that the Rego rules read as data too.
type Catalog struct {
	Levels            map[string]int                 `json:"levels"`
	Scopes            map[string]ScopeInfo           `json:"scopes"`
	ClassicOnlyScopes []string                       `json:"classic_only_scopes"`
	NoEquivalent      []string                       `json:"no_fine_grained_equivalent"`
	ClassicToFine     map[string]map[string]string   `json:"classic_to_fine_grained"`
	Permissions       map[string]map[string][]string `json:"permissions"`
	TemplateLink      TemplateLinkRules              `json:"template_link"`
	permissionGroup   map[string]string
}

// ScopeInfo describes one classic OAuth scope.
type ScopeInfo struct {
	Description string   `json:"description"`
	Implies     []string `json:"implies"`
}

// TemplateLinkRules are GitHub's documented limits on fine-grained template-link parameters.
type TemplateLinkRules struct {
	Path                 string            `json:"path"`
	NameMax              int               `json:"name_max"`
	DescriptionMax       int               `json:"description_max"`
	ExpiresInMin         int               `json:"expires_in_min"`
	ExpiresInMax         int               `json:"expires_in_max"`
	ExpiresInDefaultDays int               `json:"expires_in_default_days"`
	ImplicitPermissions  map[string]string `json:"implicit_permissions"`
}

// ParseCatalog decodes a catalogue in the catalog.json shape.
func ParseCatalog(raw []byte) (*Catalog, error) {
	var c Catalog
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("parse catalogue: %w", err)
	}
	c.permissionGroup = map[string]string{}
	for group, perms := range c.Permissions {
		for name := range perms {
			c.permissionGroup[name] = group
		}
	}
	return &c, nil
}

// KnownScope reports whether GitHub defines the classic scope.
func (c *Catalog) KnownScope(scope string) bool {
	_, ok := c.Scopes[scope]
	return ok
}

// EffectiveScopes expands granted scopes through the hierarchy: the granted scopes and every scope
// they imply, sorted. Unknown scopes are kept as given.
func (c *Catalog) EffectiveScopes(granted []string) []string {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(s string) {
		if seen[s] {
			return
		}
		seen[s] = true
		for _, child := range c.Scopes[s].Implies {
			walk(child)
		}
	}
	for _, s := range granted {
		walk(s)
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// PermissionGroup names the group a fine-grained permission belongs to, or GroupOther when GitHub
// does not define it.
func (c *Catalog) PermissionGroup(name string) string {
	if g, ok := c.permissionGroup[name]; ok {
		return g
	}
	return GroupOther
}

// LevelAccepted reports whether GitHub accepts the level for the permission.
func (c *Catalog) LevelAccepted(name, level string) bool {
	group := c.PermissionGroup(name)
	for _, l := range c.Permissions[group][name] {
		if l == level {
			return true
		}
	}
	return false
}

// Group sorts a flat permission map into its resource groups.
// FromGitHub places permissions as GitHub's org token APIs and webhooks report them: the
// organization and repository groups as given, and "other" (account permissions among them) by
// the catalogue, so only names GitHub does not define stay in Other.
func (c *Catalog) FromGitHub(api *Permissions) *Permissions {
	p := c.Group(api.Other)
	for _, g := range []struct {
		dst *map[string]string
		src map[string]string
	}{
		{&p.Organization, api.Organization}, {&p.Repository, api.Repository},
	} {
		if len(g.src) > 0 && *g.dst == nil {
			*g.dst = map[string]string{}
		}
		for k, v := range g.src {
			(*g.dst)[k] = v
		}
	}
	return p
}

func (c *Catalog) Group(flat map[string]string) *Permissions {
	p := &Permissions{}
	for name, level := range flat {
		var m *map[string]string
		switch c.PermissionGroup(name) {
		case GroupRepository:
			m = &p.Repository
		case GroupOrganization:
			m = &p.Organization
		case GroupAccount:
			m = &p.Account
		default:
			m = &p.Other
		}
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[name] = level
	}
	return p
}

// Replacement is the least set of fine-grained permissions that does the work of the granted classic
// scopes, from the catalogue's map; scopes with no equivalent contribute nothing.
func (c *Catalog) Replacement(scopes []string) map[string]string {
	out := map[string]string{}
	for _, s := range scopes {
		for perm, level := range c.ClassicToFine[s] {
			if c.Levels[level] > c.Levels[out[perm]] {
				out[perm] = level
			}
		}
	}
	return out
}

// TemplateLink is what GitHub's "new fine-grained token" page needs to pre-fill a token.
type TemplateLink struct {
	Host          string // github.com or an Enterprise Server host
	Name          string
	Description   string
	TargetName    string
	ExpiresInDays int // 0 means "none": no expiry
	Permissions   map[string]string
}

// URL renders the link with parameters in a stable order; name and description are cut to GitHub's limits.
func (c *Catalog) URL(t TemplateLink) string {
	host := t.Host
	if host == "" {
		host = "github.com"
	}
	q := url.Values{}
	if t.Name != "" {
		q.Set("name", truncate(t.Name, c.TemplateLink.NameMax))
	}
	if t.Description != "" {
		q.Set("description", truncate(t.Description, c.TemplateLink.DescriptionMax))
	}
	if t.TargetName != "" {
		q.Set("target_name", t.TargetName)
	}
	if t.ExpiresInDays > 0 {
		q.Set("expires_in", strconv.Itoa(t.ExpiresInDays))
	} else {
		q.Set("expires_in", "none")
	}
	for name, level := range t.Permissions {
		q.Set(name, level)
	}
	return (&url.URL{Scheme: "https", Host: host, Path: c.TemplateLink.Path, RawQuery: q.Encode()}).String()
}

func truncate(s string, n int) string {
	r := []rune(s)
	if n > 0 && len(r) > n {
		return string(r[:n])
	}
	return s
}

// Data is the catalogue as the JSON-shaped value Rego reads as data.tokencheck.catalog (the same
// document json.Marshal would produce, numbers as float64), built directly: a JSON round trip of
// the catalogue was a tenth of start-up.
func (c *Catalog) Data() map[string]any {
	strs := func(xs []string) []any {
		out := make([]any, len(xs))
		for i, x := range xs {
			out[i] = x
		}
		return out
	}
	strMap := func(m map[string]string) map[string]any {
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	levels := make(map[string]any, len(c.Levels))
	for k, v := range c.Levels {
		levels[k] = float64(v)
	}
	scopes := make(map[string]any, len(c.Scopes))
	for k, s := range c.Scopes {
		var implies any
		if s.Implies != nil {
			implies = strs(s.Implies)
		}
		scopes[k] = map[string]any{"description": s.Description, "implies": implies}
	}
	toFine := make(map[string]any, len(c.ClassicToFine))
	for k, m := range c.ClassicToFine {
		toFine[k] = strMap(m)
	}
	perms := make(map[string]any, len(c.Permissions))
	for group, m := range c.Permissions {
		g := make(map[string]any, len(m))
		for name, lv := range m {
			g[name] = strs(lv)
		}
		perms[group] = g
	}
	tl := c.TemplateLink
	var implicit any
	if tl.ImplicitPermissions != nil {
		implicit = strMap(tl.ImplicitPermissions)
	}
	nilOr := func(xs []string) any {
		if xs == nil {
			return nil
		}
		return strs(xs)
	}
	return map[string]any{
		"levels":                     levels,
		"scopes":                     scopes,
		"classic_only_scopes":        nilOr(c.ClassicOnlyScopes),
		"no_fine_grained_equivalent": nilOr(c.NoEquivalent),
		"classic_to_fine_grained":    toFine,
		"permissions":                perms,
		"template_link": map[string]any{
			"path": tl.Path, "name_max": float64(tl.NameMax), "description_max": float64(tl.DescriptionMax),
			"expires_in_min": float64(tl.ExpiresInMin), "expires_in_max": float64(tl.ExpiresInMax),
			"expires_in_default_days": float64(tl.ExpiresInDefaultDays), "implicit_permissions": implicit,
		},
	}
}
