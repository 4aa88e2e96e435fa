package controllers_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

func (e *testEnv) calendar(windows ...releasev1.CalendarWindow) *releasev1.ReleaseCalendar {
	e.t.Helper()
	rc := &releasev1.ReleaseCalendar{
		ObjectMeta: metav1.ObjectMeta{Name: "releases", Namespace: e.ns},
		Spec:       releasev1.ReleaseCalendarSpec{TimeZone: "Europe/Berlin", Windows: windows},
	}
	NewWithT(e.t).Expect(k8s.Create(context.Background(), rc)).To(Succeed())
	return rc
}

func (e *testEnv) getCalendar() *releasev1.ReleaseCalendar {
	rc := &releasev1.ReleaseCalendar{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: e.ns, Name: "releases"}, rc); err != nil {
		e.t.Fatalf("get calendar: %v", err)
	}
	return rc
}

func withCalendar(p *releasev1.ReleasePipeline) *releasev1.ReleasePipeline {
	p.Spec.CalendarRef = &releasev1.LocalObjectReference{Name: "releases"}
	return p
}

func berlin(t *testing.T, s string) time.Time {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02T15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A year-end freeze on prod holds the Release after staging; the gate says
// why and when it opens; the calendar's status and feed show the freeze; once
// the freeze ends the Release goes on by itself.
func TestFreezeHoldsPromotionUntilWindowOpens(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(berlin(t, "2026-12-23T10:00"))
	e := newEnv(t, withClock(clk), withHTTP())
	e.calendar(releasev1.CalendarWindow{Name: "year-end", Kind: releasev1.WindowDeny, Start: "2026-12-22T18:00", End: "2027-01-04T08:00",
		Stages: []string{"prod"}, Reason: "year-end freeze: reduced on-call"})
	g.Expect(k8s.Create(context.Background(), withCalendar(e.newPipeline()))).To(Succeed())
	e.release("r", "1.4.2")

	g.Eventually(e.gate("r", "prod", "calendar"), timeout, interval).Should(Equal(
		"Pending/WindowClosed: calendar releases: freeze year-end until 2027-01-04T08:00:00+01:00: year-end freeze: reduced on-call; opens at 2027-01-04 08:00 CET"))
	g.Expect(e.stagePhase("r", "staging")()).To(Equal(releasev1.StagePromoted))
	g.Expect(e.condition("r", releasev1.ConditionReady)()).To(ContainSubstring("waiting to promote into prod: calendar: calendar releases: freeze year-end"))
	g.Consistently(func() int { return len(e.liftoffCommits("r", "prod")) }, time.Second, 100*time.Millisecond).Should(BeZero())

	// The calendar shows prod closed, the freeze in force and the two promotions done.
	g.Eventually(func() []releasev1.CalendarStageStatus { return e.getCalendar().Status.Stages }, timeout, interval).Should(ContainElement(And(
		HaveField("Name", "prod"), HaveField("Open", false),
		HaveField("Reason", "freeze year-end until 2027-01-04T08:00:00+01:00: year-end freeze: reduced on-call"),
		HaveField("NextChange.Time", BeTemporally("==", berlin(t, "2027-01-04T08:00"))))))
	g.Eventually(func() int { return len(e.getCalendar().Status.Recent) }, timeout, interval).Should(Equal(2))
	rc := e.getCalendar()
	g.Expect(rc.Status.Stages[0]).To(Equal(releasev1.CalendarStageStatus{Name: "dev", Open: true, Reason: "no window restricts the stage"}))
	g.Expect(rc.Status.ActiveFreezes).To(HaveExactElements(And(HaveField("Window", "year-end"), HaveField("Reason", "year-end freeze: reduced on-call"),
		HaveField("Stages", []string{"prod"}), HaveField("Until.Time", BeTemporally("==", berlin(t, "2027-01-04T08:00"))))))
	g.Expect(rc.Status.NextChange.Time).To(BeTemporally("==", berlin(t, "2027-01-04T08:00")))
	// kubectl shows the next change as a time, not as "<invalid>" (what a
	// date column makes of a time in the future).
	out, ok := e.kubectlAs("admin", []string{"system:masters"}, "get", "releasecalendars", "-n", e.ns)
	g.Expect(ok).To(BeTrue(), out)
	g.Expect(out).To(MatchRegexp(`(?m)^NAME\s+ZONE\s+NEXT-CHANGE\s+READY\s+AGE\n` + `releases\s+Europe/Berlin\s+2027-01-04T07:00:00Z\s+True\s+`))
	g.Expect(rc.Status.Upcoming).To(HaveLen(1))
	g.Expect(rc.Status.Upcoming[0].Type).To(Equal(releasev1.EntryFreeze))
	g.Expect(rc.Status.Recent).To(ConsistOf(
		And(HaveField("Title", "checkout 1.4.2 -> dev"), HaveField("Outcome", "Promoted"), HaveField("Release", "r")),
		And(HaveField("Title", "checkout 1.4.2 -> staging"), HaveField("Outcome", "Promoted"), HaveField("Release", "r"))))

	// The feed parses with a real iCalendar parser and carries the freeze.
	resp, err := http.Get(e.httpURL + "/calendars/" + e.ns + "/releases.ics")
	g.Expect(err).NotTo(HaveOccurred())
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK), string(body))
	g.Expect(resp.Header.Get("Content-Type")).To(HavePrefix("text/calendar"))
	cal, err := ics.ParseCalendar(strings.NewReader(string(body)))
	g.Expect(err).NotTo(HaveOccurred())
	var summaries []string
	for _, ev := range cal.Events() {
		summaries = append(summaries, ev.GetProperty(ics.ComponentPropertySummary).Value)
	}
	g.Expect(summaries).To(ContainElements(`Freeze: year-end (prod)`, `Promoted: checkout 1.4.2 -> staging`, `Promoted: checkout 1.4.2 -> dev`))
	resp, err = http.Get(e.httpURL + "/calendars/" + e.ns + "/missing.ics")
	g.Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusNotFound))

	// The freeze ends: prod opens and the Release goes on.
	clk.SetTime(berlin(t, "2027-01-04T08:00"))
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.liftoffCommits("r", "prod")).To(HaveLen(1))
	g.Eventually(func() []releasev1.ActiveFreeze { return e.getCalendar().Status.ActiveFreezes }, timeout, interval).Should(BeEmpty())
}

// A planned promotion waits for its time, appears on the calendar, and its
// slip is recorded on the Release and the calendar.
func TestPlannedPromotionWaitsAndRecordsSlip(t *testing.T) {
	g := NewWithT(t)
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakeClock(start)
	e := newEnv(t, withClock(clk))
	e.calendar()
	g.Expect(k8s.Create(context.Background(), withCalendar(e.newPipeline(e.stage("dev"), e.stage("prod"))))).To(Succeed())
	planned := metav1.NewTime(start.Add(2 * time.Hour))
	e.release("r", "1.4.2", func(r *releasev1.Release) {
		r.Spec.Plan = []releasev1.PlannedPromotion{{Stage: "prod", At: planned}}
	})

	e.milestone("q4", func(m *releasev1.Milestone) { m.Spec.DueDate = metav1.NewTime(start.Add(10 * 24 * time.Hour)) })
	g.Eventually(func() []releasev1.CalendarEntry { return e.getCalendar().Status.Upcoming }, timeout, interval).Should(ContainElement(And(
		HaveField("Type", releasev1.EntryMilestoneDue), HaveField("Title", "milestone q4 due"),
		HaveField("Start.Time", BeTemporally("==", start.Add(10*24*time.Hour))))))
	g.Eventually(e.gate("r", "prod", "notBefore"), timeout, interval).Should(Equal(
		"Pending/PlannedLater: planned for 2026-11-23T11:00:00Z (in 2h0m0s): spec.plan holds it until then"))
	g.Eventually(func() []releasev1.CalendarEntry { return e.getCalendar().Status.Upcoming }, timeout, interval).Should(ContainElement(And(
		HaveField("Type", releasev1.EntryPlannedPromotion), HaveField("Title", "checkout 1.4.2 -> prod"),
		HaveField("Start.Time", BeTemporally("==", planned.Time)), HaveField("Stages", []string{"prod"}),
		HaveField("Release", "r"), HaveField("Version", "1.4.2"))))
	g.Consistently(func() int { return len(e.liftoffCommits("r", "prod")) }, time.Second, 100*time.Millisecond).Should(BeZero())

	clk.SetTime(start.Add(3*time.Hour + 30*time.Minute))
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	ss := e.get("r").Status.StageStatus("prod")
	g.Expect(ss.PlannedAt.Time).To(BeTemporally("==", planned.Time))
	g.Expect(ss.Slip.Duration).To(Equal(90 * time.Minute))
	g.Eventually(func() []releasev1.CalendarEntry { return e.getCalendar().Status.Recent }, timeout, interval).Should(ContainElement(
		And(HaveField("Title", "checkout 1.4.2 -> prod"), HaveField("Slip", "1h30m0s"), HaveField("Outcome", "Promoted"))))
	g.Expect(e.getCalendar().Status.Upcoming).To(HaveExactElements(HaveField("Type", releasev1.EntryMilestoneDue)))
}

// Windows that cannot be evaluated are refused at admission with the reason.
func TestCalendarRefusedAtAdmission(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		tz   string
		w    releasev1.CalendarWindow
		want string
	}{
		{"bad zone", "Mars/Olympus", releasev1.CalendarWindow{Name: "w", Kind: releasev1.WindowDeny, Start: "2026-12-22T18:00", End: "2027-01-04T08:00"},
			`timeZone "Mars/Olympus" is not an IANA time zone`},
		{"bad rrule", "", releasev1.CalendarWindow{Name: "w", Kind: releasev1.WindowAllow, RRule: "FREQ=FORTNIGHTLY", Start: "2026-12-01T09:00", Duration: &metav1Duration{Duration: time.Hour}},
			`window "w": rrule "FREQ=FORTNIGHTLY"`},
		{"end before start", "", releasev1.CalendarWindow{Name: "w", Kind: releasev1.WindowDeny, Start: "2027-01-04T08:00", End: "2026-12-22T18:00"},
			`window "w": end 2026-12-22T18:00 is not after start 2027-01-04T08:00`},
		{"rrule without duration", "", releasev1.CalendarWindow{Name: "w", Kind: releasev1.WindowAllow, RRule: "FREQ=DAILY", Start: "2026-12-01T09:00"},
			"a recurring window needs both rrule and duration"},
		{"not a time", "", releasev1.CalendarWindow{Name: "w", Kind: releasev1.WindowDeny, Start: "next monday", End: "2027-01-04T08:00"},
			"spec.windows[0].start"},
		{"impossible date", "", releasev1.CalendarWindow{Name: "w", Kind: releasev1.WindowDeny, Start: "2026-02-30T10:00", End: "2027-01-04T08:00"},
			`window "w": start: "2026-02-30T10:00" is not a time`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := &releasev1.ReleaseCalendar{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: e.ns},
				Spec: releasev1.ReleaseCalendarSpec{TimeZone: tc.tz, Windows: []releasev1.CalendarWindow{tc.w}}}
			err := k8s.Create(context.Background(), rc)
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tc.want)))
		})
	}
}

// An approved Manual stage is held by the calendar like an automatic one:
// outside the release train it waits, and goes once the train opens.
func TestCalendarHoldsApprovedManualStage(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(berlin(t, "2026-11-27T18:00")) // a Friday evening
	e := newEnv(t, withClock(clk))
	e.calendar(releasev1.CalendarWindow{Name: "train", Kind: releasev1.WindowAllow, RRule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH",
		Start: "2026-11-23T09:00", Duration: &metav1Duration{Duration: 7 * time.Hour}, Stages: []string{"prod"}})
	g.Expect(k8s.Create(context.Background(), withCalendar(e.newPipeline(e.stage("dev"), e.stage("prod", func(s *releasev1.Stage) {
		s.Promotion = releasev1.PromotionManual
		s.Gates = &releasev1.Gates{Approvals: &releasev1.ApprovalsGate{Count: 1}}
	}))))).To(Succeed())
	e.release("r", "1.4.2")
	g.Expect(e.approveAs(e.approver("ann"), "r", "prod")).To(Succeed())

	g.Eventually(e.gate("r", "prod", "calendar"), timeout, interval).Should(Equal(
		"Pending/WindowClosed: calendar releases: outside every allow window; opens at 2026-11-30 09:00 CET"))
	// The approval may reach the controller after a first look at the gates.
	g.Eventually(e.gate("r", "prod", "approvals"), timeout, interval).Should(HavePrefix("Passed/"))
	g.Consistently(func() int { return len(e.liftoffCommits("r", "prod")) }, time.Second, 100*time.Millisecond).Should(BeZero())

	clk.SetTime(berlin(t, "2026-11-30T09:00"))
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.gate("r", "prod", "calendar")()).To(Equal("Passed/WindowOpen: calendar releases: inside allow window train"))
}
