// Package githubsim is a GitHub REST API simulator served over real HTTP. Its
// routes are GitHub's routes and it keeps GitHub's documented behaviour:
// ETags and 304 on conditional requests (not charged to the rate limit),
// rate-limit headers and 403/429 answers, fast-forward-only ref updates,
// 409/422 on conflicting writes, and pagination with Link headers. Tests, the
// playground and the benchmark drive it through the real go-github client.
package githubsim

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Option configures a Server.
type Option func(*Server)

// WithClock sets the clock of timestamps (commit dates, check runs, rate-limit windows).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithRateLimit sets the core rate limit per token per hour (default 5000).
func WithRateLimit(limit int) Option { return func(s *Server) { s.limit = limit } }

// WithLatency adds a delay to every request.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = d } }

// Server is a running simulator.
type Server struct {
	now       func() time.Time
	limit     int
	latency   time.Duration
	secondary SecondaryLimits

	mu      sync.Mutex
	tokens  map[string]bool
	apps    appRegistry
	windows map[string]*window
	// secondaryUse is each caller's use of the secondary limits (caller.rateKey).
	secondaryUse map[string]*secondaryState
	repos        map[string]*repo
	faults       []*faultState
	nextID       int64
	hooks        webhooks
	// onBranch: see WithBranchHook.
	onBranch func(BranchUpdate)

	statsMu sync.Mutex
	stats   Stats

	mux *http.ServeMux
	// patterns are the routes registered (handle).
	patterns []string
	ts       *httptest.Server
}

type repo struct {
	owner, name   string
	defaultBranch string
	objects       map[string]any
	refs          map[string]string // "heads/main", "tags/v1.0.0" -> SHA
	checkRuns     []*checkRun
	statuses      []*commitStatus
	pulls         []*pull
	deployments   []*deployment
	issues        []*issue
	milestones    milestones
	releases      []*release
	// changed caches changedFiles by commit.
	changed map[string][]string
	// lastNumber is shared by issues and pull requests, as on GitHub.
	lastNumber int
	id         int64
}

// New starts a simulator on a loopback port.
func New(opts ...Option) *Server {
	s := &Server{now: time.Now, limit: 5000, tokens: map[string]bool{}, windows: map[string]*window{}, secondaryUse: map[string]*secondaryState{}, repos: map[string]*repo{}, nextID: 1000}
	s.stats.init()
	s.apps.init()
	for _, o := range opts {
		o(s)
	}
	s.mux = http.NewServeMux()
	s.routes()
	s.ts = httptest.NewServer(s.Handler())
	return s
}

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// URL is the base URL of the API, without a trailing slash.
func (s *Server) URL() string { return s.ts.URL }

// Handler serves the API; it can be mounted on another listener.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// AddToken makes token valid. Once a token or an App is added, every request
// must carry a valid token (or, on /app routes, an App's JWT).
func (s *Server) AddToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = true
}

func (s *Server) id() int64 {
	s.nextID++
	return s.nextID
}

// recorder buffers a handler's answer so ETags can be computed from the body.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	// moved are the branches the request moved (see WithBranchHook).
	moved []BranchUpdate
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int)        { r.status = code }

func (s *Server) serve(w http.ResponseWriter, req *http.Request) {
	_, pattern := s.mux.Handler(req)
	op := req.Method + " " + strings.TrimPrefix(pattern, req.Method+" ")
	if pattern == "" {
		op = req.Method + " (unknown)"
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	var content, secondary bool
	defer func() {
		for _, m := range rec.moved {
			s.onBranch(m)
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
		s.statsMu.Lock()
		s.stats.record(op, repositoryOf(req.URL.Path), rec.status, content, secondary)
		s.statsMu.Unlock()
	}()

	rec.header.Set("Date", s.now().UTC().Format(http.TimeFormat))
	who, unauthorized := s.authenticate(req)
	if unauthorized != "" {
		writeError(rec, http.StatusUnauthorized, unauthorized)
		return
	}
	// The secondary limits count per caller: a token, or an App
	// installation whose tokens share them as they share its rate limit.
	// The time a request takes counts toward the concurrency limit.
	leave, refused := s.enter(who.rateKey)
	if refused != nil {
		secondary = true
		s.refuse(rec, s.secondary.Status, refused)
		return
	}
	defer leave()
	if s.latency > 0 {
		select {
		case <-time.After(s.latency):
		case <-req.Context().Done():
		}
	}
	req = withCaller(req, who)
	if f := s.matchFault(req); f != nil {
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-req.Context().Done():
			}
		}
		if f.Status != 0 {
			s.answerFault(rec, f)
			return
		}
		// A slow answer that still does the work, as GitHub does when the
		// client has already given up.
	}
	resource := "core"
	if op == graphQLEndpoint {
		resource = "graphql"
	}
	win := s.window(who.rateKey, resource, who.limit)
	s.rateHeaders(rec, win)
	s.mu.Lock()
	exhausted := win.remaining() <= 0
	s.mu.Unlock()
	if exhausted {
		rec.header.Set("X-RateLimit-Remaining", "0")
		writeErrorDoc(rec, http.StatusForbidden, who.limitMessage(), "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting")
		return
	}
	if s.hiddenFrom(who, req) {
		// Outside the installation: GitHub answers 404, and charges it.
		writeError(rec, http.StatusNotFound, "Not Found")
	} else if s.permitted(rec, who, op) {
		isContent := contentGenerating(op, req)
		if r := s.admit(who.rateKey, op, req, isContent); r != nil {
			secondary = true
			s.refuse(rec, s.secondary.Status, r)
			return
		}
		content = isContent
		s.mux.ServeHTTP(rec, req)
	}

	if req.Method == http.MethodGet && rec.status == http.StatusOK {
		sum := sha1.Sum(rec.body.Bytes())
		etag := `"` + hex.EncodeToString(sum[:]) + `"`
		if rec.header.Get("ETag") == "" {
			rec.header.Set("ETag", etag)
		}
		if inm := req.Header.Get("If-None-Match"); inm != "" && matchETag(inm, rec.header.Get("ETag")) {
			rec.status = http.StatusNotModified
			rec.body.Reset()
			rec.header.Del("Content-Type")
			return // a 304 is not charged
		}
	}
	s.mu.Lock()
	win.used++
	s.mu.Unlock()
	s.rateHeaders(rec, win)
}

func matchETag(header, etag string) bool {
	for _, part := range strings.Split(header, ",") {
		p := strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if p == strings.TrimPrefix(etag, "W/") || p == "*" {
			return true
		}
	}
	return false
}

func bearer(req *http.Request) string {
	h := req.Header.Get("Authorization")
	for _, prefix := range []string{"Bearer ", "bearer ", "token "} {
		if strings.HasPrefix(h, prefix) {
			return strings.TrimPrefix(h, prefix)
		}
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

const docsURL = "https://docs.github.com/rest"

func writeError(w http.ResponseWriter, status int, msg string) {
	writeErrorDoc(w, status, msg, docsURL)
}

func writeErrorDoc(w http.ResponseWriter, status int, msg, doc string) {
	writeJSON(w, status, map[string]any{"message": msg, "documentation_url": doc})
}

// writeValidation is GitHub's 422 with an errors array.
func writeValidation(w http.ResponseWriter, msg, resource, field, code string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message": msg, "documentation_url": docsURL,
		"errors": []map[string]string{{"resource": resource, "field": field, "code": code, "message": msg}},
	})
}

func decode(w http.ResponseWriter, req *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 10<<20)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// repoOf finds the repository of a request; it answers 404 when absent.
// The caller holds s.mu.
func (s *Server) repoOf(w http.ResponseWriter, req *http.Request) *repo {
	r := s.repos[strings.ToLower(req.PathValue("owner")+"/"+req.PathValue("repo"))]
	if r == nil {
		writeError(w, http.StatusNotFound, "Not Found")
	}
	return r
}

func (s *Server) baseURL(req *http.Request) string {
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s", scheme, req.Host)
}

func (r *repo) fullName() string { return r.owner + "/" + r.name }

func (r *repo) htmlURL() string { return "https://github.com/" + r.fullName() }
