package tokencheck.rules["expiring-soon_test"]

import data.tokencheck.rules["expiring-soon"] as rule

test_fires_within_window if {
	rule.deny == {{"msg": "token expires on 2026-12-01, in 9 days", "subject": ""}} with input as {"now": "2026-11-22T00:00:00Z", "token": {"expires_at": "2026-12-01T00:00:00Z"}}
}

test_silent_outside_window if {
	count(rule.deny) == 0 with input as {"now": "2026-11-22T00:00:00Z", "token": {"expires_at": "2027-01-01T00:00:00Z"}}
}

test_silent_once_expired if {
	count(rule.deny) == 0 with input as {"now": "2026-11-22T00:00:00Z", "token": {"expires_at": "2026-11-20T00:00:00Z"}}
}

test_configurable_window if {
	count(rule.deny) == 1 with input as {"now": "2026-11-22T00:00:00Z", "token": {"expires_at": "2027-01-01T00:00:00Z"}}
		with data.tokencheck.config.expiring_soon_days as 60
}

test_silent_on_template_links if {
	count(rule.deny) == 0 with input as {"now": "2026-11-22T00:00:00Z", "token": {"expires_at": "2026-12-01T00:00:00Z", "source": {"kind": "template_link"}}}
}

test_silent_on_installation_tokens if {
	count(rule.deny) == 0 with input as {"now": "2026-11-22T00:00:00Z", "token": {"type": "app_installation", "expires_at": "2026-11-22T01:00:00Z"}}
}
