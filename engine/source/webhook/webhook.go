// Package webhook reads GitHub's personal_access_token_request webhook payload into the token facts
// `review` would judge for the same request: the token as it would be once approved.
package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// Event names and actions, as GitHub sends them in X-GitHub-Event and the payload's action.
const (
	EventPATRequest = "personal_access_token_request"
	EventPing       = "ping"
	ActionCreated   = "created"
)

// Request is one personal_access_token_request delivery.
type Request struct {
	Action string
	Org    string
	// InstallationID selects the installation token when running as a GitHub App (0 when absent).
	InstallationID int64
	// RequestID is the pat_request_id the review endpoint takes.
	RequestID int64
	// TokenID is GitHub's id of the token.
	TokenID int64
	// Token is the request judged as the token it would become: the facts `review` builds for it.
	Token facts.Token
}

type payload struct {
	Action  *string  `json:"action"`
	Request *request `json:"personal_access_token_request"`
	Org     *struct {
		Login string `json:"login"`
	} `json:"organization"`
	Installation *struct {
		ID int64 `json:"id"`
	} `json:"installation"`
}

type request struct {
	ID    int64 `json:"id"`
	Owner *struct {
		Login string `json:"login"`
	} `json:"owner"`
	PermissionsResult   *facts.Permissions `json:"permissions_result"` // organization, repository and other, as the org APIs give them
	RepositorySelection string             `json:"repository_selection"`
	RepositoryCount     *int               `json:"repository_count"`
	Repositories        []struct {
		FullName string `json:"full_name"`
	} `json:"repositories"`
	CreatedAt       *time.Time      `json:"created_at"`
	TokenID         int64           `json:"token_id"`
	TokenName       string          `json:"token_name"`
	TokenExpired    bool            `json:"token_expired"`
	TokenExpiresAt  json.RawMessage `json:"token_expires_at"`
	TokenLastUsedAt *time.Time      `json:"token_last_used_at"`
}

// ParseRequest decodes a personal_access_token_request payload. Missing identity (action, request
// id, organisation) is an error; a fact the payload does not give whole is marked unknown, so the
// request is left for people rather than judged on partial facts.
func ParseRequest(body []byte, cat *facts.Catalog) (Request, error) {
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return Request{}, fmt.Errorf("personal_access_token_request payload: %w", err)
	}
	switch {
	case p.Action == nil:
		return Request{}, errors.New("personal_access_token_request payload: no action")
	case p.Request == nil || p.Request.ID <= 0:
		return Request{}, errors.New("personal_access_token_request payload: no personal_access_token_request.id")
	case p.Org == nil || p.Org.Login == "":
		return Request{}, errors.New("personal_access_token_request payload: no organization.login")
	}
	r := p.Request
	out := Request{Action: *p.Action, Org: p.Org.Login, RequestID: r.ID, TokenID: r.TokenID}
	if p.Installation != nil {
		out.InstallationID = p.Installation.ID
	}
	t := facts.Token{
		ID:                  fmt.Sprintf("org:%s/request:%d", out.Org, r.ID), // as the org audit names it, so waivers match both
		Name:                r.TokenName,
		Type:                facts.TypeFineGrained,
		ResourceOwner:       out.Org,
		RepositorySelection: facts.RepositorySelection(r.RepositorySelection),
		Approval:            facts.ApprovalPending,
		CreatedAt:           utc(r.CreatedAt),
		LastUsedAt:          utc(r.TokenLastUsedAt),
		Source:              facts.Source{Kind: facts.SourceOrgAudit},
	}
	if r.Owner != nil && r.Owner.Login != "" {
		t.Owner = r.Owner.Login
	} else {
		t.MarkUnknown(facts.FactOwner)
	}
	switch t.RepositorySelection {
	case facts.SelectAll, facts.SelectNone:
	case facts.SelectSubset:
		for _, repo := range r.Repositories {
			t.Repositories = append(t.Repositories, repo.FullName)
		}
		if r.Repositories == nil || r.RepositoryCount != nil && *r.RepositoryCount != len(r.Repositories) {
			t.MarkUnknown("repositories") // the payload lists only part of them
		}
	default:
		t.RepositorySelection = ""
		t.MarkUnknown(facts.FactRepositorySelection)
	}
	if exp := r.TokenExpiresAt; len(exp) == 0 {
		t.MarkUnknown(facts.FactExpiresAt) // the key is required: absent is not "never"
	} else if string(exp) != "null" {
		var at time.Time
		if err := json.Unmarshal(exp, &at); err != nil {
			t.MarkUnknown(facts.FactExpiresAt)
		} else {
			t.ExpiresAt = utc(&at)
		}
	} else if r.TokenExpired {
		t.MarkUnknown(facts.FactExpiresAt) // expired, but GitHub did not say when
	}
	if pr := r.PermissionsResult; pr == nil {
		t.MarkUnknown(facts.FactPermissions)
	} else {
		if cat == nil {
			cat = &facts.Catalog{}
		}
		t.Permissions = cat.FromGitHub(pr)
	}
	out.Token = t
	return out, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
