package tokencheck.rules["approval-pending_test"]

import data.tokencheck.rules["approval-pending"] as rule

test_fires_when_pending if {
	rule.deny == {{"msg": "token is waiting for organisation approval", "subject": ""}} with input as {"token": {"type": "fine_grained", "approval": "pending"}}
}

test_silent_when_approved if {
	count(rule.deny) == 0 with input as {"token": {"type": "fine_grained", "approval": "approved"}}
}
