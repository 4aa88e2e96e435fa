package controllers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

// A Monday noon; every time in these tests is relative to it.
var msT0 = time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)

const msWeek = 7 * 24 * time.Hour

func (e *testEnv) milestone(name string, mod func(*releasev1.Milestone)) {
	e.t.Helper()
	ms := &releasev1.Milestone{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec:       releasev1.MilestoneSpec{PollInterval: &metav1.Duration{Duration: time.Second}},
	}
	mod(ms)
	NewWithT(e.t).Expect(k8s.Create(context.Background(), ms)).To(Succeed())
}

func (e *testEnv) getMilestone(name string) *releasev1.Milestone {
	ms := &releasev1.Milestone{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: e.ns, Name: name}, ms); err != nil {
		e.t.Fatalf("get milestone %s: %v", name, err)
	}
	return ms
}

func (e *testEnv) msStatus(name string) func() releasev1.MilestoneStatus {
	return func() releasev1.MilestoneStatus { return e.getMilestone(name).Status }
}

// msCondition is "Status/Reason: message" of a condition of a Milestone.
func (e *testEnv) msCondition(name, ctype string) func() string {
	return func() string {
		for _, c := range e.getMilestone(name).Status.Conditions {
			if c.Type == ctype {
				return fmt.Sprintf("%s/%s: %s", c.Status, c.Reason, c.Message)
			}
		}
		return ""
	}
}

// healthEvents lists the notes of the HealthChanged events of a Milestone, oldest first.
func (e *testEnv) healthEvents(name string) func() []string {
	return func() []string {
		var list eventsv1.EventList
		if err := k8s.List(context.Background(), &list, client.InNamespace(e.ns)); err != nil {
			e.t.Fatalf("list events: %v", err)
		}
		var out []string
		for _, ev := range list.Items {
			if ev.Reason == "HealthChanged" && ev.Regarding.Kind == "Milestone" && ev.Regarding.Name == name {
				out = append(out, ev.Note)
			}
		}
		return out
	}
}

func setPaused(e *testEnv, name string, paused bool) {
	e.t.Helper()
	NewWithT(e.t).Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		rel := e.get(name)
		rel.Spec.Paused = paused
		return k8s.Update(context.Background(), rel)
	})).To(Succeed())
}

// printerColumns reads the milestones as `kubectl get` does: a server-side Table.
func printerColumns(t *testing.T, ns string) map[string]map[string]any {
	t.Helper()
	hc, err := rest.HTTPClientFor(restCfg)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(restCfg.Host, "/")+"/apis/release.liftoff.dev/v1alpha1/namespaces/"+ns+"/milestones", nil)
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var table metav1.Table
	if err := json.Unmarshal(body, &table); err != nil {
		t.Fatalf("table: %v: %s", err, body)
	}
	out := map[string]map[string]any{}
	for _, row := range table.Rows {
		cells := map[string]any{}
		for i, col := range table.ColumnDefinitions {
			cells[col.Name] = row.Cells[i]
		}
		out[fmt.Sprint(cells["Name"])] = cells
	}
	return out
}

// From OnTrack to AtRisk when a blocker opens, to Completed when every issue
// is closed and the release is live in the target stage; and it stays so.
func TestMilestoneProgressForecastBlockersAndCompletion(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(msT0)
	e := newEnv(t, withClock(clk))
	due := msT0.Add(3 * msWeek)

	// 8 closed in the last four weeks (2 a week), 2 long ago, 2 open:
	// 10/12 closed, forecast one week from now, two before the due date.
	n := e.sim.CreateMilestone(appRepo, "1.5", due)
	for k := 0; k < 8; k++ {
		e.sim.CloseIssue(appRepo, e.sim.CreateIssue(appRepo, fmt.Sprintf("done %d", k), nil, n), msT0.Add(-time.Hour-time.Duration(k)*3*24*time.Hour))
	}
	for k := 0; k < 2; k++ {
		e.sim.CloseIssue(appRepo, e.sim.CreateIssue(appRepo, fmt.Sprintf("old %d", k), nil, n), msT0.Add(-8*msWeek))
	}
	open := []int{e.sim.CreateIssue(appRepo, "Polish the receipt", []string{"ui"}, n), e.sim.CreateIssue(appRepo, "Faster search", nil, n)}
	e.sim.CreateIssue(appRepo, "Not in the milestone", []string{"release-blocker"}, 0)

	e.pipeline()
	e.release("checkout-1-4-2", "1.4.2", func(r *releasev1.Release) { r.Spec.Milestone = "q4"; r.Spec.Paused = true })
	// No secretRef: the credential of the release's pipeline is used.
	e.milestone("q4", func(ms *releasev1.Milestone) {
		ms.Spec.DueDate = metav1.NewTime(due)
		ms.Spec.TargetStage = "prod"
		ms.Spec.GitHub = &releasev1.MilestoneGitHub{Repository: appRepo, Milestone: "1.5"}
	})

	g.Eventually(e.msStatus("q4"), timeout, interval).Should(And(
		HaveField("Health", releasev1.HealthOnTrack),
		HaveField("Progress", "10/12 (83%)"),
		HaveField("OpenIssues", int32(2)), HaveField("ClosedIssues", int32(10)), HaveField("Percent", int32(83)),
		HaveField("ClosingRate", "2"),
		HaveField("DaysRemaining", int32(21)),
		HaveField("BlockerCount", int32(0)),
	))
	st := e.getMilestone("q4").Status
	g.Expect(st.Forecast.Time.Equal(msT0.Add(msWeek))).To(BeTrue(), "forecast %v: now + 2 open / 2 a week", st.Forecast)
	g.Expect(st.LastSynced.Time.Equal(msT0)).To(BeTrue(), "lastSynced %v", st.LastSynced)
	g.Eventually(func() []releasev1.MilestoneRelease { return e.getMilestone("q4").Status.Releases }, timeout, interval).Should(Equal(
		[]releasev1.MilestoneRelease{{Name: "checkout-1-4-2", Version: "1.4.2", Phase: releasev1.PhaseBlocked, Stage: "dev", Done: false}}))
	g.Expect(e.msCondition("q4", releasev1.ConditionReady)()).To(HavePrefix("True/OnTrack: on track: 2 of 12 issues open"))
	g.Eventually(e.healthEvents("q4"), timeout, interval).Should(Equal([]string{"Health none → OnTrack: on track: 2 of 12 issues open, 1 of 1 releases not live in the target stage"}))

	cols := printerColumns(t, e.ns)["q4"]
	g.Expect(cols).To(HaveKeyWithValue("Health", "OnTrack"))
	g.Expect(cols).To(HaveKeyWithValue("Progress", "10/12 (83%)"))
	g.Expect(cols).To(HaveKeyWithValue("Blockers", BeNumerically("==", 0)))
	g.Expect(cols).To(HaveKeyWithValue("Due", "2026-11-23T12:00:00Z"))

	// A blocker opens; the next poll sees it.
	blocker := e.sim.CreateIssue(appRepo, "Payment fails for 3-D Secure cards", []string{"release-blocker"}, n)
	clk.Step(time.Second)
	g.Eventually(e.msStatus("q4"), timeout, interval).Should(And(
		HaveField("Health", releasev1.HealthAtRisk),
		HaveField("BlockerCount", int32(1)),
		HaveField("Progress", "10/13 (76%)"),
	))
	g.Expect(e.getMilestone("q4").Status.Blockers).To(Equal([]releasev1.BlockerIssue{{
		Number: blocker, Title: "Payment fails for 3-D Secure cards", URL: fmt.Sprintf("https://github.com/%s/issues/%d", appRepo, blocker)}}))
	g.Expect(e.msCondition("q4", releasev1.ConditionReady)()).To(Equal(fmt.Sprintf("True/AtRisk: 1 blockers open: #%d Payment fails for 3-D Secure cards", blocker)))
	g.Expect(printerColumns(t, e.ns)["q4"]).To(HaveKeyWithValue("Blockers", BeNumerically("==", 1)))

	// Everything closes; the release is still held before prod.
	for _, num := range append(open, blocker) {
		e.sim.CloseIssue(appRepo, num, clk.Now())
	}
	clk.Step(time.Second)
	g.Eventually(e.msStatus("q4"), timeout, interval).Should(And(
		HaveField("Health", releasev1.HealthOnTrack),
		HaveField("Progress", "13/13 (100%)"),
		HaveField("BlockerCount", int32(0)),
		HaveField("Blockers", BeEmpty()),
	))
	g.Expect(e.msCondition("q4", releasev1.ConditionReady)()).To(ContainSubstring("1 of 1 releases not live in the target stage"))

	// The release goes live in prod: the Release watch completes the milestone.
	setPaused(e, "checkout-1-4-2", false)
	g.Eventually(e.msStatus("q4"), timeout, interval).Should(HaveField("Health", releasev1.HealthCompleted))
	st = e.getMilestone("q4").Status
	g.Expect(st.CompletedAt).NotTo(BeNil())
	completedAt := st.CompletedAt.Time
	g.Expect(st.Releases).To(ConsistOf(HaveField("Done", true)))
	g.Expect(st.Releases[0].Stage).To(Equal("prod"))

	// Completed stays Completed: a new blocker and the due date passing change nothing.
	late := e.sim.CreateIssue(appRepo, "Regression", []string{"release-blocker"}, n)
	clk.Step(4 * msWeek)
	g.Eventually(e.msStatus("q4"), timeout, interval).Should(And(HaveField("BlockerCount", int32(1)), HaveField("DaysRemaining", int32(-8))), "1 week and 2 s past due")
	st = e.getMilestone("q4").Status
	g.Expect(st.Health).To(Equal(releasev1.HealthCompleted))
	g.Expect(st.CompletedAt.Time.Equal(completedAt)).To(BeTrue())
	g.Expect(st.Blockers[0].Number).To(Equal(late))
	g.Expect(e.healthEvents("q4")()).To(HaveLen(4), "none→OnTrack→AtRisk→OnTrack→Completed, and nothing else: %v", e.healthEvents("q4")())
	g.Consistently(e.healthEvents("q4"), time.Second, interval).Should(HaveLen(4))
}

// Late while the forecast is after the due date, Missed once it passes.
func TestMilestoneLateThenMissed(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(msT0)
	e := newEnv(t, withClock(clk))
	due := msT0.Add(2 * 24 * time.Hour)
	n := e.sim.CreateMilestone(appRepo, "hotfix", due)
	e.sim.CloseIssue(appRepo, e.sim.CreateIssue(appRepo, "a", nil, n), msT0.Add(-msWeek))
	e.sim.CreateIssue(appRepo, "b", nil, n)
	e.milestone("hotfix", func(ms *releasev1.Milestone) {
		ms.Spec.DueDate = metav1.NewTime(due)
		ms.Spec.GitHub = &releasev1.MilestoneGitHub{Repository: appRepo, Milestone: fmt.Sprint(n), APIURL: e.sim.URL() + "/", SecretRef: &releasev1.LocalObjectReference{Name: "github"}}
	})
	g.Eventually(e.msStatus("hotfix"), timeout, interval).Should(And(HaveField("Health", releasev1.HealthLate), HaveField("ClosingRate", "0.25"), HaveField("DaysRemaining", int32(2))))
	g.Expect(e.getMilestone("hotfix").Status.Forecast.Time.Equal(msT0.Add(4 * msWeek))).To(BeTrue())
	g.Expect(e.msCondition("hotfix", releasev1.ConditionReady)()).To(ContainSubstring("forecast 2026-11-30 is after the due date 2026-11-04"))

	clk.Step(2*24*time.Hour + time.Minute)
	g.Eventually(e.msStatus("hotfix"), timeout, interval).Should(And(HaveField("Health", releasev1.HealthMissed), HaveField("DaysRemaining", int32(-1))))
	g.Expect(e.getMilestone("hotfix").Status.CompletedAt).To(BeNil())
	g.Expect(e.msCondition("hotfix", releasev1.ConditionReady)()).To(ContainSubstring("due 2026-11-04 passed: 1 of 2 issues open"))
	g.Eventually(e.healthEvents("hotfix"), timeout, interval).Should(HaveLen(2))
	g.Expect(e.healthEvents("hotfix")()[1]).To(HavePrefix("Health Late → Missed"))
}

// Releases join by selector and by spec.milestone; a milestone without a
// GitHub part is completed by its releases alone.
func TestMilestoneReleasesBySelectorAndSpec(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.pipeline()
	e.release("by-label", "1.4.2", func(r *releasev1.Release) { r.Labels = map[string]string{"train": "q4"}; r.Spec.Paused = true })
	e.release("by-spec", "1.4.2", func(r *releasev1.Release) { r.Spec.Milestone = "q4"; r.Spec.Paused = true })
	e.release("other", "1.4.2", func(r *releasev1.Release) { r.Labels = map[string]string{"train": "q1"}; r.Spec.Paused = true })
	e.milestone("q4", func(ms *releasev1.Milestone) {
		ms.Spec.DueDate = metav1.NewTime(time.Now().Add(30 * 24 * time.Hour))
		ms.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"train": "q4"}}
		ms.Spec.TargetStage = "dev"
	})
	names := func() []string {
		var out []string
		for _, r := range e.getMilestone("q4").Status.Releases {
			out = append(out, r.Name)
		}
		return out
	}
	g.Eventually(names, timeout, interval).Should(Equal([]string{"by-label", "by-spec"}))
	g.Expect(e.getMilestone("q4").Status.Health).To(Equal(releasev1.HealthOnTrack))
	g.Expect(e.getMilestone("q4").Status.LastSynced).To(BeNil(), "no GitHub part, nothing read")

	// Relabelled out of the train: the milestone drops it at once.
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		rel := e.get("by-label")
		rel.Labels["train"] = "q1"
		return k8s.Update(context.Background(), rel)
	})).To(Succeed())
	g.Eventually(names, timeout, interval).Should(Equal([]string{"by-spec"}))

	// by-spec goes live in dev, the milestone's target stage.
	setPaused(e, "by-spec", false)
	g.Eventually(e.msStatus("q4"), timeout, interval).Should(HaveField("Health", releasev1.HealthCompleted))
	g.Expect(e.getMilestone("q4").Status.Releases).To(ConsistOf(And(HaveField("Name", "by-spec"), HaveField("Done", true))))
}

// A GitHub milestone that does not exist stalls with what to fix; once it
// exists the milestone recovers. GitHub failing later keeps what was read.
func TestMilestoneNotFoundStallsAndOutagesKeepStatus(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(msT0)
	e := newEnv(t, withClock(clk))
	e.milestone("ga", func(ms *releasev1.Milestone) {
		ms.Spec.DueDate = metav1.NewTime(msT0.Add(10 * msWeek))
		ms.Spec.GitHub = &releasev1.MilestoneGitHub{Repository: appRepo, Milestone: "2.0 GA", APIURL: e.sim.URL() + "/", SecretRef: &releasev1.LocalObjectReference{Name: "github"}}
	})
	g.Eventually(e.msCondition("ga", releasev1.ConditionStalled), timeout, interval).Should(Equal(
		`True/MilestoneNotFound: github: list milestones: no milestone titled "2.0 GA" in repository acme/checkout: fix spec.github.milestone (an exact title or a number) or create the milestone in acme/checkout`))
	g.Expect(e.getMilestone("ga").Status.Health).To(BeEmpty(), "no health is decided without the issues")

	n := e.sim.CreateMilestone(appRepo, "2.0 GA", msT0.Add(10*msWeek))
	e.sim.CloseIssue(appRepo, e.sim.CreateIssue(appRepo, "a", nil, n), msT0.Add(-time.Hour))
	e.sim.CreateIssue(appRepo, "b", nil, n)
	g.Eventually(e.msCondition("ga", releasev1.ConditionStalled), timeout, interval).Should(BeEmpty())
	g.Expect(e.getMilestone("ga").Status).To(And(HaveField("Health", releasev1.HealthOnTrack), HaveField("Progress", "1/2 (50%)")))

	e.sim.Inject(githubsim.Fault{Path: "/milestones", Status: http.StatusServiceUnavailable})
	e.sim.CreateIssue(appRepo, "c", nil, n)
	clk.Step(time.Second)
	g.Eventually(e.msCondition("ga", releasev1.ConditionReady), timeout, interval).Should(And(
		HavePrefix("False/GitHubUnavailable: "), ContainSubstring("keeping what was read at 2026-11-02T12:00:00Z")))
	g.Expect(e.getMilestone("ga").Status).To(And(HaveField("Health", releasev1.HealthOnTrack), HaveField("Progress", "1/2 (50%)")))

	e.sim.ClearFaults()
	g.Eventually(e.msStatus("ga"), timeout, interval).Should(HaveField("Progress", "1/3 (33%)"))
	g.Expect(e.msCondition("ga", releasev1.ConditionReady)()).To(HavePrefix("True/"))
}

// Between GitHub reads nothing is written: Release events recompute the
// status from what was read, and a forecast does not creep with the clock.
func TestMilestoneWritesStatusOnlyWhenItChanges(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	n := e.sim.CreateMilestone(appRepo, "1.6", time.Time{})
	e.sim.CloseIssue(appRepo, e.sim.CreateIssue(appRepo, "a", nil, n), time.Now().Add(-time.Hour))
	e.sim.CreateIssue(appRepo, "b", nil, n)
	e.pipeline()
	e.release("checkout-1-4-2", "1.4.2", func(r *releasev1.Release) { r.Spec.Milestone = "q1"; r.Spec.Paused = true })
	e.milestone("q1", func(ms *releasev1.Milestone) {
		ms.Spec.DueDate = metav1.NewTime(time.Now().Add(10 * msWeek))
		ms.Spec.PollInterval = &metav1.Duration{Duration: time.Hour}
		ms.Spec.GitHub = &releasev1.MilestoneGitHub{Repository: appRepo, Milestone: "1.6"}
	})
	g.Eventually(e.msStatus("q1"), timeout, interval).Should(And(HaveField("Health", releasev1.HealthOnTrack), HaveField("Releases", HaveLen(1))))
	g.Eventually(e.msStatus("q1"), timeout, interval).Should(HaveField("Releases", ConsistOf(HaveField("Stage", "dev"))))
	rv := e.getMilestone("q1").ResourceVersion

	// Release events bring the milestone back; nothing it shows changed.
	resourceVersion := func() string { return e.getMilestone("q1").ResourceVersion }
	for i := 0; i < 2; i++ {
		g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			rel := e.get("checkout-1-4-2")
			if rel.Annotations == nil {
				rel.Annotations = map[string]string{}
			}
			rel.Annotations["touched"] = fmt.Sprint(i)
			return k8s.Update(context.Background(), rel)
		})).To(Succeed())
		// Over more than a second a forecast computed from now would move.
		g.Consistently(resourceVersion, 1500*time.Millisecond, interval).Should(Equal(rv))
	}
}
