package source

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/ghapi"
)

// Header names that reveal token facts.
const (
	headerScopes     = "X-OAuth-Scopes"
	headerExpiration = "GitHub-Authentication-Token-Expiration"
	headerSSO        = "X-GitHub-SSO"
)

// LiveToken is one token value to scan and where it was read from.
type LiveToken struct {
	Secret facts.Secret
	Source facts.Source // kind live; file and line when read from a token file
	Label  string       // where it came from, for messages: "GH_TOKEN", "stdin", a file name
}

// Live asks GitHub what it reveals about one token, with one GET (GET /user; GET /rate_limit for
// installation tokens, which cannot read /user) or two (when /user is refused, /rate_limit
// follows). The token's format is checked first and a malformed token is never sent. The returned
// error is a finding.Problem (input: malformed; incomplete), or a *ghapi.Failure; on failure the
// token still carries whatever the answer's headers revealed, with the rest marked unknown.
func Live(ctx context.Context, api *ghapi.API, lt LiveToken) (facts.Token, error) {
	tok := newLiveToken(lt)
	if err := lt.Secret.Check(); err != nil {
		return tok, lt.problem(err.Error() + "; not sent")
	}
	if tok.Type == facts.TypeRefresh {
		markUnknown(&tok, facts.FactScopes, facts.FactExpiresAt, facts.FactOwner)
		return tok, finding.IncompleteSource(tok.ID, "a refresh token (ghr_) cannot call the API, so nothing about it can be read; judge the user token it mints")
	}
	client := api.Client(lt.Secret)
	path := "user"
	if tok.Type == facts.TypeAppInstallation {
		path = "rate_limit"
	}
	var user struct {
		Login string `json:"login"`
	}
	resp, err := get(ctx, client, path, &user)
	f := ghapi.Classify(err, api.Host())
	if f != nil && f.Kind == ghapi.KindForbidden && path == "user" {
		// Tokens that may not read /user (installation tokens in disguise, or restricted app
		// tokens) still answer /rate_limit, which also costs no rate limit.
		path = "rate_limit"
		resp, err = get(ctx, client, path, nil)
		f = ghapi.Classify(err, api.Host())
	}
	switch {
	case resp == nil || resp.Response == nil:
		markUnknown(&tok, facts.FactScopes, facts.FactExpiresAt)
	case f == nil:
		applyHeaders(&tok, resp.Header, true)
	default:
		// A refusal still carries the token's scopes, but a missing expiration header on it proves
		// nothing: only an accepted token's answer does.
		applyHeaders(&tok, resp.Header, false)
	}
	applyValueExpiry(&tok, lt.Secret)
	if path == "user" && user.Login != "" {
		tok.Owner = user.Login
	} else {
		tok.MarkUnknown(facts.FactOwner)
	}
	if f == nil {
		return tok, nil
	}
	switch f.Kind {
	case ghapi.KindSSORequired, ghapi.KindRateLimited, ghapi.KindSecondary, ghapi.KindCanceled:
		return tok, finding.IncompleteSource(tok.ID, f.Error())
	}
	return tok, f
}

// get sends one GET and decodes the JSON answer into v (nil: discard it).
func get(ctx context.Context, client *github.Client, path string, v any) (*github.Response, error) {
	req, err := client.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	return client.Do(ctx, req, v)
}

func newLiveToken(lt LiveToken) facts.Token {
	src := lt.Source
	if src.Kind == "" {
		src.Kind = facts.SourceLive
	}
	return facts.Token{
		ID:          lt.Secret.Fingerprint(),
		Type:        lt.Secret.Type(),
		Fingerprint: lt.Secret.Fingerprint(),
		LastFour:    lt.Secret.LastFour(),
		Source:      src,
	}
}

// problem is an input problem at the place the token was read: its file and line, or its label.
func (lt LiveToken) problem(msg string) finding.Problem {
	if lt.Source.File != "" {
		return finding.Problem{Kind: finding.Input, File: lt.Source.File, Line: lt.Source.Line, Message: msg}
	}
	return finding.Problem{Kind: finding.Input, Source: lt.label(), Message: msg}
}

func (lt LiveToken) label() string {
	switch {
	case lt.Label != "":
		return lt.Label
	case lt.Source.File != "":
		return lt.Source.File
	}
	return "token"
}

// applyHeaders records what a response's headers reveal about the token that made the request.
// answered is true when GitHub accepted the token, so a missing expiration header means it never
// expires.
func applyHeaders(tok *facts.Token, h http.Header, answered bool) {
	if vals, ok := h[http.CanonicalHeaderKey(headerScopes)]; ok {
		tok.Scopes = parseScopes(strings.Join(vals, ","))
	} else if usesScopes(tok.Type) {
		tok.MarkUnknown(facts.FactScopes)
	}
	if v := h.Get(headerExpiration); v != "" {
		if t, ok := parseExpiration(v); ok {
			tok.ExpiresAt = &t
		} else {
			tok.MarkUnknown(facts.FactExpiresAt)
		}
	} else if !answered {
		tok.MarkUnknown(facts.FactExpiresAt)
	}
	if v := strings.ToLower(h.Get(headerSSO)); v != "" {
		// "required; url=..." on a refusal, "partial-results; organizations=..." when some orgs'
		// data was withheld: either way the token lacks an SSO authorization it would need.
		if strings.HasPrefix(v, "required") || strings.HasPrefix(v, "partial-results") {
			tok.SSO = "required"
		}
	}
	applyAccepted(tok, h)
	switch tok.Type {
	case facts.TypeFineGrained:
		markUnknown(tok, facts.FactPermissions, facts.FactRepositorySelection, facts.FactResourceOwner)
	case facts.TypeAppUser, facts.TypeAppInstallation:
		markUnknown(tok, facts.FactPermissions, facts.FactRepositorySelection)
	}
}

// usesScopes: the token kinds whose grants are classic scopes, which GitHub lists in X-OAuth-Scopes.
func usesScopes(typ facts.TokenType) bool {
	return typ == facts.TypeClassic || typ == facts.TypeOAuth || typ == facts.TypeUnknown
}

// parseScopes splits X-OAuth-Scopes ("repo, admin:org"); an empty header is no scopes, not unknown.
func parseScopes(v string) []string {
	scopes := []string{}
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			scopes = append(scopes, s)
		}
	}
	return scopes
}

// parseExpiration reads GitHub-Authentication-Token-Expiration, which GitHub writes both as
// "2027-03-31 00:00:00 UTC" and "2027-03-31 00:00:00 +0900" (go-github's Response.TokenExpiration
// accepts the same two layouts; a header dump has no go-github response, so one parser serves both).
func parseExpiration(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{"2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05 MST"} {
		if t, err := time.Parse(layout, v); err == nil {
			if layout == "2006-01-02 15:04:05 MST" {
				if name, off := t.Zone(); off == 0 && name != "UTC" && name != "GMT" {
					return time.Time{}, false // an abbreviation Go cannot place: refuse rather than guess
				}
			}
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func markUnknown(tok *facts.Token, names ...string) {
	for _, n := range names {
		tok.MarkUnknown(n)
	}
}
