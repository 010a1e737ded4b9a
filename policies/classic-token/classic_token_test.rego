package tokencheck.rules["classic-token_test"]

import data.tokencheck.rules["classic-token"] as rule

replacement := {"permissions": {"contents": "write", "metadata": "read", "administration": "write"}, "link": "https://github.com/settings/personal-access-tokens/new?administration=write&contents=write&expires_in=90&metadata=read"}

test_fires_on_classic_token_with_replaceable_scopes if {
	some f in rule.deny with input as {"token": {"type": "classic", "scopes": ["repo", "delete_repo"]}, "derived": {"replacement": replacement}}
	f.fix_url == replacement.link
	f.subject == ""
	contains(f.msg, "administration:write, contents:write, metadata:read")
	contains(f.msg, "[delete_repo, repo]")
}

test_names_scopes_without_equivalent if {
	some f in rule.deny with input as {"token": {"type": "classic", "scopes": ["repo", "notifications"]}, "derived": {"replacement": replacement}}
	contains(f.msg, "no fine-grained equivalent for notifications")
}

test_silent_when_a_scope_needs_classic if {
	count(rule.deny) == 0 with input as {"token": {"type": "classic", "scopes": ["repo", "write:packages"]}, "derived": {"replacement": replacement}}
}

test_silent_with_declared_classic_reason if {
	count(rule.deny) == 0 with input as {"token": {"type": "classic", "scopes": ["repo"], "classic_reason": "multiple_orgs"}, "derived": {"replacement": replacement}}
}

test_silent_on_fine_grained if {
	count(rule.deny) == 0 with input as {"token": {"type": "fine_grained", "permissions": {"repository": {"contents": "read"}}}}
}

test_silent_when_scopes_unknown if {
	count(rule.deny) == 0 with input as {"token": {"type": "classic", "unknown": ["scopes"]}, "derived": {"replacement": replacement}}
}

# Without input.derived (a stock OPA running the bundle) the replacement is derived in Rego, to the
# byte of the engine's link (engine/facts.Catalog.URL).
test_derives_the_replacement_without_the_engine if {
	some f in rule.deny with input as {"token": {
		"id": "ci-publisher", "name": "Milestone's Copilot Token (read-only)", "type": "classic",
		"scopes": ["repo", "read:org"], "resource_owner": "acme",
	}}
	f.fix_url == "https://github.com/settings/personal-access-tokens/new?contents=write&deployments=write&description=Replaces+classic+token+ci-publisher&expires_in=90&issues=write&members=read&metadata=read&name=Milestone%27s+Copilot+Token+%28read-only%29&pull_requests=write&statuses=write&target_name=acme"
	contains(f.msg, "a fine-grained token with contents:write, deployments:write, issues:write, members:read, metadata:read, pull_requests:write, statuses:write would do")
}

# Enterprise SCIM endpoints accept only classic tokens (issue 13): no "metadata:read would do".
test_silent_on_scim_enterprise if {
	count(rule.deny) == 0 with input as {"token": {"type": "classic", "scopes": ["scim:enterprise"]}, "derived": {"replacement": {"permissions": {}, "link": "x"}}}
}
