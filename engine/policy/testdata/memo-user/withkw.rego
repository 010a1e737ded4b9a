# METADATA
# title: With keyword
# description: Uses with (never memoised) and names the token in its message.
# custom:
#   id: user-with
#   severity: medium
#   remediation: None.
package tokencheck.rules["user-with"]

import data.tokencheck.lib

deny contains f if {
	lib.is_classic with input.token.type as input.token.type
	input.token.owner == "user7"
	f := {"msg": sprintf("token %s of user7", [input.token.id]), "subject": input.token.id}
}

warn contains f if {
	input.token.approval == "pending"
	f := {"msg": sprintf("pending %s", [input.token.name]), "subject": ""}
}
