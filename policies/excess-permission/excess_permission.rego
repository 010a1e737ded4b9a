# METADATA
# title: Permission beyond declared need
# description: >-
#   The token grants more than its declaration's needs: a fine-grained permission that is not needed,
#   or granted at a higher level than needed (write where read is needed counts); a classic scope
#   outside the needed scopes; or a classic scope whose fine-grained equivalent exceeds the needed
#   permissions. Judged only when needs are declared.
# related_resources:
#   - ref: https://docs.github.com/en/rest/authentication/permissions-required-for-fine-grained-personal-access-tokens
#     description: Permissions required for fine-grained personal access tokens
# custom:
#   id: excess-permission
#   severity: high
#   remediation: Regenerate the token with exactly the declared needs, or widen the declared needs if the integration really uses more.
package tokencheck.rules["excess-permission"]

import data.tokencheck.lib

needs := object.get(input.token, "needs", {})

beyond_need(name, level) if {
	not lib.implicit(name, level)
	lib.level(level) > lib.level(object.get(needs, name, "none"))
}

deny contains f if {
	input.token.needs
	some name, level in lib.permissions
	beyond_need(name, level)
	f := {"msg": sprintf("%s:%s granted, need is %s", [name, level, object.get(needs, name, "none")]), "subject": name}
}

deny contains f if {
	input.token.needs_scopes
	needed := lib.implied({s | some s in input.token.needs_scopes})
	some scope in object.get(input.token, "scopes", [])
	not scope in needed
	f := {
		"msg": sprintf("scope %s granted, not among the needed scopes [%s]", [scope, lib.join_sorted(input.token.needs_scopes)]),
		"subject": scope,
	}
}

deny contains f if {
	input.token.needs
	some scope in object.get(input.token, "scopes", [])
	excess := {sprintf("%s:%s", [name, level]) |
		some name, level in data.tokencheck.catalog.classic_to_fine_grained[scope]
		beyond_need(name, level)
	}
	count(excess) > 0
	f := {"msg": sprintf("scope %s grants %s beyond the declared need", [scope, lib.join_sorted(excess)]), "subject": scope}
}
