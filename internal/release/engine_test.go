package release_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

func checks(names ...string) func(*releasev1.Stage) {
	return func(s *releasev1.Stage) {
		if s.Gates == nil {
			s.Gates = &releasev1.Gates{}
		}
		s.Gates.Checks = &releasev1.ChecksGate{Required: names}
	}
}

func manual(s *releasev1.Stage) {
	s.Promotion = releasev1.PromotionManual
	s.Gates = &releasev1.Gates{Approvals: &releasev1.ApprovalsGate{Count: 1}}
}

// verified: the stage's analysis reads the error ratio three times, 30 s apart.
func verified(onFailure releasev1.FailurePolicy) func(*releasev1.Stage) {
	return func(s *releasev1.Stage) {
		s.OnFailure = onFailure
		s.Postmortem = &releasev1.PostmortemSpec{Labels: []string{"postmortem"}}
		s.Verify = &releasev1.Verify{Analysis: releasev1.AnalysisSpec{
			Interval: &metav1.Duration{Duration: 30 * time.Second}, Count: 3, ConsecutiveErrorLimit: 2,
			Metrics: []releasev1.AnalysisMetric{{Name: "error-ratio", Query: `max(errors{version="{{ .Version }}"})`,
				SuccessCondition: "result < 0.05", NoData: "Fail"}},
		}}
	}
}

// A Release whose stages have no gates that wait goes through all of them
// in one reconcile, writing its status once per stage and once at the end:
// a landing goes out with the next stage's intent.
func TestReleaseGoesThroughEveryStageInOneReconcile(t *testing.T) {
	w := newWorld(t)
	w.pipeline()
	w.release("r", "1.4.2")
	out, err := w.reconcile("r")
	if err != nil {
		t.Fatal(err)
	}
	if out.Continues() || out.Waits() != "" {
		t.Fatalf("outcome %s, want Stop", out)
	}
	rel := w.get("r")
	if rel.Status.Phase != releasev1.PhaseReleased || rel.Status.Commit != w.appSHA {
		t.Fatalf("%s", w.describe("r"))
	}
	for _, st := range []string{"dev", "staging", "prod"} {
		commits := w.liftoffCommits("r", st)
		if len(commits) != 1 || rel.Status.StageStatus(st).Promotion.Commit != commits[0].SHA {
			t.Errorf("%s: commits %v, status %+v", st, commits, rel.Status.StageStatus(st).Promotion)
		}
		if ps := w.getPipeline().Status.StageStatus(st); ps.Version != "1.4.2" || ps.InFlight != nil {
			t.Errorf("pipeline %s: %+v", st, ps)
		}
	}
	if w.writes != 4 {
		t.Errorf("%d status writes, want 4 (each stage's intent, the landing with the next, the release)", w.writes)
	}
	if w.condition("r", releasev1.ConditionReady) != "True/Released: 1.4.2 is live in prod" {
		t.Errorf("Ready %s", w.condition("r", releasev1.ConditionReady))
	}
	if c := w.condition("r", releasev1.ConditionReconciling); c != "" {
		t.Errorf("a released Release reconciles no more: %s", c)
	}
}

// Each case sets up the world, reconciles the Release once, and checks where
// it stands and what the engine asked for next.
func TestStepTransitions(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(w *world)
		// stage and its phase, "" when the Release has no stages.
		stage string
		phase releasev1.StagePhase
		// ready is the Ready condition's "Status/Reason" prefix; outcome
		// the Outcome's String; err whether the reconcile fails.
		ready   string
		outcome string
		err     bool
		check   func(t *testing.T, w *world)
	}{
		{name: "QA running: the gate waits for the next poll", setup: func(w *world) {
			w.sim.SetCheckRun(appRepo, w.appSHA, "qa", "in_progress", "")
			w.pipeline(w.stage("dev", checks("qa")))
		}, stage: "dev", phase: releasev1.StageWaiting, ready: "False/GatesPending", outcome: "WaitFor(30s, Poll)", check: func(t *testing.T, w *world) {
			if c := w.condition("r", releasev1.ConditionReconciling); !strings.HasPrefix(c, "True/GatesPending") {
				t.Errorf("Reconciling %q: a Release waiting on QA is under way", c)
			}
		}},
		{name: "QA red: blocked", setup: func(w *world) {
			w.sim.SetCheckRun(appRepo, w.appSHA, "qa", "completed", "failure")
			w.pipeline(w.stage("dev", checks("qa")))
		}, stage: "dev", phase: releasev1.StageWaiting, ready: "False/GateFailed", outcome: "WaitFor(30s, Poll)", check: func(t *testing.T, w *world) {
			if c := w.condition("r", releasev1.ConditionBlocked); !strings.HasPrefix(c, "True/GateFailed: blocked before dev: checks: failed on") {
				t.Errorf("Blocked %q", c)
			}
		}},
		{name: "paused: blocked, QA not read", setup: func(w *world) {
			w.pipeline(w.stage("dev", checks("qa")))
			w.sim.ResetStats()
		}, stage: "dev", phase: releasev1.StageWaiting, ready: "False/Paused", outcome: "WaitFor(30s, Poll)", check: func(t *testing.T, w *world) {
			for op := range w.sim.Requests().ByOperation {
				if strings.Contains(op, "check-runs") || strings.Contains(op, "status") {
					t.Errorf("a paused Release read %s", op)
				}
			}
		}},
		{name: "soak: waits until it soaked in the previous stage", setup: func(w *world) {
			w.pipeline(w.stage("dev"), w.stage("prod", func(s *releasev1.Stage) { s.Gates = &releasev1.Gates{Soak: &metav1.Duration{Duration: time.Hour}} }))
		}, stage: "prod", phase: releasev1.StageWaiting, ready: "False/GatesPending", outcome: "WaitFor(30s, Poll)"},
		{name: "manual stage: waits for an approval", setup: func(w *world) {
			w.pipeline(w.stage("dev"), w.stage("prod", manual))
		}, stage: "prod", phase: releasev1.StageWaiting, ready: "False/GatesPending: waiting to promote into prod: approvals: 0 of 1", outcome: "WaitFor(30s, Poll)"},
		{name: "pull request: waits for its merge", setup: func(w *world) {
			w.pipeline(w.stage("dev", func(s *releasev1.Stage) { s.Target.Strategy = releasev1.StrategyPullRequest }))
		}, stage: "dev", phase: releasev1.StageAwaitingMerge, ready: "False/AwaitingMerge", outcome: "WaitFor(30s, Poll)"},
		{name: "no pipeline: stalled until it is created", setup: func(*world) {},
			ready: `False/PipelineNotFound: ReleasePipeline "checkout" not found`, outcome: "Stop", check: stalledWith(releasev1.ReasonPipelineNotFound)},
		{name: "no Secret: stalled, looked at again in a minute", setup: func(w *world) {
			p := w.pipeline()
			p.Spec.GitHub.SecretRef.Name = "nope"
			w.must(w.c.Update(w.ctx, p))
		}, stage: "dev", phase: releasev1.StagePending, ready: `False/SecretNotFound: Secret "nope"`, outcome: "WaitFor(1m0s, Fix)", check: stalledWith(releasev1.ReasonSecretNotFound)},
		{name: "no tag: blocked, read again at the poll", setup: func(w *world) {
			w.pipeline()
			w.must(w.c.Delete(w.ctx, w.get("r")))
			w.release("r", "9.9.9")
		}, stage: "dev", phase: releasev1.StagePending, ready: "False/CommitNotFound: no tag v9.9.9 or 9.9.9 in acme/checkout", outcome: "WaitFor(30s, Poll)"},
		{name: "token refused: stalled", setup: func(w *world) {
			w.sim.Inject(githubsim.Fault{Path: "/commits/refs/tags/", Status: http.StatusUnauthorized})
			w.pipeline()
		}, stage: "dev", phase: releasev1.StagePending, ready: "False/GitHubUnauthorized", outcome: "WaitFor(1m0s, Fix)", check: stalledWith(releasev1.ReasonGitHubUnauthorized)},
		{name: "429 without Retry-After: waits a second", setup: func(w *world) {
			w.sim.Inject(githubsim.Fault{Path: "/commits/refs/tags/", Status: http.StatusTooManyRequests, Times: 1})
			w.pipeline()
		}, stage: "dev", phase: releasev1.StagePending, ready: "False/GitHubRateLimited", outcome: "WaitFor(1s, GitHub)"},
		{name: "GitHub down: retried with backoff, nothing lost", setup: func(w *world) {
			w.sim.Inject(githubsim.Fault{Method: "PUT", Path: "/contents/", Status: http.StatusBadGateway})
			w.pipeline()
		}, stage: "dev", phase: releasev1.StagePromoting, ready: "False/GitHubUnavailable", err: true, outcome: "Stop", check: func(t *testing.T, w *world) {
			if c := w.condition("r", releasev1.ConditionReconciling); !strings.HasPrefix(c, "True/GitHubUnavailable") || !strings.Contains(c, "retrying with backoff") {
				t.Errorf("Reconciling %q", c)
			}
		}},
		{name: "missing file: the target stalls, nothing committed", setup: func(w *world) {
			s := w.stage("dev")
			s.Target.Files[0].Path = "envs/qa/kustomization.yaml"
			w.pipeline(s)
		}, stage: "dev", phase: releasev1.StageWaiting, ready: "False/TargetInvalid: stage dev: cannot write the version into acme/gitops: envs/qa/kustomization.yaml: file not found", outcome: "WaitFor(1m0s, Fix)", check: func(t *testing.T, w *world) {
			stalledWith(releasev1.ReasonTargetInvalid)(t, w)
			if n := len(w.liftoffCommits("", "")); n != 0 {
				t.Errorf("%d commits", n)
			}
			if ps := w.getPipeline().Status.StageStatus("dev"); ps != nil && ps.InFlight != nil {
				t.Errorf("the stage is still held: %+v", ps.InFlight)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.release("r", "1.4.2", func(r *releasev1.Release) { r.Spec.Paused = strings.HasPrefix(tt.name, "paused") })
			tt.setup(w)
			if strings.HasPrefix(tt.name, "soak") || strings.HasPrefix(tt.name, "manual") {
				if _, err := w.reconcile("r"); err != nil { // dev
					t.Fatal(err)
				}
			}
			out, err := w.reconcile("r")
			if (err != nil) != tt.err {
				t.Fatalf("error %v, want one: %v", err, tt.err)
			}
			if out.String() != tt.outcome {
				t.Errorf("outcome %s, want %s", out, tt.outcome)
			}
			if tt.stage != "" {
				if ss := w.get("r").Status.StageStatus(tt.stage); ss == nil || ss.Phase != tt.phase {
					t.Errorf("stage %s: %s", tt.stage, w.describe("r"))
				}
			}
			if c := w.condition("r", releasev1.ConditionReady); !strings.HasPrefix(c, tt.ready) {
				t.Errorf("Ready %q, want %q…", c, tt.ready)
			}
			if tt.check != nil {
				tt.check(t, w)
			}
		})
	}
}

func stalledWith(reason string) func(*testing.T, *world) {
	return func(t *testing.T, w *world) {
		t.Helper()
		if c := w.condition("r", releasev1.ConditionStalled); !strings.HasPrefix(c, "True/"+reason) {
			t.Errorf("Stalled %q, want %s", c, reason)
		}
		if c := w.condition("r", releasev1.ConditionReconciling); c != "" {
			t.Errorf("a stalled Release is not reconciling: %s", c)
		}
		for _, c := range w.get("r").Status.Conditions {
			if strings.Contains(c.Message, token) {
				t.Errorf("the token in %s", c.Type)
			}
		}
	}
}

// An invalid target is left alone for a minute (GitHub is not asked again)
// unless the pipeline changes.
func TestInvalidTargetIsRetriedAfterAMinuteOrAPipelineChange(t *testing.T) {
	w := newWorld(t)
	s := w.stage("dev")
	s.Target.Files[0].Path = "envs/qa/kustomization.yaml"
	w.pipeline(s)
	w.release("r", "1.4.2")
	if _, err := w.reconcile("r"); err != nil {
		t.Fatal(err)
	}
	w.sim.ResetStats()
	w.clk.Step(20 * time.Second)
	out, err := w.reconcile("r")
	if err != nil || out.String() != "WaitFor(40s, Fix)" {
		t.Fatalf("20s later: %s %v, want the 40s left", out, err)
	}
	if n := w.sim.Requests().Total; n != 0 {
		t.Errorf("%d GitHub requests for a target held", n)
	}
	stalledWith(releasev1.ReasonTargetInvalid)(t, w)

	p := w.getPipeline()
	p.Spec.Stages[0].Target.Files[0].Path = "envs/dev/kustomization.yaml"
	p.Generation++
	w.must(w.c.Update(w.ctx, p))
	if out := w.settle("r", 5); out.String() != "Stop" || w.get("r").Status.Phase != releasev1.PhaseReleased {
		t.Fatalf("after the fix: %s", w.describe("r"))
	}
}

// A newer Release overtakes an older one still on its way; once the newer
// is live in a released Release's target stage, that one is superseded too.
func TestNewerReleaseSupersedes(t *testing.T) {
	w := newWorld(t)
	w.tag("1.5.0")
	w.tag("1.6.0")
	w.pipeline(w.stage("dev"), w.stage("prod", manual))
	w.release("old", "1.4.2")
	w.release("released", "1.5.0", func(r *releasev1.Release) { r.Spec.TargetStage = "dev" })
	w.settle("old", 3) // dev, then waits for the approval of prod
	w.settle("released", 3)
	if got := w.get("released").Status.Phase; got != releasev1.PhaseReleased {
		t.Fatalf("released: %s", w.describe("released"))
	}
	// The newer version is live in dev, which old reached: old is overtaken.
	if out := w.settle("old", 1); out.String() != "Stop" {
		t.Errorf("a superseded Release stops: %s", out)
	}
	old := w.get("old")
	if old.Status.Phase != releasev1.PhaseSuperseded || old.Status.StageStatus("dev").Phase != releasev1.StageSuperseded ||
		old.Status.StageStatus("prod").Phase != releasev1.StageSuperseded {
		t.Fatalf("old: %s", w.describe("old"))
	}
	if c := w.condition("old", releasev1.ConditionReady); c != "False/Superseded: newer release released reached dev" {
		t.Errorf("Ready %q", c)
	}

	w.release("newest", "1.6.0", func(r *releasev1.Release) { r.Spec.TargetStage = "dev" })
	w.settle("newest", 3)
	w.settle("released", 1)
	if got := w.get("released"); got.Status.Phase != releasev1.PhaseSuperseded || got.Status.StageStatus("dev").Phase != releasev1.StageSuperseded {
		t.Fatalf("released: %s", w.describe("released"))
	}
	if n := len(w.liftoffCommits("old", "prod")); n != 0 {
		t.Errorf("the superseded Release committed into prod")
	}
}

// One promotion in flight per stage: a Release promoting holds the stage, a
// stale lock (its holder crashed before promoting) is taken over, and a lock
// the cache did not show yet is found when the stage is taken.
func TestStageLock(t *testing.T) {
	lockDev := func(w *world, since time.Time) {
		p := w.getPipeline()
		p.Status.Stages = []releasev1.PipelineStageStatus{{Name: "dev", InFlight: &releasev1.InFlightPromotion{Release: "other", Version: "1.3.0", Since: metav1.NewTime(since)}}}
		w.must(w.c.Status().Update(w.ctx, p))
	}
	t.Run("held by a Release promoting", func(t *testing.T) {
		w := newWorld(t)
		w.pipeline()
		w.release("other", "1.3.0", func(r *releasev1.Release) { r.Spec.Commit = w.appSHA })
		other := w.get("other")
		other.Status.Stages = []releasev1.ReleaseStageStatus{{Name: "dev", Phase: releasev1.StagePromoting}}
		w.must(w.c.Status().Update(w.ctx, other))
		lockDev(w, t0.Add(-time.Hour))
		w.release("r", "1.4.2")
		out, err := w.reconcile("r")
		if err != nil || out.String() != "WaitFor(30s, Poll)" {
			t.Fatalf("%s %v", out, err)
		}
		if c := w.condition("r", releasev1.ConditionReady); c != "False/GatesPending: waiting to promote into dev: stage: dev is busy: release other is being promoted into it" {
			t.Errorf("Ready %q", c)
		}
		if n := len(w.liftoffCommits("", "")); n != 0 {
			t.Errorf("%d commits into a busy stage", n)
		}
	})
	t.Run("stale: its holder never recorded promoting", func(t *testing.T) {
		w := newWorld(t)
		w.pipeline()
		w.release("other", "1.3.0")
		lockDev(w, t0.Add(-10*time.Second))
		w.release("r", "1.4.2")
		if out := w.settle("r", 3); w.get("r").Status.Phase != releasev1.PhaseReleased {
			t.Fatalf("%s: %s", out, w.describe("r"))
		}
	})
	t.Run("taken after the cache showed it free", func(t *testing.T) {
		w := newWorld(t)
		w.pipeline()
		w.release("other", "1.3.0")
		other := w.get("other")
		other.Status.Stages = []releasev1.ReleaseStageStatus{{Name: "dev", Phase: releasev1.StagePromoting}}
		w.must(w.c.Status().Update(w.ctx, other))
		w.release("r", "1.4.2")
		// The cache still shows the pipeline as it was before other took dev.
		w.engine.Client = staleReader{Reader: w.c, pipeline: w.getPipeline()}
		lockDev(w, t0)
		out, err := w.reconcile("r")
		if err != nil || out.String() != "WaitFor(30s, Poll)" {
			t.Fatalf("%s %v", out, err)
		}
		if ss := w.get("r").Status.StageStatus("dev"); ss.Phase != releasev1.StageWaiting || !strings.Contains(ss.Message, "release other is being promoted") {
			t.Fatalf("%s", w.describe("r"))
		}
		if l := w.getPipeline().Status.StageStatus("dev").InFlight; l.Release != "other" {
			t.Errorf("lock %+v", l)
		}
	})
}

// A Release whose landing the pipeline recorded, but whose own status
// write was lost, takes the stage again while it finds its commit: its
// promotion may wait for a coalesced commit, and no other may go meanwhile.
func TestLandedReleaseTakesTheStageAgainToFindItsCommit(t *testing.T) {
	w := newWorld(t)
	w.pipeline(w.stage("dev"))
	w.release("r", "1.4.2")
	w.settle("r", 3)
	commits := w.liftoffCommits("r", "dev")
	if len(commits) != 1 {
		t.Fatalf("%d commits", len(commits))
	}
	rel := w.get("r")
	rel.Status.Phase = releasev1.PhaseProgressing
	rel.Status.Stages[0].Phase = releasev1.StagePromoting
	rel.Status.Stages[0].Promotion = &releasev1.PromotionStatus{StartedAt: &metav1.Time{Time: t0}}
	w.must(w.c.Status().Update(w.ctx, rel))
	if ps := w.getPipeline().Status.StageStatus("dev"); ps.InFlight != nil || ps.Release != "r" {
		t.Fatalf("pipeline dev %+v", ps)
	}
	var holder atomic.Value
	w.transport = func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/contents/envs/dev/") {
			if l := w.getPipeline().Status.StageStatus("dev").InFlight; l != nil {
				holder.Store(l.Release)
			}
		}
		return http.DefaultTransport.RoundTrip(r)
	}
	w.settle("r", 3)
	if got := w.get("r"); got.Status.Phase != releasev1.PhaseReleased || got.Status.StageStatus("dev").Promotion.Commit != commits[0].SHA {
		t.Fatalf("%s", w.describe("r"))
	}
	if h, _ := holder.Load().(string); h != "r" {
		t.Errorf("the stage was held by %q while the promotion was found again", h)
	}
	if ps := w.getPipeline().Status.StageStatus("dev"); ps.InFlight != nil || len(ps.History) != 1 {
		t.Errorf("pipeline dev after: %+v", ps)
	}
	if n := len(w.liftoffCommits("r", "dev")); n != 1 {
		t.Errorf("%d commits", n)
	}
}

// staleReader serves an old copy of the pipeline, as a cache that lags.
type staleReader struct {
	client.Reader
	pipeline *releasev1.ReleasePipeline
}

func (r staleReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if p, ok := obj.(*releasev1.ReleasePipeline); ok {
		r.pipeline.DeepCopyInto(p)
		return nil
	}
	return r.Reader.Get(ctx, key, obj, opts...)
}

// A failing analysis rolls the stage back in Git (one revert commit), fails
// the Release, opens one postmortem and frees the stage; with Halt the
// version stays.
func TestVerificationFailure(t *testing.T) {
	for _, tt := range []struct {
		policy   releasev1.FailurePolicy
		phase    releasev1.StagePhase
		prodFile string
		reason   string
	}{
		{releasev1.FailureRollback, releasev1.StageRolledBack, kustomization("1.4.1"), releasev1.ReasonRolledBack},
		{releasev1.FailureHalt, releasev1.StageFailed, kustomization("1.4.2"), releasev1.ReasonVerificationFailed},
	} {
		t.Run(string(tt.policy), func(t *testing.T) {
			w := newWorld(t)
			w.setProm("0.30")
			w.pipeline(w.stage("dev"), w.stage("prod", verified(tt.policy)))
			w.release("r", "1.4.2")
			w.settle("r", 10)
			rel := w.get("r")
			ss := rel.Status.StageStatus("prod")
			if rel.Status.Phase != releasev1.PhaseFailed || ss.Phase != tt.phase {
				t.Fatalf("%s", w.describe("r"))
			}
			if !strings.HasPrefix(w.condition("r", releasev1.ConditionReady), "False/"+tt.reason+": stage prod: analysis failed") {
				t.Errorf("Ready %q", w.condition("r", releasev1.ConditionReady))
			}
			if w.file("prod") != tt.prodFile || w.file("dev") != kustomization("1.4.2") {
				t.Errorf("prod holds %q, dev %q", w.file("prod"), w.file("dev"))
			}
			rollbacks := 0
			for _, c := range w.liftoffCommits("r", "prod") {
				if strings.Contains(c.Message, "Liftoff-Action: rollback") {
					rollbacks++
				}
			}
			if want := map[releasev1.FailurePolicy]int{releasev1.FailureRollback: 1}[tt.policy]; rollbacks != want {
				t.Errorf("%d rollback commits, want %d", rollbacks, want)
			}
			if issues := w.sim.Issues(appRepo); len(issues) != 1 || ss.Postmortem == nil || ss.Postmortem.Number != issues[0].Number {
				t.Errorf("postmortems %v, status %+v", issues, ss.Postmortem)
			}
			deps := w.sim.Deployments(appRepo)
			if last := deps[len(deps)-1]; last.Environment != "prod" || last.Statuses[len(last.Statuses)-1].State != "failure" {
				t.Errorf("prod's deployment %+v", last)
			}
			ps := w.getPipeline().Status.StageStatus("prod")
			if ps.InFlight != nil {
				t.Errorf("prod still held by %+v", ps.InFlight)
			}
			if tt.policy == releasev1.FailureRollback && (ps.Version != "1.4.1" || ps.Commit != ss.Rollback.Commit) {
				t.Errorf("pipeline prod %+v, rollback %+v", ps, ss.Rollback)
			}
			// Once failed, the Release stays put.
			if out := w.settle("r", 1); out.String() != "Stop" || len(w.sim.Issues(appRepo)) != 1 {
				t.Errorf("after failing: %s", out)
			}
		})
	}
}

// A controller that dies between GitHub making the commit and the status
// recording it finds its commit again after the restart, and so does one
// that dies in the middle of a verification: nothing is done twice.
func TestRestartResumes(t *testing.T) {
	t.Run("after the commit", func(t *testing.T) {
		w := newWorld(t)
		var lost atomic.Bool
		w.transport = func(r *http.Request) (*http.Response, error) {
			resp, err := http.DefaultTransport.RoundTrip(r)
			if err == nil && r.Method == http.MethodPut && resp.StatusCode == http.StatusOK && lost.CompareAndSwap(false, true) {
				resp.Body.Close()
				return nil, errors.New("connection reset: the controller died")
			}
			return resp, err
		}
		w.pipeline()
		w.release("r", "1.4.2")
		if _, err := w.reconcile("r"); err == nil {
			t.Fatal("the reconcile that lost its answer succeeded")
		}
		if ss := w.get("r").Status.StageStatus("dev"); ss.Phase != releasev1.StagePromoting || len(w.liftoffCommits("r", "dev")) != 1 {
			t.Fatalf("before the restart: %s", w.describe("r"))
		}
		w.transport = nil
		w.start()
		w.settle("r", 3)
		rel := w.get("r")
		if rel.Status.Phase != releasev1.PhaseReleased {
			t.Fatalf("%s", w.describe("r"))
		}
		for _, st := range []string{"dev", "staging", "prod"} {
			if n := len(w.liftoffCommits("r", st)); n != 1 {
				t.Errorf("%d commits into %s", n, st)
			}
		}
		if c := w.liftoffCommits("r", "dev")[0].SHA; rel.Status.StageStatus("dev").Promotion.Commit != c {
			t.Errorf("dev records %s, the commit is %s", rel.Status.StageStatus("dev").Promotion.Commit, c)
		}
		if n := len(w.sim.Deployments(appRepo)); n != 3 {
			t.Errorf("%d deployments, want one per stage", n)
		}
	})
	t.Run("in the middle of a verification", func(t *testing.T) {
		w := newWorld(t)
		w.setProm("0.01")
		w.pipeline(w.stage("dev"), w.stage("prod", verified(releasev1.FailureRollback)))
		w.release("r", "1.4.2")
		if out, err := w.reconcile("r"); err != nil || out.Waits() != reconcile.WaitAnalysis {
			t.Fatalf("%s %v: %s", out, err, w.describe("r"))
		}
		w.clk.Step(30 * time.Second)
		if _, err := w.reconcile("r"); err != nil {
			t.Fatal(err)
		}
		if n := w.get("r").Status.StageStatus("prod").Analysis.Metrics[0].Count; n != 2 {
			t.Fatalf("%d measurements before the restart", n)
		}
		w.start()
		w.settle("r", 5)
		ss := w.get("r").Status.StageStatus("prod")
		if w.get("r").Status.Phase != releasev1.PhaseReleased || ss.Analysis.Metrics[0].Count != 3 {
			t.Fatalf("counting resumed from status: %s", w.describe("r"))
		}
		if n := len(w.liftoffCommits("r", "prod")); n != 1 {
			t.Errorf("%d commits into prod", n)
		}
	})
}
