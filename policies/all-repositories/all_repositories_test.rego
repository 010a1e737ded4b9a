package tokencheck.rules["all-repositories_test"]

import data.tokencheck.rules["all-repositories"] as rule

test_fires_on_all if {
	rule.deny == {{"msg": "token can access all repositories of acme", "subject": ""}} with input as {"token": {"type": "fine_grained", "resource_owner": "acme", "repository_selection": "all"}}
}

test_silent_on_subset if {
	count(rule.deny) == 0 with input as {"token": {"type": "fine_grained", "repository_selection": "subset"}}
}

test_silent_on_classic if {
	count(rule.deny) == 0 with input as {"token": {"type": "classic", "repository_selection": "all"}}
}
