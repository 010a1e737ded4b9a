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

# implied(scopes) is the scopes given and everything they imply, unknown scopes kept as given. The
# engine hands each scope's closure as catalog.scope_closure, so this is a look-up; without it (a
# stock OPA running the bundle) the closure is walked over scope_graph.
implied(scopes) := {s | some x in scopes; some s in object.get(data.tokencheck.catalog.scope_closure, x, [x])} if {
	data.tokencheck.catalog.scope_closure
} else := graph.reachable(scope_graph, scopes) | {s | some s in scopes}

# scope_graph is the classic scope tree as an adjacency list: scope -> the scopes it implies.
scope_graph[scope] := [x | some x in implies] if {
	some scope, info in data.tokencheck.catalog.scopes
	implies := object.get(info, "implies", []) # null in catalog.json when a scope implies nothing
	is_array(implies)
}

scope_graph[scope] := [] if {
	some scope, info in data.tokencheck.catalog.scopes
	not is_array(object.get(info, "implies", []))
}

# scopes_effective(token) is a classic token's granted scopes expanded through the hierarchy, sorted,
# as the engine fills in token.scopes_effective when a source did not: the source's list wins.
scopes_effective(token) := token.scopes_effective if {
	count(object.get(token, "scopes_effective", [])) > 0
} else := sort(implied(object.get(token, "scopes", [])))

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

# replacement is a classic token's least-privilege fine-grained replacement: {"permissions": the
# fine-grained grants that do its work, "link": the template link that creates that token}. The
# engine derives it in Go (input.derived.replacement); without it, it is derived here, to the byte.
replacement := input.derived.replacement if {
	input.derived.replacement
} else := classic_replacement(input.token, data.tokencheck.config)

classic_replacement(token, config) := {"permissions": perms, "link": template_link({
	"name": replacement_name(token),
	"description": replacement_description(token),
	"target_name": object.get(token, "resource_owner", ""),
	"expires_in_days": object.get(config, "replacement_expires_in_days", 0),
	"permissions": perms,
})} if {
	perms := replacement_permissions(token)
}

# replacement_permissions: the declared needs GitHub accepts; else the fine-grained equivalent of
# the needed scopes; else that of the granted scopes.
replacement_permissions(token) := {name: lvl |
	some name, lvl in token.needs
	level_accepted(name, lvl)
} if {
	count(object.get(token, "needs", {})) > 0
} else := fine_grained_equivalent(token.needs_scopes) if {
	count(object.get(token, "needs_scopes", [])) > 0
} else := fine_grained_equivalent(object.get(token, "scopes", []))

# level_accepted(name, level) holds when GitHub accepts the level for the permission.
level_accepted(name, lvl) if {
	some perms in data.tokencheck.catalog.permissions
	lvl in perms[name]
}

# fine_grained_equivalent(scopes) is the least set of fine-grained permissions doing the work of the
# classic scopes, from catalog.classic_to_fine_grained, each at the highest level a scope needs;
# scopes with no equivalent contribute nothing.
fine_grained_equivalent(scopes) := {name: lvl |
	some name in {n | some s in scopes; some n, l in data.tokencheck.catalog.classic_to_fine_grained[s]; level(l) > 0}
	lvls := {l | some s in scopes; l := data.tokencheck.catalog.classic_to_fine_grained[s][name]; level(l) > 0}
	some lvl in lvls
	level(lvl) == max({level(l) | some l in lvls})
}

replacement_name(token) := token.name if {
	object.get(token, "name", "") != ""
} else := concat("", ["Replaces classic token …", token.last_four]) if {
	# a token known by its value (scan) has no name; its last four characters find it on the settings page
	object.get(token, "last_four", "") != ""
} else := token.id

replacement_description(token) := concat("", ["Replaces classic token ", token.id]) if {
	object.get(token, "name", "") != ""
} else := concat("", ["Replaces classic token …", token.last_four, fingerprint_suffix(token)]) if {
	object.get(token, "last_four", "") != ""
} else := concat("", ["Replaces classic token ", token.id])

fingerprint_suffix(token) := sprintf(" (%s)", [token.fingerprint]) if {
	object.get(token, "fingerprint", "") != ""
} else := ""

# template_link(t) renders a fine-grained template link as the engine does: parameters sorted and
# URL-encoded (urlquery.encode_object encodes as Go's url.Values), name and description cut to
# GitHub's limits, expires_in "none" when no positive number of days is given. t has name,
# description, target_name, expires_in_days, permissions and, optionally, host.
template_link(t) := sprintf("https://%s%s?%s", [
	object.get(t, "host", "github.com"),
	data.tokencheck.catalog.template_link.path,
	urlquery.encode_object(object.union(link_base(t), object.get(t, "permissions", {}))),
])

link_base(t) := {k: v |
	some k, v in {
		"name": truncate(object.get(t, "name", ""), data.tokencheck.catalog.template_link.name_max),
		"description": truncate(object.get(t, "description", ""), data.tokencheck.catalog.template_link.description_max),
		"target_name": object.get(t, "target_name", ""),
		"expires_in": expires_in(object.get(t, "expires_in_days", 0)),
	}
	v != ""
}

expires_in(days) := format_int(days, 10) if days >= 1 else := "none"

# truncate(s, n) is s cut to n characters (not bytes); n <= 0 keeps it whole.
truncate(s, n) := substring(s, 0, n) if {
	n > 0
	count(s) > n
} else := s
