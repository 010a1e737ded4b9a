# METADATA
# title: Lifetime longer than allowed
# description: >-
#   The time from creation (or from now, when the creation date is unknown) to expiry exceeds
#   max_lifetime_days (default 366, GitHub's own cap for fine-grained tokens).
# related_resources:
#   - ref: https://docs.github.com/en/organizations/managing-programmatic-access-to-your-organization/setting-a-personal-access-token-policy-for-your-organization#restricting-access-by-personal-access-token-lifetime
#     description: Restricting access by personal access token lifetime
# custom:
#   id: lifetime-too-long
#   severity: medium
#   remediation: Regenerate the token with an expiry within max_lifetime_days of its creation.
package tokencheck.rules["lifetime-too-long"]

import data.tokencheck.lib

deny contains f if {
	lifetime := lib.days(lib.ts("expires_at") - start)
	lifetime > data.tokencheck.config.max_lifetime_days
	f := {
		"msg": sprintf("lifetime of %d days exceeds the maximum of %d", [lifetime, data.tokencheck.config.max_lifetime_days]),
		"subject": "",
	}
}

start := lib.ts("created_at")

start := lib.now_ns if not input.token.created_at
