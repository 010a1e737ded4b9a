# METADATA
# title: Token expires soon
# description: >-
#   The token expires within expiring_soon_days (default 14); plan the rotation before the
#   integration breaks. GitHub App installation tokens are exempt: they live an hour by design.
# related_resources:
#   - ref: https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens
#     description: Managing your personal access tokens
# custom:
#   id: expiring-soon
#   severity: low
#   remediation: Regenerate the token (or create its replacement) and roll it out before it expires.
package tokencheck.rules["expiring-soon"]

import data.tokencheck.lib

deny contains f if {
	not lib.not_yet_created
	not input.token.type == "app_installation" # they live an hour by design and are minted again
	expires := lib.ts("expires_at")
	expires > lib.now_ns
	left := expires - lib.now_ns
	left <= data.tokencheck.config.expiring_soon_days * lib.day_ns
	f := {"msg": sprintf("token expires on %s, in %d days", [lib.date("expires_at"), lib.days(left)]), "subject": ""}
}
