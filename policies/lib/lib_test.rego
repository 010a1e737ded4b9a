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

# Without the engine's catalog.scope_closure (a stock OPA running the bundle), implied walks the
# scope tree and gives the same sets.
test_implied_without_the_engine_closure if {
	cat := object.remove(data.tokencheck.catalog, ["scope_closure", "scope_graph"])
	lib.implied({"admin:org"}) == {"admin:org", "write:org", "read:org", "manage_runners:org"} with data.tokencheck.catalog as cat
	lib.implied({"nonsense", "user"}) == lib.implied({"nonsense", "user"}) with data.tokencheck.catalog as cat
	lib.implied({"nonsense"}) == {"nonsense"} with data.tokencheck.catalog as cat
	count(lib.implied({"repo"})) > 1
}

test_scopes_effective_fills_in_sorted if {
	lib.scopes_effective({"scopes": ["write:org", "gist"]}) == ["gist", "read:org", "write:org"]
	lib.scopes_effective({"scopes": ["repo"], "scopes_effective": ["repo"]}) == ["repo"]
	lib.scopes_effective({}) == []
}

test_clock_and_times_without_derived if {
	lib.now_ns == 1795305600000000000 with input as {"now": "2026-11-22T00:00:00Z"}
	lib.ts("expires_at") == 1795392000000000000 with input as {"token": {"expires_at": "2026-11-23T00:00:00Z"}}
	lib.now_ns == 5 with input as {"now": "2026-11-22T00:00:00Z", "derived": {"now_ns": 5, "ns": {}}}
}

test_replacement_permissions_from_scopes_needs_and_needed_scopes if {
	lib.replacement_permissions({"scopes": ["repo", "read:org", "notifications"]}) == {
		"contents": "write", "issues": "write", "pull_requests": "write", "statuses": "write",
		"deployments": "write", "metadata": "read", "members": "read",
	}
	lib.replacement_permissions({"scopes": ["repo"], "needs_scopes": ["read:org"]}) == {"members": "read"}
	lib.replacement_permissions({"scopes": ["repo"], "needs": {"contents": "read", "metadata": "write", "bogus": "read"}}) == {"contents": "read"}
	lib.replacement_permissions({"scopes": ["notifications"]}) == {}
}

test_template_link_encodes_as_the_engine if {
	lib.template_link({"name": "a b&c", "description": "", "target_name": "acme", "expires_in_days": 0, "permissions": {"contents": "read"}}) == "https://github.com/settings/personal-access-tokens/new?contents=read&expires_in=none&name=a+b%26c&target_name=acme"
	lib.template_link({"name": "x", "expires_in_days": 30.9, "permissions": {}}) == "https://github.com/settings/personal-access-tokens/new?expires_in=30&name=x"
}

test_truncate_counts_characters if {
	lib.truncate("ééé", 2) == "éé"
	lib.truncate("abc", 0) == "abc"
	lib.truncate("abc", 5) == "abc"
}

test_replacement_prefers_the_engine if {
	lib.replacement == {"permissions": {}, "link": "L"} with input as {"token": {"type": "classic", "id": "x"}, "derived": {"replacement": {"permissions": {}, "link": "L"}}}
	lib.replacement.link == "https://github.com/settings/personal-access-tokens/new?description=Replaces+classic+token+%E2%80%A6T4V4+%28sha256%3Aabc%29&expires_in=90&name=Replaces+classic+token+%E2%80%A6T4V4" with input as {"token": {"type": "classic", "id": "live:1", "last_four": "T4V4", "fingerprint": "sha256:abc"}}
}
