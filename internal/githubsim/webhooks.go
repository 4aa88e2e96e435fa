package githubsim

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Webhook deliveries as GitHub makes them: a POST per event to every hook
// subscribed to it, after the change, asynchronously, with X-GitHub-Event, a
// unique X-GitHub-Delivery, X-Hub-Signature-256 (HMAC-SHA256 of the body with
// the hook's secret) and a JSON payload shaped as GitHub documents it.

type webhooks struct {
	mu         sync.Mutex
	hooks      []*webhook
	deliveries []*delivery
	client     *http.Client
	// inflight deliveries; idle is closed when the last one is answered.
	inflight int
	idle     chan struct{}
}

type webhook struct {
	id     int64
	url    string
	secret []byte
	events map[string]bool
}

type delivery struct {
	Delivery
	header http.Header
	url    string
}

// Delivery is one webhook delivery and its result, as GitHub's "Recent
// Deliveries" list shows it.
type Delivery struct {
	// ID is the X-GitHub-Delivery GUID; a redelivery keeps it.
	ID     string
	HookID int64
	// Event is X-GitHub-Event; Action the payload's action, if any.
	Event, Action string
	// Body is the payload, byte for byte as sent.
	Body []byte
	// Redelivery is true for a replay through Redeliver.
	Redelivery bool
	// Done is false while the POST is under way.
	Done bool
	// StatusCode of the answer (0 when the request failed).
	StatusCode int
	// Response is the answer's body (at most 4 KiB).
	Response string
	// Error of a request that got no answer.
	Error string
}

// AddWebhook subscribes url to events ("*" or none: every event), signing with
// secret, and sends a ping, as GitHub does when a hook is created. It returns
// the hook's id.
func (s *Server) AddWebhook(url string, secret []byte, events ...string) int64 {
	if len(events) == 0 {
		events = []string{"*"}
	}
	s.mu.Lock()
	id := s.id()
	s.mu.Unlock()
	h := &webhook{id: id, url: url, secret: append([]byte(nil), secret...), events: map[string]bool{}}
	list := []string{}
	for _, e := range events {
		h.events[e] = true
		list = append(list, e)
	}
	s.hooks.mu.Lock()
	s.hooks.hooks = append(s.hooks.hooks, h)
	s.hooks.mu.Unlock()
	s.sendTo(h, "ping", map[string]any{
		"zen": "Keep it logically awesome.", "hook_id": id,
		"hook": map[string]any{"id": id, "type": "Organization", "name": "web", "active": true, "events": list,
			"config": map[string]any{"url": url, "content_type": "json", "insecure_ssl": "0"}},
		"sender": sender,
	})
	return id
}

// Deliveries lists every delivery made so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	out := make([]Delivery, 0, len(s.hooks.deliveries))
	for _, d := range s.hooks.deliveries {
		c := d.Delivery
		c.Body = append([]byte(nil), d.Body...)
		out = append(out, c)
	}
	return out
}

// Redeliver replays a delivery byte for byte (same headers, same
// X-GitHub-Delivery, same body and signature), waits for the answer and
// returns the new delivery record.
func (s *Server) Redeliver(id string) (Delivery, error) {
	s.hooks.mu.Lock()
	var orig *delivery
	for _, d := range s.hooks.deliveries {
		if d.ID == id && !d.Redelivery {
			orig = d
		}
	}
	if orig == nil {
		s.hooks.mu.Unlock()
		return Delivery{}, fmt.Errorf("no delivery %s", id)
	}
	d := &delivery{Delivery: Delivery{ID: orig.ID, HookID: orig.HookID, Event: orig.Event, Action: orig.Action, Body: orig.Body, Redelivery: true},
		header: orig.header.Clone(), url: orig.url}
	s.hooks.deliveries = append(s.hooks.deliveries, d)
	s.hooks.mu.Unlock()
	s.post(d)
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	return d.Delivery, nil
}

// WaitDeliveries waits until every delivery so far was answered.
func (s *Server) WaitDeliveries() {
	s.hooks.mu.Lock()
	if s.hooks.inflight == 0 {
		s.hooks.mu.Unlock()
		return
	}
	if s.hooks.idle == nil {
		s.hooks.idle = make(chan struct{})
	}
	idle := s.hooks.idle
	s.hooks.mu.Unlock()
	<-idle
}

var sender = map[string]any{"login": "octocat", "id": 1, "type": "User"}

func (r *repo) hookJSON() map[string]any {
	return map[string]any{
		"id": r.id, "name": r.name, "full_name": r.fullName(), "private": false,
		"owner":    map[string]any{"login": r.owner, "id": 1, "type": "Organization"},
		"html_url": r.htmlURL(), "default_branch": r.defaultBranch,
	}
}

// emit delivers an event of repository r to every subscribed hook. The
// caller may hold s.mu: emit only reads r and never waits for a delivery.
func (s *Server) emit(event string, r *repo, payload map[string]any) {
	payload["repository"] = r.hookJSON()
	payload["sender"] = sender
	s.hooks.mu.Lock()
	var to []*webhook
	for _, h := range s.hooks.hooks {
		if h.events["*"] || h.events[event] {
			to = append(to, h)
		}
	}
	s.hooks.mu.Unlock()
	for _, h := range to {
		s.sendTo(h, event, payload)
	}
}

func (s *Server) sendTo(h *webhook, event string, payload map[string]any) {
	body, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	mac := hmac.New(sha256.New, h.secret)
	mac.Write(body)
	header := http.Header{}
	id := newGUID()
	header.Set("Content-Type", "application/json")
	header.Set("User-Agent", "GitHub-Hookshot/simulator")
	header.Set("X-GitHub-Event", event)
	header.Set("X-GitHub-Delivery", id)
	header.Set("X-GitHub-Hook-ID", strconv.FormatInt(h.id, 10))
	header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	action, _ := payload["action"].(string)
	d := &delivery{Delivery: Delivery{ID: id, HookID: h.id, Event: event, Action: action, Body: body}, header: header, url: h.url}
	s.hooks.mu.Lock()
	s.hooks.deliveries = append(s.hooks.deliveries, d)
	s.hooks.inflight++
	s.hooks.mu.Unlock()
	go func() {
		s.post(d)
		s.hooks.mu.Lock()
		defer s.hooks.mu.Unlock()
		if s.hooks.inflight--; s.hooks.inflight == 0 && s.hooks.idle != nil {
			close(s.hooks.idle)
			s.hooks.idle = nil
		}
	}()
}

// post sends a delivery and records the answer.
func (s *Server) post(d *delivery) {
	s.hooks.mu.Lock()
	if s.hooks.client == nil {
		s.hooks.client = &http.Client{Timeout: 10 * time.Second} // GitHub gives up after 10s
	}
	c := s.hooks.client
	s.hooks.mu.Unlock()
	req, err := http.NewRequest(http.MethodPost, d.url, bytes.NewReader(d.Body))
	if err == nil {
		req.Header = d.header.Clone()
		var resp *http.Response
		if resp, err = c.Do(req); err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			_ = resp.Body.Close()
			s.hooks.mu.Lock()
			d.StatusCode, d.Response = resp.StatusCode, string(b)
			s.hooks.mu.Unlock()
		}
	}
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	if err != nil {
		d.Error = err.Error()
	}
	d.Done = true
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// --- the events ---

// emitTagCreated: a new tag makes a create event and a push event.
func (s *Server) emitTagCreated(r *repo, tag, sha string) {
	s.emit("create", r, map[string]any{"ref": tag, "ref_type": "tag", "master_branch": r.defaultBranch, "description": nil, "pusher_type": "user"})
	s.emit("push", r, map[string]any{
		"ref": "refs/tags/" + tag, "before": zeroSHA, "after": sha, "created": true, "deleted": false, "forced": false,
		"base_ref": nil, "compare": r.htmlURL() + "/compare/" + tag, "commits": []any{}, "head_commit": map[string]any{"id": sha},
		"pusher": map[string]any{"name": "octocat", "email": "octocat@github.com"},
	})
}

const zeroSHA = "0000000000000000000000000000000000000000"

// emitCheckRun: check_run created when a run starts, completed when it ends.
func (s *Server) emitCheckRun(r *repo, c *checkRun, action string) {
	run := r.checkRunJSON(c)
	run["check_suite"] = map[string]any{"head_sha": c.headSHA, "head_branch": r.defaultBranch}
	s.emit("check_run", r, map[string]any{"action": action, "check_run": run})
}

// checkRunAction is the check_run action of a write that left the run in
// status, or "" when GitHub sends none.
func checkRunAction(created bool, wasCompleted bool, status string) string {
	switch {
	case created:
		return "created"
	case status == "completed" && !wasCompleted:
		return "completed"
	}
	return ""
}

// emitStatus: a commit status event (it has no action).
func (s *Server) emitStatus(r *repo, st *commitStatus) {
	p := statusJSON(st)
	p["sha"], p["name"] = st.sha, r.fullName()
	p["commit"] = map[string]any{"sha": st.sha}
	p["branches"] = []any{}
	s.emit("status", r, p)
}
