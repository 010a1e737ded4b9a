package tokencheck.rules["resource-owner-not-allowed_test"]

import data.tokencheck.rules["resource-owner-not-allowed"] as rule

test_fires_outside_allowed if {
	rule.deny == {{"msg": "resource owner evil-corp is not among the allowed owners [acme]", "subject": "evil-corp"}} with input as {"token": {"type": "fine_grained", "resource_owner": "evil-corp"}}
		with data.tokencheck.config.allowed_resource_owners as ["acme"]
}

test_matches_case_insensitively if {
	count(rule.deny) == 0 with input as {"token": {"type": "fine_grained", "resource_owner": "ACME"}}
		with data.tokencheck.config.allowed_resource_owners as ["acme"]
}

test_silent_when_unset if {
	count(rule.deny) == 0 with input as {"token": {"type": "fine_grained", "resource_owner": "evil-corp"}}
}
