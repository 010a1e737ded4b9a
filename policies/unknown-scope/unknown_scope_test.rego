package tokencheck.rules["unknown-scope_test"]

import data.tokencheck.rules["unknown-scope"] as rule

test_fires_on_typo if {
	rule.deny == {{"msg": "unknown scope read_org"}, {"msg": "unknown scope repos"}} with input as {"token": {"type": "classic", "scopes": ["repo", "read_org"], "needs_scopes": ["repos"]}}
}

test_silent_on_known_scopes if {
	count(rule.deny) == 0 with input as {"token": {"type": "classic", "scopes": ["repo", "site_admin", "manage_billing:copilot"]}}
}

# Scopes GitHub added that the seed table lacked (issue 13).
test_silent_on_scim_and_network_configuration_scopes if {
	count(rule.deny) == 0 with input as {"token": {"type": "classic", "scopes": ["scim:enterprise", "read:network_configurations", "write:network_configurations"]}}
}
