package tokencheck.rules["committed-token_test"]

import data.tokencheck.rules["committed-token"] as rule

test_fires_on_a_committed_value if {
	rule.deny == {{"msg": "classic token value ending T4V4 is committed in this file"}} with input as {"token": {"type": "classic", "last_four": "T4V4", "source": {"kind": "committed_value", "file": ".env", "line": 2}}}
}

test_silent_on_declared_tokens if {
	count(rule.deny) == 0 with input as {"token": {"type": "classic", "last_four": "T4V4", "source": {"kind": "inventory"}}}
}

test_silent_on_live_tokens if {
	count(rule.deny) == 0 with input as {"token": {"type": "classic", "last_four": "T4V4", "source": {"kind": "live"}}}
}
