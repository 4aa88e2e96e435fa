// Package notify tells people what happens to their releases: it derives
// events from the status of Releases, calendars and milestones (pure
// functions over a snapshot), keeps them in a bounded outbox that lives in
// the ReleaseNotification's status, renders them for Slack (Block Kit),
// Microsoft Teams (Adaptive Cards) and a generic JSON webhook signed with
// HMAC-SHA256, delivers them with retries and back-off, and writes the
// scheduled release report.
package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Event types besides the spec's events.
const (
	// TypeReport is the scheduled release report.
	TypeReport = "Report"
)

// Severity of an event, for colours and icons.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Event is one piece of news. Serialised as JSON it is the generic webhook's
// body (see the README for the schema) and the payload kept in the outbox;
// Slack and Teams messages are rendered from it.
type Event struct {
	// ID is the event's key: the same event derived again has the same ID.
	ID string `json:"id"`
	// Type: Promoted, Released, Blocked, Verifying, RolledBack, FreezeStarting,
	// MilestoneAtRisk or Report.
	Type string `json:"type"`
	// Severity: info, warning or critical.
	Severity string `json:"severity"`
	// At is when it happened (a freeze: when it starts).
	At time.Time `json:"at"`
	// Title and Text for people (plain text).
	Title string `json:"title"`
	Text  string `json:"text,omitempty"`

	Namespace    string `json:"namespace"`
	Notification string `json:"notification"`

	// Launch of an event of a whole launch (its members' news in one).
	Launch          string `json:"launch,omitempty"`
	Pipeline        string `json:"pipeline,omitempty"`
	Release         string `json:"release,omitempty"`
	Version         string `json:"version,omitempty"`
	Stage           string `json:"stage,omitempty"`
	PreviousVersion string `json:"previousVersion,omitempty"`

	// Facts are name/value pairs shown side by side.
	Facts []Fact `json:"facts,omitempty"`
	// Links to GitHub: the commit or pull request, the notes, the postmortem.
	Links []Link `json:"links,omitempty"`

	// Blocked: the gates that hold, since when, and who can act.
	BlockedSince *time.Time `json:"blockedSince,omitempty"`
	Gates        []Gate     `json:"gates,omitempty"`
	Unblockers   []string   `json:"unblockers,omitempty"`
	// RolledBack and Verifying: the analysis.
	Analysis []Metric `json:"analysis,omitempty"`
	// Postmortem issue of a rollback.
	Postmortem *Link `json:"postmortem,omitempty"`
	// ReleaseNotes of the promotion, when the Release's status has them.
	ReleaseNotes *Notes `json:"releaseNotes,omitempty"`
	// Freeze of FreezeStarting.
	Freeze *Freeze `json:"freeze,omitempty"`
	// Milestone of MilestoneAtRisk.
	Milestone *Milestone `json:"milestone,omitempty"`
	// Report of Report.
	Report *Report `json:"report,omitempty"`
}

// Fact is a name and a value.
type Fact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Link is a titled URL.
type Link struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Gate is a gate that holds a Release.
type Gate struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
	URL     string `json:"url,omitempty"`
}

// Metric is one analysis metric's record.
type Metric struct {
	Name         string `json:"name"`
	Phase        string `json:"phase"`
	Measurements int32  `json:"measurements"`
	Successes    int32  `json:"successes"`
	Failures     int32  `json:"failures"`
	Inconclusive int32  `json:"inconclusive"`
	Errors       int32  `json:"errors"`
	// Last is the last measured value, as Prometheus returned it.
	Last string `json:"last,omitempty"`
}

// Notes are the release notes of a promotion, as the Release's status has them.
type Notes struct {
	From    string `json:"from"`
	Count   int32  `json:"count"`
	Summary string `json:"summary"`
	URL     string `json:"url,omitempty"`
}

// Freeze is a freeze about to start.
type Freeze struct {
	Calendar string    `json:"calendar"`
	Window   string    `json:"window"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end,omitempty"`
	Stages   []string  `json:"stages,omitempty"`
	Reason   string    `json:"reason,omitempty"`
}

// Milestone is a milestone's health.
type Milestone struct {
	Name     string     `json:"name"`
	Health   string     `json:"health"`
	Due      time.Time  `json:"due"`
	Forecast *time.Time `json:"forecast,omitempty"`
	Progress string     `json:"progress,omitempty"`
	Blockers []Link     `json:"blockers,omitempty"`
}

// Report is the release report.
type Report struct {
	PeriodStart time.Time `json:"periodStart"`
	Occurrence  time.Time `json:"occurrence"`
	Markdown    string    `json:"markdown"`
}

// Key turns an event's natural key (release UID, stage, transition, start
// time...) into its ID: short, fixed length, and the same every time.
func Key(natural string) string {
	sum := sha256.Sum256([]byte(natural))
	return hex.EncodeToString(sum[:8])
}

// Payload is the event as JSON.
func (e *Event) Payload() ([]byte, error) { return json.Marshal(e) }

// ParsePayload reads an event back from its JSON.
func ParsePayload(b []byte) (*Event, error) {
	e := &Event{}
	if err := json.Unmarshal(b, e); err != nil {
		return nil, err
	}
	return e, nil
}
