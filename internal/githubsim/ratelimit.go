package githubsim

import (
	"net/http"
	"strconv"
	"time"
)

// window is one caller's rate-limit hour of one resource (core or graphql):
// a token's, or an App installation's, shared by its tokens.
type window struct {
	resource string
	limit    int
	used     int
	reset    time.Time
}

func (w *window) remaining() int { return w.limit - w.used }

// window returns the current window of key's resource, opening a new one
// of limit requests on reset.
func (s *Server) window(key, resource string, limit int) *window {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	key += "\x00" + resource
	w := s.windows[key]
	if w == nil || !now.Before(w.reset) {
		w = &window{resource: resource, limit: limit, reset: now.Add(time.Hour).Truncate(time.Second)}
		s.windows[key] = w
	}
	return w
}

func (s *Server) rateHeaders(w http.ResponseWriter, win *window) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(win.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, win.remaining())))
	h.Set("X-RateLimit-Used", strconv.Itoa(win.used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(win.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", win.resource)
}

func (s *Server) handleRateLimit(w http.ResponseWriter, req *http.Request) {
	who := callerOf(req)
	win := s.window(who.rateKey, "core", who.limit)
	s.mu.Lock()
	core := map[string]any{"limit": win.limit, "remaining": max(0, win.remaining()), "used": win.used, "reset": win.reset.Unix()}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"resources": map[string]any{"core": core}, "rate": core})
}
