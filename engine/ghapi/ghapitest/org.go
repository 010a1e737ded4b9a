package ghapitest

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// Org is one organisation the fake serves: its lists, as GitHub's documented JSON objects.
type Org struct {
	Login        string
	ID           int64 // for the /organizations/ID/... form of pagination links
	Grants       []json.RawMessage
	Requests     []json.RawMessage
	Credentials  []json.RawMessage
	Repositories map[int64][]json.RawMessage // by grant id (pat_id)
	// RequestRepositories are the repositories of requests limited to a subset, by pat_request_id.
	RequestRepositories map[int64][]json.RawMessage
	// Allowed are the fingerprints of the credentials the org's endpoints answer; others get 403.
	Allowed []string
	// OwnerAllowed, when set, are the credentials credential-authorizations answers instead.
	OwnerAllowed []string
}

// FixtureList loads a JSON list fixture (fixtures/github/NAME) as raw items.
func FixtureList(t testing.TB, name string) []json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(FixturesDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return items
}

// faults are canned answers served instead of the real one, by "PATH?page=N", in order.
type faults struct {
	mu sync.Mutex
	m  map[string][]Response
}

// Fault makes the next `times` requests for page of path (page 1 is the first) get resp instead.
func (s *Server) Fault(path string, page int, resp Response, times int) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if s.faults.m == nil {
		s.faults.m = map[string][]Response{}
	}
	key := fmt.Sprintf("%s?page=%d", path, page)
	for i := 0; i < times; i++ {
		s.faults.m[key] = append(s.faults.m[key], resp)
	}
}

func (s *Server) fault(path string, page int) (Response, bool) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	key := fmt.Sprintf("%s?page=%d", path, page)
	rs := s.faults.m[key]
	if len(rs) == 0 {
		return Response{}, false
	}
	s.faults.m[key] = rs[1:]
	return rs[0], true
}

// ServeOrg serves the organisation's token endpoints with GitHub's pagination (per_page, page,
// Link with rel="next" and rel="last", next links in the /organizations/ID/ form, keeping the
// query's filters) and filters: owner[] on the grant and request lists (at most 10 logins, as
// GitHub documents; more is a 422) and login on credential authorizations.
func (s *Server) ServeOrg(o *Org) {
	type filter func(w http.ResponseWriter, r *http.Request, items []json.RawMessage) ([]json.RawMessage, bool)
	list := func(items func() []json.RawMessage, ownerEndpoint bool, orgPath, idPath string, filters ...filter) {
		h := func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			allowed := o.Allowed
			if ownerEndpoint && o.OwnerAllowed != nil {
				allowed = o.OwnerAllowed
			}
			allowed = append([]string(nil), allowed...)
			s.mu.Unlock()
			if !allowedCred(r, allowed) {
				Write(w, r, jsonResponse(http.StatusForbidden, `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/orgs/personal-access-tokens","status":"403"}`))
				return
			}
			all := items()
			for _, f := range filters {
				var ok bool
				if all, ok = f(w, r, all); !ok {
					return
				}
			}
			s.page(w, r, orgPath, all, "/organizations/"+strconv.FormatInt(o.ID, 10)+idPath)
		}
		s.Handle(orgPath, h)
		s.Handle("/organizations/"+strconv.FormatInt(o.ID, 10)+idPath, h)
	}
	base := "/orgs/" + o.Login
	list(func() []json.RawMessage { return o.Grants }, false, base+"/personal-access-tokens", "/personal-access-tokens", byOwner)
	list(func() []json.RawMessage { return o.Requests }, false, base+"/personal-access-token-requests", "/personal-access-token-requests", byOwner)
	if o.Credentials != nil {
		list(func() []json.RawMessage { return o.Credentials }, true, base+"/credential-authorizations", "/credential-authorizations", byLogin)
	} else {
		s.Handle(base+"/credential-authorizations", func(w http.ResponseWriter, r *http.Request) {
			Write(w, r, jsonResponse(http.StatusNotFound, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/orgs/orgs#list-saml-sso-authorizations-for-an-organization","status":"404"}`))
		})
	}
	for id, repos := range o.Repositories {
		p := fmt.Sprintf("%s/personal-access-tokens/%d/repositories", base, id)
		list(func() []json.RawMessage { return repos }, false, p, fmt.Sprintf("/personal-access-tokens/%d/repositories", id))
	}
	for id, repos := range o.RequestRepositories {
		p := fmt.Sprintf("%s/personal-access-token-requests/%d/repositories", base, id)
		list(func() []json.RawMessage { return repos }, false, p, fmt.Sprintf("/personal-access-token-requests/%d/repositories", id))
	}
}

// byOwner keeps the items whose owner.login is one of the owner[] logins of the query, if any.
func byOwner(w http.ResponseWriter, r *http.Request, items []json.RawMessage) ([]json.RawMessage, bool) {
	logins := r.URL.Query()["owner[]"]
	if len(logins) == 0 {
		return items, true
	}
	if len(logins) > 10 {
		Write(w, r, jsonResponse(http.StatusUnprocessableEntity, `{"message":"Validation Failed","errors":[{"resource":"Request","field":"owner","code":"invalid"}],"documentation_url":"https://docs.github.com/rest/orgs/personal-access-tokens","status":"422"}`))
		return nil, false
	}
	return keep(items, logins, func(item json.RawMessage) string {
		var v struct {
			Owner struct {
				Login string `json:"login"`
			} `json:"owner"`
		}
		_ = json.Unmarshal(item, &v)
		return v.Owner.Login
	}), true
}

// byLogin keeps the credential authorizations of the query's login, if any.
func byLogin(_ http.ResponseWriter, r *http.Request, items []json.RawMessage) ([]json.RawMessage, bool) {
	login := r.URL.Query().Get("login")
	if login == "" {
		return items, true
	}
	return keep(items, []string{login}, func(item json.RawMessage) string {
		var v struct {
			Login string `json:"login"`
		}
		_ = json.Unmarshal(item, &v)
		return v.Login
	}), true
}

// keep returns the items whose login (case-insensitive, as GitHub compares logins) is listed.
func keep(items []json.RawMessage, logins []string, login func(json.RawMessage) string) []json.RawMessage {
	out := []json.RawMessage{}
	for _, item := range items {
		for _, l := range logins {
			if strings.EqualFold(login(item), l) {
				out = append(out, item)
				break
			}
		}
	}
	return out
}

func allowedCred(r *http.Request, allowed []string) bool {
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	fp := facts.Fingerprint(v)
	for _, a := range allowed {
		if a == fp {
			return true
		}
	}
	return false
}

func jsonResponse(status int, body string) Response {
	return Response{Status: status, Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, Body: []byte(body)}
}

// page serves one page of items, with GitHub's Link header.
func (s *Server) page(w http.ResponseWriter, r *http.Request, faultPath string, items []json.RawMessage, linkPath string) {
	q := r.URL.Query()
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	if perPage <= 0 {
		perPage = 30
	}
	if perPage > 100 {
		perPage = 100
	}
	page, _ := strconv.Atoi(q.Get("page"))
	if page <= 0 {
		page = 1
	}
	if resp, ok := s.fault(faultPath, page); ok {
		Write(w, r, resp)
		return
	}
	last := (len(items) + perPage - 1) / perPage
	if last == 0 {
		last = 1
	}
	lo, hi := (page-1)*perPage, page*perPage
	if lo > len(items) {
		lo = len(items)
	}
	if hi > len(items) {
		hi = len(items)
	}
	var links []string
	// Links keep the request's other parameters (filters), as GitHub's do.
	extra := ""
	rest := r.URL.Query()
	rest.Del("per_page")
	rest.Del("page")
	if len(rest) > 0 {
		extra = "&" + rest.Encode()
	}
	link := func(p int, rel string) {
		links = append(links, fmt.Sprintf(`<%s%s?per_page=%d&page=%d%s>; rel="%s"`, s.URL, linkPath, perPage, p, extra, rel))
	}
	if page < last {
		link(page+1, "next")
		link(last, "last")
	}
	if page > 1 {
		link(1, "first")
		link(page-1, "prev")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "4900")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	if len(links) > 0 {
		h.Set("Link", strings.Join(links, ", "))
	}
	body, _ := json.Marshal(items[lo:hi])
	if items == nil || lo == hi {
		body = []byte("[]")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// App is a GitHub App the fake knows: it verifies the App's JWTs with its public key and mints
// installation tokens that the org endpoints then accept.
type App struct {
	ID             int64
	Key            *rsa.PublicKey
	Org            string
	InstallationID int64
	TTL            time.Duration // lifetime of minted tokens (default 1h)

	mu     sync.Mutex
	minted []string // fingerprints
	org    *Org
}

// Minted returns how many installation tokens the fake has minted.
func (a *App) Minted() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.minted)
}

// ServeApp serves GET /orgs/ORG/installation and POST /app/installations/ID/access_tokens for the
// App, and makes the org's endpoints accept the tokens it mints.
func (s *Server) ServeApp(a *App, o *Org) {
	a.org = o
	if a.TTL == 0 {
		a.TTL = time.Hour
	}
	s.Handle("/orgs/"+a.Org+"/installation", func(w http.ResponseWriter, r *http.Request) {
		if !a.validJWT(r) {
			Write(w, r, jsonResponse(http.StatusUnauthorized, `{"message":"A JSON web token could not be decoded","documentation_url":"https://docs.github.com/rest","status":"401"}`))
			return
		}
		Write(w, r, jsonResponse(http.StatusOK, fmt.Sprintf(`{"id":%d,"account":{"login":%q,"type":"Organization"},"app_id":%d,"target_type":"Organization","permissions":{"organization_personal_access_tokens":"read","organization_personal_access_token_requests":"read"}}`, a.InstallationID, a.Org, a.ID)))
	})
	s.Handle(fmt.Sprintf("/app/installations/%d/access_tokens", a.InstallationID), func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !a.validJWT(r) {
			Write(w, r, jsonResponse(http.StatusUnauthorized, `{"message":"A JSON web token could not be decoded","status":"401"}`))
			return
		}
		a.mu.Lock()
		n := len(a.minted) + 1
		random := fmt.Sprintf("%030d", n)
		token := "ghs_" + random + facts.Checksum(random)
		a.minted = append(a.minted, facts.Fingerprint(token))
		a.mu.Unlock()
		s.mu.Lock()
		a.org.Allowed = append(a.org.Allowed, facts.Fingerprint(token))
		s.mu.Unlock()
		Write(w, r, jsonResponse(http.StatusCreated, fmt.Sprintf(`{"token":%q,"expires_at":%q,"permissions":{"organization_personal_access_tokens":"read"},"repository_selection":"all"}`,
			token, time.Now().Add(a.TTL).UTC().Format(time.RFC3339))))
	})
}

func (a *App) validJWT(r *http.Request) bool {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	tok, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return a.Key, nil }, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(strconv.FormatInt(a.ID, 10)))
	return err == nil && tok.Valid
}

// ServeInstallations serves GET /app/installations for the App, paginated as GitHub does, listing
// an installation on each account: organisations, and users when a login starts with "user:".
func (s *Server) ServeInstallations(a *App, accounts []string) {
	var items []json.RawMessage
	for i, acct := range accounts {
		typ := "Organization"
		if login, ok := strings.CutPrefix(acct, "user:"); ok {
			acct, typ = login, "User"
		}
		items = append(items, json.RawMessage(fmt.Sprintf(`{"id":%d,"account":{"login":%q,"type":%q},"app_id":%d,"target_type":%q}`, 5000+i, acct, typ, a.ID, typ)))
	}
	s.Handle("/app/installations", func(w http.ResponseWriter, r *http.Request) {
		if !a.validJWT(r) {
			Write(w, r, jsonResponse(http.StatusUnauthorized, `{"message":"A JSON web token could not be decoded","status":"401"}`))
			return
		}
		s.page(w, r, "/app/installations", items, "/app/installations")
	})
}
