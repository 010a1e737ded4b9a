package audit

import (
	"fmt"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// Blocked is a token a maximum-lifetime policy would block, and why.
type Blocked struct {
	Token  facts.Token
	Reason string
}

// PreviewMaxLifetime lists the tokens a GitHub maximum-lifetime policy of days would block, before
// an owner turns it on. GitHub measures a token's lifetime from its creation to its expiry and
// blocks, when the token is used against the organisation, those that never expire or live longer.
// The API does not say when a token was created: the grant (or request) time is an upper bound on
// it, so a lifetime computed from it is a lower bound, and a token listed here is certainly over
// the limit. For classic tokens (credential authorizations), which carry no creation time at all,
// the time left until expiry is used, which is also a lower bound.
func PreviewMaxLifetime(tokens []facts.Token, days int, now time.Time) []Blocked {
	limit := time.Duration(days) * 24 * time.Hour
	var out []Blocked
	for _, t := range tokens {
		if t.Source.Kind != facts.SourceOrgAudit || (t.Type != facts.TypeFineGrained && t.Type != facts.TypeClassic) {
			continue
		}
		if t.IsUnknown(facts.FactExpiresAt) {
			continue // expired at an unknown time: nothing to preview
		}
		switch {
		case t.ExpiresAt == nil:
			out = append(out, Blocked{t, "never expires"})
		case t.ExpiresAt.Before(now):
			// already expired: GitHub blocks it anyway
		case t.CreatedAt != nil && t.ExpiresAt.Sub(*t.CreatedAt) > limit:
			out = append(out, Blocked{t, fmt.Sprintf("lives at least %d days (granted %s, expires %s)",
				int(t.ExpiresAt.Sub(*t.CreatedAt).Hours()/24), t.CreatedAt.Format("2006-01-02"), t.ExpiresAt.Format("2006-01-02"))})
		case t.ExpiresAt.Sub(now) > limit:
			out = append(out, Blocked{t, fmt.Sprintf("expires in %d days (%s)", int(t.ExpiresAt.Sub(now).Hours()/24), t.ExpiresAt.Format("2006-01-02"))})
		}
	}
	return out
}
