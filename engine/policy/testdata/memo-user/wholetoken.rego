# METADATA
# title: Tokens with many facts
# description: Reads the whole token (never memoised).
# custom:
#   id: user-whole-token
#   severity: info
#   remediation: None.
package tokencheck.rules["user-whole-token"]

warn contains f if {
	count(input.token) > 11
	f := {"msg": sprintf("token has %d facts", [count(input.token)]), "subject": ""}
}
