package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WindowKind says whether a window opens or closes its stages.
// +kubebuilder:validation:Enum=Allow;Deny
type WindowKind string

// Window kinds.
const (
	// WindowAllow: when a stage has Allow windows, it is open only inside one of them.
	WindowAllow WindowKind = "Allow"
	// WindowDeny: a freeze; the stage is closed inside it, whatever Allow windows say.
	WindowDeny WindowKind = "Deny"
)

// ReleaseCalendarSpec is the release schedule: when stages may be promoted into.
type ReleaseCalendarSpec struct {
	// TimeZone is the IANA time zone (Europe/Berlin, America/New_York) that
	// window starts, ends and recurrences are written in. Defaults to UTC.
	// Recurrences follow wall-clock time across daylight-saving changes.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	TimeZone string `json:"timeZone,omitempty"`

	// Windows: Allow windows (release trains, business hours) and Deny windows
	// (freezes). A Deny window wins over every Allow window.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	Windows []CalendarWindow `json:"windows,omitempty"`
}

// CalendarWindow is one recurring or fixed span of time.
// +kubebuilder:validation:XValidation:rule="has(self.rrule) == has(self.duration)",message="a recurring window needs both rrule and duration; a fixed window has neither (it has start and end)"
// +kubebuilder:validation:XValidation:rule="has(self.rrule) != has(self.end)",message="set either rrule (with duration) or end, not both"
type CalendarWindow struct {
	// Name of the window, unique in the calendar.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// Kind is Allow or Deny (a freeze).
	// +required
	Kind WindowKind `json:"kind"`

	// RRule is an RFC 5545 recurrence rule without DTSTART, for example
	// FREQ=WEEKLY;BYDAY=MO,TU,WE,TH. Its first occurrence is start.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^(RRULE:)?[A-Z]+=[^;]+(;[A-Z]+=[^;]+)*$`
	RRule string `json:"rrule,omitempty"`

	// Start is the window's (first) start: a wall time in the calendar's time
	// zone (2026-12-18T17:00:00) or an RFC 3339 time.
	// +required
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$`
	Start string `json:"start"`

	// Duration of each occurrence of a recurring window, for example 8h or 72h.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	Duration *metav1.Duration `json:"duration,omitempty"`

	// End of a fixed window, written like start.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$`
	End string `json:"end,omitempty"`

	// Stages the window applies to. Empty means every stage.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=63
	Stages []string `json:"stages,omitempty"`

	// Reason shown in gate messages and on the calendar, for example
	// "year-end freeze: reduced on-call".
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Reason string `json:"reason,omitempty"`
}

// ReleaseCalendarStatus is the calendar as it stands: what is open now, what
// comes, what happened.
type ReleaseCalendarStatus struct {
	// ObservedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Stages: open or closed now, per stage of the pipelines that use the
	// calendar (and the stages its windows name).
	// +optional
	// +listType=map
	// +listMapKey=name
	Stages []CalendarStageStatus `json:"stages,omitempty"`

	// ActiveFreezes are the Deny windows in force now.
	// +optional
	// +listType=atomic
	ActiveFreezes []ActiveFreeze `json:"activeFreezes,omitempty"`

	// NextChange is the earliest time a stage opens or closes.
	// +optional
	NextChange *metav1.Time `json:"nextChange,omitempty"`

	// Upcoming entries of the next 30 days: window occurrences, freezes,
	// planned promotions and milestone due dates, by start time (at most 200).
	// +optional
	// +listType=atomic
	Upcoming []CalendarEntry `json:"upcoming,omitempty"`

	// Recent promotions of the last 30 days into the stages of the pipelines
	// that use the calendar, newest first (at most 100), with their outcome
	// and slip against plan, and the rollbacks on demand (type Rollback:
	// who asked, why, and the freeze in force then, which does not hold them).
	// +optional
	// +listType=atomic
	Recent []CalendarEntry `json:"recent,omitempty"`

	// Conditions: Ready (the windows compile), Stalled (they do not).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// CalendarStageStatus is one stage's state on the calendar.
type CalendarStageStatus struct {
	// Name of the stage; "*" stands for stages no window names.
	Name string `json:"name"`
	// Open is true when promotion into the stage is allowed now.
	Open bool `json:"open"`
	// Reason: the freeze or window that decides.
	// +optional
	Reason string `json:"reason,omitempty"`
	// NextChange is when the stage next opens or closes.
	// +optional
	NextChange *metav1.Time `json:"nextChange,omitempty"`
}

// ActiveFreeze is a Deny window in force.
type ActiveFreeze struct {
	// Window name.
	Window string `json:"window"`
	// Reason of the freeze.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Stages it closes; empty means every stage.
	// +optional
	// +listType=atomic
	Stages []string `json:"stages,omitempty"`
	// Until when this occurrence lasts.
	Until metav1.Time `json:"until"`
}

// CalendarEntryType is what a calendar entry stands for.
// +kubebuilder:validation:Enum=Window;Freeze;PlannedPromotion;Promotion;MilestoneDue;Rollback;LaunchForecast
type CalendarEntryType string

// Calendar entry types.
const (
	EntryWindow           CalendarEntryType = "Window"
	EntryFreeze           CalendarEntryType = "Freeze"
	EntryPlannedPromotion CalendarEntryType = "PlannedPromotion"
	EntryPromotion        CalendarEntryType = "Promotion"
	EntryMilestoneDue     CalendarEntryType = "MilestoneDue"
	// EntryRollback: a rollback on demand (the pipeline's spec.rollbacks).
	EntryRollback CalendarEntryType = "Rollback"
	// EntryLaunchForecast: when a launch is forecast to reach a stage
	// (its status.forecast), with the member on its critical path.
	EntryLaunchForecast CalendarEntryType = "LaunchForecast"
)

// CalendarEntry is one event on the calendar.
type CalendarEntry struct {
	// Type of the entry.
	Type CalendarEntryType `json:"type"`
	// Title for people, for example "freeze year-end" or "checkout 1.4.2 -> prod".
	Title string `json:"title"`
	// Start of the entry.
	Start metav1.Time `json:"start"`
	// End of the entry; absent for an instant (a promotion, a due date).
	// +optional
	End *metav1.Time `json:"end,omitempty"`
	// Stages concerned; empty means every stage.
	// +optional
	// +listType=atomic
	Stages []string `json:"stages,omitempty"`
	// Release concerned (planned or done promotions).
	// +optional
	Release string `json:"release,omitempty"`
	// Version concerned.
	// +optional
	Version string `json:"version,omitempty"`
	// Outcome of a done promotion: Promoted, Verifying, RolledBack, Failed, Superseded.
	// +optional
	Outcome string `json:"outcome,omitempty"`
	// Planned time of a done promotion that had one.
	// +optional
	Planned *metav1.Time `json:"planned,omitempty"`
	// Slip of a done promotion against its plan, for example 2h30m0s.
	// +optional
	Slip string `json:"slip,omitempty"`
	// Detail for people: the reason of a freeze, a milestone's health.
	// +optional
	Detail string `json:"detail,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rcal;calendar,categories=liftoff
// +kubebuilder:printcolumn:name="Zone",type=string,JSONPath=`.spec.timeZone`
// +kubebuilder:printcolumn:name="Next-Change",type=string,JSONPath=`.status.nextChange`,description="When a stage next opens or closes (a time, since a date column shows a future time as <invalid>)"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ReleaseCalendar is the release schedule of the pipelines that reference it:
// allow windows and freezes gate promotion; its status is the calendar of what
// comes and what happened, also served as an iCalendar feed.
type ReleaseCalendar struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ReleaseCalendarSpec   `json:"spec,omitempty"`
	Status ReleaseCalendarStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ReleaseCalendarList is a list of ReleaseCalendars.
type ReleaseCalendarList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ReleaseCalendar `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ReleaseCalendar{}, &ReleaseCalendarList{})
}
