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

# Names GitHub defines today that the seed table lacked (issue 13): from GitHub's endpoint data, and
# copilot_requests and the agent permissions from the seed.
test_accepts_permissions_github_added if {
	count(rule.deny) == 0 with input as {"token": {"type": "fine_grained", "permissions": {
		"repository": {"artifact_metadata": "write", "agent_secrets": "read", "code_quality": "read", "copilot_agent_settings": "write"},
		"organization": {
			"org_copilot_content_exclusion": "write", "organization_copilot_metrics": "read",
			"organization_runner_custom_images": "write", "issue_fields": "read",
			"organization_copilot_agent_settings": "read", "organization_copilot_spaces": "read",
			"organization_agent_secrets": "write", "organization_agent_variables": "read",
		},
		"account": {"copilot_requests": "read"},
	}}}
}

test_rejects_levels_the_data_does_not_list if {
	rule.deny == {{"msg": "permission organization_copilot_metrics does not accept level write (accepts read)", "subject": "organization_copilot_metrics"}} with input as {"token": {"type": "fine_grained", "permissions": {"organization": {"organization_copilot_metrics": "write"}}}}
}
