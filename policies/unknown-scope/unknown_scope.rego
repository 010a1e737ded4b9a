# METADATA
# title: Scope GitHub does not define
# description: >-
#   A declared classic scope that is not in GitHub's list of OAuth scopes: a typo in a declaration
#   (read_org for read:org), or a scope from another system. Scopes GitHub itself reported
#   (X-OAuth-Scopes, organisation audits) are real by definition: one the catalogue lacks is a
#   catalogue-outdated notice instead. A declared need (needs) is always checked.
# related_resources:
#   - ref: https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/scopes-for-oauth-apps
#     description: Scopes for OAuth apps
# custom:
#   id: unknown-scope
#   severity: medium
#   remediation: Correct the scope name to one GitHub defines (tokencheck explain unknown-scope links the list).
package tokencheck.rules["unknown-scope"]

import data.tokencheck.lib

deny contains f if {
	not lib.from_github
	some scope in object.get(input.token, "scopes", [])
	not data.tokencheck.catalog.scopes[scope]
	f := {"msg": sprintf("unknown scope %s", [scope]), "subject": scope}
}

deny contains f if {
	some scope in object.get(input.token, "needs_scopes", [])
	not data.tokencheck.catalog.scopes[scope]
	f := {"msg": sprintf("unknown scope %s", [scope]), "subject": scope}
}
