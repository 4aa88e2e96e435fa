// Package hooks is the GitHub webhook receiver mounted at /hooks/github. It
// checks each delivery's HMAC signature and turns the events Liftoff cares
// about into triggers: discovery of a repository's new versions, and a
// re-check of the QA gates of a commit. It hands each trigger to a Sink,
// which in the manager records it in the API server (a stamp on the objects
// concerned) so that the elected leader acts on it whichever replica
// received it, and so that it outlives the replica. The receiver holds no
// state that matters: the memory of recent delivery IDs only spares
// duplicate work, and every trigger is idempotent.
package hooks

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Path is where the receiver is mounted on the manager's HTTP mux.
const Path = "/hooks/github"

// MaxBody caps a delivery's payload. The events Liftoff reads are small; a
// push with many commits can be larger, and is refused (polling catches up).
const MaxBody = 1 << 20

// Event is a trigger for one repository; SHA is set for a QA re-check.
type Event struct {
	// Repository is owner/name from the payload's repository.full_name.
	Repository string
	// SHA is the commit whose QA results changed (re-check triggers only).
	SHA string
	// Delivery is GitHub's X-GitHub-Delivery ID ("" when absent).
	Delivery string
}

// Sink takes the triggers of authentic deliveries. An error refuses the
// delivery (503), so a redelivery from GitHub brings it again; polling
// catches up meanwhile.
type Sink interface {
	// Discover asks for a discovery of the pipelines of ev.Repository.
	Discover(ctx context.Context, ev Event) error
	// Recheck asks for the QA gates of the Releases of ev.SHA.
	Recheck(ctx context.Context, ev Event) error
}

var deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "liftoff_github_webhook_deliveries_total",
	Help: "GitHub webhook deliveries by event and outcome (triggered, ignored, duplicate, unrecorded, pong, unauthorized, unconfigured, too_large, bad_request, method_not_allowed).",
}, []string{"event", "outcome"})

func init() { metrics.Registry.MustRegister(deliveries) }

// knownEvents bound the metric's event label: anything else is "other".
var knownEvents = map[string]bool{"ping": true, "release": true, "create": true, "push": true,
	"check_run": true, "check_suite": true, "status": true}

// Handler receives GitHub webhook deliveries. Every replica serves it: a
// standby hands its triggers to the same Sink as the leader.
type Handler struct {
	secret []byte
	sink   Sink
	seen   *recent
}

// NewHandler verifies deliveries with secret (without one it refuses every
// delivery) and hands their triggers to sink.
func NewHandler(secret []byte, sink Sink) *Handler {
	return &Handler{secret: append([]byte(nil), secret...), sink: sink, seen: newRecent(4096)}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ev := req.Header.Get("X-GitHub-Event")
	label := ev
	if !knownEvents[label] {
		label = "other"
	}
	answer := func(code int, outcome, format string, args ...any) {
		deliveries.WithLabelValues(label, outcome).Inc()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, format+"\n", args...)
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		answer(http.StatusMethodNotAllowed, "method_not_allowed", "GitHub webhook deliveries are POSTed; %s is not allowed", req.Method)
		return
	}
	if len(h.secret) == 0 {
		answer(http.StatusServiceUnavailable, "unconfigured", "no webhook secret is configured, so no delivery can be verified: start the manager with --github-webhook-secret-file (or LIFTOFF_GITHUB_WEBHOOK_SECRET) holding the secret set on the GitHub webhook")
		return
	}
	if req.ContentLength > MaxBody {
		answer(http.StatusRequestEntityTooLarge, "too_large", "payload of %d bytes is over the 1 MiB limit: subscribe the webhook only to the release, create, push, check_run, check_suite and status events; polling picks up what is missed", req.ContentLength)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			answer(http.StatusRequestEntityTooLarge, "too_large", "payload is over the 1 MiB limit: subscribe the webhook only to the release, create, push, check_run, check_suite and status events; polling picks up what is missed")
			return
		}
		answer(http.StatusBadRequest, "bad_request", "reading the payload: %v", err)
		return
	}
	sig := req.Header.Get("X-Hub-Signature-256")
	if sig == "" {
		answer(http.StatusUnauthorized, "unauthorized", "missing X-Hub-Signature-256: set the secret on the GitHub webhook")
		return
	}
	if !h.valid(sig, body) {
		answer(http.StatusUnauthorized, "unauthorized", "X-Hub-Signature-256 does not match the payload: the secret on the GitHub webhook differs from the controller's")
		return
	}
	if ev == "" {
		answer(http.StatusBadRequest, "bad_request", "missing X-GitHub-Event header")
		return
	}
	id := req.Header.Get("X-GitHub-Delivery")
	if id != "" && !h.seen.add(id) {
		answer(http.StatusOK, "duplicate", "duplicate delivery %s: already handled", id)
		return
	}
	code, outcome, msg := h.route(req.Context(), ev, id, body)
	if (outcome == "unrecorded" || outcome == "bad_request") && id != "" {
		// A redelivery of an unrecorded or unreadable delivery is worth
		// trying again: it is not remembered.
		h.seen.forget(id)
	}
	answer(code, outcome, "%s", msg)
}

// valid checks "sha256=<hex>" in constant time.
func (h *Handler) valid(sig string, body []byte) bool {
	hexSum, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, h.secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// payload is the part of GitHub's event payloads the receiver reads.
type payload struct {
	Action     string `json:"action"`
	Ref        string `json:"ref"`
	RefType    string `json:"ref_type"`
	Deleted    bool   `json:"deleted"`
	SHA        string `json:"sha"`
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	CheckRun struct {
		HeadSHA string `json:"head_sha"`
	} `json:"check_run"`
	CheckSuite struct {
		HeadSHA string `json:"head_sha"`
	} `json:"check_suite"`
}

// route answers an authentic delivery: code, outcome and message.
func (h *Handler) route(ctx context.Context, ev, id string, body []byte) (int, string, string) {
	if ev == "ping" {
		return http.StatusOK, "pong", "pong"
	}
	if !knownEvents[ev] {
		return http.StatusAccepted, "ignored", fmt.Sprintf("event %s is ignored: Liftoff reads release, create, push, check_run, check_suite and status", ev)
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return http.StatusBadRequest, "bad_request", fmt.Sprintf("payload is not JSON (%v): set the webhook's content type to application/json", err)
	}
	repo := p.Repository.FullName
	if repo == "" {
		return http.StatusBadRequest, "bad_request", "payload has no repository.full_name"
	}
	unrecorded := func(err error) (int, string, string) {
		return http.StatusServiceUnavailable, "unrecorded", fmt.Sprintf("recording the delivery failed (%v): redeliver it from the webhook's Recent Deliveries; polling picks it up meanwhile", err)
	}
	discover := func(why string) (int, string, string) {
		if err := h.sink.Discover(ctx, Event{Repository: repo, Delivery: id}); err != nil {
			return unrecorded(err)
		}
		return http.StatusAccepted, "triggered", fmt.Sprintf("discovery of %s triggered by %s", repo, why)
	}
	recheck := func(sha string) (int, string, string) {
		if sha == "" {
			return http.StatusBadRequest, "bad_request", fmt.Sprintf("%s payload has no head SHA", ev)
		}
		if err := h.sink.Recheck(ctx, Event{Repository: repo, SHA: sha, Delivery: id}); err != nil {
			return unrecorded(err)
		}
		return http.StatusAccepted, "triggered", fmt.Sprintf("QA gates of %s@%s re-checked", repo, sha)
	}
	switch ev {
	case "release":
		switch p.Action {
		case "published", "released", "created":
			return discover("release " + p.Action)
		}
	case "create":
		if p.RefType == "tag" {
			return discover("tag " + p.Ref)
		}
	case "push":
		if strings.HasPrefix(p.Ref, "refs/tags/") && !p.Deleted {
			return discover("push of " + p.Ref)
		}
	case "check_run":
		return recheck(p.CheckRun.HeadSHA)
	case "check_suite":
		return recheck(p.CheckSuite.HeadSHA)
	case "status":
		return recheck(p.SHA)
	}
	return http.StatusAccepted, "ignored", fmt.Sprintf("%s %s is ignored", ev, strings.TrimSpace(p.Action+" "+p.RefType))
}

// recent remembers the last n delivery IDs (oldest forgotten first).
type recent struct {
	mu   sync.Mutex
	ids  map[string]int
	ring []string
	next int
}

func newRecent(n int) *recent { return &recent{ids: map[string]int{}, ring: make([]string, n)} }

// add records id; false when it was already there.
func (r *recent) add(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.ids[id]; ok {
		return false
	}
	if old := r.ring[r.next]; old != "" && r.ids[old] == r.next {
		delete(r.ids, old)
	}
	r.ring[r.next], r.ids[id] = id, r.next
	r.next = (r.next + 1) % len(r.ring)
	return true
}

func (r *recent) forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if slot, ok := r.ids[id]; ok {
		delete(r.ids, id)
		r.ring[slot] = ""
	}
}
