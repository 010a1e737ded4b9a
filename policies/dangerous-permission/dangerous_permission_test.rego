package tokencheck.rules["dangerous-permission_test"]

import data.tokencheck.rules["dangerous-permission"] as rule

test_fires_on_write_and_admin if {
	findings := rule.deny with input as {"token": {"type": "fine_grained", "permissions": {
		"repository": {"administration": "write", "contents": "write"},
		"organization": {"members": "write"},
	}}}
	findings == {
		{"msg": "dangerous permission administration:write", "subject": "administration"},
		{"msg": "dangerous permission members:write", "subject": "members"},
	}
}

test_silent_on_read if {
	count(rule.deny) == 0 with input as {"token": {"type": "fine_grained", "permissions": {"repository": {"administration": "read", "secrets": "read"}}}}
}

test_configurable_set if {
	count(rule.deny) == 1 with input as {"token": {"type": "fine_grained", "permissions": {"repository": {"contents": "write"}}}}
		with data.tokencheck.config.dangerous_permissions as ["contents"]
}
