# METADATA
# description: >-
#   Entry point of the OPA bundle (tokencheck policy bundle): data.tokencheck.findings judges a facts
#   document ({"schema": "tokencheck.facts/v1", "tokens": [...], "now": RFC 3339}) as tokencheck check
#   does. The rules' metadata, the disabled rules and the waivers come as data.tokencheck.judging,
#   written by the bundle builder; everything the engine derives in Go is derived in data.tokencheck.lib.
package tokencheck

import data.tokencheck.lib

# now is the judging time: the document's, else the clock (as check without --now).
now := input.now if {
	input.now
} else := time.format([time.now_ns(), "UTC", "2006-01-02T15:04:05Z07:00"])

now_ns := time.parse_rfc3339_ns(now)

meta := data.tokencheck.judging

disabled := {id | some id in object.get(meta, "disabled", [])}

# enabled is every rule the engine would run: those with metadata, minus the disabled ones.
enabled contains id if {
	some id, _ in object.get(meta, "rules", {})
	not id in disabled
}

waivers := object.get(meta, "waivers", [])

# findings is every enabled rule's findings on every token, waived as the engine decides, plus a
# waiver-expired finding for each expired waiver that would have covered one.
findings contains f if {
	some r in judged
	f := object.union(r, waiver_state(r))
}

findings contains f if {
	"waiver-expired" in enabled
	some r in judged
	some i, w in waivers
	waiver_matches(w, r.rule, r.token)
	not live(w)
	not live_before(r, i)
	f := object.union(
		{
			"rule": "waiver-expired", "severity": meta.rules["waiver-expired"].severity, "level": "deny",
			"token": r.token, "subject": expired_subject(r), "waived": false,
			"message": sprintf("waiver of %s (owner %s: %s) expired on %s", [w.rule, w.owner, w.reason, substring(w.expires, 0, 10)]),
		},
		expired_extras(r, w),
	)
}

# judged is every rule finding on every token, before waivers.
judged contains f if {
	some token in input.tokens
	some f in rule_findings(token)
}

# rule_findings(token) are the findings of every enabled rule on one token, before waivers.
rule_findings(token) := {f |
	tok := judged_token(token)
	tin := {"token": tok, "now": now}
	some id in enabled
	some level in ["deny", "warn"]
	results := data.tokencheck.rules[id][level] with input as tin with data.tokencheck.catalog.scope_closure as scope_closure
	some result in results
	f := object.union(
		{
			"rule": id, "level": level, "token": tok.id, "severity": severity(id, result),
			"subject": subject(result), "message": message(result),
		},
		extras(id, tok, result),
	)
}

# scope_closure is each scope's closure under the scope tree, as the engine hands it to rules, so
# lib.implied is a look-up: computed once per query here, not once per token under `with input`.
scope_closure := {scope: sort(lib.implied({scope})) | some scope, _ in data.tokencheck.catalog.scopes}

# judged_token is the token as the engine hands it to rules: empty fields left out, and the
# effective scopes filled in when the source did not give them.
judged_token(token) := object.union(t, {"scopes_effective": lib.scopes_effective(t)}) if {
	t := present(token)
	count(object.get(t, "scopes", [])) > 0
} else := present(token)

present(token) := {k: v |
	some k, value in token
	not omitted(k, value)
	v := nonempty_groups(k, value)
}

# nonempty_groups drops the empty permission groups, as the engine's view of a token does.
nonempty_groups("permissions", p) := {g: m | some g, m in p; count(m) > 0} if is_object(p)

nonempty_groups(k, v) := v if k != "permissions"

omitted(k, v) if {
	k != "type" # always present, even empty
	v in {null, "", [], {}}
	k != "permissions"
}

omitted("permissions", null)

severity(id, result) := result.severity if {
	is_object(result)
	result.severity in {"info", "low", "medium", "high", "critical"}
} else := meta.rules[id].severity

message(result) := result.msg if is_object(result) else := result

subject(result) := object.get(result, "subject", "") if is_object(result) else := ""

extras(id, token, result) := {k: v |
	some k, v in {
		"token_name": object.get(token, "name", ""),
		"fix_url": fix_url(result),
		"remediation": object.get(meta.rules[id], "remediation", ""),
		"location": location(token),
	}
	v != ""
}

fix_url(result) := object.get(result, "fix_url", "") if is_object(result) else := ""

location(token) := {"file": token.source.file, "line": token.source.line} if {
	token.source.line
	token.source.file != ""
} else := {"file": token.source.file} if {
	token.source.file != ""
} else := ""

# A waiver covers a finding when its rule is the finding's and its token pattern matches the id:
# glob.match with no separators, the same glob library and syntax the engine's waivers use (so `*`
# matches ids with `/`); an exact id always matches.
waiver_matches(w, rule, token) if {
	w.rule == rule
	pattern_matches(w, token)
}

pattern_matches(w, token) if w.token == token

pattern_matches(w, token) if glob.match(w.token, null, token)

live(w) if now_ns < time.parse_rfc3339_ns(w.expires)

# live_before(f, i): a live waiver before the i-th covers f; the engine stops at the first live one.
live_before(f, i) if {
	some j, w in waivers
	j < i
	waiver_matches(w, f.rule, f.token)
	live(w)
}

waiver_state(f) := {"waived": true, "waiver_reason": waivers[i].reason} if {
	i := min({j | some j, w in waivers; waiver_matches(w, f.rule, f.token); live(w)})
} else := {"waived": false}

expired_subject(f) := f.rule if f.subject == "" else := concat(":", [f.rule, f.subject])

expired_extras(f, w) := object.union(
	{k: v | some k in ["token_name", "location"]; v := f[k]},
	{k: v |
		some k, v in {
			"remediation": object.get(meta.rules["waiver-expired"], "remediation", ""),
			"location": waiver_location(w),
		}
		v != ""
	},
)

waiver_location(w) := {"file": meta.config_file, "line": w.line} if {
	object.get(meta, "config_file", "") != ""
} else := ""
