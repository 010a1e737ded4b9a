package tokencheck.lib_test

import data.tokencheck.lib

test_implied_follows_the_hierarchy if {
	lib.implied({"admin:org"}) == {"admin:org", "write:org", "read:org", "manage_runners:org"}
}

test_implied_keeps_unknown_scopes if {
	lib.implied({"nonsense"}) == {"nonsense"}
}

test_level_ranks if {
	lib.level_at_least("admin", "write")
	lib.level_at_least("write", "read")
	not lib.level_at_least("read", "write")
	lib.level("bogus") == 0
}

test_permissions_flatten_groups if {
	p := lib.permissions with input as {"token": {"permissions": {"repository": {"contents": "read"}, "organization": {"members": "write"}}}}
	p == {"contents": "read", "members": "write"}
}

test_max_severity if {
	lib.max_severity({"high", "critical", "low"}) == "critical"
	lib.max_severity({"high"}) == "high"
}

test_known_respects_unknown_list if {
	lib.known("scopes") with input as {"token": {}}
	not lib.known("scopes") with input as {"token": {"unknown": ["scopes"]}}
}

test_from_github_by_source_kind if {
	lib.from_github with input as {"token": {"source": {"kind": "live"}}}
	lib.from_github with input as {"token": {"source": {"kind": "org_audit"}}}
	lib.from_github with input as {"token": {"source": {"kind": "headers"}}}
	not lib.from_github with input as {"token": {"source": {"kind": "inventory"}}}
	not lib.from_github with input as {"token": {"source": {"kind": "template_link"}}}
	not lib.from_github with input as {"token": {"source": {"kind": "facts"}}}
}
