# METADATA
# title: Scope GitHub does not define
# description: >-
#   A classic scope that is not in GitHub's list of OAuth scopes: a typo in a declaration (read_org
#   for read:org), or a scope from another system.
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
	some scope in array.concat(object.get(input.token, "scopes", []), object.get(input.token, "needs_scopes", []))
	not data.tokencheck.catalog.scopes[scope]
	f := {"msg": sprintf("unknown scope %s", [scope]), "subject": scope}
}
