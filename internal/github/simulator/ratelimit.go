package simulator

import (
	"net/http"
	"strconv"
	"time"
)

// window is one token's rate-limit hour.
type window struct {
	limit int
	used  int
	reset time.Time
}

func (w *window) remaining() int { return w.limit - w.used }

// window returns the token's current window, opening a new one on reset.
func (s *Server) window(token string) *window {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	w := s.windows[token]
	if w == nil || !now.Before(w.reset) {
		w = &window{limit: s.limit, reset: now.Add(time.Hour).Truncate(time.Second)}
		s.windows[token] = w
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
	h.Set("X-RateLimit-Resource", "core")
}

func (s *Server) handleRateLimit(w http.ResponseWriter, req *http.Request) {
	win := s.window(bearer(req))
	s.mu.Lock()
	core := map[string]any{"limit": win.limit, "remaining": max(0, win.remaining()), "used": win.used, "reset": win.reset.Unix()}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"resources": map[string]any{"core": core}, "rate": core})
}
