package tokencheck.rules.expired_test

import data.tokencheck.rules.expired as rule

test_fires_after_expiry if {
	rule.deny == {{"msg": "token expired on 2026-11-01", "subject": ""}} with input as {"now": "2026-11-22T00:00:00Z", "token": {"expires_at": "2026-11-01T00:00:00Z"}}
}

test_silent_before_expiry if {
	count(rule.deny) == 0 with input as {"now": "2026-11-22T00:00:00Z", "token": {"expires_at": "2026-12-01T00:00:00Z"}}
}

test_silent_without_expiry if {
	count(rule.deny) == 0 with input as {"now": "2026-11-22T00:00:00Z", "token": {}}
}

test_silent_on_template_links if {
	count(rule.deny) == 0 with input as {"now": "2026-11-22T00:00:00Z", "token": {"expires_at": "2026-11-01T00:00:00Z", "source": {"kind": "template_link"}}}
}
