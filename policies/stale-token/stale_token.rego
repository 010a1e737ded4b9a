# METADATA
# title: Token unused for a long time
# description: >-
#   The token was last used more than stale_after_days (default 90) ago. An unused credential is all
#   risk and no benefit; GitHub itself revokes classic tokens unused for a year.
# related_resources:
#   - ref: https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/token-expiration-and-revocation
#     description: Token expiration and revocation
# custom:
#   id: stale-token
#   severity: low
#   remediation: Revoke the token if nothing uses it; otherwise find out why its use is not recorded.
package tokencheck.rules["stale-token"]

import data.tokencheck.lib

deny contains f if {
	idle := lib.days(lib.now_ns - lib.ts("last_used_at"))
	idle > data.tokencheck.config.stale_after_days
	f := {"msg": sprintf("token last used on %s, %d days ago", [lib.date("last_used_at"), idle]), "subject": ""}
}
