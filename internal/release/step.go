package release

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/credentials"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
	"github.com/liftoff-dev/liftoff/internal/shard"
)

// step is one step of one Release.
type step struct {
	*Engine
	// locked and records are shared by the steps of one reconcile.
	locked  map[string]bool
	records *records
	rel     *releasev1.Release
	pipe    *releasev1.ReleasePipeline
	gh      GitHub
	now     time.Time
	// target is the index of the Release's last stage.
	target int
	// pipelineChanged: the pipeline's spec changed since the last step.
	pipelineChanged bool
}

func (s *step) run(ctx context.Context) (reconcile.Outcome, error) {
	rel := s.rel
	s.pipe = &releasev1.ReleasePipeline{}
	if err := s.Client.Get(ctx, types.NamespacedName{Namespace: rel.Namespace, Name: rel.Spec.Pipeline}, s.pipe); err != nil {
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
	target := len(s.pipe.Spec.Stages) - 1
	if rel.Spec.TargetStage != "" {
		if target = s.pipe.StageIndex(rel.Spec.TargetStage); target < 0 {
			s.stall(releasev1.ReasonStageNotFound, fmt.Sprintf("targetStage %q is not a stage of pipeline %s (stages: %s)", rel.Spec.TargetStage, s.pipe.Name, s.pipe.StageNames()))
			return reconcile.Stop(), nil
		}
	}
	syncStages(rel, s.pipe, target)
	s.target = target
	if k := rollbackAsked(s.pipe, rel); k >= 0 {
		// A person asked: whatever the Release was doing, done or not.
		return s.withGitHub(ctx, func() (reconcile.Outcome, error) { return s.rollbackOnDemand(ctx, k) })
	}

	switch rel.Status.Phase {
	case releasev1.PhaseFailed:
		if i := rollbackToFollow(rel, s.pipe); i >= 0 {
			// The Release failed whatever its credential says now: without
			// it the agent is still read; only a revision Liftoff did not
			// write cannot be placed.
			if gh, err := s.Credentials.GitHub(ctx, s.pipe); err == nil {
				s.gh = gh
				s.settleRecords(ctx)
			}
			return s.followRollback(ctx, i)
		}
		return s.settleOnly(ctx)
	case releasev1.PhaseSuperseded:
		return s.settleOnly(ctx)
	case releasev1.PhaseReleased:
		s.supersedeReleased(target)
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
	if s.gh, err = s.Credentials.GitHub(ctx, s.pipe); err != nil {
		var ce *credentials.Error
		if errors.As(err, &ce) {
			s.stall(ce.Reason, ce.Error())
			return reconcile.WaitFor(conditions.RetryStalled, reconcile.WaitFix), nil
		}
		return reconcile.Stop(), err
	}
	return next()
}

// runStage runs the step of the current stage, after the GitHub records the
// Release owes.
func (s *step) runStage(ctx context.Context) (reconcile.Outcome, error) {
	rel, target := s.rel, s.target
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

	current := -1
	for i := 0; i <= target; i++ {
		if rel.Status.Stages[i].Phase != releasev1.StagePromoted {
			current = i
			break
		}
	}
	if current < 0 {
		rel.Status.CurrentStage = s.pipe.Spec.Stages[target].Name
		setConditions(rel, conclusion{phase: releasev1.PhaseReleased, reason: releasev1.ReasonReleased,
			message: fmt.Sprintf("%s is live in %s", rel.Spec.Version, rel.Status.CurrentStage)})
		return reconcile.Stop(), nil
	}
	rel.Status.CurrentStage = s.pipe.Spec.Stages[current].Name
	next, ok := stageSteps[rel.Status.Stages[current].Phase]
	if !ok {
		next = (*step).evaluate
	}
	return next(s, ctx, current)
}

// syncStages makes status.stages mirror the pipeline's stages, keeping what
// was recorded for stages that still exist.
func syncStages(rel *releasev1.Release, pipe *releasev1.ReleasePipeline, target int) {
	out := make([]releasev1.ReleaseStageStatus, len(pipe.Spec.Stages))
	for i, st := range pipe.Spec.Stages {
		if old := rel.Status.StageStatus(st.Name); old != nil {
			out[i] = *old
		} else {
			out[i] = releasev1.ReleaseStageStatus{Name: st.Name, Phase: releasev1.StagePending}
		}
		if i > target && out[i].Phase == releasev1.StagePending {
			out[i].Phase = releasev1.StageSkipped
			out[i].Message = "after the Release's targetStage"
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
	if err := s.APIReader.Get(ctx, types.NamespacedName{Namespace: rel.Namespace, Name: rel.Spec.Pipeline}, live); err != nil || s.Shard.Owns(live) {
		return msg
	}
	return fmt.Sprintf("ReleasePipeline %q is in shard %s, this Release in shard %s: give the Release the pipeline's %s label",
		rel.Spec.Pipeline, shard.Shard(live.Labels[shard.Label]), s.Shard, shard.Label)
}

func (s *step) stall(reason, message string) {
	if s.rel.Status.Phase == "" {
		s.rel.Status.Phase = releasev1.PhasePending
	}
	setConditions(s.rel, conclusion{phase: releasev1.PhaseBlocked, reason: reason, message: message, blocked: true, stalled: true})
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
	return reconcile.WaitFor(s.PollInterval, reconcile.WaitPoll), true, nil
}

// githubFixes say what to fix after a 404 or a refused token, in a
// pipeline's terms.
var githubFixes = reconcile.Fixes{
	NotFound:     "check the repository and branch names and that the token can read them",
	Unauthorized: "check the token in the pipeline's secretRef and its permissions",
}

// githubError turns a GitHub failure into conditions and a retry, as
// reconcile.GitHub says. Nothing recorded is lost: the step is retried from
// the status as written.
func (s *step) githubError(err error) (reconcile.Outcome, error) {
	d, ok := reconcile.GitHub(err, githubFixes)
	if !ok {
		// Not GitHub's answer (the request never went out, a promotion's own
		// failure): retried with backoff like an outage.
		d = reconcile.Disposition{Reason: releasev1.ReasonGitHubUnavailable, Fix: "retrying with backoff"}
	}
	if d.Refused {
		s.Credentials.Refused(s.pipe)
	}
	if d.Stalled {
		s.stall(d.Reason, d.Message(err))
		return d.Outcome(err)
	}
	phase := s.rel.Status.Phase
	if phase == "" {
		phase = releasev1.PhasePending
	}
	setConditions(s.rel, conclusion{phase: phase, reason: d.Reason, message: d.Message(err)})
	return d.Outcome(err)
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
