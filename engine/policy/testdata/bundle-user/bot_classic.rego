# METADATA
# title: Bots must not own classic tokens
# description: A user rule for the bundle test, with a helper package and data outside tokencheck.
# custom:
#   id: bot-classic
#   severity: medium
#   remediation: Use a GitHub App.
package tokencheck.rules["bot-classic"]

import data.acme.helpers

warn contains {"msg": sprintf("bot %s owns a classic token", [input.token.owner]), "subject": input.token.owner} if {
	input.token.type == "classic"
	helpers.is_bot(input.token.owner)
}

deny contains sprintf("team %s may not hold classic tokens", [input.token.owner]) if {
	input.token.type == "classic"
	input.token.owner in data.acme.banned_owners
}
