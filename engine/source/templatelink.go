package source

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// Link is what a fine-grained template link asks GitHub to create.
type Link struct {
	Host          string
	Name          string
	Description   string
	TargetName    string
	ExpiresInDays int  // GitHub's default (30) when the link does not say
	NeverExpires  bool // expires_in=none
	Permissions   map[string]string
}

// ParseTemplateLink reads a https://HOST/settings/personal-access-tokens/new?... link as GitHub
// documents its parameters. Problems (a too-long name, expires_in out of range, a repeated
// parameter) are returned beside the best-effort result; permission names and levels are kept as
// given for the invalid-permission rule to judge.
func ParseTemplateLink(raw string, cat *facts.Catalog) (Link, []string) {
	var problems []string
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return Link{}, []string{fmt.Sprintf("template link does not parse: %v", err)}
	}
	if u.Scheme != "https" || u.Host == "" || strings.TrimSuffix(u.Path, "/") != cat.TemplateLink.Path {
		return Link{}, []string{fmt.Sprintf("not a fine-grained template link (want https://HOST%s?...)", cat.TemplateLink.Path)}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		problems = append(problems, fmt.Sprintf("template link query: %v", err))
	}
	l := Link{Host: u.Host, ExpiresInDays: cat.TemplateLink.ExpiresInDefaultDays, Permissions: map[string]string{}}
	for key, values := range q {
		if len(values) > 1 {
			problems = append(problems, fmt.Sprintf("template link repeats parameter %s", key))
		}
		v := values[len(values)-1]
		switch key {
		case "name":
			l.Name = v
			if n := utf8.RuneCountInString(v); n > cat.TemplateLink.NameMax {
				problems = append(problems, fmt.Sprintf("template link name is %d characters; GitHub allows %d", n, cat.TemplateLink.NameMax))
			}
		case "description":
			l.Description = v
			if n := utf8.RuneCountInString(v); n > cat.TemplateLink.DescriptionMax {
				problems = append(problems, fmt.Sprintf("template link description is %d characters; GitHub allows %d", n, cat.TemplateLink.DescriptionMax))
			}
		case "target_name":
			l.TargetName = v
		case "expires_in":
			if v == "none" {
				l.NeverExpires, l.ExpiresInDays = true, 0
				break
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < cat.TemplateLink.ExpiresInMin || n > cat.TemplateLink.ExpiresInMax {
				problems = append(problems, fmt.Sprintf("template link expires_in=%q: want a whole number of days from %d to %d, or none", v, cat.TemplateLink.ExpiresInMin, cat.TemplateLink.ExpiresInMax))
				l.ExpiresInDays = 0
				break
			}
			l.ExpiresInDays = n
		default:
			l.Permissions[key] = v
		}
	}
	return l, problems
}

// Token turns the link into the facts of the token it would create, created now.
func (l Link) Token(cat *facts.Catalog, now time.Time) facts.Token {
	created := now.UTC()
	perms := make(map[string]string, len(l.Permissions)+len(cat.TemplateLink.ImplicitPermissions))
	// GitHub adds metadata: read to a token that asks for any repository permission; a token that
	// asks only for organization or account permissions reaches no repository and gets none.
	if slices.ContainsFunc(slices.Collect(maps.Keys(l.Permissions)), func(name string) bool {
		return cat.PermissionGroup(name) == facts.GroupRepository
	}) {
		for name, level := range cat.TemplateLink.ImplicitPermissions {
			perms[name] = level
		}
	}
	for name, level := range l.Permissions {
		perms[name] = level // a stated level (even an invalid one) wins, for invalid-permission to judge
	}
	t := facts.Token{
		Type:          facts.TypeFineGrained,
		Name:          l.Name,
		Description:   l.Description,
		ResourceOwner: l.TargetName,
		CreatedAt:     &created,
		Permissions:   cat.Group(perms),
		Approval:      "unknown",
	}
	switch {
	case l.NeverExpires:
	case l.ExpiresInDays > 0:
		exp := created.AddDate(0, 0, l.ExpiresInDays)
		t.ExpiresAt = &exp
	default:
		t.MarkUnknown(facts.FactExpiresAt)
	}
	if l.TargetName == "" {
		// GitHub's page defaults to the signed-in user, whom the link cannot name.
		t.MarkUnknown(facts.FactResourceOwner)
	}
	// The page asks the creator to pick repositories; the link cannot say which.
	t.MarkUnknown(facts.FactRepositorySelection)
	return t
}

// TemplateLinkIDPrefix starts the token id of a template link.
const TemplateLinkIDPrefix = "template-link:"

// ID is the link's token identity, from its content only: template-link: and the first 12 hex
// digits of the SHA-256 of its normalised parameters (sorted, host and resource owner in lower
// case, expires_in as GitHub reads it, so an absent expires_in and expires_in=30 are one token).
// Moving the link to another line keeps its id; changing what it asks for makes a new one.
func (l Link) ID() string {
	q := url.Values{}
	q.Set("host", strings.ToLower(l.Host))
	q.Set("name", l.Name)
	q.Set("description", l.Description)
	q.Set("target_name", strings.ToLower(l.TargetName))
	switch {
	case l.NeverExpires:
		q.Set("expires_in", "none")
	case l.ExpiresInDays > 0:
		q.Set("expires_in", strconv.Itoa(l.ExpiresInDays))
	default:
		q.Set("expires_in", "invalid")
	}
	for name, level := range l.Permissions {
		q.Set("permission."+name, level)
	}
	sum := sha256.Sum256([]byte(q.Encode())) // Encode sorts by key
	return TemplateLinkIDPrefix + hex.EncodeToString(sum[:])[:12]
}
