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

test_silent_on_installation_tokens if {
	# They live an hour by design (Actions' GITHUB_TOKEN up to a day); an answer without an expiry
	# header says nothing about their lifetime.
	count(rule.deny) == 0 with input as {"token": {"type": "app_installation", "source": {"kind": "live"}}}
	count(rule.deny) == 0 with input as {"token": {"type": "app_installation", "source": {"kind": "headers"}}}
}

test_still_fires_on_other_github_tokens if {
	rule.deny == {{"msg": "token has no expiry date", "subject": ""}} with input as {"token": {"type": "oauth", "source": {"kind": "live"}}}
}
