package playground

import (
	"bytes"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"sync"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/liftoff-dev/liftoff/internal/notify"
)

// SampleInboxURL is where the samples' receivers point; the playground
// rewrites it when its inbox listens elsewhere.
const SampleInboxURL = "http://127.0.0.1:9092"

// NotifySecret signs the sample webhook receiver's deliveries
// (config/samples/release_v1alpha1_releasenotification.yaml).
const NotifySecret = "liftoff-playground-notify-secret"

// inboxSize is how many messages the inbox keeps.
const inboxSize = 200

// Inbox stands in for Slack, Microsoft Teams and a webhook endpoint: it takes
// what the sample ReleaseNotification sends to /slack, /teams and /webhook,
// logs a line per message, and shows them newest first at / (the JSON as
// received, the webhook's signature checked) and as JSON at /messages.
type Inbox struct {
	secret []byte
	mu     sync.Mutex
	msgs   []InboxMessage
}

// InboxMessage is one message received.
type InboxMessage struct {
	At       time.Time       `json:"at"`
	Receiver string          `json:"receiver"`
	Title    string          `json:"title"`
	Type     string          `json:"type,omitempty"`
	Signed   string          `json:"signed,omitempty"`
	Body     json.RawMessage `json:"body"`
}

// NewInbox verifies webhook deliveries with secret.
func NewInbox(secret []byte) *Inbox { return &Inbox{secret: secret} }

// Messages returns what was received, oldest first.
func (in *Inbox) Messages() []InboxMessage {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]InboxMessage(nil), in.msgs...)
}

func (in *Inbox) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.Method == http.MethodGet && req.URL.Path == "/":
		in.page(w)
	case req.Method == http.MethodGet && req.URL.Path == "/messages":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(in.Messages())
	case req.Method == http.MethodPost && (req.URL.Path == "/slack" || req.URL.Path == "/teams" || req.URL.Path == "/webhook"):
		in.receive(w, req)
	default:
		http.NotFound(w, req)
	}
}

func (in *Inbox) receive(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil || !json.Valid(body) {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	m := InboxMessage{At: time.Now(), Receiver: req.URL.Path[1:], Body: body}
	switch m.Receiver {
	case "slack":
		var s struct{ Text string }
		_ = json.Unmarshal(body, &s)
		m.Title = s.Text
	case "teams":
		// The card's first block is its title: a RichTextBlock of TextRuns.
		var t struct {
			Attachments []struct {
				Content struct {
					Body []struct {
						Text    string
						Inlines []struct{ Text string }
					}
				}
			}
		}
		_ = json.Unmarshal(body, &t)
		if len(t.Attachments) > 0 && len(t.Attachments[0].Content.Body) > 0 {
			first := t.Attachments[0].Content.Body[0]
			m.Title = first.Text
			for _, run := range first.Inlines {
				m.Title += run.Text
			}
		}
	case "webhook":
		var e notify.Event
		_ = json.Unmarshal(body, &e)
		m.Title, m.Type = e.Title, e.Type
		m.Signed = "signature valid"
		if got := req.Header.Get(notify.HeaderSignature); got != notify.Sign(in.secret, body) {
			m.Signed = "SIGNATURE INVALID"
		}
	}
	in.mu.Lock()
	in.msgs = append(in.msgs, m)
	if len(in.msgs) > inboxSize {
		in.msgs = in.msgs[len(in.msgs)-inboxSize:]
	}
	in.mu.Unlock()
	ctrl.Log.WithName("inbox").Info("Notification received", "receiver", m.Receiver, "title", m.Title)
	_, _ = io.WriteString(w, "ok")
}

var inboxPage = template.Must(template.New("inbox").Funcs(template.FuncMap{"pretty": pretty}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>Liftoff notifications</title>
<style>body{font-family:sans-serif;margin:2em}li{margin:.6em 0}pre{background:#f4f4f4;padding:.6em;overflow:auto;max-height:30em}.r{color:#555}</style>
</head><body><h1>Liftoff notifications</h1>
<p>What the playground's ReleaseNotification sent to Slack, Teams and the webhook, newest first. This page refreshes every 5 seconds.</p>
<ul>{{range .}}<li><b>{{.Title}}</b> <span class="r">{{.Receiver}} · {{.At.Format "15:04:05"}}{{if .Signed}} · {{.Signed}}{{end}}</span>
<details><summary>payload</summary><pre>{{pretty .Body}}</pre></details></li>{{else}}<li>Nothing yet.</li>{{end}}</ul>
</body></html>`))

func pretty(b json.RawMessage) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b)
	}
	return out.String()
}

func (in *Inbox) page(w http.ResponseWriter) {
	msgs := in.Messages()
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = inboxPage.Execute(w, msgs)
}
