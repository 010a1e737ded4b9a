package tokencheck.rules["stale-token_test"]

import data.tokencheck.rules["stale-token"] as rule

test_fires_when_idle if {
	rule.deny == {{"msg": "token last used on 2026-01-01, 325 days ago", "subject": ""}} with input as {"now": "2026-11-22T00:00:00Z", "token": {"last_used_at": "2026-01-01T00:00:00Z"}}
}

test_silent_when_recent if {
	count(rule.deny) == 0 with input as {"now": "2026-11-22T00:00:00Z", "token": {"last_used_at": "2026-11-20T00:00:00Z"}}
}

test_silent_when_never_recorded if {
	count(rule.deny) == 0 with input as {"now": "2026-11-22T00:00:00Z", "token": {}}
}
