package tokencheck.rules["unknown-scope_test"]

import data.tokencheck.rules["unknown-scope"] as rule

test_fires_on_typo if {
	rule.deny == {{"msg": "unknown scope read_org", "subject": "read_org"}, {"msg": "unknown scope repos", "subject": "repos"}} with input as {"token": {"type": "classic", "scopes": ["repo", "read_org"], "needs_scopes": ["repos"]}}
}

test_silent_on_known_scopes if {
	count(rule.deny) == 0 with input as {"token": {"type": "classic", "scopes": ["repo", "site_admin", "manage_billing:copilot"]}}
}

test_silent_on_scopes_github_reported if {
	some kind in ["live", "headers", "org_audit"]
	count(rule.deny) == 0 with input as {"token": {"type": "classic", "source": {"kind": kind}, "scopes": ["repo", "brand:new_scope"]}}
}

test_declared_needs_checked_even_for_live_tokens if {
	rule.deny == {{"msg": "unknown scope repos", "subject": "repos"}} with input as {"token": {"type": "classic", "source": {"kind": "live"}, "scopes": ["brand:new_scope"], "needs_scopes": ["repos"]}}
}

test_inventory_scopes_still_fire if {
	rule.deny == {{"msg": "unknown scope read_org", "subject": "read_org"}} with input as {"token": {"type": "classic", "source": {"kind": "inventory"}, "scopes": ["read_org"]}}
}

# Scopes GitHub added that the seed table lacked (issue 13).
test_silent_on_scim_and_network_configuration_scopes if {
	count(rule.deny) == 0 with input as {"token": {"type": "classic", "scopes": ["scim:enterprise", "read:network_configurations", "write:network_configurations"]}}
}
