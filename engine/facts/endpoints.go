package facts

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/agnivade/levenshtein"
)

// Endpoints is GitHub's table of REST endpoints a fine-grained token can call, with the permission
// each needs, read from policies/endpoints.json (generated from GitHub's docs data), and the
// endpoints only a classic token can call.
type Endpoints struct {
	Source      EndpointSource
	perms       map[string]endpointPermission
	permCount   map[string]int // endpoints per permission: fewer is more specific
	routes      []*route       // sorted by path, then method
	byMethod    map[string][]*route
	classicOnly []classicRoute
}

// EndpointSource attributes the table to GitHub's files.
type EndpointSource struct {
	Repository string `json:"repository"`
	APIVersion string `json:"api_version"`
	Files      []struct {
		Edition string `json:"edition"`
		Path    string `json:"path"`
		Commit  string `json:"commit"`
	} `json:"files"`
}

type endpointPermission struct {
	Group string `json:"group"`
	Title string `json:"title"`
}

// Endpoint is one REST endpoint (method and GitHub's path template) and the permissions GitHub
// lists for it; none for an endpoint a fine-grained token calls without a permission (GET /user).
type Endpoint struct {
	Method   string
	Path     string
	Editions []string // fpt (github.com), ghec (Enterprise Cloud)
	Requires []Requirement
}

// Requirement is one permission GitHub lists for an endpoint. Where an endpoint lists several
// (Additional), GitHub's data does not say whether it needs all of them or any one.
type Requirement struct {
	Permission string
	Group      string
	Access     string
	Additional bool
}

// String renders the endpoint as "METHOD /path".
func (e Endpoint) String() string { return e.Method + " " + e.Path }

type route struct {
	Endpoint
	segs []segment
}

type segment struct {
	lit    string // the literal text, or "" for a parameter
	param  string // the parameter's name
	greedy bool   // the parameter may span slashes ({path}, {ref}, ...)
}

type classicRoute struct {
	method string // "*" for any
	path   string
	segs   []segment
	scope  string
}

// greedyParams are GitHub path parameters whose values may contain slashes: file paths, git refs,
// branch names, base...head comparisons.
var greedyParams = map[string]bool{"path": true, "ref": true, "branch": true, "basehead": true, "dir": true}

// broadPermissions are listed beside narrower ones on some endpoints (workflows beside contents for
// files under .github/workflows, administration beside pages); least privilege picks them last.
var broadPermissions = map[string]bool{"administration": true, "organization_administration": true, "workflows": true}

// ParseEndpoints decodes the endpoint table in the policies/endpoints.json shape.
func ParseEndpoints(raw []byte) (*Endpoints, error) {
	var doc struct {
		Source      EndpointSource                `json:"source"`
		Permissions map[string]endpointPermission `json:"permissions"`
		Endpoints   []struct {
			Method     string   `json:"method"`
			Path       string   `json:"path"`
			Permission string   `json:"permission"`
			Access     string   `json:"access"`
			Additional bool     `json:"additional"`
			Editions   []string `json:"editions"`
		} `json:"endpoints"`
		NoPermission []struct {
			Method string `json:"method"`
			Path   string `json:"path"`
		} `json:"no_permission"`
		ClassicOnly []struct {
			Method string `json:"method"`
			Path   string `json:"path"`
			Scope  string `json:"scope"`
		} `json:"classic_only"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse endpoint table: %w", err)
	}
	e := &Endpoints{Source: doc.Source, perms: doc.Permissions, permCount: map[string]int{}, byMethod: map[string][]*route{}}
	index := map[string]*route{}
	for _, r := range doc.Endpoints {
		info, ok := doc.Permissions[r.Permission]
		if !ok {
			return nil, fmt.Errorf("endpoint table: %s %s names permission %s, which has no group", r.Method, r.Path, r.Permission)
		}
		key := r.Method + " " + r.Path
		rt := index[key]
		if rt == nil {
			rt = &route{Endpoint: Endpoint{Method: r.Method, Path: r.Path}, segs: parseSegments(r.Path, true)}
			index[key] = rt
			e.routes = append(e.routes, rt)
			e.byMethod[r.Method] = append(e.byMethod[r.Method], rt)
		}
		for _, ed := range r.Editions {
			if !slices.Contains(rt.Editions, ed) {
				rt.Editions = append(rt.Editions, ed)
			}
		}
		rt.Requires = append(rt.Requires, Requirement{Permission: r.Permission, Group: info.Group, Access: r.Access, Additional: r.Additional})
		e.permCount[r.Permission]++
	}
	for _, r := range doc.NoPermission {
		if index[r.Method+" "+r.Path] != nil {
			continue
		}
		rt := &route{Endpoint: Endpoint{Method: r.Method, Path: r.Path, Editions: []string{"fpt", "ghec"}}, segs: parseSegments(r.Path, true)}
		index[r.Method+" "+r.Path] = rt
		e.routes = append(e.routes, rt)
		e.byMethod[r.Method] = append(e.byMethod[r.Method], rt)
	}
	for _, c := range doc.ClassicOnly {
		e.classicOnly = append(e.classicOnly, classicRoute{method: c.Method, path: c.Path, segs: parseSegments(c.Path, false), scope: c.Scope})
	}
	return e, nil
}

// Len is the number of endpoints (method and path) in the table.
func (e *Endpoints) Len() int { return len(e.routes) }

// PermissionGroup names the group (repository, organization, account) of a permission the table
// lists, or "" when it lists none by that name.
func (e *Endpoints) PermissionGroup(name string) string { return e.perms[name].Group }

func parseSegments(path string, greedy bool) []segment {
	path = strings.Trim(path, "/")
	if path == "" {
		return nil
	}
	parts := strings.Split(path, "/")
	out := make([]segment, len(parts))
	for i, p := range parts {
		if len(p) > 2 && p[0] == '{' && p[len(p)-1] == '}' {
			name := p[1 : len(p)-1]
			out[i] = segment{param: name, greedy: greedy && greedyParams[name]}
			continue
		}
		out[i] = segment{lit: p}
	}
	return out
}

// Call is one API call an automation makes: a method and a path, either GitHub's template
// (/repos/{owner}/{repo}/pulls) or a concrete path (/repos/acme/app/pulls).
type Call struct {
	Method string
	Path   string
}

// String renders the call as "METHOD /path".
func (c Call) String() string { return c.Method + " " + c.Path }

// UnknownCall is a call no endpoint in the table matches, with the nearest known endpoints.
type UnknownCall struct {
	Call
	Suggestions []string
}

var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// ParseCall reads "METHOD /path" (the method in any case; a full https://HOST/... URL, a query
// string or an Enterprise Server /api/v3 prefix are accepted and dropped).
func ParseCall(s string) (Call, error) {
	method, path, ok := strings.Cut(strings.TrimSpace(s), " ")
	path = strings.TrimSpace(path)
	if !ok || path == "" {
		return Call{}, fmt.Errorf("%q: want METHOD /path, e.g. GET /repos/{owner}/{repo}/pulls", s)
	}
	method = strings.ToUpper(method)
	if !slices.Contains(methods, method) {
		return Call{}, fmt.Errorf("%q: method %s is not one of %s", s, method, strings.Join(methods, ", "))
	}
	if strings.HasPrefix(path, "https://") || strings.HasPrefix(path, "http://") {
		u, err := url.Parse(path)
		if err != nil {
			return Call{}, fmt.Errorf("%q: %w", s, err)
		}
		path = u.EscapedPath()
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	path = strings.TrimPrefix(path, "/api/v3")
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t") || strings.Contains(path, "//") {
		return Call{}, fmt.Errorf("%q: the path must start with / and hold no spaces or empty segments", s)
	}
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	return Call{Method: method, Path: path}, nil
}

// Match finds the endpoint a call is for: a template matches itself (parameter names aside), a
// concrete path matches the template with the most literal segments ({path}, {ref} and the like
// may span slashes).
func (e *Endpoints) Match(method, path string) (Endpoint, bool) {
	in := parseSegments(path, false)
	var best *route
	bestLits := -1
	for _, r := range e.byMethod[strings.ToUpper(method)] {
		if lits, ok := matchSegments(r.segs, in); ok && lits > bestLits {
			best, bestLits = r, lits
		}
	}
	if best == nil {
		return Endpoint{}, false
	}
	return best.Endpoint, true
}

// matchSegments matches a template against a call's segments, returning the number of literal
// template segments when it matches.
func matchSegments(tmpl, in []segment) (int, bool) {
	if len(tmpl) == 0 {
		return 0, len(in) == 0
	}
	if len(in) == 0 {
		return 0, false
	}
	t, rest := tmpl[0], tmpl[1:]
	switch {
	case t.lit != "":
		if in[0].lit != t.lit {
			return 0, false
		}
		n, ok := matchSegments(rest, in[1:])
		return n + 1, ok
	case t.greedy && in[0].param == "":
		// A slash-spanning parameter takes one or more concrete segments; the longest that lets the
		// rest match wins.
		for k := len(in) - len(rest); k >= 1; k-- {
			if !allLiteral(in[:k]) {
				continue
			}
			if n, ok := matchSegments(rest, in[k:]); ok {
				return n, true
			}
		}
		return 0, false
	default:
		return matchSegments(rest, in[1:])
	}
}

func allLiteral(segs []segment) bool {
	for _, s := range segs {
		if s.param != "" {
			return false
		}
	}
	return true
}

// ClassicScope reports the classic scope a call needs when it is for an endpoint only classic
// tokens can call (Packages, enterprise, the Checks API, notifications).
func (e *Endpoints) ClassicScope(c Call) (string, bool) {
	in := parseSegments(c.Path, false)
	for _, r := range e.classicOnly {
		if r.method != "*" && r.method != strings.ToUpper(c.Method) {
			continue
		}
		if len(in) < len(r.segs) {
			continue
		}
		if _, ok := matchSegments(r.segs, in[:len(r.segs)]); ok {
			return r.scope, true
		}
	}
	return "", false
}

// Suggest names the n known endpoints nearest to a call: segment by segment edit distance on the
// path (a parameter matches any segment), a different method counting half a segment.
func (e *Endpoints) Suggest(c Call, n int) []string {
	in := parseSegments(c.Path, false)
	type scored struct {
		s string
		d float64
	}
	var all []scored
	for _, r := range e.routes {
		d := segmentDistance(r.segs, in)
		if r.Method != strings.ToUpper(c.Method) {
			d += 0.5
		}
		all = append(all, scored{r.String(), d})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].d < all[j].d })
	var out []string
	for _, s := range all {
		if len(out) == n {
			break
		}
		out = append(out, s.s)
	}
	return out
}

// segmentDistance is the edit distance between two paths counted in segments: inserting or
// deleting a segment costs 1, replacing one costs the share of its characters that differ.
func segmentDistance(tmpl, in []segment) float64 {
	prev := make([]float64, len(in)+1)
	cur := make([]float64, len(in)+1)
	for j := range prev {
		prev[j] = float64(j)
	}
	for i := 1; i <= len(tmpl); i++ {
		cur[0] = float64(i)
		for j := 1; j <= len(in); j++ {
			sub := prev[j-1] + segmentCost(tmpl[i-1], in[j-1])
			cur[j] = math.Min(sub, math.Min(prev[j]+1, cur[j-1]+1))
		}
		prev, cur = cur, prev
	}
	return prev[len(in)]
}

func segmentCost(t, in segment) float64 {
	switch {
	case t.param != "":
		return 0
	case in.param != "":
		return 1
	case t.lit == in.lit:
		return 0
	}
	longest := max(len(t.lit), len(in.lit))
	return float64(levenshtein.ComputeDistance(t.lit, in.lit)) / float64(longest)
}

// LeastPermissions computes the least fine-grained permissions that allow the calls. An endpoint
// GitHub lists under one permission needs it; where it lists several, a permission already needed
// at that level or above is taken, else the narrowest: not administration or workflows, named like
// the path (pulls: pull_requests), the lowest level, the permission with the fewest endpoints.
// metadata: read comes with any repository permission, as on GitHub. Calls only a classic token
// can make are returned in notFineGrained; calls the table does not know, in unknown, with the
// three nearest endpoints.
func (e *Endpoints) LeastPermissions(calls []Call) (perms map[string]string, notFineGrained []Call, unknown []UnknownCall) {
	perms = map[string]string{}
	var several []Endpoint
	var paths [][]segment
	for _, c := range calls {
		ep, ok := e.Match(c.Method, c.Path)
		if !ok {
			if _, classic := e.ClassicScope(c); classic {
				notFineGrained = append(notFineGrained, c)
			} else {
				unknown = append(unknown, UnknownCall{Call: c, Suggestions: e.Suggest(c, 3)})
			}
			continue
		}
		candidates := distinctRequirements(ep.Requires)
		switch len(candidates) {
		case 0: // an endpoint that needs no permission
			continue
		case 1:
			RaiseLevel(perms, candidates[0].Permission, candidates[0].Access)
			continue
		}
		several = append(several, Endpoint{Method: ep.Method, Path: ep.Path, Requires: candidates})
		paths = append(paths, parseSegments(ep.Path, false))
	}
	for i, ep := range several {
		if slices.ContainsFunc(ep.Requires, func(r Requirement) bool { return levelRank[perms[r.Permission]] >= levelRank[r.Access] }) {
			continue
		}
		best := slices.MinFunc(ep.Requires, func(a, b Requirement) int { return e.compare(a, b, paths[i]) })
		RaiseLevel(perms, best.Permission, best.Access)
	}
	for name := range perms {
		if e.perms[name].Group == GroupRepository {
			RaiseLevel(perms, "metadata", "read")
			break
		}
	}
	return perms, notFineGrained, unknown
}

var levelRank = map[string]int{"read": 1, "write": 2, "admin": 3}

// RaiseLevel sets perms[name] to level unless it is already at that level or above.
func RaiseLevel(perms map[string]string, name, level string) {
	if levelRank[level] > levelRank[perms[name]] {
		perms[name] = level
	}
}

// distinctRequirements keeps one requirement per permission, at its highest access.
func distinctRequirements(rs []Requirement) []Requirement {
	var out []Requirement
	for _, r := range rs {
		i := slices.IndexFunc(out, func(o Requirement) bool { return o.Permission == r.Permission })
		if i < 0 {
			out = append(out, r)
			continue
		}
		if levelRank[r.Access] > levelRank[out[i].Access] {
			out[i].Access = r.Access
		}
	}
	return out
}

// compare orders alternative requirements, narrowest first.
func (e *Endpoints) compare(a, b Requirement, path []segment) int {
	bit := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	keys := [][2]int{
		{bit(broadPermissions[a.Permission]), bit(broadPermissions[b.Permission])},
		{bit(!namedLikePath(a.Permission, path)), bit(!namedLikePath(b.Permission, path))},
		{levelRank[a.Access], levelRank[b.Access]},
		{e.permCount[a.Permission], e.permCount[b.Permission]},
	}
	for _, k := range keys {
		if k[0] != k[1] {
			return k[0] - k[1]
		}
	}
	return strings.Compare(a.Permission, b.Permission)
}

// namedLikePath reports whether a word of the permission's name (4 letters or more) begins a
// literal segment of the path, or the other way round: pull_requests and pulls, issues and issues.
func namedLikePath(perm string, path []segment) bool {
	for _, w := range strings.Split(perm, "_") {
		if len(w) < 4 {
			continue
		}
		for _, s := range path {
			if s.lit != "" && len(s.lit) >= 4 && (strings.HasPrefix(s.lit, w) || strings.HasPrefix(w, s.lit)) {
				return true
			}
		}
	}
	return false
}
