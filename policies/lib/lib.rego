# METADATA
# description: Helpers shared by tokencheck's rules. Rules read like their description; the look-ups live here.
package tokencheck.lib

catalog := data.tokencheck.catalog

config := data.tokencheck.config

token := input.token

day_ns := ((24 * 60) * 60) * 1000000000

severity_rank := {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

# known(fact) holds unless the source recorded the fact as unknown.
known(fact) if not fact in object.get(token, "unknown", [])

# level(l) ranks an access level: read 1, write 2, admin 3, anything else 0.
level(l) := object.get(catalog.levels, l, 0)

level_at_least(have, want) if level(have) >= level(want)

# permissions is every fine-grained grant of the token, flattened over its groups.
permissions[name] := lvl if {
	some group, grants in object.get(token, "permissions", {})
	some name, lvl in grants
}

# implicit(name, level) holds for grants every fine-grained token carries (metadata: read).
implicit(name, lvl) if catalog.template_link.implicit_permissions[name] == lvl

# implied(scopes) is the scopes given and everything they imply (catalog.scope_graph is the engine's
# adjacency list of catalog.scopes[_].implies).
implied(scopes) := graph.reachable(catalog.scope_graph, scopes) | scopes

max_severity(severities) := s if {
	ranks := {severity_rank[x] | some x in severities}
	some s, r in severity_rank
	r == max(ranks)
}

now_ns := time.parse_rfc3339_ns(input.now)

# ts(field) is a timestamp field of the token in nanoseconds; undefined when absent.
ts(field) := time.parse_rfc3339_ns(token[field])

days(ns) := floor(ns / day_ns)

# date(field) is the calendar date of a timestamp field, for messages.
date(field) := substring(token[field], 0, 10)

is_classic if token.type == "classic"

is_fine_grained if token.type == "fine_grained"

join_sorted(xs) := concat(", ", sort(xs))

# not_yet_created holds for a template link: a token that would be created, so it cannot have expired or gone stale.
not_yet_created if token.source.kind == "template_link"
