package tokencheck.rules["dangerous-scope_test"]

import data.tokencheck.rules["dangerous-scope"] as rule

test_one_finding_per_dangerous_scope if {
	findings := rule.deny with input as {"token": {"type": "classic", "scopes": ["repo", "delete_repo", "workflow"]}}
	findings == {
		{"msg": "dangerous scope delete_repo", "severity": "critical", "subject": "delete_repo"},
		{"msg": "dangerous scope workflow", "severity": "high", "subject": "workflow"},
	}
}

test_highest_severity_through_hierarchy if {
	findings := rule.deny with input as {"token": {"type": "classic", "scopes": ["admin:org"]}}
	findings == {{"msg": "scope admin:org grants dangerous scopes admin:org, write:org", "severity": "critical", "subject": "admin:org"}}
}

test_implied_dangerous_scope_fires if {
	findings := rule.deny with input as {"token": {"type": "classic", "scopes": ["copilot"]}}
		with data.tokencheck.config.dangerous_scopes as {"manage_billing:copilot": "high"}
	findings == {{"msg": "scope copilot grants dangerous scopes manage_billing:copilot", "severity": "high", "subject": "copilot"}}
}

test_silent_on_harmless_scopes if {
	count(rule.deny) == 0 with input as {"token": {"type": "classic", "scopes": ["repo", "read:org", "gist"]}}
}

# scim:enterprise provisions and removes every member of an enterprise; admin:enterprise implies it.
test_scim_enterprise_is_dangerous if {
	findings := rule.deny with input as {"token": {"type": "classic", "scopes": ["scim:enterprise"]}}
	findings == {{"msg": "dangerous scope scim:enterprise", "severity": "critical", "subject": "scim:enterprise"}}
}
