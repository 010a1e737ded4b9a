package tokencheck.rules["unknown-scope_test"]

import data.tokencheck.rules["unknown-scope"] as rule

test_fires_on_typo if {
	rule.deny == {{"msg": "unknown scope read_org", "subject": "read_org"}, {"msg": "unknown scope repos", "subject": "repos"}} with input as {"token": {"type": "classic", "scopes": ["repo", "read_org"], "needs_scopes": ["repos"]}}
}

test_silent_on_known_scopes if {
	count(rule.deny) == 0 with input as {"token": {"type": "classic", "scopes": ["repo", "site_admin", "manage_billing:copilot"]}}
}
