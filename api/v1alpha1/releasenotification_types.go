package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NotificationEvent is a kind of news a ReleaseNotification sends.
// +kubebuilder:validation:Enum=Promoted;Released;Blocked;Verifying;RolledBack;FreezeStarting;MilestoneAtRisk
type NotificationEvent string

// Notification events.
const (
	// EventPromoted: a Release's version landed in a stage (and passed its verification, if any).
	EventPromoted NotificationEvent = "Promoted"
	// EventReleased: a Release reached its target stage.
	EventReleased NotificationEvent = "Released"
	// EventBlocked: a Release has waited before a stage longer than blockedAfter,
	// with the gates that hold it and who can unblock them.
	EventBlocked NotificationEvent = "Blocked"
	// EventVerifying: a version landed and its analysis runs.
	EventVerifying NotificationEvent = "Verifying"
	// EventRolledBack: verification failed and the previous version was written
	// back, with the analysis and the postmortem.
	EventRolledBack NotificationEvent = "RolledBack"
	// EventFreezeStarting: a freeze of a pipeline's calendar starts within freezeNotice.
	EventFreezeStarting NotificationEvent = "FreezeStarting"
	// EventMilestoneAtRisk: a milestone turned AtRisk or Late.
	EventMilestoneAtRisk NotificationEvent = "MilestoneAtRisk"
)

// ReceiverType is where a receiver delivers.
// +kubebuilder:validation:Enum=Slack;Teams;Webhook
type ReceiverType string

// Receiver types.
const (
	// ReceiverSlack: a Slack incoming webhook; messages are Block Kit blocks.
	ReceiverSlack ReceiverType = "Slack"
	// ReceiverTeams: a Microsoft Teams incoming webhook (or Workflows "post to a
	// channel when a webhook request is received"); messages are Adaptive Cards.
	ReceiverTeams ReceiverType = "Teams"
	// ReceiverWebhook: any HTTPS endpoint; a JSON document signed with
	// HMAC-SHA256 in X-Liftoff-Signature-256.
	ReceiverWebhook ReceiverType = "Webhook"
)

// ReleaseNotificationSpec says who hears what: the news of which pipelines,
// which events, which receivers, and an optional release report on a schedule.
// +kubebuilder:validation:XValidation:rule="(has(self.events) && size(self.events) > 0) || has(self.report)",message="set events (Promoted, Released, Blocked, Verifying, RolledBack, FreezeStarting, MilestoneAtRisk), a report, or both"
// +kubebuilder:validation:XValidation:rule="(has(self.receivers) && size(self.receivers) > 0) || !has(self.events) || size(self.events) == 0",message="events need receivers: add one to receivers (Slack, Teams or Webhook)"
type ReleaseNotificationSpec struct {
	// Pipelines whose Releases, calendars and milestones are reported on: by
	// names or by a label selector (an empty selector {} selects every
	// pipeline of the namespace).
	// +required
	Pipelines ObjectSelector `json:"pipelines"`

	// Milestones reported on, in addition to those of the pipelines' Releases
	// (a Milestone that one of their Releases names or that lists one).
	// +optional
	Milestones *ObjectSelector `json:"milestones,omitempty"`

	// Events to send. Each event is sent once to every receiver.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=7
	Events []NotificationEvent `json:"events,omitempty"`

	// BlockedAfter is how long a Release waits before a stage (after its soak
	// and planned time) before Blocked is sent. Defaults to 1h.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	BlockedAfter *metav1.Duration `json:"blockedAfter,omitempty"`

	// FreezeNotice is how long before a freeze starts FreezeStarting is sent.
	// Defaults to 24h.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	FreezeNotice *metav1.Duration `json:"freezeNotice,omitempty"`

	// Receivers of every event and report.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=10
	Receivers []NotificationReceiver `json:"receivers,omitempty"`

	// Report is a release report sent on a schedule and kept in status.
	// +optional
	Report *ReportSchedule `json:"report,omitempty"`
}

// ObjectSelector picks objects of the namespace by name or by label.
// +kubebuilder:validation:XValidation:rule="has(self.names) != has(self.selector)",message="set names or selector (an empty selector {} selects all), not both"
type ObjectSelector struct {
	// Names of the objects.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=253
	Names []string `json:"names,omitempty"`
	// Selector of the objects' labels.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// NotificationReceiver is one destination of the messages.
type NotificationReceiver struct {
	// Name of the receiver, unique in the notification; its delivery state in
	// status is under this name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
	// Type: Slack, Teams or Webhook.
	// +required
	Type ReceiverType `json:"type"`
	// SecretRef names a Secret of the namespace with the receiver's `url` (the
	// incoming webhook URL, http or https: it is a credential) and, for
	// Webhook, the `secret` that signs each delivery. Neither ever appears in
	// status, events or logs. The Secret is read at every reconcile: a missing
	// Secret or key, or a URL that is not http(s), makes the notification
	// Stalled (SecretNotFound, SecretInvalid) at once, naming the Secret and
	// the key.
	// +required
	SecretRef LocalObjectReference `json:"secretRef"`
}

// ReportSchedule is when the release report is written and sent.
type ReportSchedule struct {
	// RRule is an RFC 5545 recurrence rule without DTSTART, for example
	// FREQ=WEEKLY;BYDAY=MO for every Monday.
	// +required
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^(RRULE:)?[A-Z]+=[^;]+(;[A-Z]+=[^;]+)*$`
	RRule string `json:"rrule"`
	// Start is the first occurrence, a wall time in timeZone
	// (2026-11-23T09:00:00) or an RFC 3339 time; later occurrences keep its
	// time of day across daylight-saving changes.
	// +required
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$`
	Start string `json:"start"`
	// TimeZone is the IANA zone of start and the rule, for example
	// Europe/Berlin. Defaults to the time zone of the first selected
	// pipeline's ReleaseCalendar, else UTC.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	TimeZone string `json:"timeZone,omitempty"`
	// Lookahead is how far ahead "coming up" reaches (freezes, planned
	// promotions). Defaults to 7 days (168h).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	Lookahead *metav1.Duration `json:"lookahead,omitempty"`
}

// ReleaseNotificationStatus is the delivery record: what is sent, what waits,
// what failed. It is the whole state, so a restarted controller neither
// resends what was sent nor loses what was not.
type ReleaseNotificationStatus struct {
	// ObservedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Since: events that happened before it are not sent (the notification's
	// creation, later when the record of sent events overflowed).
	// +optional
	Since *metav1.Time `json:"since,omitempty"`

	// Receivers: the delivery state of each receiver.
	// +optional
	// +listType=map
	// +listMapKey=name
	Receivers []ReceiverStatus `json:"receivers,omitempty"`

	// Pending messages not yet delivered to every receiver, oldest first (at
	// most 50; when more wait, the oldest is dropped and counted).
	// +optional
	// +listType=atomic
	Pending []PendingMessage `json:"pending,omitempty"`

	// PendingCount is the number of pending messages.
	// +optional
	PendingCount int32 `json:"pendingCount"`

	// LastSent is when a message was last delivered to any receiver.
	// +optional
	LastSent *metav1.Time `json:"lastSent,omitempty"`

	// Sent are the keys of the latest messages delivered or given up (at
	// most 256), so an event derived again is recognised.
	// +optional
	// +listType=atomic
	Sent []SentMessage `json:"sent,omitempty"`

	// Report is the latest release report.
	// +optional
	Report *ReportStatus `json:"report,omitempty"`

	// NextReport is when the next report is due.
	// +optional
	NextReport *metav1.Time `json:"nextReport,omitempty"`

	// Conditions: Ready (every receiver configured and delivering),
	// Reconciling (a receiver fails; its messages are retried), Stalled (the
	// spec cannot be used: an invalid schedule or selector, or a receiver's
	// Secret missing or invalid).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ReceiverStatus is one receiver's delivery state.
type ReceiverStatus struct {
	// Name of the receiver.
	Name string `json:"name"`
	// Delivered counts the messages it accepted.
	// +optional
	Delivered int64 `json:"delivered"`
	// Dropped counts the messages given up for it: refused (4xx), still
	// failing after 24 hours, or pushed out of a full queue.
	// +optional
	Dropped int64 `json:"dropped"`
	// LastSent is when it last accepted a message.
	// +optional
	LastSent *metav1.Time `json:"lastSent,omitempty"`
	// LastSentTitle is the title of that message.
	// +optional
	LastSentTitle string `json:"lastSentTitle,omitempty"`
	// LastError is the last delivery failure (the URL is never shown).
	// +optional
	LastError string `json:"lastError,omitempty"`
	// LastErrorAt is when it happened.
	// +optional
	LastErrorAt *metav1.Time `json:"lastErrorAt,omitempty"`
	// ConsecutiveFailures since the last success; deliveries back off with them.
	// +optional
	ConsecutiveFailures int32 `json:"consecutiveFailures,omitempty"`
	// RetryAt is when the next delivery is tried after a failure.
	// +optional
	RetryAt *metav1.Time `json:"retryAt,omitempty"`
	// ConfigError says why the receiver cannot be used as configured: its
	// Secret is missing, lacks the key `url` (or, for a Webhook, `secret`),
	// or its URL is not an http(s) URL. Nothing is sent to it and nothing is
	// retried: its messages wait until the Secret is fixed, which is checked
	// at every reconcile and at least once a minute (Secrets are not watched).
	// +optional
	ConfigError string `json:"configError,omitempty"`
}

// PendingMessage is one message waiting for delivery.
type PendingMessage struct {
	// Key identifies the event (a hash of the Release UID, stage, transition
	// and promotion start time, or the like), and is sent as X-Liftoff-Delivery.
	Key string `json:"key"`
	// Type of the event, or Report.
	Type string `json:"type"`
	// Title for people.
	Title string `json:"title"`
	// At is when the event happened.
	At metav1.Time `json:"at"`
	// QueuedAt is when it was queued.
	QueuedAt metav1.Time `json:"queuedAt"`
	// Receivers still to deliver to.
	// +listType=atomic
	Receivers []string `json:"receivers"`
	// Payload is the event as the generic webhook receives it (JSON); the
	// other receivers' messages are rendered from it.
	// +optional
	Payload string `json:"payload,omitempty"`
}

// SentMessage is one message done with.
type SentMessage struct {
	// Key of the event.
	Key string `json:"key"`
	// At is when the event happened.
	At metav1.Time `json:"at"`
}

// ReportStatus is the latest release report.
type ReportStatus struct {
	// Occurrence of the schedule the report is for.
	Occurrence metav1.Time `json:"occurrence"`
	// GeneratedAt is when it was written.
	GeneratedAt metav1.Time `json:"generatedAt"`
	// PeriodStart: the report covers what happened from here to occurrence.
	PeriodStart metav1.Time `json:"periodStart"`
	// Markdown of the report (at most 16 KiB; `kubectl liftoff report` prints it).
	Markdown string `json:"markdown"`
	// Truncated is true when the report was longer and was cut.
	// +optional
	Truncated bool `json:"truncated,omitempty"`
	// Request is the value of the annotation release.liftoff.dev/report last
	// answered: setting it to a new value (`kubectl liftoff report --send`)
	// writes and sends a report at once.
	// +optional
	Request string `json:"request,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rnotif;notification,categories=liftoff
// +kubebuilder:printcolumn:name="Events",type=string,JSONPath=`.spec.events`
// +kubebuilder:printcolumn:name="Pending",type=integer,JSONPath=`.status.pendingCount`
// +kubebuilder:printcolumn:name="Last-Sent",type=date,JSONPath=`.status.lastSent`
// +kubebuilder:printcolumn:name="Next-Report",type=date,JSONPath=`.status.nextReport`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ReleaseNotification tells people what happens to the Releases of some
// pipelines, in Slack, Microsoft Teams or a signed webhook, and sends them a
// release report on a schedule. Delivery never holds a promotion.
type ReleaseNotification struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ReleaseNotificationSpec   `json:"spec,omitempty"`
	Status ReleaseNotificationStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ReleaseNotificationList is a list of ReleaseNotifications.
type ReleaseNotificationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ReleaseNotification `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ReleaseNotification{}, &ReleaseNotificationList{})
}
