# METADATA
# title: Non-deterministic
# description: Calls a non-deterministic builtin (never memoised).
# custom:
#   id: user-nondet
#   severity: info
#   remediation: None.
package tokencheck.rules["user-nondet"]

deny contains f if {
	input.token.type == "classic"
	time.now_ns() > 0
	input.token.sso == "authorized"
	f := {"msg": "classic token authorised for SSO", "subject": ""}
}
