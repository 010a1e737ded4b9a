// Package facts defines the normalized token facts every source produces and every policy judges,
// and the GitHub knowledge (token formats, the scope tree, the permission catalogue) needed to build them.
package facts

import (
	"fmt"
	"strings"
	"time"
)

// Schema is the value of the "schema" key of a facts document.
const Schema = "tokencheck.facts/v1"

// TokenType is the kind of credential, from the prefix of the token value or from a declaration.
type TokenType string

// Token types.
const (
	TypeClassic         TokenType = "classic"
	TypeFineGrained               = "fine_grained"
	TypeOAuth                     = "oauth"
	TypeAppUser                   = "app_user"
	TypeAppInstallation           = "app_installation"
	TypeRefresh                   = "refresh"
	TypeUnknown                   = "unknown"
)

// SourceKind says where a token's facts came from.
type SourceKind string

// Source kinds.
const (
	SourceLive         SourceKind = "live"
	SourceHeaders                 = "headers"
	SourceOrgAudit                = "org_audit"
	SourceInventory               = "inventory"
	SourceTemplateLink            = "template_link"
	SourceFacts                   = "facts"
	// SourceCommitted is a token value found written in a file: the value itself is the finding.
	SourceCommitted = "committed_value"
)

// Approval is the state of a fine-grained token's access to an organisation.
type Approval string

// Approval states.
const (
	ApprovalApproved    Approval = "approved"
	ApprovalPending              = "pending"
	ApprovalDenied               = "denied"
	ApprovalNotRequired Approval = "not_required"
	ApprovalUnknown     Approval = "unknown"
)

// RepositorySelection says which repositories a fine-grained token reaches.
type RepositorySelection string

// Repository selections, as GitHub names them.
const (
	SelectAll    RepositorySelection = "all"
	SelectSubset RepositorySelection = "subset"
	SelectNone   RepositorySelection = "none"
)

// SSO is a token's SAML single sign-on state.
type SSO string

// SSO states.
const (
	SSOAuthorized SSO = "authorized"
	SSORequired   SSO = "required"
	SSOUnknown    SSO = "unknown"
)

// Names of facts that can be unknown; listed in Token.Unknown when a source could not learn them.
const (
	FactScopes              = "scopes"
	FactPermissions         = "permissions"
	FactExpiresAt           = "expires_at"
	FactRepositorySelection = "repository_selection"
	FactResourceOwner       = "resource_owner"
	FactOwner               = "owner"
	FactType                = "type"
)

// Token is everything known about one credential: the policy input. It never holds the token value.
type Token struct {
	ID                  string              `json:"id"`
	Name                string              `json:"name,omitempty"`
	Description         string              `json:"description,omitempty"`
	Type                TokenType           `json:"type"`
	Fingerprint         string              `json:"fingerprint,omitempty"`
	LastFour            string              `json:"last_four,omitempty"`
	Owner               string              `json:"owner,omitempty"`
	ResourceOwner       string              `json:"resource_owner,omitempty"`
	Scopes              []string            `json:"scopes,omitempty"`
	ScopesEffective     []string            `json:"scopes_effective,omitempty"`
	RepositorySelection RepositorySelection `json:"repository_selection,omitempty"`
	Repositories        []string            `json:"repositories,omitempty"`
	Permissions         *Permissions        `json:"permissions,omitempty"`
	CreatedAt           *time.Time          `json:"created_at,omitempty"`
	ExpiresAt           *time.Time          `json:"expires_at,omitempty"`
	LastUsedAt          *time.Time          `json:"last_used_at,omitempty"`
	Approval            Approval            `json:"approval,omitempty"`
	SSO                 SSO                 `json:"sso,omitempty"`
	Needs               map[string]string   `json:"needs,omitempty"`
	NeedsScopes         []string            `json:"needs_scopes,omitempty"`
	ClassicReason       string              `json:"classic_reason,omitempty"`
	// AcceptedPermissions is what GitHub's X-Accepted-GitHub-Permissions said the endpoint called
	// accepts: alternatives, each a set of permission: level that together suffice (an empty set:
	// no permission needed).
	AcceptedPermissions []map[string]string `json:"accepted_permissions,omitempty"`
	// AcceptedScopes is X-Accepted-OAuth-Scopes: the classic scopes, any of which the endpoint accepts.
	AcceptedScopes []string `json:"accepted_scopes,omitempty"`
	// Current is set on an upgrade request: a pending request to change the access of a token the
	// organisation has already approved. The token's own repository selection, repositories and
	// permissions are then what it would have once the request is approved (what it is judged
	// on), and Current is the access approved today.
	Current *Access  `json:"current,omitempty"`
	Unknown []string `json:"unknown,omitempty"`
	Source  Source   `json:"source"`
}

// Access is what an approved fine-grained token reaches in an organisation.
type Access struct {
	// ID is the fact id of the approved grant (org:ORG/pat:TOKEN_ID).
	ID                  string              `json:"id,omitempty"`
	RepositorySelection RepositorySelection `json:"repository_selection,omitempty"`
	Repositories        []string            `json:"repositories,omitempty"`
	Permissions         *Permissions        `json:"permissions,omitempty"`
	// GrantedAt is when the organisation approved it.
	GrantedAt *time.Time `json:"granted_at,omitempty"`
}

// Permissions are fine-grained grants by resource group; names GitHub does not define land in Other.
type Permissions struct {
	Repository   map[string]string `json:"repository,omitempty"`
	Organization map[string]string `json:"organization,omitempty"`
	Account      map[string]string `json:"account,omitempty"`
	Other        map[string]string `json:"other,omitempty"`
}

// Source locates where a token's facts were read.
type Source struct {
	Kind SourceKind `json:"kind"`
	File string     `json:"file,omitempty"`
	Line int        `json:"line,omitempty"`
}

// Document is the facts file that scan and audit write and check reads back.
type Document struct {
	Schema string  `json:"schema"`
	Tokens []Token `json:"tokens"`
	// Now is the judging time (RFC 3339) for a stock OPA running the policy bundle, which has no
	// --now flag; tokencheck accepts it and judges at --now.
	Now string `json:"now,omitempty"`
}

// IsUnknown reports whether the named fact could not be learned.
func (t *Token) IsUnknown(fact string) bool {
	for _, u := range t.Unknown {
		if u == fact {
			return true
		}
	}
	return false
}

// MarkUnknown records that the named fact could not be learned.
func (t *Token) MarkUnknown(fact string) {
	if !t.IsUnknown(fact) {
		t.Unknown = append(t.Unknown, fact)
	}
}

// MarkKnown removes the named fact from the unknown list: a later source learned it.
func (t *Token) MarkKnown(fact string) {
	out := t.Unknown[:0]
	for _, u := range t.Unknown {
		if u != fact {
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		out = nil
	}
	t.Unknown = out
}

// ParseTime reads a date (2006-01-02, midnight UTC) or an RFC 3339 timestamp, as declarations write
// them, saturated to [MinTime, MaxTime] (see ClampTime).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return ClampTime(t.UTC()), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return ClampTime(t), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a date (2006-01-02) nor an RFC 3339 time", s)
}
