# METADATA
# description: Helpers shared by tokencheck's rules. Rules read like their description; the look-ups live here.
package tokencheck.lib

catalog := data.tokencheck.catalog

config := data.tokencheck.config

token := input.token

day_ns := ((24 * 60) * 60) * 1000000000

severity_rank := {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

# unknown_facts are the facts the source could not learn (a complete rule: computed once per token).
unknown_facts := {f | some f in object.get(token, "unknown", [])}

# known(fact) holds unless the source recorded the fact as unknown.
known(fact) if not unknown_facts[fact]

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

# implied(scopes) is the scopes given and everything they imply (catalog.scope_closure is each
# scope's closure under catalog.scopes[_].implies, computed once by the engine).
implied(scopes) := {s | some x in scopes; some s in object.get(catalog.scope_closure, x, [x])}

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
} else := time.parse_rfc3339_ns(token[field])

days(ns) := floor(ns / day_ns)

# date(field) is the calendar date of a timestamp field, for messages.
date(field) := substring(token[field], 0, 10)

is_classic if token.type == "classic"

is_fine_grained if token.type == "fine_grained"

join_sorted(xs) := concat(", ", sort(xs))

# not_yet_created holds for a template link: a token that would be created, so it cannot have expired or gone stale.
not_yet_created if token.source.kind == "template_link"
