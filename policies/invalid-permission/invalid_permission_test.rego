package tokencheck.rules["invalid-permission_test"]

import data.tokencheck.rules["invalid-permission"] as rule

test_rejects_levels_github_does_not_accept if {
	findings := rule.deny with input as {"token": {"type": "fine_grained", "permissions": {
		"repository": {"metadata": "write", "contents": "read"},
		"account": {"gists": "read"},
	}}}
	findings == {
		{"msg": "permission metadata does not accept level write (accepts read)", "subject": "metadata"},
		{"msg": "permission gists does not accept level read (accepts write)", "subject": "gists"},
	}
}

test_rejects_unknown_names if {
	rule.deny == {{"msg": "unknown permission content", "subject": "content"}} with input as {"token": {"type": "fine_grained", "permissions": {"other": {"content": "read"}}}}
}

test_accepts_admin_where_allowed if {
	count(rule.deny) == 0 with input as {"token": {"type": "fine_grained", "permissions": {"organization": {"organization_projects": "admin"}}}}
	count(rule.deny) == 1 with input as {"token": {"type": "fine_grained", "permissions": {"organization": {"members": "admin"}}}}
}

test_declared_sources_still_fire if {
	rule.deny == {{"msg": "unknown permission copilot_reqests", "subject": "copilot_reqests"}} with input as {"token": {"type": "fine_grained", "source": {"kind": "inventory"}, "permissions": {"other": {"copilot_reqests": "read"}}}}
	rule.deny == {{"msg": "unknown permission contnets", "subject": "contnets"}} with input as {"token": {"type": "fine_grained", "source": {"kind": "template_link"}, "permissions": {"other": {"contnets": "read"}}}}
}

test_silent_on_names_github_reported if {
	some kind in ["live", "headers", "org_audit"]
	count(rule.deny) == 0 with input as {"token": {"type": "fine_grained", "source": {"kind": kind}, "permissions": {"other": {"brand_new_permission": "read"}, "repository": {"metadata": "write"}}}}
}
