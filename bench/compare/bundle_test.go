package main

import (
	"strings"
	"testing"
)

func TestFirstDiffSeesEveryDifference(t *testing.T) {
	no, yes := false, true
	base := []bundleFinding{
		{Rule: "expired", Token: "a", Severity: "high", Level: "deny", Message: "token expired", Waived: &no},
		{Rule: "stale-token", Token: "b", Severity: "low", Level: "deny", Message: "last used 90 days ago", Waived: &no},
	}
	with := func(f func(fs []bundleFinding) []bundleFinding) []bundleFinding {
		return f(append([]bundleFinding(nil), base...))
	}
	if d := firstDiff(base, with(func(fs []bundleFinding) []bundleFinding { return []bundleFinding{fs[1], fs[0]} })); d != "" {
		t.Errorf("the same findings in another order: %s", d)
	}
	for name, c := range map[string]struct {
		got  []bundleFinding
		want string
	}{
		"missing":    {base[:1], "lacks tokencheck's finding {rule=stale-token"},
		"extra":      {with(func(fs []bundleFinding) []bundleFinding { return append(fs, bundleFinding{Rule: "x", Token: "c"}) }), "has a finding tokencheck does not: {rule=x token=c"},
		"duplicated": {with(func(fs []bundleFinding) []bundleFinding { return append(fs, fs[0]) }), "has a finding tokencheck does not: {rule=expired"},
		"message":    {with(func(fs []bundleFinding) []bundleFinding { fs[0].Message = "token expired!"; return fs }), "lacks tokencheck's finding {rule=expired"},
		"waived":     {with(func(fs []bundleFinding) []bundleFinding { fs[1].Waived = &yes; return fs }), "lacks tokencheck's finding {rule=stale-token"},
		"no waived":  {with(func(fs []bundleFinding) []bundleFinding { fs[1].Waived = nil; return fs }), "lacks tokencheck's finding {rule=stale-token"},
		"severity":   {with(func(fs []bundleFinding) []bundleFinding { fs[0].Severity = "medium"; return fs }), "lacks tokencheck's finding {rule=expired"},
		"subject":    {with(func(fs []bundleFinding) []bundleFinding { fs[0].Subject = "repo"; return fs }), "lacks tokencheck's finding {rule=expired"},
	} {
		if d := firstDiff(base, c.got); !strings.Contains(d, c.want) {
			t.Errorf("%s: difference %q, want one containing %q", name, d, c.want)
		}
	}
}
