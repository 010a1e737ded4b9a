package audit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/ghapi"
)

// factRepositories names the repositories fact in facts.Token.Unknown.
const factRepositories = "repositories"

// GitHub's credential_type values of the credential authorizations that are tokens.
const (
	credentialClassic = "personal access token"
	credentialOAuth   = "OAuth app token"
)

func newResult() *Result {
	return &Result{Counts: map[string]int{}, GitHubIDs: map[string]GitHubIDs{}, Skipped: map[string]int{}}
}

// owners checks and de-duplicates the owner logins of a targeted audit; a login GitHub cannot have
// is an input problem and left out. ok is false when none is left.
func owners(logins []string, res *Result) (out []string, ok bool) {
	seen := map[string]bool{}
	for _, l := range logins {
		l = strings.TrimSpace(l)
		if !ValidLogin(l) {
			res.Problems = append(res.Problems, finding.Problem{Kind: finding.Input, Source: "owner", Message: fmt.Sprintf("%q is not a GitHub login", l)})
			continue
		}
		if key := strings.ToLower(l); !seen[key] {
			seen[key] = true
			out = append(out, l)
		}
	}
	return out, len(out) > 0
}

// firstPages are the first pages of an organisation list endpoint: one, or with Options.Owners one
// per MaxOwnersPerCall owners, each filtered with GitHub's owner[] parameter.
func (c *orgCollector) firstPages(endpoint string) []string {
	base := fmt.Sprintf("orgs/%s/%s", c.org, endpoint)
	if len(c.opts.Owners) == 0 {
		return []string{base + "?per_page=100"}
	}
	var out []string
	for i := 0; i < len(c.opts.Owners); i += MaxOwnersPerCall {
		q := url.Values{"per_page": {"100"}, "owner[]": c.opts.Owners[i:min(i+MaxOwnersPerCall, len(c.opts.Owners))]}
		out = append(out, base+"?"+q.Encode())
	}
	return out
}

// listSpec says how to read one grant-shaped list endpoint.
type listSpec struct {
	endpoint   string // below orgs/ORG/
	permission string // the App permission it needs, for the refusal's hint
	stream     bool   // hand each page on as soon as it is read
	// token turns an item into a token, or says why the item is malformed.
	token func(grant) (facts.Token, error)
	// keep, when set, is told of each token read (not a duplicate) before it is handed on; it may
	// change the token, or leave it out of the list by returning false.
	keep func(grant, *facts.Token) bool
}

// fineGrainedList reads every page of a grant-shaped list endpoint of the organisation (each owner
// filter's, with Options.Owners), turning each item into a token (an error makes the page
// malformed), and hands each page on when the spec streams.
func (c *orgCollector) fineGrainedList(ctx context.Context, spec listSpec) []facts.Token {
	var out []facts.Token
	seen := map[string]bool{}
	for _, first := range c.firstPages(spec.endpoint) {
		if c.isStopped() {
			c.incomplete(spec.endpoint, "not read whole: collection of this organisation stopped early")
			break
		}
		err := paginate(ctx, c, c.client, first, func(items []grant) error {
			page := len(out)
			for i, item := range items {
				t, err := spec.token(item)
				if err != nil {
					return &ghapi.Failure{Kind: ghapi.KindMalformed, Host: c.api.Host(), Err: fmt.Errorf("item %d of a page: %w", i+1, err)}
				}
				if seen[t.ID] {
					c.res.Duplicates++
					continue
				}
				seen[t.ID] = true
				if spec.keep != nil && !spec.keep(item, &t) {
					continue
				}
				out = append(out, t)
			}
			if spec.stream {
				c.emit(out[page:])
			}
			c.progress(len(out))
			return nil
		})
		if err != nil {
			c.fail(spec.endpoint, err, appHint(spec.permission))
			break
		}
	}
	return out
}

func (c *orgCollector) isStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

// requestSet is the organisation's pending requests, read before the grants so that a request for
// a token the organisation already approved (an upgrade request) takes that token's grant in.
type requestSet struct {
	tokens  []facts.Token
	items   map[string]grant // the request behind each token, by fact id
	byToken map[int64]int    // token_id → index in tokens of the newest request for it
	grants  map[int]grant    // index in tokens → the grant an upgrade request took in
}

// requests lists the pending requests; they are handed on after the grants, by pending.
func (c *orgCollector) requests(ctx context.Context) *requestSet {
	rs := &requestSet{items: map[string]grant{}, byToken: map[int64]int{}, grants: map[int]grant{}}
	rs.tokens = c.fineGrainedList(ctx, listSpec{
		endpoint: "personal-access-token-requests", permission: "Personal access token requests",
		token: func(r grant) (facts.Token, error) {
			if r.ID == 0 {
				return facts.Token{}, errors.New("a request lacks id")
			}
			return c.fineGrained(r, "request", r.ID, facts.ApprovalPending), nil
		},
		keep: func(r grant, t *facts.Token) bool {
			rs.items[t.ID] = r
			return true
		},
	})
	for i, t := range rs.tokens {
		r := rs.items[t.ID]
		if r.TokenID == 0 {
			continue
		}
		if j, ok := rs.byToken[r.TokenID]; !ok || rs.items[rs.tokens[j].ID].ID < r.ID {
			rs.byToken[r.TokenID] = i
		}
	}
	return rs
}

// pending returns the requests, each one token (an upgrade request with its grant taken in), and
// records their ids and repository lists.
func (rs *requestSet) pending(c *orgCollector) []facts.Token {
	for i := range rs.tokens {
		t := &rs.tokens[i]
		r := rs.items[t.ID]
		ids := GitHubIDs{Request: r.ID, Token: r.TokenID}
		var lists []repoList
		judged := t.RepositorySelection == facts.SelectSubset
		if g, ok := rs.grants[i]; ok {
			ids.Grant = g.ID
			// The grant's repositories are the approved ones; they are also part of what the
			// token is judged on when it stays limited to a subset.
			if t.Current.RepositorySelection == facts.SelectSubset {
				lists = append(lists, repoList{path: grantRepositories(c.org, g.ID), current: true, requested: judged})
			}
		}
		if r.RepositorySelection == string(facts.SelectSubset) && judged {
			lists = append(lists, repoList{path: requestRepositories(c.org, r.ID), requested: true})
		}
		if len(lists) > 0 {
			c.repoLists[t.ID] = lists
		}
		c.res.GitHubIDs[t.ID] = ids
	}
	return rs.tokens
}

// grants lists the approved fine-grained tokens; their fact ids are the tokens' ids. A grant with a
// pending request for the same token is taken into that request (see upgrade) and left out here.
func (c *orgCollector) grants(ctx context.Context, reqs *requestSet) []facts.Token {
	return c.fineGrainedList(ctx, listSpec{
		endpoint: "personal-access-tokens", permission: "Personal access tokens", stream: !c.opts.Repositories,
		token: func(g grant) (facts.Token, error) {
			if g.TokenID == 0 || g.ID == 0 {
				return facts.Token{}, errors.New("a grant lacks id or token_id")
			}
			return c.fineGrained(g, "pat", g.TokenID, facts.ApprovalApproved), nil
		},
		keep: func(g grant, t *facts.Token) bool {
			if i, ok := reqs.byToken[g.TokenID]; ok {
				if _, taken := reqs.grants[i]; !taken {
					reqs.grants[i] = g
					c.upgrade(&reqs.tokens[i], *t)
					c.res.Upgrades++
					return false
				}
			}
			c.res.GitHubIDs[t.ID] = GitHubIDs{Grant: g.ID, Token: g.TokenID}
			if t.RepositorySelection == facts.SelectSubset {
				c.repoLists[t.ID] = []repoList{{path: grantRepositories(c.org, g.ID), requested: true}}
			}
			return true
		},
	})
}

func grantRepositories(org string, patID int64) string {
	return fmt.Sprintf("orgs/%s/personal-access-tokens/%d/repositories?per_page=100", org, patID)
}

func requestRepositories(org string, requestID int64) string {
	return fmt.Sprintf("orgs/%s/personal-access-token-requests/%d/repositories?per_page=100", org, requestID)
}

// upgrade takes the approved grant g of the same token into the pending request t: one token, with
// the request's id, judged on what it would be once the request is approved, and the approved access
// kept as Current. GitHub's request lists the permissions requested; each permission gets the higher
// level of grant and request, and the repository selection the broader of the two, so the token is
// never judged on less than it could reach.
func (c *orgCollector) upgrade(t *facts.Token, g facts.Token) {
	t.Current = &facts.Access{ID: g.ID, RepositorySelection: g.RepositorySelection, Permissions: g.Permissions, GrantedAt: g.CreatedAt}
	if t.Name == "" {
		t.Name = g.Name
	}
	t.RepositorySelection = broader(g.RepositorySelection, t.RepositorySelection)
	t.Permissions = c.higher(g.Permissions, t.Permissions)
	// The token existed when its access was first granted: the earlier bound on its creation.
	if g.CreatedAt != nil && (t.CreatedAt == nil || g.CreatedAt.Before(*t.CreatedAt)) {
		t.CreatedAt = g.CreatedAt
	}
	switch {
	case t.ExpiresAt == nil || g.ExpiresAt == nil:
		// One of them never expires (or expired at a time GitHub did not say, marked below).
		if !t.IsUnknown(facts.FactExpiresAt) && !g.IsUnknown(facts.FactExpiresAt) {
			t.ExpiresAt = nil
		}
	case g.ExpiresAt.After(*t.ExpiresAt):
		t.ExpiresAt = g.ExpiresAt
	}
	if g.LastUsedAt != nil && (t.LastUsedAt == nil || g.LastUsedAt.After(*t.LastUsedAt)) {
		t.LastUsedAt = g.LastUsedAt
	}
	for _, u := range g.Unknown {
		t.MarkUnknown(u)
	}
	if t.Permissions == nil {
		t.MarkUnknown(facts.FactPermissions)
	}
	if t.RepositorySelection == "" {
		t.MarkUnknown(facts.FactRepositorySelection)
	}
}

// broader is the wider of two repository selections (all, then subset, then none); "" when either
// is unknown.
func broader(a, b facts.RepositorySelection) facts.RepositorySelection {
	rank := map[facts.RepositorySelection]int{facts.SelectNone: 1, facts.SelectSubset: 2, facts.SelectAll: 3}
	if rank[a] == 0 || rank[b] == 0 {
		return ""
	}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// higher is each permission of a or b at the higher of its two levels; nil when either is unknown.
func (c *orgCollector) higher(a, b *facts.Permissions) *facts.Permissions {
	if a == nil || b == nil {
		return nil
	}
	pick := func(x, y map[string]string) map[string]string {
		if len(x) == 0 && len(y) == 0 {
			return nil
		}
		out := map[string]string{}
		for _, m := range []map[string]string{x, y} {
			for name, level := range m {
				if have, ok := out[name]; !ok || c.cat.Levels[level] > c.cat.Levels[have] {
					out[name] = level
				}
			}
		}
		return out
	}
	return &facts.Permissions{
		Repository:   pick(a.Repository, b.Repository),
		Organization: pick(a.Organization, b.Organization),
		Account:      pick(a.Account, b.Account),
		Other:        pick(a.Other, b.Other),
	}
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
		t.Permissions = c.cat.FromGitHub(g.Permissions)
	}
	if t.RepositorySelection == "" {
		t.MarkUnknown(facts.FactRepositorySelection)
	}
	return t
}

// plainType is a credential_type worth repeating in a count; anything else is "other".
var plainType = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$`) })

func (c *orgCollector) credentials(ctx context.Context) []facts.Token {
	var out []facts.Token
	seen := map[int64]bool{}
	firsts := []string{fmt.Sprintf("orgs/%s/credential-authorizations?per_page=100", c.org)}
	if len(c.opts.Owners) > 0 {
		// This endpoint filters by one login a call.
		firsts = firsts[:0]
		for _, o := range c.opts.Owners {
			firsts = append(firsts, fmt.Sprintf("orgs/%s/credential-authorizations?%s", c.org, url.Values{"login": {o}, "per_page": {"100"}}.Encode()))
		}
	}
	for _, first := range firsts {
		if c.isStopped() {
			c.incomplete("credential-authorizations", "not read whole: collection of this organisation stopped early")
			break
		}
		err := paginate(ctx, c, c.ownerClient, first, func(cs []credential) error {
			page := len(out)
			for _, cr := range cs {
				t, ok := c.credential(cr)
				if !ok {
					continue
				}
				if seen[cr.CredentialID] {
					c.res.Duplicates++
					continue
				}
				seen[cr.CredentialID] = true
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
					return withHint("this endpoint needs an organisation owner's token with read:org, or a GitHub App with the organization permission \"Administration\" (read)", c.opts.Hints.OwnerToken)
				}
				return ""
			})
			break
		}
	}
	return out
}

// credential turns a credential authorization into a token: personal access tokens (classic) and
// OAuth app tokens, with their scopes. Other credentials (SSH keys) are counted in Skipped.
func (c *orgCollector) credential(cr credential) (facts.Token, bool) {
	var typ facts.TokenType
	switch {
	case strings.EqualFold(cr.CredentialType, credentialClassic):
		typ = facts.TypeClassic
	case strings.EqualFold(cr.CredentialType, credentialOAuth):
		typ = facts.TypeOAuth
	default:
		kind := cr.CredentialType
		if !plainType().MatchString(kind) {
			kind = "other"
		}
		c.res.Skipped[kind]++
		return facts.Token{}, false
	}
	t := facts.Token{
		ID:     fmt.Sprintf("org:%s/credential:%d", c.org, cr.CredentialID),
		Name:   cr.AuthorizedCredentialNote,
		Type:   typ,
		Owner:  cr.Login,
		Scopes: cr.Scopes,
		// The token was created before it was authorized for SSO: a bound on its creation, as the
		// grant time is for fine-grained tokens.
		CreatedAt:  stamp(cr.CredentialAuthorizedAt),
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
	return t, true
}

// repoList is one list of repositories behind a token limited to a subset: a grant's or a request's.
type repoList struct {
	path      string // the first page, relative to the API root
	current   bool   // the approved grant's list of an upgrade request: Current.Repositories
	requested bool   // part of what the token is judged on: Repositories
}

// repositories lists the repositories of every token limited to a subset, a few lists at a time.
// A list that cannot be read leaves the token's repositories unknown, with the reason.
func (c *orgCollector) repositories(ctx context.Context, groups ...[]facts.Token) {
	type job struct {
		t     *facts.Token
		list  repoList
		repos []string
		err   error
	}
	var jobs []*job
	for _, ts := range groups {
		for i := range ts {
			for _, l := range c.repoLists[ts[i].ID] {
				jobs = append(jobs, &job{t: &ts[i], list: l})
			}
		}
	}
	sem := make(chan struct{}, c.opts.Concurrency)
	var wg sync.WaitGroup
	skipped := 0
	for _, j := range jobs {
		if c.isStopped() {
			j.err = errStopped
			skipped++
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			j.err = paginate(ctx, c, c.client, j.list.path, func(rs []struct {
				FullName string `json:"full_name"`
			}) error {
				for _, r := range rs {
					j.repos = append(j.repos, r.FullName)
				}
				return nil
			})
			if j.err != nil {
				c.fail(strings.TrimPrefix(strings.SplitN(j.list.path, "?", 2)[0], "orgs/"+c.org+"/"), j.err, nil)
			}
		}()
	}
	wg.Wait()
	if skipped > 0 {
		c.incomplete("repositories", fmt.Sprintf("%d list(s) of repositories not read: collection of this organisation stopped early", skipped))
	}
	for _, j := range jobs {
		if j.err != nil {
			if j.list.requested {
				j.t.MarkUnknown(factRepositories)
			}
			continue
		}
		if j.list.current && j.t.Current != nil {
			j.t.Current.Repositories = append(j.t.Current.Repositories, j.repos...)
		}
		if j.list.requested {
			j.t.Repositories = union(j.t.Repositories, j.repos)
		}
	}
	for _, ts := range groups {
		for i := range ts {
			if ts[i].IsUnknown(factRepositories) {
				ts[i].Repositories = nil // part of a list is not the list
			}
		}
	}
}

var errStopped = errors.New("collection stopped early")

// union appends the names of b that a lacks, in order.
func union(a, b []string) []string {
	have := map[string]bool{}
	for _, x := range a {
		have[x] = true
	}
	out := append([]string(nil), a...)
	for _, x := range b {
		if !have[x] {
			have[x] = true
			out = append(out, x)
		}
	}
	return out
}
