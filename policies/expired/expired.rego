# METADATA
# title: Token has expired
# description: >-
#   The token's expiry date has passed. An integration still declared with it is broken or has
#   quietly moved to another credential that the inventory does not show.
# related_resources:
#   - ref: https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens
#     description: Managing your personal access tokens
# custom:
#   id: expired
#   severity: medium
#   remediation: Regenerate or replace the token and update the declaration, or remove the declaration if the integration is gone.
package tokencheck.rules.expired

import data.tokencheck.lib

deny contains f if {
	not lib.not_yet_created
	lib.ts("expires_at") <= lib.now_ns
	f := {"msg": sprintf("token expired on %s", [lib.date("expires_at")]), "subject": ""}
}
