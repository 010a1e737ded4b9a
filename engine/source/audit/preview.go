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
// The API does not say when a token was created, but bounds it: a fine-grained token existed when
// the organisation granted it access (or when its request was made), and a classic or OAuth app
// token when it was authorized for SAML SSO (credential_authorized_at). A lifetime computed from
// that bound is a lower bound, so a token listed here is certainly over the limit. A token without
// the bound is measured from now to its expiry, also a lower bound.
func PreviewMaxLifetime(tokens []facts.Token, days int, now time.Time) []Blocked {
	limit := time.Duration(days) * 24 * time.Hour
	var out []Blocked
	for _, t := range tokens {
		if t.Source.Kind != facts.SourceOrgAudit {
			continue
		}
		var since string
		switch t.Type {
		case facts.TypeFineGrained:
			since = "granted"
			if t.Approval == facts.ApprovalPending && t.Current == nil {
				since = "requested"
			}
		case facts.TypeClassic, facts.TypeOAuth:
			since = "authorized for SSO"
		default:
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
			out = append(out, Blocked{t, fmt.Sprintf("lives at least %d days (%s %s, expires %s)",
				int(t.ExpiresAt.Sub(*t.CreatedAt).Hours()/24), since, t.CreatedAt.Format("2006-01-02"), t.ExpiresAt.Format("2006-01-02"))})
		case t.ExpiresAt.Sub(now) > limit:
			out = append(out, Blocked{t, fmt.Sprintf("expires in %d days (%s)", int(t.ExpiresAt.Sub(now).Hours()/24), t.ExpiresAt.Format("2006-01-02"))})
		}
	}
	return out
}
