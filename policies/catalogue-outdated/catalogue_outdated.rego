# METADATA
# title: GitHub reports a name tokencheck's catalogue does not know
# description: >-
#   GitHub itself reported a classic scope, a fine-grained permission or a level of one (in
#   X-OAuth-Scopes, X-Accepted-GitHub-Permissions, X-Accepted-OAuth-Scopes or an organisation's
#   token grants and requests) that tokencheck's catalogue does not have. What GitHub says is real
#   by definition, so this is not a fault of the token: the catalogue is behind GitHub, and rules
#   that read it (dangerous scopes, least privilege) may miss what the name grants. A notice: it is
#   reported and never fails the gate.
# related_resources:
#   - ref: https://docs.github.com/en/rest/authentication/permissions-required-for-fine-grained-personal-access-tokens
#     description: Permissions required for fine-grained personal access tokens
#   - ref: https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/scopes-for-oauth-apps
#     description: Scopes for OAuth apps
# custom:
#   id: catalogue-outdated
#   severity: low
#   remediation: >-
#     Update tokencheck (its catalogue is generated from GitHub's data), or regenerate the catalogue
#     and report the name if GitHub's data has it too.
package tokencheck.rules["catalogue-outdated"]

import data.tokencheck.lib

warn contains f if {
	lib.from_github
	some scope in array.concat(object.get(input.token, "scopes", []), object.get(input.token, "accepted_scopes", []))
	not data.tokencheck.catalog.scopes[scope]
	f := {"msg": sprintf("GitHub reports scope %s, which tokencheck's catalogue does not know: the catalogue is out of date", [scope]), "subject": scope}
}

warn contains f if {
	lib.from_github
	some [name, level] in reported_permissions
	not lib.permission_defined(name)
	f := {"msg": sprintf("GitHub reports permission %s, which tokencheck's catalogue does not know: the catalogue is out of date", [name]), "subject": name}
}

warn contains f if {
	lib.from_github
	some [name, level] in reported_permissions
	lib.permission_defined(name)
	not lib.permission_accepts(name, level)
	f := {"msg": sprintf("GitHub reports permission %s at level %s, which tokencheck's catalogue does not list for it: the catalogue is out of date", [name, level]), "subject": name}
}

# reported_permissions is every name: level GitHub stated, as a set of pairs: the token's grant and
# what the endpoint called accepts.
reported_permissions contains [name, level] if {
	some name, level in lib.permissions
}

reported_permissions contains [name, level] if {
	some alternative in object.get(input.token, "accepted_permissions", [])
	some name, level in alternative
}
