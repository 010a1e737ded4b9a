package source

import (
	"net/http"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/ghapi"
)

// applyAccepted records what GitHub said the endpoint called accepts (X-Accepted-GitHub-Permissions,
// X-Accepted-OAuth-Scopes), from a live answer or a header dump, refusals included.
func applyAccepted(tok *facts.Token, h http.Header) {
	tok.AcceptedPermissions = ghapi.AcceptedPermissions(h)
	if vals := h.Values(ghapi.HeaderAcceptedScopes); len(vals) > 0 {
		tok.AcceptedScopes = nil
		for _, v := range vals {
			tok.AcceptedScopes = append(tok.AcceptedScopes, ghapi.ParseAcceptedScopes(v)...)
		}
	}
}

// applyValueExpiry takes the expiry a stateless installation token carries in its JWT when GitHub's
// answer did not state one (or there was no answer): the value is read offline, never sent
// anywhere for it.
func applyValueExpiry(tok *facts.Token, s facts.Secret) {
	if tok.ExpiresAt != nil {
		return
	}
	if exp, ok := s.ExpiresAt(); ok {
		tok.ExpiresAt = &exp
		tok.MarkKnown(facts.FactExpiresAt)
	}
}
