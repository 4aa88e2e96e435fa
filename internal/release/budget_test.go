package release_test

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// The write budget in the engine, on the fake clock: a write it turns away
// is not sent, the Release says when its slot comes and comes back then;
// records it turns away are owed, written late and once.

// hourly is a budget of n writes an hour (a tenth kept for rollbacks, another
// for commits); a write whose slot is not now is turned away at once.
func hourly(n int) *github.WriteBudget {
	return &github.WriteBudget{PerHour: n, MaxBlock: time.Nanosecond}
}

func (w *world) withBudget(b *github.WriteBudget) {
	w.budget = b
	w.start()
}

func (w *world) deploymentsOf(env string) [][]string {
	var out [][]string
	for _, d := range w.sim.Deployments(appRepo) {
		if d.Environment != env {
			continue
		}
		var states []string
		for _, s := range d.Statuses {
			states = append(states, s.State)
		}
		out = append(out, states)
	}
	return out
}

func TestReleaseWaitsForTheWriteBudgetThenLands(t *testing.T) {
	w := newWorld(t)
	w.withBudget(hourly(3)) // commits may use 2 of the 3
	p := w.pipeline()
	p.Spec.GitHub.Deployments = releasev1.DeploymentsDisabled
	w.must(w.c.Update(w.ctx, p))
	w.release("r", "1.4.2")

	out, err := w.reconcile("r")
	if err != nil {
		t.Fatal(err)
	}
	slot := t0.Add(time.Hour)
	if out.String() != reconcile.WaitUntil(slot, reconcile.WaitBudget).String() {
		t.Fatalf("outcome %s, want to wait for the slot at %s: %s", out, slot, w.describe("r"))
	}
	if got := out.Result(w.clk.Now()).RequeueAfter; got != time.Hour {
		t.Errorf("requeued after %s, not at the slot", got)
	}
	rel := w.get("r")
	if ss := rel.Status.StageStatus("prod"); ss.Phase != releasev1.StagePromoting || len(w.liftoffCommits("r", "prod")) != 0 {
		t.Fatalf("prod: %s", w.describe("r"))
	}
	want := "False/GitHubWriteBudget: waiting for GitHub's write budget, next slot at 2026-11-23T13:00:00Z"
	if c := w.condition("r", releasev1.ConditionReady); !strings.HasPrefix(c, want) {
		t.Errorf("Ready %q, want %q…", c, want)
	}
	if c := w.condition("r", releasev1.ConditionReconciling); !strings.HasPrefix(c, "True/GitHubWriteBudget") {
		t.Errorf("Reconciling %q: a Release waiting for the budget is under way", c)
	}
	if n := w.sim.Requests().ContentGenerating; n != 2 {
		t.Errorf("%d writes reached GitHub, want dev's and staging's commits only", n)
	}
	if n := w.sim.Requests().SecondaryRefusals; n != 0 {
		t.Errorf("%d secondary-limit refusals", n)
	}

	w.clk.Step(time.Hour)
	if out := w.settle("r", 3); out.String() != "Stop" || w.get("r").Status.Phase != releasev1.PhaseReleased {
		t.Fatalf("once the slot came: %s: %s", out, w.describe("r"))
	}
	if n := len(w.liftoffCommits("r", "prod")); n != 1 {
		t.Errorf("%d commits into prod", n)
	}
}

// A deployment status the budget turns away is owed: the Release is done
// and says so; the status is written at the next slot, and only once,
// however often the controller restarts and whether or not it heard
// GitHub's answer.
func TestDeploymentRecordsTurnedAwayAreWrittenLateOnce(t *testing.T) {
	w := newWorld(t)
	w.withBudget(hourly(10)) // records may use 8: the last of 9 is turned away
	w.pipeline()
	w.release("r", "1.4.2")

	out, err := w.reconcile("r")
	if err != nil {
		t.Fatal(err)
	}
	rel := w.get("r")
	if rel.Status.Phase != releasev1.PhaseReleased {
		t.Fatalf("the records held the Release: %s", w.describe("r"))
	}
	if out.Waits() != reconcile.WaitRecords || out.Result(w.clk.Now()).RequeueAfter != time.Hour {
		t.Errorf("outcome %s: a Release that owes records comes back at their slot", out)
	}
	owed := rel.Status.PendingRecords
	if len(owed) != 1 || owed[0].Kind != releasev1.RecordDeployment || owed[0].Stage != "prod" || owed[0].State != github.DeploymentSuccess {
		t.Fatalf("owed %+v", owed)
	}
	want := "True/GitHubWriteBudget: deployment record of prod (success) waiting for GitHub's write budget"
	if c := w.condition("r", releasev1.ConditionRecordsPending); c != want {
		t.Errorf("RecordsPending %q, want %q", c, want)
	}
	if got := w.deploymentsOf("prod"); len(got) != 1 || len(got[0]) != 0 {
		t.Errorf("prod's deployment before its slot: %v", got)
	}
	if events := strings.Join(w.drainEvents(), "\n"); !strings.Contains(events, "DeploymentNotRecorded") {
		t.Errorf("no event says the record lags:\n%s", events)
	}

	// Restarted at the slot, the controller writes it, but the answer is
	// lost: GitHub has the status, the Release does not know.
	w.start()
	var lost atomic.Bool
	w.transport = func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/statuses") && lost.CompareAndSwap(false, true) {
			resp.Body.Close()
			return nil, errors.New("connection reset")
		}
		return resp, err
	}
	w.clk.Step(time.Hour)
	if _, err := w.reconcile("r"); err != nil {
		t.Fatal(err)
	}
	if owed := w.get("r").Status.PendingRecords; len(owed) != 1 || !strings.Contains(owed[0].Message, "not written yet") {
		t.Fatalf("after the lost answer: %+v", owed)
	}
	w.transport = nil
	w.start()
	w.clk.Step(time.Minute)
	out, err = w.reconcile("r")
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "Stop" || len(w.get("r").Status.PendingRecords) != 0 || w.condition("r", releasev1.ConditionRecordsPending) != "" {
		t.Fatalf("%s: %s", out, w.describe("r"))
	}
	for _, env := range []string{"dev", "staging", "prod"} {
		if got := w.deploymentsOf(env); len(got) != 1 || strings.Join(got[0], ">") != "success" {
			t.Errorf("%s: deployments with statuses %v, want one that succeeded once", env, got)
		}
	}
}

// A rollback goes first: its revert commit lands while the budget turns the
// records away, and the deployment's failure status and the postmortem
// issue, owed, reach GitHub at the next slot.
func TestRollbackOvertakesRecordsAndItsFailureStatusReachesGitHub(t *testing.T) {
	w := newWorld(t)
	// Rollbacks may use all 9 writes of the hour, commits 8, records 7: dev
	// and prod take 6 (a commit, a deployment and a status each), the
	// revert 3 (a tree, a commit, the branch), which no commit could.
	w.withBudget(hourly(9))
	w.setProm("0.30")
	w.pipeline(w.stage("dev"), w.stage("prod", verified(releasev1.FailureRollback)))
	w.release("r", "1.4.2")
	if out := w.settle("r", 10); out.Waits() != reconcile.WaitRecords {
		t.Fatalf("%s: %s", out, w.describe("r"))
	}

	rel := w.get("r")
	ss := rel.Status.StageStatus("prod")
	if rel.Status.Phase != releasev1.PhaseFailed || ss.Phase != releasev1.StageRolledBack || w.file("prod") != kustomization("1.4.1") {
		t.Fatalf("the rollback waited: %s", w.describe("r"))
	}
	kinds := map[releasev1.RecordKind]string{}
	for _, p := range rel.Status.PendingRecords {
		kinds[p.Kind] = p.Stage + " " + p.State
	}
	if kinds[releasev1.RecordDeployment] != "prod failure" || kinds[releasev1.RecordPostmortem] != "prod " {
		t.Fatalf("owed %+v: %s", rel.Status.PendingRecords, w.describe("r"))
	}
	if len(w.sim.Issues(appRepo)) != 0 || ss.Postmortem != nil {
		t.Errorf("the postmortem went before its slot")
	}
	if c := w.condition("r", releasev1.ConditionRecordsPending); !strings.Contains(c, "postmortem issue of prod waiting for GitHub's write budget") {
		t.Errorf("RecordsPending %q", c)
	}

	w.clk.Step(time.Hour)
	if out := w.settle("r", 2); out.String() != "Stop" {
		t.Fatalf("%s: %s", out, w.describe("r"))
	}
	ss = w.get("r").Status.StageStatus("prod")
	issues := w.sim.Issues(appRepo)
	if len(issues) != 1 || ss.Postmortem == nil || ss.Postmortem.Number != issues[0].Number {
		t.Errorf("postmortems %v, status %+v", issues, ss.Postmortem)
	}
	if got := w.deploymentsOf("prod"); len(got) != 1 || strings.Join(got[0], ">") != "in_progress>failure" {
		t.Errorf("prod's deployment statuses %v, want in_progress>failure", got)
	}
	if len(w.get("r").Status.PendingRecords) != 0 {
		t.Errorf("still owed: %+v", w.get("r").Status.PendingRecords)
	}
}
