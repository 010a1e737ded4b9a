# METADATA
# title: Old tokens by a field chosen per call
# description: Calls lib.ts and lib.date with fields from a list, so the footprint must follow variables.
# custom:
#   id: user-var-field
#   severity: low
#   remediation: Rotate.
package tokencheck.rules["user-var-field"]

import data.tokencheck.lib

fields := ["created_at", "last_used_at"]

warn contains f if {
	some field in fields
	lib.ts(field) < lib.now_ns - (200 * lib.day_ns)
	f := {"msg": sprintf("%s is %s", [field, lib.date(field)]), "subject": field}
}
