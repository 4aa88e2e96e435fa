package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/dashboard"
)

const (
	ns      = "shop"
	timeout = 30 * time.Second
	poll    = 100 * time.Millisecond
)

// browserTools returns Chromium's path and axe-core's source, installing
// them with hack/browser-tools.sh when needed (cached, idempotent).
func browserTools(t *testing.T) (string, string) {
	t.Helper()
	axePath := os.Getenv("LIFTOFF_AXE")
	if axePath == "" {
		out, err := exec.Command("../../hack/browser-tools.sh").Output()
		if err != nil {
			t.Fatalf("hack/browser-tools.sh (Chromium and axe-core): %v", err)
		}
		axePath = strings.TrimSpace(string(out))
	}
	axe, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatalf("axe-core: %v", err)
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, string(axe)
		}
	}
	t.Fatal("no chromium on PATH: run hack/browser-tools.sh")
	return "", ""
}

// artifacts is where the screenshots go; the test prints it.
func artifacts(t *testing.T) string {
	dir := os.Getenv("LIFTOFF_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "liftoff-dashboard-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	fmt.Fprintf(os.Stderr, "dashboard screenshots: %s\n", dir)
	return dir
}

// world is the test's namespace: a pipeline, a Release waiting for approval
// and sign-offs, a rolled-back Release, a calendar with a freeze now, a
// milestone, and people with their rights.
func createWorld(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	g.Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	role := func(name string, verbs []string, resources []string, users ...string) {
		g.Expect(k8s.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{releasev1.GroupVersion.Group}, Resources: resources, Verbs: verbs}}})).To(Succeed())
		var subjects []rbacv1.Subject
		for _, u := range users {
			subjects = append(subjects, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: u})
		}
		g.Expect(k8s.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}, Subjects: subjects})).To(Succeed())
	}
	role("viewer", []string{"get", "list", "watch"}, []string{"releases", "releasepipelines", "releasecalendars", "milestones", "launchchecklists", "launches"}, "ann", "carol", "sue", "lee")
	// vic follows releases without the launches.
	role("viewer-no-launches", []string{"get", "list", "watch"}, []string{"releases", "releasepipelines", "releasecalendars", "milestones", "launchchecklists"}, "vic")
	role("approver", []string{"create", "update", "patch", releasev1.VerbApprove}, []string{"releases"}, "ann", "carol")
	role("signer", []string{"update", "patch", releasev1.VerbSignOff}, []string{"launchchecklists"}, "sue", "lee")

	now := time.Now()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	wall := func(t time.Time) string { return t.In(berlin).Format("2006-01-02T15:04:05") }
	cal := &releasev1.ReleaseCalendar{ObjectMeta: metav1.ObjectMeta{Name: "releases", Namespace: ns},
		Spec: releasev1.ReleaseCalendarSpec{TimeZone: "Europe/Berlin", Windows: []releasev1.CalendarWindow{
			{Name: "release-train", Kind: releasev1.WindowAllow, RRule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH", Start: "2026-01-05T09:00:00", Duration: &metav1.Duration{Duration: 7 * time.Hour}, Stages: []string{"prod"}},
			{Name: "year-end", Kind: releasev1.WindowDeny, Start: wall(now.Add(-24 * time.Hour)), End: wall(now.Add(48 * time.Hour)), Reason: "year-end freeze: reduced on-call"},
		}}}
	g.Expect(k8s.Create(ctx, cal)).To(Succeed())
	cal.Status = releasev1.ReleaseCalendarStatus{
		Stages:        []releasev1.CalendarStageStatus{{Name: "prod", Open: false, Reason: "freeze year-end: year-end freeze: reduced on-call"}},
		ActiveFreezes: []releasev1.ActiveFreeze{{Window: "year-end", Reason: "year-end freeze: reduced on-call", Until: metav1.NewTime(now.Add(48 * time.Hour).Truncate(time.Second))}},
		Upcoming:      []releasev1.CalendarEntry{{Type: releasev1.EntryPlannedPromotion, Title: "checkout 1.5.0 -> prod", Start: metav1.NewTime(now.Add(72 * time.Hour).Truncate(time.Second)), Stages: []string{"prod"}, Release: "checkout-1-5-0"}},
		Recent: []releasev1.CalendarEntry{{Type: releasev1.EntryPromotion, Title: "checkout 1.4.3 -> prod", Start: metav1.NewTime(now.Add(-2 * time.Hour).Truncate(time.Second)),
			Stages: []string{"prod"}, Release: "checkout-1-4-3", Outcome: "RolledBack", Slip: "2h0m0s"}},
	}
	g.Expect(k8s.Status().Update(ctx, cal)).To(Succeed())

	gates := &releasev1.Gates{Approvals: &releasev1.ApprovalsGate{Count: 1}, LaunchChecklist: true}
	stage := func(name string) releasev1.Stage {
		return releasev1.Stage{Name: name, Target: releasev1.Target{Repository: "acme/gitops",
			Files: []releasev1.TargetFile{{Path: "envs/" + name + "/kustomization.yaml", KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "ghcr.io/acme/checkout"}}}}}
	}
	prod := stage("prod")
	prod.Promotion, prod.Gates = releasev1.PromotionManual, gates
	prod.Verify = &releasev1.Verify{Analysis: releasev1.AnalysisSpec{Metrics: []releasev1.AnalysisMetric{{Name: "error-ratio", Query: "sum(rate(errors[2m]))", SuccessCondition: "result < 0.05"}}}}
	prod.Deployment = &releasev1.DeploymentSpec{ArgoCD: &releasev1.ArgoCDDeployment{Name: "checkout-prod"}}
	pipe := &releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: ns},
		Spec: releasev1.ReleasePipelineSpec{Source: releasev1.SourceSpec{Repository: "acme/checkout"}, Prometheus: &releasev1.PrometheusSpec{Address: "http://prometheus:9090"}, CalendarRef: &releasev1.LocalObjectReference{Name: "releases"},
			Stages: []releasev1.Stage{stage("dev"), stage("staging"), prod}}}
	g.Expect(k8s.Create(ctx, pipe)).To(Succeed())
	ago := func(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(-d).Truncate(time.Second)); return &t }
	// 1.4.3 was deployed in prod, failed its analysis, and its rollback to
	// 1.4.2 is committed: Argo CD has not applied it yet.
	pipe.Status = releasev1.ReleasePipelineStatus{Live: "dev=1.5.0 staging=1.5.0 prod=1.4.3 (1.4.2 committed)",
		Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Ready", LastTransitionTime: *ago(time.Hour)}},
		Stages: []releasev1.PipelineStageStatus{
			{Name: "dev", Version: "1.5.0", Release: "checkout-1-5-0", PromotedAt: ago(3 * time.Hour)},
			{Name: "staging", Version: "1.5.0", Release: "checkout-1-5-0", PromotedAt: ago(2 * time.Hour)},
			{Name: "prod", Version: "1.4.2", Release: "checkout-1-4-2", Commit: "6666666fffffff", PromotedAt: ago(9 * time.Minute),
				Live: &releasev1.LiveVersion{Version: "1.4.3", Release: "checkout-1-4-3", Commit: "5555555eeeeeee", DeployedAt: *ago(36 * time.Minute)}},
		}}
	g.Expect(k8s.Status().Update(ctx, pipe)).To(Succeed())

	lc := &releasev1.LaunchChecklist{ObjectMeta: metav1.ObjectMeta{Name: "checkout-1-5-launch", Namespace: ns},
		Spec: releasev1.LaunchChecklistSpec{Items: []releasev1.ChecklistItem{
			{Name: "security-review", Function: "Security", Owners: releasev1.Owners{Groups: []string{"security"}}, Check: releasev1.ItemCheck{Manual: &releasev1.ManualCheck{}}},
			{Name: "legal-review", Function: "Legal", Owners: releasev1.Owners{Users: []string{"lee"}}, Check: releasev1.ItemCheck{Manual: &releasev1.ManualCheck{}}},
		}}}
	g.Expect(k8s.Create(ctx, lc)).To(Succeed())
	lc.Status = releasev1.LaunchChecklistStatus{Done: 0, Total: 2, Items: []releasev1.ChecklistItemStatus{
		{Name: "security-review", Function: "Security", State: releasev1.ItemPending, Required: true},
		{Name: "legal-review", Function: "Legal", State: releasev1.ItemPending, Required: true}}}
	g.Expect(k8s.Status().Update(ctx, lc)).To(Succeed())

	ms := &releasev1.Milestone{ObjectMeta: metav1.ObjectMeta{Name: "checkout-1-5", Namespace: ns},
		Spec: releasev1.MilestoneSpec{DueDate: metav1.NewTime(now.Add(10 * 24 * time.Hour).Truncate(time.Second)), Description: "Checkout 1.5: saved cards",
			GitHub: &releasev1.MilestoneGitHub{Repository: "acme/checkout", Milestone: "1.5"}}}
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	ms.Status = releasev1.MilestoneStatus{Health: releasev1.HealthAtRisk, Progress: "10/13 (76%)", Percent: 76, OpenIssues: 3, ClosedIssues: 10, BlockerCount: 1, DaysRemaining: 10,
		Forecast: ago(-8 * 24 * time.Hour), ClosingRate: "2.5/week",
		Blockers: []releasev1.BlockerIssue{{Number: 12, Title: "Payment retries double-charge", URL: "https://github.com/acme/checkout/issues/12"}},
		Releases: []releasev1.MilestoneRelease{{Name: "checkout-1-5-0", Version: "1.5.0", Phase: releasev1.PhaseBlocked, Stage: "prod"}}}
	g.Expect(k8s.Status().Update(ctx, ms)).To(Succeed())

	// carol creates 1.5.0, so she may not approve it.
	carol := as(t, "carol")
	rel := &releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: "checkout-1-5-0", Namespace: ns},
		Spec: releasev1.ReleaseSpec{Pipeline: "checkout", Version: "1.5.0", LaunchChecklist: "checkout-1-5-launch", Milestone: "checkout-1-5"}}
	g.Expect(carol.Create(ctx, rel)).To(Succeed())
	rel.Status = releasev1.ReleaseStatus{Phase: releasev1.PhaseBlocked, CurrentStage: "prod", Commit: "4f2c1d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e",
		Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, Reason: "Blocked", Message: "prod: waiting for the launch checklist and 1 approval", LastTransitionTime: *ago(time.Hour)}},
		Stages: []releasev1.ReleaseStageStatus{
			{Name: "dev", Phase: releasev1.StagePromoted, Promotion: &releasev1.PromotionStatus{Commit: "1111111aaaaaaa", StartedAt: ago(181 * time.Minute), CompletedAt: ago(3 * time.Hour)}},
			{Name: "staging", Phase: releasev1.StagePromoted, Promotion: &releasev1.PromotionStatus{Commit: "2222222bbbbbbb", StartedAt: ago(121 * time.Minute), CompletedAt: ago(2 * time.Hour)}},
			{Name: "prod", Phase: releasev1.StageWaiting, Gates: []releasev1.GateStatus{
				{Name: "checks", Status: releasev1.GatePassed, Reason: "ChecksPassed", Message: "qa: success", LastChecked: ago(time.Minute)},
				{Name: "launchChecklist", Status: releasev1.GatePending, Reason: "ChecklistNotReady", Message: "checklist checkout-1-5-launch: 0 of 2 done; open: security-review, legal-review", LastChecked: ago(time.Minute)},
				{Name: "approvals", Status: releasev1.GatePending, Reason: "AwaitingApproval", Message: "0 of 1 approvals", LastChecked: ago(time.Minute)},
			}},
		}}
	g.Expect(k8s.Status().Update(ctx, rel)).To(Succeed())

	bad := &releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: "checkout-1-4-3", Namespace: ns}, Spec: releasev1.ReleaseSpec{Pipeline: "checkout", Version: "1.4.3"}}
	g.Expect(k8s.Create(ctx, bad)).To(Succeed())
	var measurements []releasev1.MeasurementStatus
	for i, v := range []string{"0.012", "0.018", "0.25"} {
		phase := "Successful"
		if i == 2 {
			phase = "Failed"
		}
		measurements = append(measurements, releasev1.MeasurementStatus{At: *ago(time.Duration(30-10*i) * time.Minute), Phase: phase, Value: v})
	}
	bad.Status = releasev1.ReleaseStatus{Phase: releasev1.PhaseFailed, CurrentStage: "prod",
		Stages: []releasev1.ReleaseStageStatus{
			{Name: "dev", Phase: releasev1.StagePromoted, Promotion: &releasev1.PromotionStatus{Commit: "3333333ccccccc", CompletedAt: ago(5 * time.Hour)}},
			{Name: "staging", Phase: releasev1.StagePromoted, Promotion: &releasev1.PromotionStatus{Commit: "4444444ddddddd", CompletedAt: ago(4 * time.Hour)}},
			{Name: "prod", Phase: releasev1.StageRolledBack, Message: "analysis failed: metric error-ratio Failed", Promotion: &releasev1.PromotionStatus{Commit: "5555555eeeeeee", PreviousVersion: "1.4.2", CompletedAt: ago(40 * time.Minute)},
				CommittedAt: ago(40 * time.Minute), DeployedAt: ago(36 * time.Minute),
				Deployment: &releasev1.DeploymentStatus{Agent: "ArgoCD", Kind: "Application", Object: "argocd/checkout-prod", State: releasev1.DeploymentDeployed,
					Message: "Application argocd/checkout-prod is Synced and Healthy at 5555555"},
				Analysis: &releasev1.AnalysisStatus{Phase: "Failed", Message: "error-ratio: successCondition result < 0.05 is false (value 0.25)", StartedAt: *ago(31 * time.Minute),
					Metrics: []releasev1.MetricStatus{{Name: "error-ratio", Phase: "Failed", Count: 3, Successes: 2, Failures: 1, Measurements: measurements}}},
				Rollback: &releasev1.RollbackStatus{Commit: "6666666fffffff", Version: "1.4.2", At: ago(9 * time.Minute),
					Message: "1.4.2 written back (commit 6666666); waiting for Argo CD Application argocd/checkout-prod to deploy it",
					Deployment: &releasev1.DeploymentStatus{Agent: "ArgoCD", Kind: "Application", Object: "argocd/checkout-prod", State: releasev1.DeploymentProgressing,
						Message: "Application argocd/checkout-prod is Synced at 6666666, health Progressing: Waiting for rollout to finish"}},
				Postmortem: &releasev1.IssueRef{Number: 31, URL: "https://github.com/acme/checkout/issues/31"}},
		}}
	g.Expect(k8s.Status().Update(ctx, bad)).To(Succeed())
}

// launchWorld: launch spring ships checkout 1.5.0 and web 1.2.0; both are
// promoted in dev and staging; in prod checkout verifies and web, the
// holder, waits for an approval.
func launchWorld(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	stage := func(name string) releasev1.Stage {
		return releasev1.Stage{Name: name, Target: releasev1.Target{Repository: "acme/gitops",
			Files: []releasev1.TargetFile{{Path: "envs/" + name + "/web.yaml", KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "ghcr.io/acme/web"}}}}}
	}
	g.Expect(k8s.Create(ctx, &releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: releasev1.ReleasePipelineSpec{Source: releasev1.SourceSpec{Repository: "acme/web"}, Stages: []releasev1.Stage{stage("dev"), stage("staging"), stage("prod")}}})).To(Succeed())
	web := &releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: "web-1-2-0", Namespace: ns}, Spec: releasev1.ReleaseSpec{Pipeline: "web", Version: "1.2.0"}}
	g.Expect(k8s.Create(ctx, web)).To(Succeed())
	web.Status = releasev1.ReleaseStatus{Phase: releasev1.PhaseBlocked, CurrentStage: "prod", Stages: []releasev1.ReleaseStageStatus{
		{Name: "dev", Phase: releasev1.StagePromoted}, {Name: "staging", Phase: releasev1.StagePromoted},
		{Name: "prod", Phase: releasev1.StageWaiting, Gates: []releasev1.GateStatus{{Name: "approvals", Status: releasev1.GatePending, Reason: "AwaitingApproval", Message: "0 of 1 approvals"}}}}}
	g.Expect(k8s.Status().Update(ctx, web)).To(Succeed())
	l := &releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Name: "spring", Namespace: ns},
		Spec: releasev1.LaunchSpec{Members: []string{"checkout-1-5-0", "web-1-2-0"}}}
	g.Expect(k8s.Create(ctx, l)).To(Succeed())
	in := func(prod releasev1.StagePhase) []releasev1.LaunchMemberStage {
		return []releasev1.LaunchMemberStage{{Name: "dev", Phase: releasev1.StagePromoted}, {Name: "staging", Phase: releasev1.StagePromoted}, {Name: "prod", Phase: prod}}
	}
	l.Status = releasev1.LaunchStatus{ObservedGeneration: l.Generation, Phase: releasev1.LaunchBlocked, CurrentStage: "prod",
		Holder: "web 1.2.0 waits in prod: approvals: waits for 1 approval for prod", Stages: []string{"dev", "staging", "prod"},
		Conditions: []metav1.Condition{{Type: releasev1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Blocked", Message: "web 1.2.0 waits in prod: approvals: waits for 1 approval for prod", LastTransitionTime: metav1.Now()}},
		Members: []releasev1.LaunchMember{
			{Name: "checkout-1-5-0", Version: "1.5.0", Phase: releasev1.PhaseVerifying, Stages: in(releasev1.StageVerifying)},
			{Name: "web-1-2-0", Version: "1.2.0", Phase: releasev1.PhaseBlocked, Holder: true, Stages: in(releasev1.StageWaiting)},
		}}
	g.Expect(k8s.Status().Update(ctx, l)).To(Succeed())
}

// wavesWorld: search's prod has 12 targets in waves 1, 25%, 100%; 2.0.0 is
// in wave 2: prod-1 deployed, prod-2 deployed, prod-3 deploying.
func wavesWorld(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	now := time.Now()
	ago := func(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(-d).Truncate(time.Second)); return &t }
	prod := releasev1.Stage{Name: "prod", Waves: []intstr.IntOrString{intstr.FromInt32(1), intstr.FromString("25%"), intstr.FromString("100%")}}
	for k := 1; k <= 12; k++ {
		name := fmt.Sprintf("prod-%d", k)
		prod.Targets = append(prod.Targets, releasev1.StageTarget{Name: name, Target: releasev1.Target{Repository: "acme/search-gitops",
			Files: []releasev1.TargetFile{{Path: "envs/" + name + "/kustomization.yaml", KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "ghcr.io/acme/search"}}}}})
	}
	pipe := &releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{Name: "search", Namespace: ns},
		Spec: releasev1.ReleasePipelineSpec{Source: releasev1.SourceSpec{Repository: "acme/search"}, Stages: []releasev1.Stage{prod}}}
	g.Expect(k8s.Create(ctx, pipe)).To(Succeed())
	ps := releasev1.PipelineStageStatus{Name: "prod", Version: "1.9.0"}
	for k := 1; k <= 12; k++ {
		v := "1.9.0"
		if k <= 4 {
			v = "2.0.0"
		}
		ps.Targets = append(ps.Targets, releasev1.PipelineTargetStatus{Name: fmt.Sprintf("prod-%d", k), Version: v})
	}
	pipe.Status = releasev1.ReleasePipelineStatus{Live: "prod=1.9.0", Stages: []releasev1.PipelineStageStatus{ps}}
	g.Expect(k8s.Status().Update(ctx, pipe)).To(Succeed())
	rel := &releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: "search-2-0-0", Namespace: ns}, Spec: releasev1.ReleaseSpec{Pipeline: "search", Version: "2.0.0"}}
	g.Expect(k8s.Create(ctx, rel)).To(Succeed())
	ss := releasev1.ReleaseStageStatus{Name: "prod", Phase: releasev1.StageDeploying, Wave: 2, Waves: 3, Message: "prod 3/12 on 2.0.0, wave 2 of 3: waiting for prod-4 to deploy it",
		Promotion: &releasev1.PromotionStatus{Commit: "7777777aaaaaaa", PreviousVersion: "1.9.0", StartedAt: ago(30 * time.Minute)}}
	for k := 1; k <= 12; k++ {
		ts := releasev1.TargetStatus{Name: fmt.Sprintf("prod-%d", k), Wave: 3, Phase: releasev1.TargetPending}
		switch {
		case k == 1:
			ts.Wave, ts.Phase, ts.Commit, ts.DeployedAt = 1, releasev1.TargetDeployed, "1a1a1a1a1a1a1a", ago(20*time.Minute)
		case k <= 3:
			ts.Wave, ts.Phase, ts.Commit, ts.DeployedAt = 2, releasev1.TargetDeployed, "2b2b2b2b2b2b2b", ago(5*time.Minute)
		case k == 4:
			ts.Wave, ts.Phase, ts.Commit, ts.Message = 2, releasev1.TargetDeploying, "2b2b2b2b2b2b2b", "Application argocd/search-prod-4 is Synced, health Progressing"
		}
		ss.Targets = append(ss.Targets, ts)
	}
	rel.Status = releasev1.ReleaseStatus{Phase: releasev1.PhaseDeploying, CurrentStage: "prod 3/12 on 2.0.0, wave 2 of 3", Stages: []releasev1.ReleaseStageStatus{ss}}
	g.Expect(k8s.Status().Update(ctx, rel)).To(Succeed())
}

var (
	usersMu sync.Mutex
	users   = map[string]*envtest.AuthenticatedUser{}
)

func user(t *testing.T, name string, groups ...string) *envtest.AuthenticatedUser {
	usersMu.Lock()
	defer usersMu.Unlock()
	if u, ok := users[name]; ok {
		return u
	}
	u, err := env.AddUser(envtest.User{Name: name, Groups: groups}, restCfg)
	if err != nil {
		t.Fatal(err)
	}
	users[name] = u
	return u
}

func as(t *testing.T, name string, groups ...string) client.Client {
	c, err := client.New(user(t, name, groups...).Config(), client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dashboardAs serves `kubectl liftoff dashboard -n shop` as name, on a
// machine in Berlin.
func dashboardAs(t *testing.T, ctx context.Context, name string, groups ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	l, err := dashboard.StartLocal(ctx, user(t, name, groups...).Config(), dashboard.LocalOptions{Namespace: ns, Listener: ln, Location: berlin})
	if err != nil {
		t.Fatal(err)
	}
	if l.User != name {
		t.Fatalf("the dashboard acts as %q, want %q", l.User, name)
	}
	return l.URL
}

// startChromium starts headless Chromium until ctx ends: one Chromium per
// test, each person a tab of it (newBrowser).
func startChromium(t *testing.T, ctx context.Context, path string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000))
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(cancelRoot)
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return root
}

// browser is a tab of headless Chromium that records console errors, among
// them Content-Security-Policy violations.
type browser struct {
	t      *testing.T
	ctx    context.Context
	axe    string
	shots  string
	mu     sync.Mutex
	errors []string
}

func newBrowser(t *testing.T, parent context.Context, axe, shots string) *browser {
	ctx, cancel := chromedp.NewContext(parent)
	t.Cleanup(cancel)
	b := &browser{t: t, ctx: ctx, axe: axe, shots: shots}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// An action the API server refused, a page asked for while the
			// Releases load: the page shows them.
			refusal := strings.Contains(m.Text, "status of 403") || strings.Contains(m.Text, "status of 503")
			if (m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || strings.Contains(m.Text, "Content Security Policy")) && !refusal {
				b.mu.Lock()
				b.errors = append(b.errors, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func evalIn[T any](b *browser, expr string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		b.t.Fatalf("browser: evaluating %.80q: %v", expr, err)
	}
	return v
}

// open loads a page and waits until its event stream is live.
func (b *browser) open(url string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`#live-state[data-state="live"]`)))
}

// text is the text of the first element matching sel ("" when none).
func (b *browser) text(sel string) func() string {
	return func() string {
		return evalIn[string](b, fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ""`, sel))
	}
}

func (b *browser) click(sel string) { b.t.Helper(); b.do(chromedp.Click(chromedp.CSS(sel))) }

func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeClean runs axe-core on the page and expects no violation.
func (b *browser) axeClean(page string) {
	b.t.Helper()
	evalIn[bool](b, b.axe+";true")
	res := evalIn[string](b, `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" ") + " " + (n.failureSummary || ""))}))))`,
		chromedp.EvalAwaitPromise)
	var vs []axeViolation
	if err := json.Unmarshal([]byte(res), &vs); err != nil {
		b.t.Fatalf("axe on %s: %v (%s)", page, err, res)
	}
	for _, v := range vs {
		b.t.Errorf("axe on %s: %s (%s) %s: %v", page, v.ID, v.Impact, v.Help, v.Nodes)
	}
}

func (b *browser) noErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errors) > 0 {
		b.t.Errorf("the browser reported: %v", b.errors)
	}
}

// The dashboard, as the people who use it, in headless Chromium against the
// real API server and identity webhooks.
func TestDashboardInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: starts Chromium and a control plane")
	}
	chromium, axe := browserTools(t)
	shots := artifacts(t)
	createWorld(t)
	user(t, "sue", "security")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	annURL := dashboardAs(t, ctx, "ann")
	carolURL := dashboardAs(t, ctx, "carol")
	sueURL := dashboardAs(t, ctx, "sue", "security")
	leeURL := dashboardAs(t, ctx, "lee")
	vicURL := dashboardAs(t, ctx, "vic")

	root := startChromium(t, ctx, chromium)
	ann := newBrowser(t, root, axe, shots)

	t.Run("pipelines: each stage's version and the gate that holds each waiting release", func(t *testing.T) {
		g := NewWithT(t)
		ann.t = t
		ann.open(annURL)
		row := ann.text(`section.pipeline`)()
		g.Expect(row).To(ContainSubstring("shop/checkout"))
		g.Expect(row).To(MatchRegexp(`dev\s+1\.5\.0`))
		// prod runs 1.4.3 until Argo CD applied the rollback to 1.4.2.
		g.Expect(row).To(MatchRegexp(`prod manual\s+1\.4\.3\s+36m ago\s+1\.4\.2 committed 9m ago, not deployed`))
		g.Expect(ann.text(`table.waiting tbody`)()).To(MatchRegexp(`checkout-1-5-0 1\.5\.0\s+Blocked\s+prod\s+launchChecklist\s+waits for the launch checklist checkout-1-5-launch: 0 of 2 done`))
		// What needs ann first: the Release she may approve.
		g.Expect(ann.text(`table.needs-table tbody`)()).To(MatchRegexp(`approve\s+checkout-1-5-0\s+prod\s+waits for 1 approval for prod`))
		// How long ago is the browser's to say, the absolute time its title.
		title := evalIn[string](ann, `document.querySelector('section.pipeline .when time').title`)
		g.Expect(title).To(MatchRegexp(`^\d{4}-\d\d-\d\d \d\d:\d\d CES?T$`))
		g.Expect(ann.text(`#zone`)()).To(Equal("Times in Europe/Berlin"))
		ann.screenshot("pipelines")
		ann.axeClean("pipelines")

		// Keyboard: the first Tab reaches the skip link, Enter moves to the content.
		var focused string
		ann.do(chromedp.KeyEvent(kb.Tab))
		focused = evalIn[string](ann, `document.activeElement.textContent`)
		g.Expect(focused).To(Equal("Skip to content"))
		ann.do(chromedp.KeyEvent(kb.Enter))
		focused = evalIn[string](ann, `document.activeElement.id`)
		g.Expect(focused).To(Equal("main"))
	})

	t.Run("approve: offered only to those whose approval counts", func(t *testing.T) {
		g := NewWithT(t)
		buttons := func(b *browser) int { return evalIn[int](b, `document.querySelectorAll("form.approve button").length`) }
		carol := newBrowser(t, root, axe, shots)
		carol.open(carolURL + "releases/shop/checkout-1-5-0")
		g.Expect(buttons(carol)).To(BeZero(), "carol created the Release")
		g.Expect(carol.text(`main`)()).To(ContainSubstring("You created checkout-1-5-0: another person approves prod."))
		carol.screenshot("release-approve-not-offered")
		carol.noErrors()
		// sue may sign off, not approve (RBAC, asked of the API server).
		sue := newBrowser(t, root, axe, shots)
		sue.open(sueURL + "releases/shop/checkout-1-5-0")
		g.Expect(buttons(sue)).To(BeZero(), "sue lacks the verb approve")
		g.Expect(sue.text(`main`)()).To(ContainSubstring("Approving prod needs the verb approve on releases in shop"))
	})

	t.Run("approve as ann, then see the release move live", func(t *testing.T) {
		g := NewWithT(t)
		ann.t = t
		ann.open(annURL + "releases/shop/checkout-1-5-0")
		evalIn[bool](ann, `window.notReloaded = true`)
		ann.do(chromedp.SendKeys(chromedp.CSS(`#approve-comment-prod`), "change window agreed"))
		ann.click(`form.approve button`)
		g.Eventually(ann.text(`#notice`), timeout, poll).Should(Equal("checkout-1-5-0 approved for prod by ann"))
		g.Eventually(ann.text(`table.approvals`), timeout, poll).Should(MatchRegexp(`prod\s+ann\s+.*change window agreed`))
		rel := &releasev1.Release{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "checkout-1-5-0"}, rel)).To(Succeed())
		g.Expect(rel.Spec.Approvals).To(HaveLen(1))
		g.Expect(rel.Spec.Approvals[0].By).To(Equal("ann"), "the webhook stamped who approved")

		// The controller's next status write, seen without a reload.
		g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "checkout-1-5-0"}, rel); err != nil {
				return err
			}
			rel.Status.Phase = releasev1.PhaseVerifying
			prod := rel.Status.StageStatus("prod")
			prod.Phase = releasev1.StageVerifying
			for i := range prod.Gates {
				prod.Gates[i].Status = releasev1.GatePassed
			}
			now := metav1.NewTime(time.Now().Truncate(time.Second))
			prod.Promotion = &releasev1.PromotionStatus{Commit: "7777777abcdef0", StartedAt: &now, CompletedAt: &now}
			return k8s.Status().Update(ctx, rel)
		})).To(Succeed())
		g.Eventually(ann.text(`#release-phase`), timeout, poll).Should(Equal("Verifying"))
		g.Expect(ann.text(`#stage-prod .timeline`)()).To(MatchRegexp(`committed\s+done`))
		kept := evalIn[bool](ann, `window.notReloaded === true`)
		g.Expect(kept).To(BeTrue(), "the page updated in place")
		ann.screenshot("release")
		ann.axeClean("release")
	})

	t.Run("sign off: an owner signs; each owner is offered their own items only", func(t *testing.T) {
		g := NewWithT(t)
		sue := newBrowser(t, root, axe, shots)
		sue.open(sueURL + "releases/shop/checkout-1-5-0")
		g.Expect(evalIn[int](sue, `document.querySelectorAll("#item-legal-review button").length`)).To(BeZero(), "legal-review is lee's")
		sue.do(chromedp.SendKeys(chromedp.CSS(`#comment-security-review`), "pen test passed"))
		sue.click(`#item-security-review button`)
		g.Eventually(sue.text(`#notice`), timeout, poll).Should(Equal("security-review: approved by sue"))
		g.Eventually(sue.text(`#item-security-review`), timeout, poll).Should(ContainSubstring("approved by sue"))
		g.Expect(sue.text(`#item-security-review`)()).To(ContainSubstring("pen test passed"))
		sue.screenshot("release-signed-off")
		sue.noErrors()

		lee := newBrowser(t, root, axe, shots)
		lee.open(leeURL + "releases/shop/checkout-1-5-0")
		g.Expect(evalIn[int](lee, `document.querySelectorAll("#item-security-review button").length`)).To(BeZero(), "security-review is group security's")
		g.Expect(evalIn[int](lee, `document.querySelectorAll("#item-legal-review button").length`)).To(Equal(1))
		lee.screenshot("release-signoff-own-items")
		lee.axeClean("release-signoff-own-items")
	})

	t.Run("a rolled-back release: the analysis chart, the rollback and the postmortem", func(t *testing.T) {
		g := NewWithT(t)
		ann.t = t
		ann.open(annURL + "releases/shop/checkout-1-4-3")
		circles := evalIn[int](ann, `document.querySelectorAll("#stage-prod svg.chart circle").length`)
		g.Expect(circles).To(Equal(3))
		threshold := evalIn[int](ann, `document.querySelectorAll("#stage-prod svg.chart line.threshold").length`)
		g.Expect(threshold).To(Equal(1), "result < 0.05 is drawn")
		g.Expect(ann.text(`#stage-prod`)()).To(And(ContainSubstring("rolled back to 1.4.2"), ContainSubstring("postmortem issue #31")))
		g.Expect(ann.text(`#stage-prod .timeline`)()).To(MatchRegexp(`deployed\s+done\s+\S+ \S+ \S+\s+ArgoCD Application argocd/checkout-prod: Deployed` +
			`(?s:.*)rollback deployed\s+pending\s+ArgoCD Application argocd/checkout-prod: Progressing: .*Waiting for rollout to finish`))
		ann.screenshot("release-rolled-back")
		ann.axeClean("release-rolled-back")
	})

	t.Run("calendar: the freeze in the month and the week", func(t *testing.T) {
		g := NewWithT(t)
		ann.t = t
		ann.open(annURL + "calendars/")
		g.Expect(ann.text(`main h1`)()).To(Equal("Calendar shop/releases"))
		g.Expect(ann.text(`.freezes`)()).To(ContainSubstring("year-end (all stages) until"))
		today := ann.text(`td.today`)()
		g.Expect(today).To(ContainSubstring("freeze year-end"))
		g.Expect(ann.text(`main`)()).To(ContainSubstring("Times in Europe/Berlin"))
		g.Expect(ann.text(`#zone`)()).To(Equal("Times in Europe/Berlin"), "the one zone of every page")
		g.Expect(ann.text(`table.cal`)()).To(ContainSubstring("checkout 1.5.0 -> prod"))
		ann.screenshot("calendar-month")
		ann.axeClean("calendar-month")
		ann.do(chromedp.Click(chromedp.CSS(`.cal-nav a[href*="view=week"]`)), chromedp.WaitVisible(chromedp.CSS(`table.cal-week`)))
		g.Expect(ann.text(`td.today`)()).To(ContainSubstring("all day"))
		ann.screenshot("calendar-week")
		ann.axeClean("calendar-week")
		ics := evalIn[string](ann, `document.querySelector('a[href$=".ics"]').getAttribute("href")`)
		g.Expect(ics).To(Equal("/calendars/shop/releases.ics"))
	})

	t.Run("milestones: progress, forecast against the due date, blockers linked", func(t *testing.T) {
		g := NewWithT(t)
		ann.t = t
		ann.open(annURL + "milestones")
		m := ann.text(`#m-shop-checkout-1-5`)()
		g.Expect(m).To(And(ContainSubstring("AtRisk"), ContainSubstring("10/13 (76%)"), ContainSubstring("before the due date"), ContainSubstring("#12 Payment retries double-charge")))
		href := evalIn[string](ann, `document.querySelector('#m-shop-checkout-1-5 a[href*="/issues/12"]').href`)
		g.Expect(href).To(Equal("https://github.com/acme/checkout/issues/12"))
		ann.screenshot("milestones")
		ann.axeClean("milestones")
		ann.noErrors()
	})

	t.Run("a stage graph: stages in columns by depth, each saying what it comes after", func(t *testing.T) {
		g := NewWithT(t)
		ann.t = t
		after := func(names ...string) *[]string { list := append([]string{}, names...); return &list } // [] for a root, not null
		stage := func(name string, a *[]string) releasev1.Stage {
			return releasev1.Stage{Name: name, After: a, Target: releasev1.Target{Repository: "acme/gitops",
				Files: []releasev1.TargetFile{{Path: "envs/" + name + "/kustomization.yaml", KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "ghcr.io/acme/regions"}}}}}
		}
		g.Expect(k8s.Create(ctx, &releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{Name: "regions", Namespace: ns},
			Spec: releasev1.ReleasePipelineSpec{Source: releasev1.SourceSpec{Repository: "acme/regions"}, Stages: []releasev1.Stage{
				stage("dev-a", after()), stage("dev-b", after()), stage("e2e", after("dev-a", "dev-b")), stage("staging", nil),
				stage("prod-eu", after("staging")), stage("prod-us", after("staging"))}}})).To(Succeed())
		const section = `section.pipeline[aria-labelledby="p-` + ns + `-regions"]`
		columns := func() []string {
			ann.open(annURL + "?q=regions")
			return evalIn[[]string](ann, `Array.from(document.querySelectorAll('`+section+` ol.graph > li.graph-column')).map(c =>
				Array.from(c.querySelectorAll('.stage-name')).map(n => n.textContent.trim()).join(' '))`)
		}
		g.Eventually(columns, 10*time.Second, 200*time.Millisecond).Should(Equal([]string{"dev-a dev-b", "e2e", "staging", "prod-eu prod-us"}))
		g.Expect(evalIn[[]string](ann, `Array.from(document.querySelectorAll('`+section+` .stage .after')).map(n => n.textContent.trim())`)).
			To(Equal([]string{"first", "first", "after dev-a, dev-b", "after e2e", "after staging", "after staging"}))
		// As a person sees it: the columns run left to right, the two
		// regions of the fan-out stand one above the other in the last.
		box := func(name string) []float64 {
			return evalIn[[]float64](ann, `(() => { const n = Array.from(document.querySelectorAll('`+section+` .stage')).find(s =>
				s.querySelector('.stage-name').textContent.trim() === '`+name+`').getBoundingClientRect(); return [n.left, n.top]; })()`)
		}
		devA, devB, e2e, staging, eu, us := box("dev-a"), box("dev-b"), box("e2e"), box("staging"), box("prod-eu"), box("prod-us")
		g.Expect(devA[0]).To(Equal(devB[0]), "the two roots share the first column")
		g.Expect(devB[1]).To(BeNumerically(">", devA[1]), "dev-b below dev-a")
		g.Expect(e2e[0]).To(BeNumerically(">", devA[0]), "e2e right of the stages it comes after")
		g.Expect(staging[0]).To(BeNumerically(">", e2e[0]))
		g.Expect(eu[0]).To(BeNumerically(">", staging[0]))
		g.Expect(us[0]).To(Equal(eu[0]), "prod-eu and prod-us side by side in one column")
		g.Expect(us[1]).To(BeNumerically(">", eu[1]))
		ann.screenshot("stage-graph")
		ann.axeClean("stage-graph")
		ann.noErrors()
	})

	t.Run("waves: each wave of a stage with targets, its targets by phase, each target under a disclosure", func(t *testing.T) {
		g := NewWithT(t)
		ann.t = t
		wavesWorld(t)
		rows := func() []string {
			ann.open(annURL + "releases/shop/search-2-0-0")
			return evalIn[[]string](ann, `Array.from(document.querySelectorAll('#stage-prod table.waves tbody tr')).map(r => r.innerText.replace(/\s+/g, ' ').trim())`)
		}
		g.Eventually(rows, 10*time.Second, 200*time.Millisecond).Should(Equal([]string{
			"1 of 3 done Deployed prod-1 1 target of wave 1",
			"2 of 3 running Deployed prod-2, prod-3; Deploying prod-4 3 targets of wave 2",
			"3 of 3 pending Pending 8 targets (prod-5 … prod-12) 8 targets of wave 3",
		}))
		// A target's commit and its agent's word, once the wave is opened.
		ann.click(`#wave-prod-2 details summary`)
		g.Expect(ann.text(`#wave-prod-2 ul.targets`)()).To(ContainSubstring("prod-4 Deploying, commit 2b2b2b2: Application argocd/search-prod-4 is Synced, health Progressing"))
		g.Expect(evalIn[string](ann, `document.querySelector('#wave-prod-2 ul.targets a').href`)).To(HaveSuffix("/acme/search-gitops/commit/2b2b2b2b2b2b2b"))
		ann.screenshot("release-waves")
		ann.axeClean("release-waves")

		// The pipeline's page: which target runs what.
		ann.open(annURL + "?q=search")
		g.Expect(ann.text(`section.pipeline[aria-labelledby="p-` + ns + `-search"] .stage .targets`)()).
			To(Equal("2.0.0 on prod-1, prod-2, prod-3, prod-4; 1.9.0 on 8 targets (prod-5 … prod-12)"))
		ann.screenshot("pipeline-targets")
		ann.axeClean("pipeline-targets")
		ann.noErrors()
	})
	t.Run("a launch: members × stages, the holder marked, each cell its member's stage; seen as the viewer's RBAC allows", func(t *testing.T) {
		g := NewWithT(t)
		ann.t = t
		launchWorld(t)
		rows := func() []string {
			ann.open(annURL + "launches/shop/spring")
			return evalIn[[]string](ann, `Array.from(document.querySelectorAll('table.launch-matrix tbody tr')).map(r => r.innerText.replace(/\s+/g, ' ').trim())`)
		}
		g.Eventually(rows, 10*time.Second, 200*time.Millisecond).Should(Equal([]string{
			"checkout-1-5-0 1.5.0 Verifying Promoted Promoted Verifying",
			"web-1-2-0 1.2.0 holds the launch Blocked Promoted Promoted Waiting",
		}))
		g.Expect(ann.text(`#launch-phase`)()).To(Equal("Blocked"))
		g.Expect(ann.text(`#launch-holder`)()).To(Equal("Held by web 1.2.0 waits in prod: approvals: waits for 1 approval for prod"))
		g.Expect(ann.text(`#launch-stage`)()).To(Equal("prod"))
		g.Expect(ann.text(`#launch-onfailure`)()).To(Equal("Group: a failing member halts the launch: the others do not start their next stage"))
		g.Expect(evalIn[int](ann, `document.querySelectorAll('main .problem').length`)).To(BeZero(), "every member is found")
		// As a person sees it: the holder's row stands out from the others.
		backgrounds := evalIn[[]string](ann, `Array.from(document.querySelectorAll('table.launch-matrix tbody tr')).map(r => getComputedStyle(r).backgroundColor)`)
		g.Expect(backgrounds[1]).NotTo(Equal(backgrounds[0]), "the holder's row is highlighted")
		ann.screenshot("launch")
		ann.axeClean("launch")

		// A cell leads to the member's stage; the member's page leads back.
		ann.do(chromedp.Click(chromedp.CSS(`#member-web-1-2-0 a[href$="#stage-prod"]`)), chromedp.WaitVisible(chromedp.CSS(`#release-phase`)))
		g.Expect(evalIn[string](ann, `location.pathname + location.hash`)).To(Equal("/releases/shop/web-1-2-0#stage-prod"))
		g.Expect(ann.text(`dl.facts`)()).To(ContainSubstring("part of launch spring"))
		ann.do(chromedp.Click(chromedp.CSS(`a[href="/launches/shop/spring"]`)), chromedp.WaitVisible(chromedp.CSS(`#launch-phase`)))

		// The pipelines page lists it; a status change shows without a reload.
		ann.open(annURL)
		g.Expect(ann.text(`section.launches`)()).To(ContainSubstring("shop/spring Blocked in prod, 2 member(s): web 1.2.0 waits in prod"))
		g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			l := &releasev1.Launch{}
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "spring"}, l); err != nil {
				return err
			}
			l.Status.Phase, l.Status.Holder = releasev1.LaunchProgressing, "web 1.2.0 is promoting to prod"
			return k8s.Status().Update(ctx, l)
		})).To(Succeed())
		g.Eventually(ann.text(`section.launches`), timeout, poll).Should(ContainSubstring("shop/spring Progressing in prod, 2 member(s): web 1.2.0 is promoting to prod"))
		ann.screenshot("pipelines-launches")
		ann.axeClean("pipelines-launches")
		ann.noErrors()

		// vic may list Releases but not launches: the API server says so.
		vic := newBrowser(t, root, axe, shots)
		vic.open(vicURL + "releases/shop/web-1-2-0")
		g.Expect(vic.text(`dl.facts`)()).NotTo(ContainSubstring("launch"))
		vic.do(chromedp.Navigate(vicURL+"launches/shop/spring"), chromedp.WaitVisible(chromedp.CSS(`main`)))
		g.Expect(vic.text(`main`)()).To(ContainSubstring("vic may not get launches.release.liftoff.dev in namespace shop: an admin must grant it (RBAC)"))
	})
}
