package ghapi

import (
	"net/http"
	"sort"
	"strings"
)

// Headers in which GitHub says what the endpoint called accepts.
const (
	HeaderAcceptedPermissions = "X-Accepted-GitHub-Permissions"
	HeaderAcceptedScopes      = "X-Accepted-OAuth-Scopes"
)

// permissionless is the item GitHub sends for endpoints any token may call.
const permissionless = "allows_permissionless_access=true"

// ParseAcceptedPermissions reads X-Accepted-GitHub-Permissions ("pull_requests=read,contents=read;
// issues=read,contents=read"): alternatives separated by ";", each a comma list of name=level that
// the endpoint needs together. "allows_permissionless_access=true" is an empty alternative (no
// permission needed). An alternative with an item that is not name=level (lower-case letters,
// digits and "_") is dropped rather than weakened, so nothing hostile reaches a message.
func ParseAcceptedPermissions(v string) []map[string]string {
	var out []map[string]string
	for _, alt := range strings.Split(v, ";") {
		alt = strings.TrimSpace(alt)
		if alt == "" {
			continue
		}
		set := map[string]string{}
		ok := true
		for _, item := range strings.Split(alt, ",") {
			item = strings.TrimSpace(item)
			if item == permissionless {
				continue
			}
			name, level, found := strings.Cut(item, "=")
			if !found || !isName(name) || !isName(level) {
				ok = false
				break
			}
			set[name] = level
		}
		if ok {
			out = append(out, set)
		}
	}
	return out
}

// ParseAcceptedScopes reads X-Accepted-OAuth-Scopes ("repo, read:org"); names that are not scope
// names (lower-case letters, digits, "_" and ":") are dropped.
func ParseAcceptedScopes(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" && isScope(s) {
			out = append(out, s)
		}
	}
	return out
}

// AcceptedPermissions reads the X-Accepted-GitHub-Permissions of a response; nil when absent.
func AcceptedPermissions(h http.Header) []map[string]string {
	if vals := h.Values(HeaderAcceptedPermissions); len(vals) > 0 {
		return ParseAcceptedPermissions(strings.Join(vals, ";"))
	}
	return nil
}

// DescribeAccepted writes alternatives for a person: "pull_requests: read and contents: read, or
// issues: read"; "no permission" for an empty alternative.
func DescribeAccepted(alts []map[string]string) string {
	words := make([]string, 0, len(alts))
	for _, alt := range alts {
		if len(alt) == 0 {
			words = append(words, "no permission")
			continue
		}
		names := make([]string, 0, len(alt))
		for n := range alt {
			names = append(names, n)
		}
		sort.Strings(names)
		items := make([]string, len(names))
		for i, n := range names {
			items[i] = n + ": " + alt[n]
		}
		words = append(words, strings.Join(items, " and "))
	}
	return strings.Join(words, ", or ")
}

func isName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func isScope(s string) bool {
	return isName(strings.ReplaceAll(s, ":", "_"))
}
