package tokencheck.rules["excess-permission_test"]

import data.tokencheck.rules["excess-permission"] as rule

test_write_where_read_is_needed if {
	findings := rule.deny with input as {"token": {
		"type": "fine_grained",
		"permissions": {"repository": {"contents": "write", "metadata": "read", "issues": "read"}},
		"needs": {"contents": "read"},
	}}
	findings == {
		{"msg": "contents:write granted, need is read", "subject": "contents"},
		{"msg": "issues:read granted, need is none", "subject": "issues"},
	}
}

test_silent_within_need if {
	count(rule.deny) == 0 with input as {"token": {
		"type": "fine_grained",
		"permissions": {"repository": {"contents": "read", "metadata": "read"}},
		"needs": {"contents": "write"},
	}}
}

test_silent_without_declared_need if {
	count(rule.deny) == 0 with input as {"token": {"type": "fine_grained", "permissions": {"repository": {"contents": "write"}}}}
}

test_classic_scope_outside_needed_scopes if {
	findings := rule.deny with input as {"token": {"type": "classic", "scopes": ["repo", "delete_repo"], "needs_scopes": ["repo"]}}
	findings == {{"msg": "scope delete_repo granted, not among the needed scopes [repo]", "subject": "delete_repo"}}
}

test_classic_scope_implied_by_need_is_fine if {
	count(rule.deny) == 0 with input as {"token": {"type": "classic", "scopes": ["read:org"], "needs_scopes": ["admin:org"]}}
}

test_classic_scope_against_needed_permissions if {
	findings := rule.deny with input as {"token": {"type": "classic", "scopes": ["read:org"], "needs": {"contents": "read"}}}
	findings == {{"msg": "scope read:org grants members:read beyond the declared need", "subject": "read:org"}}
}
