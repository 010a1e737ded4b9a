package tokencheck_test

import data.tokencheck

judging := {
	"rules": {
		"no-expiration": {"severity": "high", "title": "t", "remediation": "r"},
		"dangerous-scope": {"severity": "critical", "title": "t", "remediation": "r"},
		"stale-token": {"severity": "low", "title": "t", "remediation": "r"},
		"waiver-expired": {"severity": "medium", "title": "t", "remediation": "renew"},
	},
	"disabled": ["stale-token"],
	"waivers": [
		{"rule": "no-expiration", "token": "bot-*", "reason": "old", "owner": "a", "expires": "2026-01-01T00:00:00Z", "line": 3},
		{"rule": "no-expiration", "token": "bot-1", "reason": "rotating", "owner": "b", "expires": "2027-01-01T00:00:00Z", "line": 8},
	],
	"config_file": "cfg.yaml",
}

facts := {"schema": "tokencheck.facts/v1", "now": "2026-11-22T00:00:00Z", "tokens": [
	{"id": "bot-1", "type": "classic", "scopes": ["delete_repo"], "last_used_at": "2025-01-01T00:00:00Z", "source": {"kind": "inventory", "file": "t.yaml", "line": 2}},
	{"id": "svc", "type": "fine_grained", "expires_at": "2027-01-01T00:00:00Z", "source": {"kind": "facts"}},
]}

test_findings_carry_metadata_subject_and_waiver_state if {
	fs := tokencheck.findings with input as facts with data.tokencheck.judging as judging
	{"rule": "dangerous-scope", "level": "deny", "token": "bot-1", "severity": "critical", "subject": "delete_repo", "message": "dangerous scope delete_repo", "remediation": "r", "location": {"file": "t.yaml", "line": 2}, "waived": false} in fs
	{"rule": "no-expiration", "level": "deny", "token": "bot-1", "severity": "high", "subject": "", "message": "token has no expiry date", "remediation": "r", "location": {"file": "t.yaml", "line": 2}, "waived": true, "waiver_reason": "rotating"} in fs
}

test_expired_waiver_before_the_live_one_is_a_finding if {
	fs := tokencheck.findings with input as facts with data.tokencheck.judging as judging
	{"rule": "waiver-expired", "level": "deny", "token": "bot-1", "severity": "medium", "subject": "no-expiration", "message": "waiver of no-expiration (owner a: old) expired on 2026-01-01", "remediation": "renew", "location": {"file": "cfg.yaml", "line": 3}, "waived": false} in fs
	count([f | some f in fs; f.rule == "waiver-expired"]) == 1
}

test_disabled_and_unknown_rules_do_not_run if {
	fs := tokencheck.findings with input as facts with data.tokencheck.judging as judging
	count([f | some f in fs; f.rule == "stale-token"]) == 0
	count([f | some f in fs; f.token == "svc"]) == 0 # all-repositories etc. have no metadata here: not run
}

test_nothing_without_tokens if {
	count(tokencheck.findings) == 0 with input as {"schema": "tokencheck.facts/v1", "tokens": []} with data.tokencheck.judging as judging
}

test_judged_token_is_the_engines_view if {
	tokencheck.judged_token({"id": "x", "type": "classic", "name": "", "scopes": ["admin:org"], "needs": {}, "permissions": {"repository": {}}}) == {
		"id": "x", "type": "classic", "scopes": ["admin:org"], "permissions": {},
		"scopes_effective": ["admin:org", "manage_runners:org", "read:org", "write:org"],
	}
}
