package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// goFloor is the hand-written Go floor: five representative rules (dangerous-scope,
// classic-token without its link, no-expiration, expiring-soon, stale-token) coded directly, with
// messages, over the same tokens. It exists to keep the engine's ratio honest and lives here
// only. It returns the number of findings.
func goFloor(tokens []facts.Token, cat *facts.Catalog, now time.Time) int {
	dangerous := map[string]bool{"delete_repo": true, "admin:org": true, "site_admin": true, "admin:enterprise": true, "admin:org_hook": true, "write:org": true}
	classicOnly := map[string]bool{"write:packages": true, "read:packages": true, "delete:packages": true, "site_admin": true}
	var findings []string
	for i := range tokens {
		t := &tokens[i]
		for _, s := range t.Scopes {
			for _, e := range cat.EffectiveScopes([]string{s}) {
				if dangerous[e] {
					findings = append(findings, fmt.Sprintf("%s dangerous-scope %s", t.ID, s))
					break
				}
			}
		}
		if t.Type == facts.TypeClassic && t.ClassicReason == "" {
			only := false
			for _, s := range t.Scopes {
				only = only || classicOnly[s]
			}
			if !only {
				findings = append(findings, fmt.Sprintf("%s classic-token scopes [%s]", t.ID, strings.Join(t.Scopes, ", ")))
			}
		}
		if t.ExpiresAt == nil && !t.IsUnknown(facts.FactExpiresAt) {
			findings = append(findings, t.ID+" no-expiration")
		} else if t.ExpiresAt != nil {
			if left := t.ExpiresAt.Sub(now); left > 0 && left <= 14*24*time.Hour {
				findings = append(findings, fmt.Sprintf("%s expiring-soon in %d days", t.ID, int(left.Hours()/24)))
			}
		}
		if t.LastUsedAt != nil {
			if idle := int(now.Sub(*t.LastUsedAt).Hours() / 24); idle > 90 {
				findings = append(findings, fmt.Sprintf("%s stale-token %d days", t.ID, idle))
			}
		}
	}
	return len(findings)
}
