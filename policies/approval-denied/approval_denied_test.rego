package tokencheck.rules["approval-denied_test"]

import data.tokencheck.rules["approval-denied"] as rule

test_fires_when_denied if {
	rule.deny == {{"msg": "organisation denied this token", "subject": ""}} with input as {"token": {"type": "fine_grained", "approval": "denied"}}
}

test_silent_when_pending_or_approved if {
	count(rule.deny) == 0 with input as {"token": {"type": "fine_grained", "approval": "pending"}}
	count(rule.deny) == 0 with input as {"token": {"type": "fine_grained", "approval": "approved"}}
}
