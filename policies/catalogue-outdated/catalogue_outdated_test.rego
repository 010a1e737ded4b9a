package tokencheck.rules["catalogue-outdated_test"]

import data.tokencheck.rules["catalogue-outdated"] as rule

test_fires_on_a_scope_github_reports if {
	rule.warn == {{"msg": "GitHub reports scope brand:new_scope, which tokencheck's catalogue does not know: the catalogue is out of date", "subject": "brand:new_scope"}} with input as {"token": {"type": "classic", "source": {"kind": "live"}, "scopes": ["repo", "brand:new_scope"]}}
}

test_fires_on_a_permission_from_an_audit if {
	rule.warn == {{"msg": "GitHub reports permission brand_new_permission, which tokencheck's catalogue does not know: the catalogue is out of date", "subject": "brand_new_permission"}} with input as {"token": {"type": "fine_grained", "source": {"kind": "org_audit"}, "permissions": {"repository": {"contents": "read"}, "other": {"brand_new_permission": "write"}}}}
}

test_fires_on_a_level_the_catalogue_lacks if {
	rule.warn == {{"msg": "GitHub reports permission metadata at level write, which tokencheck's catalogue does not list for it: the catalogue is out of date", "subject": "metadata"}} with input as {"token": {"type": "fine_grained", "source": {"kind": "org_audit"}, "permissions": {"repository": {"metadata": "write"}}}}
}

test_fires_on_accepted_names_from_headers if {
	rule.warn == {
		{"msg": "GitHub reports permission brand_new_permission, which tokencheck's catalogue does not know: the catalogue is out of date", "subject": "brand_new_permission"},
		{"msg": "GitHub reports scope brand:new_scope, which tokencheck's catalogue does not know: the catalogue is out of date", "subject": "brand:new_scope"},
	} with input as {"token": {"type": "fine_grained", "source": {"kind": "headers"}, "accepted_permissions": [{"contents": "read"}, {"brand_new_permission": "read"}, {}], "accepted_scopes": ["repo", "brand:new_scope"]}}
}

test_silent_when_the_catalogue_knows_every_name if {
	count(rule.warn) == 0 with input as {"token": {"type": "classic", "source": {"kind": "live"}, "scopes": ["repo", "read:org"], "accepted_scopes": ["repo"], "accepted_permissions": [{"pull_requests": "read", "contents": "read"}]}}
	count(rule.warn) == 0 with input as {"token": {"type": "fine_grained", "source": {"kind": "org_audit"}, "permissions": {"organization": {"organization_projects": "admin"}}}}
}

test_silent_on_declared_names if {
	# Declarations are checked by invalid-permission and unknown-scope, as errors of the declaration.
	count(rule.warn) == 0 with input as {"token": {"type": "classic", "source": {"kind": "inventory"}, "scopes": ["read_org"], "permissions": {"other": {"contnets": "read"}}}}
	count(rule.warn) == 0 with input as {"token": {"type": "fine_grained", "source": {"kind": "template_link"}, "permissions": {"other": {"contnets": "read"}}}}
}
