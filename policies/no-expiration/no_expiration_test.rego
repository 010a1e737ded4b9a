package tokencheck.rules["no-expiration_test"]

import data.tokencheck.rules["no-expiration"] as rule

test_fires_without_expiry if {
	rule.deny == {{"msg": "token has no expiry date", "subject": ""}} with input as {"token": {"type": "classic"}}
}

test_silent_with_expiry if {
	count(rule.deny) == 0 with input as {"token": {"type": "classic", "expires_at": "2027-01-01T00:00:00Z"}}
}

test_silent_when_expiry_unknown if {
	count(rule.deny) == 0 with input as {"token": {"type": "fine_grained", "unknown": ["expires_at"]}}
}
