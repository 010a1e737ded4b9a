# METADATA
# title: Token never expires
# description: >-
#   The token has no expiry date (or its declaration states none). A token that never expires stays
#   usable for as long as it leaks unnoticed; GitHub lets owners cap lifetimes for exactly this reason.
#   GitHub App installation tokens (ghs_) are exempt: they live an hour by design, whatever an
#   answer's headers say.
# related_resources:
#   - ref: https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens
#     description: Managing your personal access tokens
#   - ref: https://docs.github.com/en/organizations/managing-programmatic-access-to-your-organization/setting-a-personal-access-token-policy-for-your-organization
#     description: Setting a personal access token policy for your organisation (maximum lifetime)
# custom:
#   id: no-expiration
#   severity: high
#   remediation: Regenerate the token with an expiry date, within the organisation's maximum lifetime, and rotate it before then.
package tokencheck.rules["no-expiration"]

import data.tokencheck.lib

deny contains f if {
	not input.token.expires_at
	not input.token.type == "app_installation" # they live an hour by design
	lib.known("expires_at")
	f := {"msg": "token has no expiry date", "subject": ""}
}
