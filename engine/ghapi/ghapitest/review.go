package ghapitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// ReviewWrite is one review or revoke POST the fake received, with its decoded body and the answer given.
type ReviewWrite struct {
	// Kind is "request" (POST .../personal-access-token-requests/ID) or "grant" (POST .../personal-access-tokens/ID).
	Kind       string
	ID         int64
	Path       string
	Body       []byte // as received
	Action     string // body "action"
	Reason     string // body "reason"
	Credential string // fingerprint of the bearer token
	Status     int    // the answer
}

// Reviews serves GitHub's review and revoke endpoints for one organisation: POST
// /orgs/ORG/personal-access-token-requests/{pat_request_id} with {"action":"approve"|"deny","reason":…}
// and POST /orgs/ORG/personal-access-tokens/{pat_id} with {"action":"revoke"}, answering 204 as GitHub
// does. A request or grant already acted on answers 422 (reviewed) or 404 (revoked), an id it does not
// know answers 404, and a body GitHub would reject answers 422. Every POST is recorded.
type Reviews struct {
	s   *Server
	org string

	mu     sync.Mutex
	writes []ReviewWrite
	done   map[string]bool       // "request/ID" or "grant/ID" acted on
	faults map[string][]Response // canned answers served first, in order
	known  map[string]bool       // ids served
	wait   chan struct{}         // closed on every write, then replaced
}

// ServeReviews serves the review endpoints of org for the given pending request ids and grant ids.
func (s *Server) ServeReviews(org string, requests, grants []int64) *Reviews {
	r := &Reviews{s: s, org: org, done: map[string]bool{}, faults: map[string][]Response{}, known: map[string]bool{}, wait: make(chan struct{})}
	for _, id := range requests {
		r.AddRequest(id)
	}
	for _, id := range grants {
		r.AddGrant(id)
	}
	return r
}

// AddRequest serves one more pending request.
func (r *Reviews) AddRequest(id int64) { r.add("request", "personal-access-token-requests", id) }

// AddGrant serves one more approved grant (id is the grant's id, pat_id).
func (r *Reviews) AddGrant(id int64) { r.add("grant", "personal-access-tokens", id) }

func (r *Reviews) add(kind, endpoint string, id int64) {
	key := fmt.Sprintf("%s/%d", kind, id)
	r.mu.Lock()
	r.known[key] = true
	r.mu.Unlock()
	r.s.Handle(fmt.Sprintf("/orgs/%s/%s/%d", r.org, endpoint, id), func(w http.ResponseWriter, req *http.Request) {
		r.serve(w, req, kind, id)
	})
}

// Fail makes the next `times` POSTs for the request (kind "request") or grant (kind "grant") with
// this id get status instead of being carried out: 502 for a flaky GitHub, 404 or 422 for a request
// someone else already reviewed.
func (r *Reviews) Fail(kind string, id int64, status int, times int) {
	body := fmt.Sprintf(`{"message":%q,"documentation_url":"https://docs.github.com/rest/orgs/personal-access-tokens","status":"%d"}`, http.StatusText(status), status)
	r.mu.Lock()
	defer r.mu.Unlock()
	key := fmt.Sprintf("%s/%d", kind, id)
	for i := 0; i < times; i++ {
		r.faults[key] = append(r.faults[key], jsonResponse(status, body))
	}
}

// Writes returns every POST received so far, in order.
func (r *Reviews) Writes() []ReviewWrite {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ReviewWrite(nil), r.writes...)
}

// Applied returns the POSTs that were carried out (answered 204).
func (r *Reviews) Applied() []ReviewWrite {
	var out []ReviewWrite
	for _, w := range r.Writes() {
		if w.Status == http.StatusNoContent {
			out = append(out, w)
		}
	}
	return out
}

// Changed returns a channel closed at the next recorded POST.
func (r *Reviews) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.wait
}

func (r *Reviews) serve(w http.ResponseWriter, req *http.Request, kind string, id int64) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	rec := ReviewWrite{Kind: kind, ID: id, Path: req.URL.Path, Body: body}
	if v, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok {
		rec.Credential = facts.Fingerprint(v)
	}
	var msg struct {
		Action string `json:"action"`
		Reason string `json:"reason"`
	}
	decodeErr := json.Unmarshal(body, &msg)
	rec.Action, rec.Reason = msg.Action, msg.Reason
	key := fmt.Sprintf("%s/%d", kind, id)

	r.mu.Lock()
	var resp Response
	switch {
	case req.Method != http.MethodPost:
		resp = jsonResponse(http.StatusNotFound, `{"message":"Not Found","status":"404"}`)
	case rec.Credential == "":
		resp = jsonResponse(http.StatusUnauthorized, `{"message":"Requires authentication","status":"401"}`)
	case len(r.faults[key]) > 0:
		resp = r.faults[key][0]
		r.faults[key] = r.faults[key][1:]
	case !r.known[key]:
		resp = jsonResponse(http.StatusNotFound, `{"message":"Not Found","status":"404"}`)
	case decodeErr != nil || !validAction(kind, msg.Action) || len([]rune(msg.Reason)) > 1024 || kind == "grant" && msg.Reason != "":
		resp = jsonResponse(http.StatusUnprocessableEntity, `{"message":"Validation Failed","status":"422"}`)
	case r.done[key] && kind == "request":
		resp = jsonResponse(http.StatusUnprocessableEntity, `{"message":"This request has already been reviewed","status":"422"}`)
	case r.done[key]:
		resp = jsonResponse(http.StatusNotFound, `{"message":"Not Found","status":"404"}`)
	default:
		r.done[key] = true
		resp = Response{Status: http.StatusNoContent, Header: http.Header{}}
	}
	rec.Status = resp.Status
	r.writes = append(r.writes, rec)
	close(r.wait)
	r.wait = make(chan struct{})
	r.mu.Unlock()
	Write(w, req, resp)
}

func validAction(kind, action string) bool {
	if kind == "grant" {
		return action == "revoke"
	}
	return action == "approve" || action == "deny"
}
