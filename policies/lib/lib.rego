# METADATA
# description: Helpers shared by tokencheck's rules. Rules read like their description; the look-ups live here.
package tokencheck.lib

catalog := data.tokencheck.catalog

config := data.tokencheck.config

# token, catalog and config are shorthands for rules that read better with them. The built-in rules
# refer to input.token and data.tokencheck.* directly: a base document is a cheaper look-up than a
# rule of this package.
token := input.token

day_ns := ((24 * 60) * 60) * 1000000000

severity_rank := {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

# known(fact) holds unless the source recorded the fact as unknown.
known(fact) if not fact in object.get(input.token, "unknown", [])

# level(l) ranks an access level: read 1, write 2, admin 3, anything else 0.
level(l) := object.get(data.tokencheck.catalog.levels, l, 0)

level_at_least(have, want) if level(have) >= level(want)

# permissions is every fine-grained grant of the token, flattened over its groups.
permissions[name] := lvl if {
	some group, grants in object.get(input.token, "permissions", {})
	some name, lvl in grants
}

# implicit(name, level) holds for grants every fine-grained token carries (metadata: read).
implicit(name, lvl) if data.tokencheck.catalog.template_link.implicit_permissions[name] == lvl

# implied(scopes) is the scopes given and everything they imply (catalog.scope_closure is each
# scope's closure under catalog.scopes[_].implies, computed once by the engine).
implied(scopes) := {s | some x in scopes; some s in object.get(data.tokencheck.catalog.scope_closure, x, [x])}

max_severity(severities) := s if {
	ranks := {severity_rank[x] | some x in severities}
	some s, r in severity_rank
	r == max(ranks)
}

# now_ns is the clock in nanoseconds: derived by the engine, parsed from input.now otherwise (tests).
now_ns := input.derived.now_ns if {
	input.derived.now_ns
} else := time.parse_rfc3339_ns(input.now)

# ts(field) is a timestamp field of the token in nanoseconds; undefined when absent. The engine
# derives the token's times; inputs without them (tests) are parsed.
ts(field) := input.derived.ns[field] if {
	input.derived.ns
} else := time.parse_rfc3339_ns(input.token[field])

days(ns) := floor(ns / day_ns)

# date(field) is the calendar date of a timestamp field, for messages.
date(field) := substring(input.token[field], 0, 10)

is_classic if input.token.type == "classic"

is_fine_grained if input.token.type == "fine_grained"

join_sorted(xs) := concat(", ", sort(xs))

# not_yet_created holds for a template link: a token that would be created, so it cannot have expired or gone stale.
not_yet_created if input.token.source.kind == "template_link"

# github_sources are the source kinds whose names GitHub itself reported: a live answer, a header
# dump, an organisation audit (and the same tokens read back from a facts document, which keep
# their source kind). A name from them is real by definition, even one the catalogue lacks.
github_sources := {"live", "headers", "org_audit"}

from_github if github_sources[input.token.source.kind]

# permission_defined(name) holds for a fine-grained permission the catalogue knows, in any group.
permission_defined(name) if {
	some perms in data.tokencheck.catalog.permissions
	perms[name]
}

# permission_accepts(name, level) holds when the catalogue lists level for the permission.
permission_accepts(name, lvl) if {
	some perms in data.tokencheck.catalog.permissions
	lvl in perms[name]
}
