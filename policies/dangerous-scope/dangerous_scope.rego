# METADATA
# title: Dangerous classic scope
# description: >-
#   A granted classic scope that is, or through the scope hierarchy implies, a scope in the
#   configured dangerous set (dangerous_scopes: scope to severity). One finding per granted scope, at
#   the highest severity it reaches: a leaked token with these scopes can delete repositories, take
#   over an organisation, rewrite workflows or impersonate the user.
# related_resources:
#   - ref: https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/scopes-for-oauth-apps
#     description: Scopes for OAuth apps (the classic scope list and hierarchy)
# custom:
#   id: dangerous-scope
#   severity: critical
#   remediation: >-
#     Remove the scope: regenerate the token without it, or replace the token with a fine-grained one
#     that grants only the permission the integration uses.
package tokencheck.rules["dangerous-scope"]

import data.tokencheck.lib

deny contains f if {
	some scope in object.get(input.token, "scopes", [])
	hits := {d | some d in lib.implied({scope}); data.tokencheck.config.dangerous_scopes[d]}
	count(hits) > 0
	f := {
		"msg": message(scope, hits),
		"subject": scope,
		"severity": lib.max_severity({data.tokencheck.config.dangerous_scopes[d] | some d in hits}),
	}
}

message(scope, hits) := sprintf("dangerous scope %s", [scope]) if hits == {scope}

message(scope, hits) := sprintf("scope %s grants dangerous scopes %s", [scope, lib.join_sorted(hits)]) if hits != {scope}
