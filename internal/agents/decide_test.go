package agents

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

const (
	ours    = "1111111111111111111111111111111111111111"
	later   = "2222222222222222222222222222222222222222"
	earlier = "3333333333333333333333333333333333333333"
	other   = "4444444444444444444444444444444444444444"
)

func TestCommitOf(t *testing.T) {
	cases := []struct {
		revision, want string
		ok             bool
	}{
		{ours, ours, true},
		{"main@sha1:" + ours, ours, true},
		{"refs/heads/main@sha1:" + ours, ours, true},
		{"main/" + ours, ours, true},
		{"sha1:" + ours, ours, true},
		{"6.5.3+" + ours[:12], ours[:12], true},
		{"latest@sha256:" + strings.Repeat("ab", 32), "", false},
		{"6.5.3", "", false},
		{"v1.2.3", "", false},
		{"", "", false},
		{"main", "", false},
	}
	for _, c := range cases {
		got, ok := CommitOf(c.revision)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("CommitOf(%q) = %q, %v; want %q, %v", c.revision, got, ok, c.want, c.ok)
		}
	}
}

// comparer answers from a table and counts its calls, like GitHub would.
type comparer struct {
	contains map[string]bool
	calls    int
}

func (c *comparer) Contains(_ context.Context, repo, base, head string) (bool, error) {
	c.calls++
	v, ok := c.contains[head]
	if !ok {
		return false, &github.Error{Kind: github.KindNotFound, Op: "compare", Status: 404, Message: "Not Found"}
	}
	return v, nil
}

func TestRelateNeedsGitHubOnlyForCommitsLiftoffDidNotWrite(t *testing.T) {
	commits := Commits{Repository: "acme/gitops", Commit: ours, Later: []string{later}, Earlier: []string{earlier}}
	newer := "5555555555555555555555555555555555555555"
	older := "6666666666666666666666666666666666666666"
	cmp := &comparer{contains: map[string]bool{newer: true, older: false}}
	cases := []struct {
		revision string
		want     Relation
		calls    int
	}{
		{"", RevisionNone, 0},
		{"main@sha1:" + ours, RevisionAt, 0},
		{"6.5.3+" + ours[:12], RevisionAt, 0},
		{later, RevisionLater, 0},
		{"main/" + earlier, RevisionEarlier, 0},
		{"6.5.3", RevisionUnknown, 0},
		{newer, RevisionLater, 1},
		{older, RevisionEarlier, 1},
		{other, RevisionEarlier, 1}, // not a commit of the repository: another source's
	}
	for _, c := range cases {
		cmp.calls = 0
		got, _, err := commits.Relate(context.Background(), cmp, c.revision)
		if err != nil || got != c.want || cmp.calls != c.calls {
			t.Errorf("Relate(%q) = %v (%v) with %d comparisons; want %v with %d", c.revision, got, err, cmp.calls, c.want, c.calls)
		}
	}
	// A multi-source Application reached the commit when one source did.
	got, sha, err := commits.RelateAll(context.Background(), cmp, []string{"6.5.3", later})
	if err != nil || got != RevisionLater || sha != later {
		t.Errorf("RelateAll = %v %s %v, want Later at %s", got, sha, err, later)
	}
}

func TestDecideArgoCD(t *testing.T) {
	base := ArgoApplication{Object: "argocd/checkout", SyncStatus: "Synced", Health: "Healthy", Revisions: []string{ours}}
	with := func(mod func(*ArgoApplication)) ArgoApplication {
		a := base
		mod(&a)
		return a
	}
	cases := []struct {
		name       string
		app        ArgoApplication
		rel, opRel Relation
		want       releasev1.DeploymentState
		message    string
	}{
		{"synced and healthy at the commit", base, RevisionAt, RevisionAt, releasev1.DeploymentDeployed, "Synced and Healthy"},
		{"synced and healthy at a later commit", base, RevisionLater, RevisionLater, releasev1.DeploymentDeployed, "Synced and Healthy"},
		{"healthy at an earlier commit", base, RevisionEarlier, RevisionEarlier, releasev1.DeploymentPending, "does not contain the commit yet"},
		{"never compared", with(func(a *ArgoApplication) { a.Revisions = nil }), RevisionNone, RevisionNone, releasev1.DeploymentPending, "has not compared"},
		{"a chart version", base, RevisionUnknown, RevisionNone, releasev1.DeploymentUnknown, "names no Git commit"},
		{"out of sync at the commit", with(func(a *ArgoApplication) { a.SyncStatus = "OutOfSync" }), RevisionAt, RevisionEarlier, releasev1.DeploymentOutOfSync, "OutOfSync"},
		{"syncing", with(func(a *ArgoApplication) {
			a.SyncStatus, a.OperationPhase, a.OperationMessage = "OutOfSync", "Running", "waiting for healthy state of apps/Deployment/web"
		}), RevisionAt, RevisionAt, releasev1.DeploymentProgressing, "waiting for healthy state"},
		{"post-sync hooks still running", with(func(a *ArgoApplication) {
			a.OperationPhase, a.OperationMessage = "Running", "running PostSync hooks"
		}), RevisionAt, RevisionAt, releasev1.DeploymentProgressing, "running PostSync hooks"},
		{"progressing after sync", with(func(a *ArgoApplication) { a.Health = "Progressing" }), RevisionAt, RevisionAt, releasev1.DeploymentProgressing, "health Progressing"},
		{"degraded with the resource's message", with(func(a *ArgoApplication) {
			a.Health, a.ResourceMessages = "Degraded", []string{`Deployment shop/web: Deployment "web" exceeded its progress deadline`}
		}), RevisionAt, RevisionAt, releasev1.DeploymentDegraded, `Deployment "web" exceeded its progress deadline`},
		{"degraded with v2's health message", with(func(a *ArgoApplication) {
			a.Health, a.HealthMessage = "Degraded", "back-off restarting failed container"
		}),
			RevisionAt, RevisionAt, releasev1.DeploymentDegraded, "back-off restarting"},
		{"missing after sync", with(func(a *ArgoApplication) { a.Health = "Missing" }), RevisionAt, RevisionAt, releasev1.DeploymentDegraded, "is Missing"},
		{"suspended", with(func(a *ArgoApplication) { a.Health = "Suspended" }), RevisionAt, RevisionAt, releasev1.DeploymentSuspended, "Suspended"},
		{"sync of the commit failed", with(func(a *ArgoApplication) {
			a.SyncStatus, a.OperationPhase, a.OperationMessage = "OutOfSync", "Failed", `one or more objects failed to apply, reason: Deployment.apps "web" is invalid`
		}), RevisionAt, RevisionAt, releasev1.DeploymentFailed, "failed to apply"},
		{"sync of the commit failed, still on the one before", with(func(a *ArgoApplication) {
			a.SyncStatus, a.OperationPhase, a.OperationMessage = "OutOfSync", "Failed", "one or more synchronization tasks are not valid"
		}), RevisionEarlier, RevisionAt, releasev1.DeploymentFailed, "failed to sync the commit: one or more synchronization tasks are not valid"},
		{"an earlier failed sync is not ours", with(func(a *ArgoApplication) {
			a.SyncStatus, a.OperationPhase, a.OperationMessage = "OutOfSync", "Failed", "old failure"
		}), RevisionAt, RevisionEarlier, releasev1.DeploymentOutOfSync, "OutOfSync"},
		{"manifests do not render", with(func(a *ArgoApplication) {
			a.SyncStatus, a.ErrorConditions = "Unknown", []string{"ComparisonError: kustomize build failed: missing resource"}
		}), RevisionAt, RevisionNone, releasev1.DeploymentFailed, "kustomize build failed"},
		{"sync status unknown", with(func(a *ArgoApplication) { a.SyncStatus = "Unknown" }), RevisionAt, RevisionNone, releasev1.DeploymentProgressing, "sync status Unknown"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := DecideArgoCD(c.app, c.rel, c.opRel, ours)
			if got.State != c.want || !strings.Contains(got.Message, c.message) {
				t.Fatalf("%s: %q; want %s containing %q", got.State, got.Message, c.want, c.message)
			}
			// Whatever it says, it says which Application (a stuck one is found by name).
			if !strings.HasPrefix(got.Message, "Application argocd/checkout ") {
				t.Errorf("%q does not begin with the Application it is about", got.Message)
			}
		})
	}
}

func TestDecideFlux(t *testing.T) {
	ready := &FluxCondition{Status: "True", Reason: "ReconciliationSucceeded", Message: "Applied revision: main@sha1:" + ours, ObservedGeneration: 3}
	base := FluxObject{Kind: "Kustomization", Object: "flux-system/apps", Generation: 3, AppliedRevision: "main@sha1:" + ours, AttemptedRevision: "main@sha1:" + ours, Ready: ready}
	with := func(mod func(*FluxObject)) FluxObject {
		f := base
		mod(&f)
		return f
	}
	notReady := func(reason, msg string) *FluxCondition {
		return &FluxCondition{Status: "False", Reason: reason, Message: msg, ObservedGeneration: 3}
	}
	cases := []struct {
		name              string
		obj               FluxObject
		applied, attempts Relation
		want              releasev1.DeploymentState
		message           string
	}{
		{"ready at the commit", base, RevisionAt, RevisionAt, releasev1.DeploymentDeployed, "is Ready"},
		{"ready at a later commit", base, RevisionLater, RevisionLater, releasev1.DeploymentDeployed, "is Ready"},
		{"ready for an older generation", with(func(f *FluxObject) { f.Generation = 4 }), RevisionAt, RevisionAt, releasev1.DeploymentProgressing, "generation 4"},
		{"ready at an earlier commit", base, RevisionEarlier, RevisionEarlier, releasev1.DeploymentPending, "does not contain the commit"},
		{"applying the commit", with(func(f *FluxObject) {
			f.Ready = &FluxCondition{Status: "Unknown", Reason: "Progressing", Message: "Reconciliation in progress", ObservedGeneration: 3}
			f.Reconciling = &FluxCondition{Status: "True", Reason: "Progressing", Message: "Building manifests for revision main@sha1:" + ours}
		}), RevisionEarlier, RevisionAt, releasev1.DeploymentProgressing, "Building manifests"},
		{"health check failed at the commit", with(func(f *FluxObject) {
			f.Ready = notReady("HealthCheckFailed", "Deployment/shop/web status: 'Failed'")
		}), RevisionEarlier, RevisionAt, releasev1.DeploymentFailed, "HealthCheckFailed: Deployment/shop/web"},
		{"build failed at the commit", with(func(f *FluxObject) {
			f.Ready = notReady("BuildFailed", "kustomize build failed: accumulating resources")
		}), RevisionEarlier, RevisionAt, releasev1.DeploymentFailed, "BuildFailed"},
		{"a failure at an earlier commit is not ours", with(func(f *FluxObject) {
			f.Ready = notReady("BuildFailed", "old failure")
		}), RevisionEarlier, RevisionEarlier, releasev1.DeploymentPending, "does not contain the commit"},
		{"a dependency not ready", with(func(f *FluxObject) {
			f.Ready = notReady("DependencyNotReady", "dependency 'flux-system/infra' is not ready")
		}), RevisionEarlier, RevisionAt, releasev1.DeploymentProgressing, "is not ready"},
		{"stalled at the commit", with(func(f *FluxObject) {
			f.Ready = notReady("ArtifactFailed", "path not found")
			f.Stalled = &FluxCondition{Status: "True", Reason: "ArtifactFailed", Message: "kustomization path not found"}
		}), RevisionEarlier, RevisionAt, releasev1.DeploymentFailed, "stalled"},
		{"suspended", with(func(f *FluxObject) { f.Suspended = true }), RevisionEarlier, RevisionEarlier, releasev1.DeploymentSuspended, "resume it"},
		{"no condition yet", with(func(f *FluxObject) { f.Ready = nil }), RevisionNone, RevisionNone, releasev1.DeploymentProgressing, "not reconciled it yet"},
		{"a chart version names no commit", with(func(f *FluxObject) { f.Kind = "HelmRelease" }), RevisionUnknown, RevisionUnknown, releasev1.DeploymentUnknown, "reconcileStrategy: Revision"},
		{"helm upgrade failed at the commit", with(func(f *FluxObject) {
			f.Kind, f.Ready = "HelmRelease", notReady("UpgradeFailed", "Helm upgrade failed: timed out waiting for the condition")
		}), RevisionEarlier, RevisionAt, releasev1.DeploymentFailed, "UpgradeFailed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := DecideFlux(c.obj, c.applied, c.attempts, ours)
			if got.State != c.want || !strings.Contains(got.Message, c.message) {
				t.Fatalf("%s: %q; want %s containing %q", got.State, got.Message, c.want, c.message)
			}
			if subject := c.obj.Kind + " flux-system/apps "; !strings.HasPrefix(got.Message, subject) {
				t.Errorf("%q does not begin with %q", got.Message, subject)
			}
		})
	}
}

func TestDecideCommitStatus(t *testing.T) {
	cases := []struct {
		results []github.CheckResult
		want    releasev1.DeploymentState
	}{
		{nil, releasev1.DeploymentPending},
		{[]github.CheckResult{{Name: "qa", State: github.CheckSuccess}}, releasev1.DeploymentPending},
		{[]github.CheckResult{{Name: "deploy/prod", State: github.CheckPending, Detail: "pending"}}, releasev1.DeploymentProgressing},
		{[]github.CheckResult{{Name: "deploy/prod", State: github.CheckSuccess, Detail: "success"}}, releasev1.DeploymentDeployed},
		{[]github.CheckResult{{Name: "deploy/prod", State: github.CheckFailure, Detail: "error", URL: "https://ci/1"}}, releasev1.DeploymentFailed},
	}
	for _, c := range cases {
		got := DecideCommitStatus("acme/gitops", "deploy/prod", ours, c.results)
		if got.State != c.want {
			t.Errorf("%+v: %s (%s), want %s", c.results, got.State, got.Message, c.want)
		}
		if subject := `Status "deploy/prod" on acme/gitops@1111111 `; !strings.HasPrefix(got.Message, subject) {
			t.Errorf("%q does not begin with %q", got.Message, subject)
		}
	}
}

func TestSummarizeSeveralApplications(t *testing.T) {
	base := Observation{Agent: AgentArgoCD, Kind: "Application", Object: "argocd/app=checkout"}
	app := func(name, sync, health, phase string) ObjectObservation {
		a := ArgoApplication{Object: "argocd/" + name, SyncStatus: sync, Health: health, Revisions: []string{ours}, OperationPhase: phase, OperationMessage: "waiting for healthy state of apps/Deployment/web"}
		return DecideArgoCD(a, RevisionAt, RevisionAt, ours)
	}
	deployed := app("checkout-eu", "Synced", "Healthy", "Succeeded")
	syncing := app("checkout-us", "OutOfSync", "Healthy", "Running")
	degraded := app("checkout-ap", "Synced", "Degraded", "Succeeded")

	if o := Summarize(base, []ObjectObservation{deployed, deployed}); !o.Deployed() || o.Reason != releasev1.ReasonDeployed {
		t.Errorf("all deployed: %s %s", o.State, o.Reason)
	}
	// The summary names the Application that holds the stage.
	if o := Summarize(base, []ObjectObservation{deployed, syncing}); o.State != releasev1.DeploymentProgressing ||
		o.Message != "1 of 2 Applications deployed; Application argocd/checkout-us is syncing 1111111: waiting for healthy state of apps/Deployment/web" {
		t.Errorf("one syncing: %s %q", o.State, o.Message)
	}
	if o := Summarize(base, []ObjectObservation{syncing, degraded, deployed}); !o.Failed() || o.Reason != releasev1.ReasonDeployFailed ||
		!strings.HasPrefix(o.Message, "1 of 3 Applications deployed; Application argocd/checkout-ap is Degraded") {
		t.Errorf("one degraded: %s %s %q", o.State, o.Reason, o.Message)
	}
	if o := Summarize(base, nil); o.State != releasev1.DeploymentMissing || !o.Blocked() || o.Message != "no Application matches argocd/app=checkout" {
		t.Errorf("none matched: %s %q", o.State, o.Message)
	}
}

func TestDecideCountsTheTimeoutFromTheCommit(t *testing.T) {
	committed := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	spec := &releasev1.DeploymentSpec{Timeout: &metav1.Duration{Duration: 5 * time.Minute}}
	waiting := Observation{State: releasev1.DeploymentProgressing, Reason: releasev1.ReasonDeploying, Message: "Application argocd/checkout is Synced at 1111111, health Progressing"}

	d := Decide(waiting, spec, committed, committed.Add(time.Minute), 30*time.Second)
	if d.Next != NextWait || !d.RecheckAt.Equal(committed.Add(90*time.Second)) {
		t.Errorf("waiting: %+v", d)
	}
	d = Decide(waiting, spec, committed, committed.Add(4*time.Minute+50*time.Second), 30*time.Second)
	if d.Next != NextWait || !d.RecheckAt.Equal(committed.Add(5*time.Minute)) {
		t.Errorf("near the deadline the recheck is the deadline: %+v", d)
	}
	d = Decide(waiting, spec, committed, committed.Add(5*time.Minute), 30*time.Second)
	if d.Next != NextFail || d.Reason != releasev1.ReasonDeployTimeout || d.Message != "not deployed within 5m0s of the commit: "+waiting.Message {
		t.Errorf("at the deadline: %+v", d)
	}
	if d := Decide(Observation{State: releasev1.DeploymentDeployed}, nil, committed, committed.Add(time.Hour), time.Minute); d.Next != NextDeployed {
		t.Errorf("deployed late is still deployed: %+v", d)
	}
	if d := Decide(Observation{State: releasev1.DeploymentDegraded, Message: "Degraded"}, nil, committed, committed, time.Minute); d.Next != NextFail || d.Reason != releasev1.ReasonDeployFailed {
		t.Errorf("degraded: %+v", d)
	}
	missing := Observation{State: releasev1.DeploymentMissing, Reason: releasev1.ReasonAgentNotFound}
	if d := Decide(missing, nil, committed, committed.Add(time.Hour), time.Minute); d.Next != NextBlocked || d.Reason != releasev1.ReasonAgentNotFound {
		t.Errorf("missing, past the timeout: %+v, want Blocked", d)
	}
	if got := Timeout(nil); got != 10*time.Minute {
		t.Errorf("default timeout %s", got)
	}
}

// The agents' objects are read as their controllers write them.
func TestReadAgentObjects(t *testing.T) {
	app := parse(t, `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: checkout, namespace: argocd}
status:
  sync: {status: Synced, revision: "`+ours+`"}
  health: {status: Degraded}
  conditions:
    - {type: SharedResourceWarning, message: shared}
    - {type: SyncError, message: "Failed sync attempt: one or more objects failed to apply"}
  operationState:
    phase: Failed
    message: one or more objects failed to apply
    syncResult: {revision: "`+ours+`"}
  resources:
    - {kind: Deployment, namespace: shop, name: web, health: {status: Degraded, message: 'Deployment "web" exceeded its progress deadline'}}
    - {kind: Service, namespace: shop, name: web, health: {status: Healthy}}
`)
	a := ArgoApplicationFrom(app)
	if a.Object != "argocd/checkout" || a.SyncStatus != "Synced" || a.Health != "Degraded" || len(a.Revisions) != 1 || a.Revisions[0] != ours ||
		a.OperationPhase != "Failed" || len(a.OperationRevisions) != 1 ||
		strings.Join(a.ErrorConditions, "|") != "SyncError: Failed sync attempt: one or more objects failed to apply" ||
		strings.Join(a.ResourceMessages, "|") != `Deployment shop/web: Deployment "web" exceeded its progress deadline` {
		t.Fatalf("Application read as %+v", a)
	}
	multi := parse(t, `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: multi, namespace: argocd}
status:
  sync: {status: Synced, revisions: ["6.5.3", "`+ours+`"]}
`)
	if got := ArgoApplicationFrom(multi).Revisions; len(got) != 2 || got[1] != ours {
		t.Fatalf("multi-source revisions %v", got)
	}

	ks := parse(t, `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system, generation: 3}
spec: {suspend: false}
status:
  observedGeneration: 3
  lastAppliedRevision: main@sha1:`+earlier+`
  lastAttemptedRevision: main@sha1:`+ours+`
  conditions:
    - {type: Ready, status: "False", reason: HealthCheckFailed, message: timeout waiting for Deployment/shop/web, observedGeneration: 3, lastTransitionTime: "2026-11-23T10:00:00Z"}
    - {type: Reconciling, status: "True", reason: ProgressingWithRetry, message: retrying, observedGeneration: 3, lastTransitionTime: "2026-11-23T10:00:00Z"}
`)
	f := FluxObjectFrom(ks)
	if f.Kind != "Kustomization" || f.Object != "flux-system/apps" || f.Generation != 3 || f.AppliedRevision != "main@sha1:"+earlier ||
		f.AttemptedRevision != "main@sha1:"+ours || f.Ready == nil || f.Ready.Reason != "HealthCheckFailed" || f.Ready.ObservedGeneration != 3 || f.Reconciling == nil {
		t.Fatalf("Kustomization read as %+v", f)
	}
	hr := parse(t, `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: shop, generation: 2}
status:
  observedGeneration: 2
  lastAttemptedRevision: 6.5.3+`+ours[:12]+`
  history:
    - {chartName: web, chartVersion: 6.5.3+`+ours[:12]+`, status: deployed, name: web, namespace: shop, version: 4}
    - {chartName: web, chartVersion: 6.5.3+`+earlier[:12]+`, status: superseded, name: web, namespace: shop, version: 3}
  conditions:
    - {type: Ready, status: "True", reason: UpgradeSucceeded, message: Helm upgrade succeeded, lastTransitionTime: "2026-11-23T10:00:00Z"}
`)
	h := FluxObjectFrom(hr)
	if h.AppliedRevision != "6.5.3+"+ours[:12] || h.Ready == nil || h.Ready.ObservedGeneration != 2 {
		t.Fatalf("HelmRelease read as %+v (a condition without observedGeneration takes the status's)", h)
	}
}

func parse(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		t.Fatal(err)
	}
	return u
}

// The commits Liftoff recorded on the stage's branch, by any stage that
// writes there, are placed around the promotion commit without GitHub.
func TestCommitsForReadsThePipelineHistory(t *testing.T) {
	at := func(minute int) metav1.Time {
		return metav1.NewTime(time.Date(2026, 11, 23, 10, minute, 0, 0, time.UTC))
	}
	target := func(repo, branch string) releasev1.Target { return releasev1.Target{Repository: repo, Branch: branch} }
	pipe := &releasev1.ReleasePipeline{
		Spec: releasev1.ReleasePipelineSpec{Stages: []releasev1.Stage{
			{Name: "dev", Target: target("acme/gitops", "main")},
			{Name: "staging", Target: target("acme/gitops", "")}, // main by default
			{Name: "prod", Target: target("acme/gitops-prod", "main")},
		}},
		Status: releasev1.ReleasePipelineStatus{Stages: []releasev1.PipelineStageStatus{
			{Name: "dev", Commit: later, PromotedAt: ptr(at(30)), History: []releasev1.PromotionRecord{
				{Commit: later, At: at(30)}, {Commit: ours, At: at(20)}, {Commit: earlier, At: at(10)},
			}},
			{Name: "staging", Commit: "5555555555555555555555555555555555555555", PromotedAt: ptr(at(25))},
			{Name: "prod", Commit: other, PromotedAt: ptr(at(40))},
		}},
	}
	got := CommitsFor(pipe, "staging", ours)
	if got.Repository != "acme/gitops" || got.Commit != ours ||
		strings.Join(got.Earlier, ",") != earlier || strings.Join(got.Later, ",") != "5555555555555555555555555555555555555555,"+later {
		t.Fatalf("CommitsFor = %+v", got)
	}
	// A commit the history no longer holds places nothing.
	if got := CommitsFor(pipe, "dev", "9999999999999999999999999999999999999999"); len(got.Earlier)+len(got.Later) != 0 || got.Repository != "acme/gitops" {
		t.Fatalf("unrecorded commit: %+v", got)
	}
	if got := CommitsFor(pipe, "nope", ours); got.Repository != "" {
		t.Fatalf("unknown stage: %+v", got)
	}
}

func ptr[T any](v T) *T { return &v }
