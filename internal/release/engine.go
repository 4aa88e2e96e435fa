// Package release is the engine of a Release: the state machine that takes a
// version through its pipeline's stages. The controller only adapts it: it
// fetches the Release, calls Reconcile, writes the status each step computed
// (with optimistic locking) when Reconcile asks, and announces what changed.
//
// # Steps
//
// One call of Step runs the checks every step needs (the pipeline exists and
// its stages form a graph, the target stage is valid, the Release is not
// done or overtaken, the GitHub credential works, the release commit is
// known), then the step of each ready stage, chosen by the stage's phase in
// stageSteps:
//
//	Pending, Waiting   evaluate: gather the facts, let the gates decide, take the stage lock
//	Promoting,         promote: write the version into Git, or find it written
//	AwaitingMerge        (writePromotion: a Commit-strategy promotion goes into the
//	                     process's coalesced commit to its branch, Deps.Coalescers,
//	                     and waits for it); once it landed, the steps after a
//	                     landing run in order (landingSteps): land (the ledger,
//	                     then the stage's status), recordLanding (the GitHub
//	                     deployment), deployNext (a stage with a GitOps agent
//	                     waits for it), verifyNext (else committed is live, and a
//	                     stage with verify is verified), liveNow (else promoted)
//	Deploying          awaitDeployed: wait until the stage's GitOps agent applied the
//	                     commit and the application is healthy; on failure or timeout
//	                     roll back (or halt)
//	Verifying          verify: the rollout, then the analysis; on failure roll back
//	                     (or halt) and open the postmortem
//
// # The stage graph
//
// Each stage comes after the stages its after names (by default the one
// before it in the list). A stage is ready when it is on the Release's way
// (its targetStage or a stage the target comes after; every stage without
// one), not promoted, and every stage it comes after is promoted: the
// version is deployed there. A line of stages has one ready stage at a time;
// a fan-out has several, and one Step steps each (graph.go), each with its
// own gates, lock, commit, agent and verification, and combines their
// outcomes (reconcile.Outcome.And: the earliest wait wins, a write is a
// write). A stage whose step waited is not stepped again in the same
// reconcile. A fan-in's soak counts from the last stage before it to go
// live. When one stage fails the Release, no stage starts any more; a
// sibling's promotion in flight is finished (finishInFlight: it lands,
// deploys, is verified or rolls back, and frees its own lock) while the
// Release stays Failed. The Release is Released once every stage on its way
// is promoted.
//
// A stage with targets (spec.stages[].targets) steps through the same
// phases wave by wave (waves.go, waveSteps): each wave's targets are written
// in one commit per repository and branch, each target's agent is awaited,
// the stage's verify runs for the wave, then the next wave starts; a
// failure writes back every target the version reached (or halts). Each
// target's landing is a GitHub deployment of its own, to STAGE/TARGET
// (deployments.go), ended when its wave is done or fails.
//
// A stage without deployment goes from the landing straight on: committed
// counts as live (deployedAt is committedAt). A Release that failed goes on
// only to follow its rollback commit until the agent applied it
// (followRollback). The pipeline's status tells the same, through its
// ledger (StageLedger, ledger.go): a landing records the stage's last
// commit with what it awaits (Landed, RolledBack: its agent, its
// verification, or nothing), and the version is live there once its agent
// deployed it (Deployed), or at once without an agent.
//
// GitHub records (deployments and their statuses, postmortem issues) never
// hold a step: one that the write budget or GitHub turns away is owed in
// status.pendingRecords and written by a later reconcile, before the step,
// even once the Release is done (records.go).
//
// Each step changes the Release's status in memory and returns an Outcome:
// Stop, WriteThenContinue, ContinueWithoutWrite, WaitFor or WaitUntil (and
// Reconcile returns Requeue when a write lost to a conflict); Outcome.Result
// is the one place that turns it into a ctrl.Result. A step never writes
// the Release itself; what must hold across Releases (the stage
// locks, what is live where) is written to the pipeline's status by the
// ledger before the step returns. A step (the step type) holds the Release,
// its pipeline, and only the engine's dependencies it uses, named in its
// fields.
//
// To add a step (as awaitDeployed was added between the landing and the
// verification): give the stage a phase of its own (api/v1alpha1
// StagePhase), make the step before it move the stage into it, write the
// step (a method of step returning a reconcile.Outcome), and name it in
// stageSteps. To add a kind of wait, add a Wait constant in internal/reconcile
// (and its floor in floors if it has one), and return WaitFor or WaitUntil
// with it.
//
// # Files
//
// The files read top to bottom: a function is called only from its own
// file and the files above it (the references to functions, methods and
// tables run one way across files, downwards; types and constants are read
// where they are introduced; TestFilesReadTopToBottom checks it against
// the list below, which a new file joins). From the entry to the ground:
//
//	engine.go                the engine, one reconcile
//	step.go, graph.go        the checks every step runs; the ready stages,
//	                           each stepped as its phase says (stageSteps)
//	supersede.go,            a Release overtaken; a rollback on demand
//	  ondemand.go
//	evaluate.go, promote.go, the steps of a stage, in the order its
//	  land.go, deploy.go,      promotion goes through them; a stage with
//	  verify.go, rollback.go,  targets last (its own steps, and those it
//	  waves.go,                shares: verify, a failure); the write-back
//	  waverollback.go,         of a stage's targets, and of a launch's
//	  grouprollback.go,        other members; the targets of a stage, as
//	  targets.go               those name, group and ask them
//	transitions.go           what several steps do: the stage lock lost, the
//	                           start of a deployment, of a verification, of
//	                           the wait for a rollback commit; the slip
//	gather.go, group.go,     the facts the gates decide on
//	  dependencies.go,
//	  artifacts.go
//	analysis.go, agent.go    the analysis and the GitOps agents, in the
//	                           steps' terms
//	records.go,              the GitHub records: the records owed settled,
//	  deployments.go,          the deployments, the postmortem, the release
//	  postmortem.go,           notes, how a record is owed
//	  notes.go, owed.go
//	conditions.go            the Release's status: phase and conditions, gate
//	                           statuses, a stall, a GitHub failure
//	ledger.go                the pipeline's record of its stages
//	deps.go                  what the engine uses outside itself: Deps and
//	                           the interfaces of its clients
package release

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// Engine runs the steps of Releases. It holds no state of its own between
// calls: everything it knows is in the Release's and the pipeline's status.
type Engine struct {
	Deps
}

// New returns an engine with deps.
func New(deps Deps) *Engine {
	if deps.PollInterval == 0 {
		deps.PollInterval = 30 * time.Second
	}
	return &Engine{Deps: deps}
}

// Run is one reconcile of one Release: the steps it runs one after another
// share what they hold.
type Run struct {
	e *Engine
	// locked names the stages this run took: while the Release records that
	// it promotes there, no one else may take them, so a promotion that
	// follows at once needs not read the lock back.
	locked map[string]bool
	// records is what the run knows of the GitHub records the Release owes.
	records records
	// waits are the outcomes of the stages whose step waited in this run: a
	// stage of a fan-out that waits (a soak, a check) is not stepped again
	// while its siblings go on, and its wait counts when the run ends.
	waits map[string]reconcile.Outcome
}

// Start begins a reconcile.
func (e *Engine) Start() *Run {
	return &Run{e: e, locked: map[string]bool{}, waits: map[string]reconcile.Outcome{}}
}

// StatusWriter writes the status a step computed, with optimistic locking:
// before is the Release as last written (or read), after as the step left
// it. conflict is true when the Release changed meanwhile: the reconcile
// starts over from it rather than overwrite.
type StatusWriter func(ctx context.Context, before, after *releasev1.Release) (conflict bool, err error)

// maxSteps bounds the steps of one reconcile (a Release's whole way through
// a pipeline without gates that wait is a few steps per stage), so one
// Release cannot hold a worker for long.
const maxSteps = 16

// Reconcile runs rel's steps one after another while they ask to go on, and
// writes the status with write after each step that asks for it and changed
// it. A step that asks to go on at once (a promotion's intent recorded)
// goes on from the object the write returned, rather than from a new
// reconcile whose cached copy may not show that write yet; a step whose
// changes need no write of their own (a landing the pipeline records
// already) goes on without one, and the next write records both. It returns
// the last step's outcome, or Requeue after a conflict, and the error of a
// step or a write.
func (e *Engine) Reconcile(ctx context.Context, rel *releasev1.Release, write StatusWriter) (reconcile.Outcome, error) {
	before := rel.DeepCopy()
	run := e.Start()
	for steps := 1; ; steps++ {
		out, err := run.Step(ctx, rel)
		if err == nil && !out.Writes() && steps < maxSteps {
			continue
		}
		if !equality.Semantic.DeepEqual(before.Status, rel.Status) {
			conflict, werr := write(ctx, before, rel)
			if conflict {
				return reconcile.Requeue(), nil
			}
			if werr != nil {
				if err == nil {
					err = werr
				}
				return out, err
			}
			before = rel.DeepCopy()
		}
		if err != nil || !out.Continues() || steps == maxSteps {
			if out.Waits() != reconcile.WaitDeployed {
				// Only a Release waiting on an agent is woken by it.
				e.Forget(types.NamespacedName{Namespace: rel.Namespace, Name: rel.Name})
			}
			return out, err
		}
	}
}

// Forget stops waking the Release key on its GitOps agent's changes: it
// waits on none (or is gone).
func (e *Engine) Forget(key types.NamespacedName) {
	if e.Agents != nil {
		e.Agents.Forget(key)
	}
}

// Step runs one step of rel, changing its status in memory. An error is a
// transient failure: the status says what happened, and the caller writes it
// and retries with backoff.
func (r *Run) Step(ctx context.Context, rel *releasev1.Release) (reconcile.Outcome, error) {
	s := r.e.newStep(r, rel)
	out, err := s.run(ctx)
	s.noteRecords()
	return s.owing(out), err
}
