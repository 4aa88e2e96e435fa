// Package dashboard is Liftoff's web UI: the pipelines, a Release's timeline,
// gates, analysis and checklist, the release calendar and the milestones.
// Pages are rendered on the server from one shared informer cache (html/
// template, assets embedded); a small script swaps in a fresh render when
// the server-sent event stream says that something on the page changed.
// Actions (approve, sign off, pause, resume, verdict) are made with a client
// that acts as the person: the plugin's own kubeconfig, or in the cluster an
// impersonating client after TokenReview and SubjectAccessReview.
package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/liftoff-dev/liftoff/internal/github"
)

//go:embed assets
var assets embed.FS

// Options configure a Server.
type Options struct {
	Store  Store
	Broker *Broker
	// Access: who a request is; ReadOnly when nil.
	Access Access
	// Now; time.Now when nil.
	Now func() time.Time
	// Location is the one time zone of every page, named on each; the
	// machine's own when nil (for the plugin, the viewer's).
	Location *time.Location
	// AllowedHosts, when set, are the only Host headers served (host:port):
	// a dashboard on loopback refuses other names, so a web page cannot
	// reach it through DNS rebinding.
	AllowedHosts []string
}

// Server serves the dashboard.
type Server struct {
	o       Options
	pages   map[string]*template.Template
	key     []byte
	version string
	mux     *http.ServeMux
}

// CSP allows the page's own script, style and images only: no inline
// script or style, no other origin.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

const (
	sessionCookie = "liftoff_session"
	csrfHeader    = "X-CSRF-Token"
	csrfField     = "csrf"
	// fragmentHeader asks for the page's main element only (live updates);
	// the answer carries it back, with the page's Live list and title.
	fragmentHeader = "X-Liftoff-Fragment"
	liveHeader     = "X-Liftoff-Live"
	titleHeader    = "X-Liftoff-Title"
)

// New parses the templates and wires the routes.
func New(o Options) (*Server, error) {
	if o.Access == nil {
		o.Access = ReadOnly{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Broker == nil {
		o.Broker = NewBroker(0)
	}
	s := &Server{o: o, pages: map[string]*template.Template{}, key: make([]byte, 32)}
	if _, err := rand.Read(s.key); err != nil {
		return nil, err
	}
	h := sha256.New()
	for _, f := range []string{"assets/static/app.js", "assets/static/app.css"} {
		b, err := assets.ReadFile(f)
		if err != nil {
			return nil, err
		}
		h.Write(b)
	}
	s.version = hex.EncodeToString(h.Sum(nil))[:12]
	funcs := template.FuncMap{
		"lower": strings.ToLower,
		"short": github.ShortSHA,
		"query": func(base string, kv ...any) string {
			q := url.Values{}
			for i := 0; i+1 < len(kv); i += 2 {
				if v := fmt.Sprint(kv[i+1]); v != "" && v != "0" {
					q.Set(fmt.Sprint(kv[i]), v)
				}
			}
			if len(q) == 0 {
				return base
			}
			return base + "?" + q.Encode()
		},
		"add":       func(a, b int) int { return a + b },
		"iso":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"needKinds": func() any { return NeedKinds },
	}
	base, err := template.New("base").Funcs(funcs).ParseFS(assets, "assets/templates/layout.html")
	if err != nil {
		return nil, err
	}
	for _, p := range []string{"pipelines", "release", "calendar", "calendars", "milestones", "launch", "result", "error", "loading"} {
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if s.pages[p], err = t.ParseFS(assets, "assets/templates/"+p+".html"); err != nil {
			return nil, err
		}
	}
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		return nil, err
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", htmlOf(s, "pipelines", s.pipelinesView, pipelinesPage))
	m.HandleFunc("GET /releases/{ns}/{name}", htmlOf(s, "release", s.releaseView, releasePage))
	m.HandleFunc("POST /releases/{ns}/{name}/{action}", s.releaseAction)
	m.HandleFunc("GET /launches/{ns}/{name}", htmlOf(s, "launch", s.launchView, launchPage))
	m.HandleFunc("POST /checklists/{ns}/{name}/signoff", s.signOff)
	m.HandleFunc("POST /pipelines/{ns}/{name}/rollback", s.rollBack)
	m.HandleFunc("GET /calendars/{$}", s.calendarsPage)
	m.HandleFunc("GET /calendars/{ns}/{file}", s.calendarPage)
	m.HandleFunc("GET /milestones", htmlOf(s, "milestones", s.milestonesView, milestonesPage))
	m.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.session(r); err != nil {
			s.fail(w, r, err)
			return
		}
		s.o.Broker.serveEvents(w, r)
	})
	m.HandleFunc("GET /api/pipelines", jsonOf(s, s.pipelinesJSON))
	m.HandleFunc("GET /api/releases/{ns}/{name}", jsonOf(s, s.releaseView))
	m.HandleFunc("GET /api/calendars/{ns}/{name}", jsonOf(s, func(r *http.Request) (*CalendarView, error) { return s.calendarView(r, r.PathValue("name")) }))
	m.HandleFunc("GET /api/milestones", jsonOf(s, s.milestonesView))
	m.HandleFunc("GET /api/launches/{ns}/{name}", jsonOf(s, s.launchView))
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	m.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("v") == s.version {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		fileServer.ServeHTTP(w, r)
	})
	s.mux = m
	return s, nil
}

// ServeHTTP adds the security headers, refuses unknown hosts, and routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	if len(s.o.AllowedHosts) > 0 && !contains(s.o.AllowedHosts, r.Host) {
		http.Error(w, "unknown host "+strconv.Quote(r.Host)+": open the dashboard at the address it printed", http.StatusMisdirectedRequest)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// LoopbackHosts are the Host headers a dashboard on a loopback listener answers.
func LoopbackHosts(addr net.Addr) []string {
	_, port, _ := net.SplitHostPort(addr.String())
	return []string{"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port}
}

func (s *Server) session(r *http.Request) (*Session, error) {
	return s.o.Access.Session(r)
}

// sessionID returns the browser's session id, setting a new cookie when it has none.
func (s *Server) sessionID(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: isTLS(r)})
	return id
}

func isTLS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// csrfToken binds a form to the browser's session: an HMAC of its id.
func (s *Server) csrfToken(id string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF refuses a write that does not come from one of the dashboard's
// own pages: its Origin (or Referer) must be this host, and it must carry the
// token of the browser's session.
func (s *Server) checkCSRF(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		origin = r.Header.Get("Referer")
	}
	u, err := url.Parse(origin)
	if origin == "" || err != nil || !strings.EqualFold(u.Host, r.Host) {
		return &HTTPError{http.StatusForbidden, "refused: the request did not come from this dashboard (Origin " + strconv.Quote(origin) + ")"}
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return &HTTPError{http.StatusForbidden, "refused: no session; reload the page and try again"}
	}
	tok := r.Header.Get(csrfHeader)
	if tok == "" {
		tok = r.PostFormValue(csrfField)
	}
	if !hmac.Equal([]byte(tok), []byte(s.csrfToken(c.Value))) {
		return &HTTPError{http.StatusForbidden, "refused: the form's token does not match this session; reload the page and try again"}
	}
	return nil
}

// page is what every template receives.
type page struct {
	Title    string
	Nav      string
	User     string
	ReadOnly bool
	// Zone names the time zone of every time on the page.
	Zone string
	CSRF string
	// Live lists what the page shows, for the event stream: "kind" or
	// "kind:namespace/name", space-separated.
	Live    string
	Version string
	Data    any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, p page) {
	sess, err := s.session(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.User, p.ReadOnly = sess.User, sess.Client == nil
	p.CSRF = s.csrfToken(s.sessionID(w, r))
	s.write(w, r, name, http.StatusOK, p)
}

// write executes a page: the whole document, or its main element for a live
// update (the fragment header), with what the script needs to swap it in:
// the page's Live list and title.
func (s *Server) write(w http.ResponseWriter, r *http.Request, name string, code int, p page) {
	p.Version = s.version
	p.Zone = zoneName(s.o.Location)
	tmpl := "layout"
	if r.Header.Get(fragmentHeader) == "main" {
		tmpl = "main"
		w.Header().Set(fragmentHeader, "main")
		w.Header().Set(liveHeader, p.Live)
		w.Header().Set(titleHeader, url.PathEscape(p.Title))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := s.pages[name].ExecuteTemplate(w, tmpl, p); err != nil {
		ctrl.Log.WithName("dashboard").Error(err, "Rendering a page", "page", name)
	}
}

// fail answers an error: JSON for the API and the page's script, a page
// otherwise. What is still loading is a 503 with Retry-After, and its page
// updates by itself once it is loaded.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	msg := err.Error()
	if errors.Is(err, errNotFound) {
		code, msg = http.StatusNotFound, "not found: it may have been deleted, or it is in a namespace this dashboard does not watch"
	}
	var loading *Loading
	if errors.As(err, &loading) {
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", retryAfter)
	}
	if wantsJSON(r) {
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	if loading == nil {
		s.write(w, r, "error", code, page{Title: http.StatusText(code), Data: msg})
		return
	}
	p := page{Title: "Loading " + loading.Resource, Live: loadingKind, Data: loading}
	if sess, err := s.session(r); err == nil {
		p.User, p.ReadOnly = sess.User, sess.Client == nil
	}
	s.write(w, r, "loading", code, p)
}

func wantsJSON(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/") || strings.Contains(r.Header.Get("Accept"), "application/json")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func key(r *http.Request) types.NamespacedName {
	return types.NamespacedName{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}
}

// readable refuses a namespace the requester may not see.
func readable(r *http.Request, sess *Session, ns string) error {
	if sess.CanRead != nil && ns != "" && !sess.CanRead(r.Context(), ns) {
		return &HTTPError{http.StatusForbidden, fmt.Sprintf("%s may not list releases in namespace %s", sess.User, ns)}
	}
	return nil
}
