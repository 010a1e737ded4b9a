# METADATA
# title: Classic token where a fine-grained token would do
# description: >-
#   A classic personal access token reaches every repository and organisation its owner can, with
#   coarse scopes. When none of its scopes is one only a classic token can use (packages, enterprise,
#   site_admin) and no classic_reason is declared, a fine-grained token scoped to one resource owner,
#   chosen repositories and the least permissions should replace it.
# related_resources:
#   - ref: https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens#creating-a-fine-grained-personal-access-token
#     description: Creating a fine-grained personal access token
#   - ref: https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens#fine-grained-personal-access-tokens-limitations
#     description: What fine-grained tokens cannot do yet
# custom:
#   id: classic-token
#   severity: high
#   remediation: >-
#     Create a fine-grained token from the fix link (it is pre-filled with the least permissions that
#     replace the classic scopes), move the integration to it, then delete the classic token. If the
#     token must stay classic, declare classic_reason (packages, enterprise, outside_collaborator,
#     multiple_orgs, checks_api, public_contrib).
package tokencheck.rules["classic-token"]

import data.tokencheck.lib

deny contains f if {
	input.token.type == "classic" # on input directly: the rule index skips this rule for other tokens
	lib.known("scopes")
	not input.token.classic_reason
	not uses_classic_only_scope
	f := {
		"msg": sprintf("classic token with scopes [%s]; a fine-grained token with %s would do%s", [
			lib.join_sorted(object.get(input.token, "scopes", [])),
			replacement_text,
			without_equivalent_text,
		]),
		"fix_url": lib.replacement.link,
		"subject": "",
	}
}

uses_classic_only_scope if {
	some scope in object.get(input.token, "scopes", [])
	scope in data.tokencheck.catalog.classic_only_scopes
}

replacement_text := "only metadata:read" if count(lib.replacement.permissions) == 0

replacement_text := concat(", ", sort([sprintf("%s:%s", [p, l]) |
	some p, l in lib.replacement.permissions
])) if count(lib.replacement.permissions) > 0

without_equivalent_text := "" if {
	count(missing) == 0
} else := sprintf(" (no fine-grained equivalent for %s)", [lib.join_sorted(missing)])

missing contains scope if {
	some scope in object.get(input.token, "scopes", [])
	scope in data.tokencheck.catalog.no_fine_grained_equivalent
}
