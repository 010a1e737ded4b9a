// Package ghfake is an in-process fake of the GitHub REST API for tests: it answers with responses
// recorded from GitHub (fixtures/github/*.http, status line, headers and body as curl -i prints them),
// records every request it receives, and injects faults. It is test support, not part of the tool.
package ghapitest

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/ghapi"
)

// FixturesDir is the directory of recorded responses.
func FixturesDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "fixtures", "github")
}

// Response is one canned answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Hijack drops the connection instead of answering (a network fault).
	Hijack bool
	// Block holds the answer until the request is cancelled (a timeout).
	Block bool
}

// Fixture loads a recorded response by file name; it fails the test if it cannot.
func Fixture(t testing.TB, name string) Response {
	t.Helper()
	f, err := os.Open(filepath.Join(FixturesDir(), name))
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	defer f.Close()
	d, err := ghapi.ReadDump(f)
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return Response{Status: d.Status, Header: d.Header, Body: bytes.TrimSpace(d.Body)}
}

// With returns a copy with a header set (an empty value deletes it).
func (r Response) With(name, value string) Response {
	h := r.Header.Clone()
	if value == "" {
		h.Del(name)
	} else {
		h.Set(name, value)
	}
	r.Header = h
	return r
}

// Request is what the fake saw of one request. It keeps the credential's fingerprint, not its value.
type Request struct {
	Method      string
	Host        string
	Path        string
	RawQuery    string
	Credential  string // fingerprint of the bearer token, "" when none was sent
	ContentType string
}

// Server is a fake GitHub API on a loopback address.
type Server struct {
	*httptest.Server
	// Latency delays every answer, as a remote API would; set it before the first request.
	Latency  time.Duration
	mu       sync.Mutex
	requests []Request
	routes   map[string][]Response // "TOKEN-FINGERPRINT PATH" or "* PATH" → answers, the last repeating
	handlers map[string]http.HandlerFunc
	unknown  Response
	faults   faults
	// inFlight and maxInFlight count requests being answered at once.
	inFlight, maxInFlight int
}

// MaxInFlight is the most requests the fake was answering at one time.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// New starts a fake that answers unknown tokens with 401 Bad credentials; it stops with the test.
func New(t testing.TB) *Server {
	s := &Server{routes: map[string][]Response{}, handlers: map[string]http.HandlerFunc{}, unknown: Fixture(t, "bad-credentials.http")}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// NewTLS starts the fake over TLS with a self-signed certificate.
func NewTLS(t testing.TB) *Server {
	s := &Server{routes: map[string][]Response{}, handlers: map[string]http.HandlerFunc{}, unknown: Fixture(t, "bad-credentials.http")}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Server.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes fail on purpose
	s.Server.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// APIURL is the base URL to pass as --api-url.
func (s *Server) APIURL() string { return s.URL + "/" }

// Answer makes the fake answer GET path for token (any token when token is "*") with the given
// responses in turn, repeating the last.
func (s *Server) Answer(token, path string, rs ...Response) {
	key := "*"
	if token != "*" {
		key = facts.Fingerprint(token)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[key+" "+path] = rs
}

// Handle serves path (any method, any credential) with h; for endpoints whose answers are computed.
func (s *Server) Handle(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[path] = h
}

// Requests returns what the fake has received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	s.mu.Unlock()
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	// Counted until the answer starts: a client may send its next request as soon as it has one.
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
	cred := ""
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		cred = facts.Fingerprint(v)
	} else if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "token "); ok {
		cred = facts.Fingerprint(v)
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Credential: cred, ContentType: r.Header.Get("Content-Type")})
	h := s.handlers[r.URL.Path]
	resp, found := s.next(cred+" "+r.URL.Path, "* "+r.URL.Path)
	known := cred != "" && s.knows(cred)
	s.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	if !found {
		if !known {
			resp = s.unknown
		} else {
			resp = Response{Status: http.StatusNotFound, Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}},
				Body: []byte(`{"message":"Not Found","documentation_url":"https://docs.github.com/rest","status":"404"}`)}
		}
	}
	Write(w, r, resp)
}

// Write sends a canned response.
func Write(w http.ResponseWriter, r *http.Request, resp Response) {
	if resp.Block {
		<-r.Context().Done()
		return
	}
	if resp.Hijack {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
	}
	for k, vs := range resp.Header {
		if k == "Content-Length" || k == "Transfer-Encoding" {
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// next pops the next answer for the first key that has one; callers hold s.mu.
func (s *Server) next(keys ...string) (Response, bool) {
	for _, k := range keys {
		rs := s.routes[k]
		if len(rs) == 0 {
			continue
		}
		resp := rs[0]
		if len(rs) > 1 {
			s.routes[k] = rs[1:]
		}
		return resp, true
	}
	return Response{}, false
}

// knows reports whether any route names the credential; callers hold s.mu.
func (s *Server) knows(cred string) bool {
	for k := range s.routes {
		if strings.HasPrefix(k, cred+" ") {
			return true
		}
	}
	return false
}
