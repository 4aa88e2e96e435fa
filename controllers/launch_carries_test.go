package controllers_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

// approveLaunchAs appends an approval of stage to launch spring as the
// client's user.
func (e *testEnv) approveLaunchAs(c client.Client, stage string, mod ...func(*releasev1.Approval)) error {
	return approveIn(c, e.key("spring"), &releasev1.Launch{}, func(l *releasev1.Launch) *[]releasev1.Approval { return &l.Spec.Approvals }, stage, mod...)
}

// A launch carries a checklist, approvals and a milestone for its members. Checkout and
// web name no checklist: their staging waits for the launch's, until its
// owner signs it off. In prod the launch's approvals replace theirs: bob's
// approval of checkout alone lets nothing go; one approval of the launch
// lets both go. Approving a launch is checked as approving a Release is: a
// forged name, an approver without the approve verb on the launch and the
// launch's creator are refused, the approver's name is stamped.
func TestALaunchCarriesItsChecklistAndApprovals(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	ctx := context.Background()
	g.Expect(k8sCreate(&releasev1.LaunchChecklist{ObjectMeta: metav1.ObjectMeta{Name: "spring-ready", Namespace: e.ns},
		Spec: releasev1.LaunchChecklistSpec{Items: []releasev1.ChecklistItem{
			{Name: "go-no-go", Function: "Product", Owners: releasev1.Owners{Users: []string{"sue"}}, Check: releasev1.ItemCheck{Manual: &releasev1.ManualCheck{}}},
		}}})).To(Succeed())
	g.Expect(k8sCreate(&releasev1.Milestone{ObjectMeta: metav1.ObjectMeta{Name: "q4", Namespace: e.ns},
		Spec: releasev1.MilestoneSpec{DueDate: metav1.NewTime(time.Now().Add(30 * 24 * time.Hour))}})).To(Succeed())
	e.grant("carol", []string{"launches"}, "get", "create", "update", releasev1.VerbApprove)
	carol := e.as("carol")
	g.Expect(carol.Create(ctx, &releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Name: "spring", Namespace: e.ns},
		Spec: releasev1.LaunchSpec{Members: []string{"checkout", "web"}, Milestone: "q4", LaunchChecklist: "spring-ready", ApprovalStages: []string{"prod"}}})).To(Succeed())
	gated := func(stage string, s *releasev1.Stage) {
		switch stage {
		case "staging":
			s.Gates = &releasev1.Gates{LaunchChecklist: true}
		case "prod":
			s.Promotion = releasev1.PromotionManual
			s.Gates = &releasev1.Gates{Approvals: &releasev1.ApprovalsGate{Count: 1}}
		}
	}
	// Their pipelines' calendar shows the launch's forecast.
	g.Expect(k8sCreate(&releasev1.ReleaseCalendar{ObjectMeta: metav1.ObjectMeta{Name: "releases", Namespace: e.ns}})).To(Succeed())
	onCalendar := func(p *releasev1.ReleasePipeline) {
		p.Spec.CalendarRef = &releasev1.LocalObjectReference{Name: "releases"}
	}
	e.launchServiceWith("checkout", "1.4.2", gated, onCalendar)
	e.launchServiceWith("web", "2.0.0", gated, onCalendar)
	for _, n := range []string{"checkout", "web"} {
		g.Eventually(e.gate(n, "staging", gates.NameLaunchChecklist), timeout, interval).Should(HavePrefix(
			"Pending/ChecklistOpen: checklist spring-ready: 0 of 1 done; open: go-no-go"), n)
	}
	// The milestone tracks the launch: its members, and when it reaches prod.
	milestone := func() releasev1.MilestoneStatus {
		ms := &releasev1.Milestone{}
		_ = k8s.Get(ctx, e.key("q4"), ms)
		return ms.Status
	}
	g.Eventually(func() []releasev1.MilestoneLaunch { return milestone().Launches }, timeout, interval).Should(ConsistOf(
		And(HaveField("Name", "spring"), HaveField("Stage", "prod"), HaveField("Forecast", Not(BeNil())), HaveField("Reached", false))))
	g.Expect(milestone().Releases).To(HaveLen(2), "checkout and web, members of the launch")
	g.Eventually(func() []releasev1.CalendarEntry {
		rc := &releasev1.ReleaseCalendar{}
		_ = k8s.Get(ctx, e.key("releases"), rc)
		return rc.Status.Upcoming
	}, timeout, interval).Should(ContainElement(And(HaveField("Type", releasev1.EntryLaunchForecast), HaveField("Title", "launch spring reaches prod"))))
	e.grant("sue", []string{"launchchecklists"}, "get", "update", releasev1.VerbSignOff)
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		lc := &releasev1.LaunchChecklist{}
		if err := e.as("sue").Get(ctx, e.key("spring-ready"), lc); err != nil {
			return err
		}
		lc.Spec.SignOffs = append(lc.Spec.SignOffs, releasev1.SignOff{Item: "go-no-go", Decision: releasev1.DecisionApprove})
		return e.as("sue").Update(ctx, lc)
	})).To(Succeed())

	for _, n := range []string{"checkout", "web"} {
		g.Eventually(e.stagePhase(n, "staging"), timeout, interval).Should(Equal(releasev1.StagePromoted), n)
		g.Eventually(e.gate(n, "prod", gates.NameApprovals), timeout, interval).Should(Equal(
			`Pending/AwaitingApproval: 0 of 1 approvals for prod: add an entry with stage "prod" to spec.approvals of launch spring`), n)
	}
	g.Expect(e.approveAs(e.approver("bob"), "checkout", "prod")).To(Succeed())
	g.Consistently(e.stagePhase("checkout", "prod"), time.Second, 100*time.Millisecond).Should(Equal(releasev1.StageWaiting),
		"bob approved checkout, not the launch")

	e.grant("mallory", []string{"launches"}, "get", "update")
	g.Expect(e.approveLaunchAs(e.as("mallory"), "prod")).To(MatchError(ContainSubstring(
		`mallory may not approve launches/spring in namespace ` + e.ns + `: an admin must grant the verb "approve" on launches.release.liftoff.dev (RBAC)`)))
	g.Expect(e.approveLaunchAs(carol, "prod")).To(MatchError(ContainSubstring(
		"launch spring: carol created this launch and cannot approve it: another person must approve stage prod")))
	e.grant("ann", []string{"launches"}, "get", "update", releasev1.VerbApprove)
	ann := e.as("ann")
	g.Expect(e.approveLaunchAs(ann, "prod", func(a *releasev1.Approval) { a.By = "the-cto" })).To(MatchError(ContainSubstring(
		`spec.approvals[0].by is "the-cto" but you are "ann"`)))
	g.Expect(e.approveLaunchAs(ann, "prod")).To(Succeed())

	for _, n := range []string{"checkout", "web"} {
		g.Eventually(e.phase(n), timeout, interval).Should(Equal(releasev1.PhaseReleased), n)
		g.Expect(e.gate(n, "prod", gates.NameApprovals)()).To(Equal("Passed/Approved: 1 of 1 approvals (ann) of launch spring"), n)
	}
	l := &releasev1.Launch{}
	g.Expect(k8s.Get(ctx, e.key("spring"), l)).To(Succeed())
	g.Expect(l.Spec.Approvals).To(HaveLen(1))
	g.Expect(l.Spec.Approvals[0].By).To(Equal("ann"))
	g.Expect(l.Spec.Approvals[0].At).NotTo(BeNil())
	g.Expect(l.Annotations).To(HaveKeyWithValue(releasev1.AnnotationCreatedBy, "carol"))
	g.Eventually(func() releasev1.MilestoneHealth { return milestone().Health }, timeout, interval).Should(Equal(releasev1.HealthCompleted))
	g.Expect(milestone().Launches).To(ConsistOf(And(HaveField("Name", "spring"), HaveField("Reached", true), HaveField("Forecast", BeNil()))))
}
