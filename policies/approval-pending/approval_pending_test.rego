package tokencheck.rules["approval-pending_test"]

import data.tokencheck.rules["approval-pending"] as rule

test_fires_when_pending if {
	count(rule.deny) == 1 with input as {"token": {"type": "fine_grained", "approval": "pending"}}
}

test_silent_when_approved if {
	count(rule.deny) == 0 with input as {"token": {"type": "fine_grained", "approval": "approved"}}
}
