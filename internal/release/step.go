package release

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/calendar"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/credentials"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/notes"
	"github.com/liftoff-dev/liftoff/internal/promotion"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
	"github.com/liftoff-dev/liftoff/internal/shard"
)

// step is one step of one Release. Its first fields are all it may touch
// outside the Release and its pipeline, from the engine's Deps (each field
// says what a step does with it).
type step struct {
	// client reads from the manager's cache: the pipeline, its calendar,
	// milestones, checklists, launches, required pipelines.
	client client.Reader
	// apiReader reads from the API server what the cache does not show (a
	// pipeline or a launch member of another shard).
	apiReader client.Reader
	// ledger is the pipeline's record of its stages: the stage locks, what
	// was committed and what is live.
	ledger *StageLedger
	// credentials gives the pipeline's GitHub (gh) and Prometheus clients.
	credentials Credentials
	// coalescers make a Commit-strategy promotion part of the coalesced
	// commit to its branch.
	coalescers *promotion.Coalescers
	// agents reads the stages' GitOps agents.
	agents Agents
	// artifacts resolves and verifies the pipeline's artifacts.
	artifacts Artifacts
	// calendar compiles the pipeline's ReleaseCalendar.
	calendar func(*releasev1.ReleaseCalendar) (*calendar.Calendar, error)
	// notes caches the release notes of version pairs.
	notes *notes.Cache
	// recorder announces a GitHub record that is owed.
	recorder events.EventRecorder
	// shard names the controller's shard when a pipeline is in another.
	shard shard.Shard
	// clock is read again, after now, where a write budget's answer is
	// compared with the time.
	clock clock.PassiveClock
	// pollInterval is how often what no watch reports is read again.
	pollInterval time.Duration

	// locked, records and waits are shared by the steps of one reconcile.
	locked  map[string]bool
	records *records
	waits   map[string]reconcile.Outcome
	rel     *releasev1.Release
	pipe    *releasev1.ReleasePipeline
	gh      GitHub
	now     time.Time
	// target is the index of the Release's targetStage (the last stage
	// without one).
	target int
	// onWay marks the stages the Release goes through: the targetStage and
	// every stage it comes after, or every stage without a targetStage.
	onWay []bool
	// pipelineChanged: the pipeline's spec changed since the last step.
	pipelineChanged bool
}

// newStep is a step of rel in run, with the engine's dependencies.
func (e *Engine) newStep(run *Run, rel *releasev1.Release) *step {
	d := &e.Deps
	return &step{
		client: d.Client, apiReader: d.APIReader, ledger: d.Ledger, credentials: d.Credentials, coalescers: d.Coalescers,
		agents: d.Agents, artifacts: d.Artifacts, calendar: d.Calendar, notes: d.Notes, recorder: d.Recorder, shard: d.Shard,
		clock: d.Clock, pollInterval: d.PollInterval,
		locked: run.locked, records: &run.records, waits: run.waits, rel: rel, now: d.Clock.Now(),
	}
}

func (s *step) run(ctx context.Context) (reconcile.Outcome, error) {
	rel := s.rel
	s.pipe = &releasev1.ReleasePipeline{}
	if err := s.client.Get(ctx, types.NamespacedName{Namespace: rel.Namespace, Name: rel.Spec.Pipeline}, s.pipe); err != nil {
		if !apierrors.IsNotFound(err) {
			return reconcile.Stop(), err
		}
		// The pipeline watch brings us back once it exists.
		s.stall(releasev1.ReasonPipelineNotFound, s.pipelineNotFound(ctx))
		return reconcile.Stop(), nil
	}
	rel.Status.ObservedGeneration = rel.Generation
	s.pipelineChanged = rel.Status.PipelineGeneration != s.pipe.Generation
	rel.Status.PipelineGeneration = s.pipe.Generation
	if msg := s.pipe.Spec.GraphError(); msg != "" {
		// Admission refuses such a pipeline; one that exists anyway (the
		// webhook was off) is fixed by a person, and its change brings the
		// Release back.
		s.stall(releasev1.ReasonInvalidStageGraph, fmt.Sprintf("ReleasePipeline %s: %s", s.pipe.Name, msg))
		return reconcile.Stop(), nil
	}
	if msg := s.pipe.Spec.TargetsError(); msg != "" {
		// Admission refuses these too.
		s.stall(releasev1.ReasonInvalidSpec, fmt.Sprintf("ReleasePipeline %s: %s", s.pipe.Name, msg))
		return reconcile.Stop(), nil
	}
	target := len(s.pipe.Spec.Stages) - 1
	s.onWay = make([]bool, len(s.pipe.Spec.Stages))
	for i := range s.onWay {
		s.onWay[i] = true
	}
	if rel.Spec.TargetStage != "" {
		if target = s.pipe.StageIndex(rel.Spec.TargetStage); target < 0 {
			s.stall(releasev1.ReasonStageNotFound, fmt.Sprintf("targetStage %q is not a stage of pipeline %s (stages: %s)", rel.Spec.TargetStage, s.pipe.Name, s.pipe.StageNames()))
			return reconcile.Stop(), nil
		}
		s.onWay = s.pipe.Spec.OnTheWay(target)
	}
	syncStages(rel, s.pipe, s.onWay)
	s.target = target
	if k := rollbackAsked(s.pipe, rel); k >= 0 {
		// A person asked: whatever the Release was doing, done or not.
		return s.withGitHub(ctx, func() (reconcile.Outcome, error) { return s.rollbackOnDemand(ctx, k) })
	}
	if out, done, err := s.followLaunch(ctx); done {
		// Another member of its launch failed: it goes back with it.
		return out, err
	}

	switch rel.Status.Phase {
	case releasev1.PhaseFailed:
		if stages := inFlight(rel); len(stages) > 0 {
			// Another branch of the graph was promoting when this one
			// failed: that promotion ends as promotions do.
			return s.withGitHub(ctx, func() (reconcile.Outcome, error) {
				return s.finishInFlight(ctx, stages, rollbackToFollow(rel, s.pipe))
			})
		}
		if i := rollbackToFollow(rel, s.pipe); i >= 0 {
			// The Release failed whatever its credential says now: without
			// it the agent is still read; only a revision Liftoff did not
			// write cannot be placed.
			if gh, err := s.credentials.GitHub(ctx, s.pipe); err == nil {
				s.gh = gh
				s.settleRecords(ctx)
			}
			return s.followRollback(ctx, i)
		}
		return s.settleOnly(ctx)
	case releasev1.PhaseSuperseded:
		return s.settleOnly(ctx)
	case releasev1.PhaseReleased:
		s.supersedeReleased()
		return s.settleOnly(ctx)
	}
	if by, stage := newerInPipeline(s.pipe, rel); by != "" {
		return s.supersede(ctx, by, stage)
	}

	return s.withGitHub(ctx, func() (reconcile.Outcome, error) { return s.runStage(ctx) })
}

// withGitHub runs next with the pipeline's GitHub client, or stalls the
// Release on what keeps the credential from working.
func (s *step) withGitHub(ctx context.Context, next func() (reconcile.Outcome, error)) (reconcile.Outcome, error) {
	var err error
	if s.gh, err = s.credentials.GitHub(ctx, s.pipe); err != nil {
		var ce *credentials.Error
		if errors.As(err, &ce) {
			s.stall(ce.Reason, ce.Error())
			return reconcile.WaitFor(conditions.RetryStalled, reconcile.WaitFix), nil
		}
		return reconcile.Stop(), err
	}
	return next()
}

// runStage runs the step of each ready stage (stepStages), after the GitHub
// records the Release owes; with none left on its way, the Release is
// Released.
func (s *step) runStage(ctx context.Context) (reconcile.Outcome, error) {
	rel := s.rel
	s.settleRecords(ctx)
	if rel.Status.Commit == "" {
		if out, done, err := s.resolveCommit(ctx); done {
			return out, err
		}
	}
	if len(rel.Status.Artifacts) < len(s.pipe.Spec.Artifacts) {
		if out, done, err := s.pinArtifacts(ctx); done {
			return out, err
		}
	}

	ready, left := s.readyStages()
	if left == 0 {
		rel.Status.CurrentStage = s.reachedStages()
		setConditions(rel, conclusion{phase: releasev1.PhaseReleased, reason: releasev1.ReasonReleased,
			message: fmt.Sprintf("%s is live in %s", rel.Spec.Version, rel.Status.CurrentStage)})
		return reconcile.Stop(), nil
	}
	return s.stepStages(ctx, ready)
}

// readyStages are the stages on the way that are not promoted and come
// after stages all promoted, in pipeline order, and how many stages on the
// way are not promoted yet.
func (s *step) readyStages() (ready []int, left int) {
	st := s.rel.Status.Stages
	for i := range st {
		if !s.onWay[i] || st[i].Phase == releasev1.StagePromoted {
			continue
		}
		left++
		if s.afterPromoted(i) {
			ready = append(ready, i)
		}
	}
	return ready, left
}

// afterPromoted reports whether every stage stage i comes after has the
// version deployed.
func (s *step) afterPromoted(i int) bool {
	for _, j := range s.pipe.Spec.AfterIndexes(i) {
		if s.rel.Status.Stages[j].Phase != releasev1.StagePromoted {
			return false
		}
	}
	return true
}

// reachedStages names where a released Release ended: its targetStage, or
// every stage no other comes after.
func (s *step) reachedStages() string {
	if s.rel.Spec.TargetStage != "" {
		return s.rel.Spec.TargetStage
	}
	return s.stageList(s.pipe.Spec.Leaves())
}

// syncStages makes status.stages mirror the pipeline's stages, keeping what
// was recorded for stages that still exist; a stage not on the way to the
// targetStage that was not started is Skipped.
func syncStages(rel *releasev1.Release, pipe *releasev1.ReleasePipeline, onWay []bool) {
	out := make([]releasev1.ReleaseStageStatus, len(pipe.Spec.Stages))
	for i, st := range pipe.Spec.Stages {
		if old := rel.Status.StageStatus(st.Name); old != nil {
			out[i] = *old
		} else {
			out[i] = releasev1.ReleaseStageStatus{Name: st.Name, Phase: releasev1.StagePending}
		}
		if !onWay[i] && out[i].Phase == releasev1.StagePending {
			out[i].Phase = releasev1.StageSkipped
			out[i].Message = "not on the way to the Release's targetStage"
		}
	}
	rel.Status.Stages = out
}

// pipelineNotFound says why the pipeline is not in the cache: missing, or in
// another shard than the Release (the cache holds only this shard's).
func (s *step) pipelineNotFound(ctx context.Context) string {
	rel := s.rel
	msg := fmt.Sprintf("ReleasePipeline %q not found in namespace %s: create it or fix spec.pipeline", rel.Spec.Pipeline, rel.Namespace)
	live := &releasev1.ReleasePipeline{}
	if err := s.apiReader.Get(ctx, types.NamespacedName{Namespace: rel.Namespace, Name: rel.Spec.Pipeline}, live); err != nil || s.shard.Owns(live) {
		return msg
	}
	return fmt.Sprintf("ReleasePipeline %q is in shard %s, this Release in shard %s: give the Release the pipeline's %s label",
		rel.Spec.Pipeline, shard.Shard(live.Labels[shard.Label]), s.shard, shard.Label)
}

// resolveCommit finds the release commit from spec.commit or the version's
// tag. done is true when the step ends here.
func (s *step) resolveCommit(ctx context.Context) (out reconcile.Outcome, done bool, err error) {
	rel := s.rel
	if rel.Spec.Commit != "" {
		rel.Status.Commit = rel.Spec.Commit
		return reconcile.Outcome{}, false, nil
	}
	repo := s.pipe.Spec.Source.Repository
	v := rel.Spec.Version
	// Most projects tag v1.2.3: that is tried first, and costs one request.
	candidates := []string{"v" + v, v}
	if strings.HasPrefix(v, "v") {
		candidates = []string{v, strings.TrimPrefix(v, "v")}
	}
	for _, tag := range candidates {
		sha, err := s.gh.ResolveCommit(ctx, repo, "refs/tags/"+tag)
		if err == nil && sha != "" {
			rel.Status.Commit = sha
			return reconcile.Outcome{}, false, nil
		}
		if err != nil && !github.IsNotFound(err) {
			out, err := s.githubError(err)
			return out, true, err
		}
	}
	setConditions(rel, conclusion{phase: releasev1.PhaseBlocked, reason: releasev1.ReasonCommitNotFound, blocked: true,
		message: fmt.Sprintf("no tag %s in %s: push the tag or set spec.commit", strings.Join(candidates, " or "), repo)})
	return reconcile.WaitFor(s.pollInterval, reconcile.WaitPoll), true, nil
}

// followLaunch halts rel with its launch when another member failed and
// the launch's onFailure is Group: a stage of rel where that member failed
// and that rel's version reached is rolled back (or halted, as the stage's
// onFailure says), finding the revert the failing member wrote. done is
// false when nothing of the launch concerns rel: the step goes on, and its
// group gate holds the stages not started.
func (s *step) followLaunch(ctx context.Context) (out reconcile.Outcome, done bool, err error) {
	rel := s.rel
	if rel.Status.Phase == releasev1.PhaseFailed || rel.Status.Phase == releasev1.PhaseSuperseded {
		return out, false, nil
	}
	launch, err := LaunchOf(ctx, s.client, rel)
	if err != nil || launch == nil || launch.FailurePolicy() != releasev1.FailGroup {
		return out, err != nil, err
	}
	members, _, err := LaunchMembers(ctx, s.client, s.apiReader, launch)
	if err != nil {
		return reconcile.Stop(), true, err
	}
	failed, stage := groupFailure(members, rel.Name)
	i := s.pipe.StageIndex(stage)
	if failed == nil || i < 0 || !reachedForGroup(rel, i) {
		return out, false, nil
	}
	out, err = s.withGitHub(ctx, func() (reconcile.Outcome, error) {
		return s.failed(ctx, i, groupFailureOf(launch.Name, failed, stage))
	})
	if rel.Status.Phase == releasev1.PhaseFailed {
		s.notStarted(stage)
	}
	return out, true, err
}
