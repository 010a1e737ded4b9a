package tokencheck.rules["lifetime-too-long_test"]

import data.tokencheck.rules["lifetime-too-long"] as rule

test_fires_past_max if {
	rule.deny == {{"msg": "lifetime of 730 days exceeds the maximum of 366", "subject": ""}} with input as {
		"now": "2026-11-22T00:00:00Z",
		"token": {"created_at": "2026-01-01T00:00:00Z", "expires_at": "2028-01-01T00:00:00Z"},
	}
}

test_measures_from_now_without_creation_date if {
	count(rule.deny) == 1 with input as {"now": "2026-11-22T00:00:00Z", "token": {"expires_at": "2028-01-01T00:00:00Z"}}
	count(rule.deny) == 0 with input as {"now": "2026-11-22T00:00:00Z", "token": {"expires_at": "2027-01-01T00:00:00Z"}}
}

test_silent_at_max if {
	count(rule.deny) == 0 with input as {"now": "2026-11-22T00:00:00Z", "token": {"created_at": "2026-01-01T00:00:00Z", "expires_at": "2027-01-02T00:00:00Z"}}
}

test_configurable_max if {
	count(rule.deny) == 1 with input as {"now": "2026-11-22T00:00:00Z", "token": {"created_at": "2026-11-01T00:00:00Z", "expires_at": "2027-01-01T00:00:00Z"}}
		with data.tokencheck.config.max_lifetime_days as 30
}

test_silent_without_expiry if {
	count(rule.deny) == 0 with input as {"now": "2026-11-22T00:00:00Z", "token": {"created_at": "2026-01-01T00:00:00Z"}}
}
