// Package audit collects, read-only, every token with access to a GitHub organisation: approved
// fine-grained grants and pending requests (GitHub Apps only) and, on Enterprise Cloud with SAML,
// the credential authorizations of classic tokens. It normalises them into token facts. A part it
// cannot read whole is reported incomplete with the reason, never as zero tokens.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/ghapi"
)

// Source names, as the audit summary counts them.
const (
	SourceGrants      = "grants"
	SourceRequests    = "requests"
	SourceCredentials = "credential_authorizations"
)

// Options say what to source.
type Options struct {
	Orgs []string
	// Repositories also lists the repositories of grants limited to a subset.
	Repositories bool
	// Credentials collects SAML credential authorizations (Enterprise Cloud only).
	Credentials bool
	// NoGrants leaves the approved grants unread: review without revocation needs only the
	// requests, and an App without the "Personal access tokens" permission.
	NoGrants bool
	// Owner, when set, authenticates the credential-authorizations call (an org owner's token);
	// otherwise the main credentials do.
	Owner facts.Secret
	// Progress, when set, is told after every page.
	Progress func(Progress)
	// Tokens, when set, receives the tokens of each page as soon as they are complete, in the
	// order of Result.Tokens, so they can be judged while the next pages are fetched. (Grants wait
	// for their repositories when Repositories is set.) An error stops the collection.
	Tokens func([]facts.Token) error
	// Hints complete the reasons of refusals with what the caller can do about them.
	Hints Hints
	// Concurrency bounds the per-grant repository calls of one organisation (default 8).
	Concurrency int
	// OrgConcurrency is how many organisations are read at once (default 4), each with its own
	// installation token and rate limit; within one organisation requests stay serial, as GitHub
	// asks. Tokens still reach Tokens in the order of Orgs.
	OrgConcurrency int
	// MaxPages bounds the pages read of one list (default 10,000: a million tokens); a list cut
	// there is incomplete.
	MaxPages int
}

// Progress is how far a collection has come.
type Progress struct {
	Org    string
	Pages  int
	Tokens int
}

// Hints say how the caller turns off or supplies what an endpoint's refusal asks for, in the
// caller's terms (a command's flags): "" leaves the hint out.
type Hints struct {
	// NoCredentials turns off credential authorizations (for organisations without SAML SSO).
	NoCredentials string
	// OwnerToken supplies an organisation owner's token for credential authorizations.
	OwnerToken string
}

// Result is everything collected.
type Result struct {
	Tokens []facts.Token
	// Problems are the parts that could not be read whole (kind incomplete, source
	// "org:acme personal-access-tokens") and bad input (an org name GitHub cannot have).
	Problems []finding.Problem
	Counts   map[string]int // tokens per source
	Pages    int            // API pages fetched
	Mints    int            // installation tokens minted
	// Duplicates counts tokens listed twice in one list (items shift between pages while a list
	// is read): each token is kept once.
	Duplicates int
	// GitHubIDs are GitHub's ids behind each token fact id, for the calls that act on a token
	// (review and revoke): a grant's pat_id and token_id, a request's pat_request_id and the
	// token_id of the token it asks for.
	GitHubIDs map[string]GitHubIDs
}

// GitHubIDs are the ids GitHub gives a grant or a request.
type GitHubIDs struct {
	Grant   int64 `json:"pat_id,omitempty"`
	Request int64 `json:"pat_request_id,omitempty"`
	Token   int64 `json:"token_id,omitempty"`
}

var orgName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$`)

// ValidOrg reports whether s can be a GitHub organisation login.
func ValidOrg(s string) bool { return orgName.MatchString(s) }

// Collect reads the organisations, several at once, and hands their tokens to Options.Tokens in
// the order of Options.Orgs. It stops early only when ctx ends or Tokens refuses a batch; what was
// collected by then is returned, with the unfinished parts marked incomplete.
func Collect(ctx context.Context, api *ghapi.API, creds Credentials, cat *facts.Catalog, opts Options) *Result {
	res := &Result{Counts: map[string]int{}, GitHubIDs: map[string]GitHubIDs{}}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.OrgConcurrency <= 0 {
		opts.OrgConcurrency = 4
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = 10000
	}
	if opts.Progress != nil {
		var mu sync.Mutex
		progress := opts.Progress
		opts.Progress = func(p Progress) {
			mu.Lock()
			defer mu.Unlock()
			progress(p)
		}
	}
	var orgs []string
	for _, org := range opts.Orgs {
		if !ValidOrg(org) {
			res.Problems = append(res.Problems, finding.Problem{Kind: finding.Input, Source: "organisation", Message: fmt.Sprintf("%q is not a GitHub organisation name", org)})
			continue
		}
		orgs = append(orgs, org)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parts := make([]*orgPart, len(orgs))
	for i := range parts {
		parts[i] = newOrgPart()
	}
	var wg sync.WaitGroup
	launched := make(chan struct{})
	go func() {
		defer close(launched)
		sem := make(chan struct{}, opts.OrgConcurrency)
		for i, org := range orgs {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				parts[i].res.Problems = append(parts[i].res.Problems, finding.IncompleteSource("org:"+org+" (all endpoints)", "not read: the collection stopped early"))
				parts[i].finish()
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				defer parts[i].finish()
				collectOrg(ctx, api, creds, cat, opts, org, parts[i])
			}()
		}
	}()
	// Hand each organisation's batches on in order, while later ones are still being read.
	var refused error
	for _, part := range parts {
		part.drain(func(batch []facts.Token) {
			if refused != nil || opts.Tokens == nil {
				return
			}
			if refused = opts.Tokens(batch); refused != nil {
				cancel()
			}
		})
	}
	<-launched
	wg.Wait()
	for _, part := range parts {
		r := part.res
		res.Tokens = append(res.Tokens, r.Tokens...)
		res.Problems = append(res.Problems, r.Problems...)
		for k, v := range r.Counts {
			res.Counts[k] += v
		}
		res.Pages += r.Pages
		res.Mints += r.Mints
		res.Duplicates += r.Duplicates
		for k, v := range r.GitHubIDs {
			res.GitHubIDs[k] = v
		}
	}
	return res
}

// collectOrg reads one organisation into its part.
func collectOrg(ctx context.Context, api *ghapi.API, creds Credentials, cat *facts.Catalog, opts Options, org string, part *orgPart) {
	c := &orgCollector{api: api, org: org, cat: cat, opts: opts, res: part.res, out: part}
	var ia *installationAuth
	c.client, ia = creds.client(api, org)
	c.ownerClient = c.client
	if !opts.Owner.Empty() {
		c.ownerClient = api.Client(opts.Owner)
	}
	if ia != nil {
		// Find the installation and mint its token before anything else: a missing installation
		// is one clear reason, not one per endpoint.
		ia.mu.Lock()
		err := ia.mint(ctx)
		ia.mu.Unlock()
		if err != nil {
			if f := ghapi.Classify(err, api.Host()); f.Kind == ghapi.KindNetwork {
				c.fail("(all endpoints)", err, nil)
			} else {
				c.incomplete("(all endpoints)", ghapiReason(err, api.Host()))
			}
			return
		}
	}
	c.run(ctx)
	if ia != nil {
		c.res.Mints += ia.mints
	}
}

// orgPart is one organisation's collection: its own result, and the batches read but not yet
// handed on. Workers add batches; the sequencer in Collect drains them in organisation order.
type orgPart struct {
	mu      sync.Mutex
	cond    *sync.Cond
	batches [][]facts.Token
	done    bool
	res     *Result
}

func newOrgPart() *orgPart {
	p := &orgPart{res: &Result{Counts: map[string]int{}, GitHubIDs: map[string]GitHubIDs{}}}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *orgPart) add(batch []facts.Token) {
	p.mu.Lock()
	p.batches = append(p.batches, batch)
	p.mu.Unlock()
	p.cond.Signal()
}

func (p *orgPart) finish() {
	p.mu.Lock()
	p.done = true
	p.mu.Unlock()
	p.cond.Signal()
}

// drain hands every batch to each as it arrives, until the organisation is finished.
func (p *orgPart) drain(each func([]facts.Token)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		for len(p.batches) == 0 && !p.done {
			p.cond.Wait()
		}
		if len(p.batches) == 0 {
			return
		}
		batches := p.batches
		p.batches = nil
		p.mu.Unlock()
		for _, b := range batches {
			each(b)
		}
		p.mu.Lock()
	}
}

type orgCollector struct {
	api         *ghapi.API
	client      *github.Client
	ownerClient *github.Client
	org         string
	cat         *facts.Catalog
	opts        Options
	res         *Result
	out         *orgPart
	mu          sync.Mutex
	stopped     bool             // a rate limit, an interruption or the consumer ended this org early
	grantIDs    map[string]int64 // token id → grant id, for the repositories endpoint
}

func (c *orgCollector) run(ctx context.Context) {
	var grants []facts.Token
	if !c.opts.NoGrants {
		grants = c.grants(ctx)
	}
	if c.opts.Repositories && !c.stopped {
		c.repositories(ctx, grants)
	}
	if c.opts.Repositories {
		c.emit(grants)
	}
	c.add(SourceGrants, grants)
	if !c.stopped {
		c.add(SourceRequests, c.requests(ctx))
	} else {
		c.incomplete("personal-access-token-requests", "not read: collection of this organisation stopped early")
	}
	if c.opts.Credentials {
		if !c.stopped {
			c.add(SourceCredentials, c.credentials(ctx))
		} else {
			c.incomplete("credential-authorizations", "not read: collection of this organisation stopped early")
		}
	}
}

// emit hands finished tokens on, to be passed to Options.Tokens in organisation order.
func (c *orgCollector) emit(ts []facts.Token) {
	if len(ts) > 0 {
		c.out.add(append([]facts.Token(nil), ts...))
	}
}

func (c *orgCollector) add(source string, ts []facts.Token) {
	c.res.Tokens = append(c.res.Tokens, ts...)
	c.res.Counts[source] += len(ts)
}

func (c *orgCollector) incomplete(endpoint, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res.Problems = append(c.res.Problems, finding.IncompleteSource("org:"+c.org+" "+endpoint, reason))
}

// fail records why an endpoint could not be read whole; a rate limit or an interruption stops the
// rest of this organisation, since every further call would fail the same way. Safe for concurrent use.
func (c *orgCollector) fail(endpoint string, err error, hint func(*ghapi.Failure) string) {
	f := ghapi.Classify(err, c.api.Host())
	reason := f.Error()
	if hint != nil {
		if h := hint(f); h != "" {
			reason += ": " + h
		}
	}
	switch f.Kind {
	case ghapi.KindRateLimited, ghapi.KindCanceled, ghapi.KindTimeout:
		c.mu.Lock()
		c.stopped = true
		c.mu.Unlock()
	case ghapi.KindNetwork:
		// An API host that cannot be reached (DNS, TLS, refused) is a setting to fix, as in scan:
		// the whole organisation is unread, and the run exits 2.
		c.mu.Lock()
		c.stopped = true
		c.res.Problems = append(c.res.Problems, finding.Problem{Kind: finding.Input, Source: "org:" + c.org + " " + endpoint, Message: reason})
		c.mu.Unlock()
		return
	}
	c.incomplete(endpoint, reason)
}

// page fetches one page (the first, by path, or the next, by Link URL) and decodes it into v. It
// returns the next page's URL ("" at the end).
func (c *orgCollector) page(ctx context.Context, client *github.Client, url string, v any) (string, error) {
	req, err := client.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.BareDo(ctx, req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	if err := dec.Decode(v); err != nil {
		return "", &ghapi.Failure{Kind: ghapi.KindMalformed, Host: c.api.Host(), Status: resp.StatusCode,
			Err: fmt.Errorf("page %s: %w", req.URL.Path, err)}
	}
	c.mu.Lock()
	c.res.Pages++
	c.mu.Unlock()
	return nextLink(resp.Header.Get("Link")), nil
}

// nextLink returns the rel="next" URL of a Link header, as given (it may use another path).
func nextLink(header string) string {
	for _, part := range strings.Split(header, ",") {
		seg := strings.Split(part, ";")
		if len(seg) < 2 {
			continue
		}
		for _, p := range seg[1:] {
			if strings.TrimSpace(p) == `rel="next"` {
				return strings.Trim(strings.TrimSpace(seg[0]), "<>")
			}
		}
	}
	return ""
}

// paginate reads every page of a list endpoint, calling each for every page's items. A failure
// mid-way keeps what was read and returns the error.
func paginate[T any](ctx context.Context, c *orgCollector, client *github.Client, first string, each func([]T) error) error {
	url := first
	seen := map[string]bool{}
	for url != "" {
		key := pageKey(client, url)
		if seen[key] {
			return &ghapi.Failure{Kind: ghapi.KindMalformed, Host: c.api.Host(), Err: fmt.Errorf("the pagination loops: the next page's link repeats a page already read (%s)", key)}
		}
		if len(seen) >= c.opts.MaxPages {
			return &ghapi.Failure{Kind: ghapi.KindOther, Host: c.api.Host(), Err: fmt.Errorf("stopped after %d pages, the most one list may have", c.opts.MaxPages)}
		}
		seen[key] = true
		var items []T
		next, err := c.page(ctx, client, url, &items)
		if err != nil {
			return err
		}
		if items == nil {
			return &ghapi.Failure{Kind: ghapi.KindMalformed, Host: c.api.Host(), Err: errors.New("a page that is not a JSON list")}
		}
		if err := each(items); err != nil {
			return err
		}
		url = next
	}
	return nil
}

// pageKey names a page for loop detection: its absolute URL with the query in a fixed order and
// the implicit page=1 written out, so a link back to the first page is recognised.
func pageKey(client *github.Client, raw string) string {
	u, err := client.BaseURL.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	if q.Get("page") == "" {
		q.Set("page", "1")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (c *orgCollector) progress(n int) {
	if c.opts.Progress != nil {
		c.mu.Lock()
		p := Progress{Org: c.org, Pages: c.res.Pages, Tokens: len(c.res.Tokens) + n}
		c.mu.Unlock()
		c.opts.Progress(p)
	}
}

// grant is one approved fine-grained token with access to the organisation, as the API returns it.
type grant struct {
	ID                  int64              `json:"id"`
	Owner               *account           `json:"owner"`
	RepositorySelection string             `json:"repository_selection"`
	Permissions         *facts.Permissions `json:"permissions"` // the API's organization, repository and other
	AccessGrantedAt     *github.Timestamp  `json:"access_granted_at"`
	TokenID             int64              `json:"token_id"`
	TokenName           string             `json:"token_name"`
	TokenExpired        bool               `json:"token_expired"`
	TokenExpiresAt      *github.Timestamp  `json:"token_expires_at"`
	TokenLastUsedAt     *github.Timestamp  `json:"token_last_used_at"`
	Reason              string             `json:"reason"`     // requests only
	CreatedAt           *github.Timestamp  `json:"created_at"` // requests only
}

type account struct {
	Login string `json:"login"`
}

// credential is one SAML credential authorization.
type credential struct {
	Login                         string            `json:"login"`
	CredentialID                  int64             `json:"credential_id"`
	CredentialType                string            `json:"credential_type"`
	TokenLastEight                string            `json:"token_last_eight"`
	Scopes                        []string          `json:"scopes"`
	CredentialAuthorizedAt        *github.Timestamp `json:"credential_authorized_at"`
	CredentialAccessedAt          *github.Timestamp `json:"credential_accessed_at"`
	AuthorizedCredentialNote      string            `json:"authorized_credential_note"`
	AuthorizedCredentialExpiresAt *github.Timestamp `json:"authorized_credential_expires_at"`
}

func appHint(what string) func(*ghapi.Failure) string {
	return func(f *ghapi.Failure) string {
		switch f.Kind {
		case ghapi.KindForbidden, ghapi.KindRejected:
			return "this endpoint answers GitHub Apps only; authenticate as an App installed on the organisation with the organization permission \"" + what + "\" (read)"
		case ghapi.KindNotFound:
			return "no such organisation, or the host does not have the fine-grained token API (Enterprise Server before 3.10)"
		}
		return ""
	}
}

// grants lists the approved fine-grained tokens. Their ids are the tokens' ids; the grant ids are
// kept for the repositories endpoint.
func (c *orgCollector) grants(ctx context.Context) []facts.Token {
	c.grantIDs = map[string]int64{}
	return c.fineGrainedList(ctx, "personal-access-tokens", "Personal access tokens", !c.opts.Repositories, func(g grant) (facts.Token, error) {
		if g.TokenID == 0 || g.ID == 0 {
			return facts.Token{}, errors.New("a grant lacks id or token_id")
		}
		c.grantIDs[strconv.FormatInt(g.TokenID, 10)] = g.ID
		t := c.fineGrained(g, "pat", g.TokenID, facts.ApprovalApproved)
		c.res.GitHubIDs[t.ID] = GitHubIDs{Grant: g.ID, Token: g.TokenID}
		return t, nil
	})
}

// requests lists the pending requests.
func (c *orgCollector) requests(ctx context.Context) []facts.Token {
	return c.fineGrainedList(ctx, "personal-access-token-requests", "Personal access token requests", true, func(r grant) (facts.Token, error) {
		if r.ID == 0 {
			return facts.Token{}, errors.New("a request lacks id")
		}
		t := c.fineGrained(r, "request", r.ID, facts.ApprovalPending)
		c.res.GitHubIDs[t.ID] = GitHubIDs{Request: r.ID, Token: r.TokenID}
		return t, nil
	})
}

// fineGrainedList reads every page of a grant-shaped list endpoint of the organisation, turning each
// item into a token with toToken (an error makes the page malformed), and hands each page on when
// stream is set.
func (c *orgCollector) fineGrainedList(ctx context.Context, endpoint, permission string, stream bool, toToken func(grant) (facts.Token, error)) []facts.Token {
	var out []facts.Token
	seen := map[string]bool{}
	first := fmt.Sprintf("orgs/%s/%s?per_page=100", c.org, endpoint)
	err := paginate(ctx, c, c.client, first, func(items []grant) error {
		page := len(out)
		for i, item := range items {
			t, err := toToken(item)
			if err != nil {
				return &ghapi.Failure{Kind: ghapi.KindMalformed, Host: c.api.Host(), Err: fmt.Errorf("item %d of a page: %w", i+1, err)}
			}
			if seen[t.ID] {
				c.res.Duplicates++
				continue
			}
			seen[t.ID] = true
			out = append(out, t)
		}
		if stream {
			c.emit(out[page:])
		}
		c.progress(len(out))
		return nil
	})
	if err != nil {
		c.fail(endpoint, err, appHint(permission))
	}
	return out
}

func (c *orgCollector) fineGrained(g grant, kind string, id int64, approval facts.Approval) facts.Token {
	t := facts.Token{
		ID:                  fmt.Sprintf("org:%s/%s:%d", c.org, kind, id),
		Name:                g.TokenName,
		Description:         g.Reason,
		Type:                facts.TypeFineGrained,
		ResourceOwner:       c.org,
		RepositorySelection: facts.RepositorySelection(g.RepositorySelection),
		Approval:            approval,
		ExpiresAt:           stamp(g.TokenExpiresAt),
		LastUsedAt:          stamp(g.TokenLastUsedAt),
		Source:              facts.Source{Kind: facts.SourceOrgAudit},
	}
	if g.Owner != nil {
		t.Owner = g.Owner.Login
	} else {
		t.MarkUnknown(facts.FactOwner)
	}
	if approval == facts.ApprovalApproved {
		t.CreatedAt = stamp(g.AccessGrantedAt)
	} else {
		t.CreatedAt = stamp(g.CreatedAt)
	}
	if g.TokenExpired && t.ExpiresAt == nil {
		t.MarkUnknown(facts.FactExpiresAt) // expired, but GitHub did not say when
	}
	if g.Permissions == nil {
		t.MarkUnknown(facts.FactPermissions)
	} else {
		// "other" holds permissions outside the two groups (account permissions); place each by the
		// catalogue, so only names GitHub does not define end up as unknown permissions.
		p := c.cat.Group(g.Permissions.Other)
		p.Organization = merge(p.Organization, g.Permissions.Organization)
		p.Repository = merge(p.Repository, g.Permissions.Repository)
		t.Permissions = p
	}
	if t.RepositorySelection == "" {
		t.MarkUnknown(facts.FactRepositorySelection)
	}
	return t
}

func (c *orgCollector) credentials(ctx context.Context) []facts.Token {
	var out []facts.Token
	first := fmt.Sprintf("orgs/%s/credential-authorizations?per_page=100", c.org)
	err := paginate(ctx, c, c.ownerClient, first, func(cs []credential) error {
		page := len(out)
		for _, cr := range cs {
			if cr.CredentialType != "personal access token" {
				continue // SSH keys and other credentials are not tokens
			}
			t := facts.Token{
				ID:         fmt.Sprintf("org:%s/credential:%d", c.org, cr.CredentialID),
				Name:       cr.AuthorizedCredentialNote,
				Type:       facts.TypeClassic,
				Owner:      cr.Login,
				Scopes:     cr.Scopes,
				ExpiresAt:  stamp(cr.AuthorizedCredentialExpiresAt),
				LastUsedAt: stamp(cr.CredentialAccessedAt),
				SSO:        facts.SSOAuthorized,
				Source:     facts.Source{Kind: facts.SourceOrgAudit},
			}
			if t.Scopes == nil {
				t.Scopes = []string{}
			}
			if n := len(cr.TokenLastEight); n >= 4 {
				t.LastFour = cr.TokenLastEight[n-4:]
			}
			out = append(out, t)
		}
		c.emit(out[page:])
		c.progress(len(out))
		return nil
	})
	if err != nil {
		c.fail("credential-authorizations", err, func(f *ghapi.Failure) string {
			switch f.Kind {
			case ghapi.KindNotFound:
				return withHint("credential authorizations exist only on Enterprise Cloud organisations with SAML SSO", c.opts.Hints.NoCredentials)
			case ghapi.KindForbidden, ghapi.KindRejected:
				return withHint("this endpoint needs an organisation owner's token with read:org", c.opts.Hints.OwnerToken)
			}
			return ""
		})
	}
	return out
}

// repositories lists the repositories of every grant limited to a subset, a few at a time.
func (c *orgCollector) repositories(ctx context.Context, grants []facts.Token) {
	sem := make(chan struct{}, c.opts.Concurrency)
	var wg sync.WaitGroup
	for i := range grants {
		if grants[i].RepositorySelection != facts.SelectSubset {
			continue
		}
		id := strings.TrimPrefix(grants[i].ID, "org:"+c.org+"/pat:")
		grantID, ok := c.grantIDs[id]
		if !ok {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(t *facts.Token, grantID int64) {
			defer wg.Done()
			defer func() { <-sem }()
			var repos []string
			first := fmt.Sprintf("orgs/%s/personal-access-tokens/%d/repositories?per_page=100", c.org, grantID)
			err := paginate(ctx, c, c.client, first, func(rs []struct {
				FullName string `json:"full_name"`
			}) error {
				for _, r := range rs {
					repos = append(repos, r.FullName)
				}
				return nil
			})
			if err != nil {
				c.mu.Lock()
				t.MarkUnknown("repositories")
				c.mu.Unlock()
				c.fail("personal-access-tokens/"+strconv.FormatInt(grantID, 10)+"/repositories", err, nil)
				return
			}
			t.Repositories = repos
		}(&grants[i], grantID)
	}
	wg.Wait()
}

// withHint appends the caller's hint to a reason.
func withHint(reason, hint string) string {
	if hint == "" {
		return reason
	}
	return reason + "; " + hint
}

// ghapiReason describes an error for an incomplete entry: a wrapped API failure by its message.
func ghapiReason(err error, host string) string {
	var f *ghapi.Failure
	if errors.As(err, &f) {
		return err.Error()
	}
	return ghapi.Classify(err, host).Error()
}

func stamp(t *github.Timestamp) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func merge(dst, src map[string]string) map[string]string {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]string{}
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}
