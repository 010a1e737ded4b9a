// Package audit collects, read-only, every token with access to a GitHub organisation: approved
// fine-grained grants and pending requests (GitHub Apps only) and, on Enterprise Cloud with SAML,
// the credential authorizations of classic and OAuth app tokens. It normalises them into token
// facts. A part it cannot read whole is reported incomplete with the reason, never as zero tokens.
//
// A pending request for a token the organisation already approved (an upgrade request: same
// token_id as a grant) is one token, the request's (org:ORG/request:ID: what is pending is the
// request, and review decides requests): it carries what the token would have once approved (the
// broader repository selection, the higher level of each permission), approval "pending", and the
// approved grant's access in facts.Token.Current; the grant is not listed on its own, and the
// token's GitHubIDs carry pat_id as well as pat_request_id.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
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
	// Owners, when set, limits the audit to the tokens of these accounts (logins): GitHub's
	// owner[] filter of the grant and request lists, at most MaxOwnersPerCall a call (a longer
	// list takes several calls), and the login filter of credential authorizations (one call per
	// owner).
	Owners []string
	// Repositories also lists the repositories of grants and requests limited to a subset.
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
	// Upgrades counts the pending requests that took in the approved grant of the same token
	// (upgrade requests): each is one token, counted under requests.
	Upgrades int
	// Skipped counts the credential authorizations that are not tokens (SSH keys, ...), by
	// GitHub's credential_type ("other" for a type that is not plain text): listed by GitHub,
	// not judged.
	Skipped map[string]int
	// GitHubIDs are GitHub's ids behind each token fact id, for the calls that act on a token
	// (review and revoke): a grant's pat_id and token_id, a request's pat_request_id and the
	// token_id of the token it asks for; an upgrade request's token has all three.
	GitHubIDs map[string]GitHubIDs
}

// MaxOwnersPerCall is how many logins GitHub's owner[] filter takes in one call.
const MaxOwnersPerCall = 10

// GitHubIDs are the ids GitHub gives a grant or a request.
type GitHubIDs struct {
	Grant   int64 `json:"pat_id,omitempty"`
	Request int64 `json:"pat_request_id,omitempty"`
	Token   int64 `json:"token_id,omitempty"`
}

var (
	orgName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$`) })
	// A user login: letters, digits and hyphens, and the underscore and longer names of Enterprise
	// Managed Users (login_shortcode).
	userLogin = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,98}[A-Za-z0-9])?$`) })
)

// ValidOrg reports whether s can be a GitHub organisation login.
func ValidOrg(s string) bool { return orgName().MatchString(s) }

// ValidLogin reports whether s can be a GitHub user login.
func ValidLogin(s string) bool { return userLogin().MatchString(s) }

// Collect reads the organisations, several at once, and hands their tokens to Options.Tokens in
// the order of Options.Orgs. It stops early only when ctx ends or Tokens refuses a batch; what was
// collected by then is returned, with the unfinished parts marked incomplete.
func Collect(ctx context.Context, api *ghapi.API, creds Credentials, cat *facts.Catalog, opts Options) *Result {
	res := newResult()
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
	if len(opts.Owners) > 0 {
		var ok bool
		if opts.Owners, ok = owners(opts.Owners, res); !ok {
			// A targeted audit whose every owner is wrong audits nobody, not everybody.
			return res
		}
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
		res.Upgrades += r.Upgrades
		for k, v := range r.Skipped {
			res.Skipped[k] += v
		}
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
	p := &orgPart{res: newResult()}
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
	stopped     bool // a rate limit, an interruption or the consumer ended this org early
	// repoLists are the repository lists behind each token fact id limited to a subset, for
	// Options.Repositories.
	repoLists map[string][]repoList
}

func (c *orgCollector) run(ctx context.Context) {
	c.repoLists = map[string][]repoList{}
	// Pending requests first: a request for a token the organisation already approved takes that
	// token's grant in, and the grants are still handed on page by page as they are read. Requests
	// are few; they are handed on after the grants. NoGrants (review without revocation) reads
	// requests alone.
	reqs := c.requests(ctx)
	var grants []facts.Token
	switch {
	case c.opts.NoGrants:
	case !c.stopped:
		grants = c.grants(ctx, reqs)
	default:
		c.incomplete("personal-access-tokens", "not read: collection of this organisation stopped early")
	}
	pending := reqs.pending(c)
	if c.opts.Repositories {
		c.repositories(ctx, grants, pending)
		c.emit(grants)
	}
	c.emit(pending)
	c.add(SourceGrants, grants)
	c.add(SourceRequests, pending)
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
	// A page of 100 items is a few hundred KiB: a body past MaxPageBytes is cut, so it fails to
	// decode and the list is incomplete, instead of exhausting memory.
	dec := json.NewDecoder(io.LimitReader(resp.Body, MaxPageBytes))
	if err := dec.Decode(v); err != nil {
		return "", &ghapi.Failure{Kind: ghapi.KindMalformed, Host: c.api.Host(), Status: resp.StatusCode,
			Err: fmt.Errorf("page %s: %w", req.URL.Path, err)}
	}
	c.mu.Lock()
	c.res.Pages++
	c.mu.Unlock()
	return nextLink(resp.Header.Get("Link")), nil
}

// MaxPageBytes bounds one API page's body (32 MiB).
const MaxPageBytes = 32 << 20

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
