package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// step is one reconcile of one Release.
type step struct {
	r    *ReleaseReconciler
	rel  *releasev1.Release
	pipe *releasev1.ReleasePipeline
	gh   *github.Client
	now  time.Time
	// target is the index of the Release's last stage.
	target int
	// locked names the stages this reconcile took (shared by its steps):
	// while the Release records that it promotes there, no one else may take
	// them, so a promotion that follows at once needs not read the lock back.
	locked map[string]bool
}

// ReasonDeploymentNotRecorded: a GitHub deployment status could not be
// written; the promotion went on.
const ReasonDeploymentNotRecorded = "DeploymentNotRecorded"

// retryTerminal is how often a Release stalled on something outside the
// cluster (a missing file or repository) is tried again: a person may fix it
// in GitHub, which no watch tells us about.
const retryTerminal = time.Minute

func (s *step) run(ctx context.Context) (ctrl.Result, error) {
	rel := s.rel
	s.pipe = &releasev1.ReleasePipeline{}
	if err := s.r.Get(ctx, types.NamespacedName{Namespace: rel.Namespace, Name: rel.Spec.Pipeline}, s.pipe); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		// The pipeline watch brings us back once it exists.
		s.stall(releasev1.ReasonPipelineNotFound, s.r.pipelineNotFound(ctx, rel))
		return ctrl.Result{}, nil
	}
	rel.Status.ObservedGeneration = rel.Generation
	pipelineChanged := rel.Status.PipelineGeneration != s.pipe.Generation
	rel.Status.PipelineGeneration = s.pipe.Generation
	target := len(s.pipe.Spec.Stages) - 1
	if rel.Spec.TargetStage != "" {
		if target = s.pipe.StageIndex(rel.Spec.TargetStage); target < 0 {
			s.stall(releasev1.ReasonStageNotFound, fmt.Sprintf("targetStage %q is not a stage of pipeline %s (stages: %s)", rel.Spec.TargetStage, s.pipe.Name, stageNames(s.pipe)))
			return ctrl.Result{}, nil
		}
	}
	syncStages(rel, s.pipe, target)
	s.target = target

	switch rel.Status.Phase {
	case releasev1.PhaseFailed, releasev1.PhaseSuperseded:
		return ctrl.Result{}, nil
	}
	if rel.Status.Phase == releasev1.PhaseReleased {
		s.supersedeReleased(target)
		return ctrl.Result{}, nil
	}
	if by, stage := newerInPipeline(s.pipe, rel); by != "" {
		return s.supersede(ctx, by, stage)
	}

	var err error
	if s.gh, err = s.r.githubClient(ctx, s.pipe); err != nil {
		var ce *credentialError
		if errors.As(err, &ce) {
			s.stall(ce.reason, ce.Error())
			return ctrl.Result{RequeueAfter: retryTerminal}, nil
		}
		return ctrl.Result{}, err
	}
	if rel.Status.Commit == "" {
		if res, done, err := s.resolveCommit(ctx); done {
			return res, err
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
		setConditions(rel, outcome{phase: releasev1.PhaseReleased, reason: releasev1.ReasonReleased,
			message: fmt.Sprintf("%s is live in %s", rel.Spec.Version, rel.Status.CurrentStage)})
		return ctrl.Result{}, nil
	}
	rel.Status.CurrentStage = s.pipe.Spec.Stages[current].Name
	switch rel.Status.Stages[current].Phase {
	case releasev1.StagePromoting, releasev1.StageAwaitingMerge:
		return s.promote(ctx, current)
	case releasev1.StageVerifying:
		return s.verify(ctx, current)
	}
	if wait := s.targetHeld(current, pipelineChanged); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	return s.evaluate(ctx, current)
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
func (r *ReleaseReconciler) pipelineNotFound(ctx context.Context, rel *releasev1.Release) string {
	msg := fmt.Sprintf("ReleasePipeline %q not found in namespace %s: create it or fix spec.pipeline", rel.Spec.Pipeline, rel.Namespace)
	live := &releasev1.ReleasePipeline{}
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: rel.Namespace, Name: rel.Spec.Pipeline}, live); err != nil || r.Shard.Owns(live) {
		return msg
	}
	return fmt.Sprintf("ReleasePipeline %q is in shard %s, this Release in shard %s: give the Release the pipeline's %s label",
		rel.Spec.Pipeline, Shard(live.Labels[ShardLabel]), r.Shard, ShardLabel)
}

func stageNames(pipe *releasev1.ReleasePipeline) string {
	names := make([]string, 0, len(pipe.Spec.Stages))
	for _, st := range pipe.Spec.Stages {
		names = append(names, st.Name)
	}
	return strings.Join(names, ", ")
}

func (s *step) stall(reason, message string) {
	if s.rel.Status.Phase == "" {
		s.rel.Status.Phase = releasev1.PhasePending
	}
	setConditions(s.rel, outcome{phase: releasev1.PhaseBlocked, reason: reason, message: message, blocked: true, stalled: true})
}

// resolveCommit finds the release commit from spec.commit or the version's tag.
func (s *step) resolveCommit(ctx context.Context) (ctrl.Result, bool, error) {
	rel := s.rel
	if rel.Spec.Commit != "" {
		rel.Status.Commit = rel.Spec.Commit
		return ctrl.Result{}, false, nil
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
			return ctrl.Result{}, false, nil
		}
		if err != nil && !github.IsNotFound(err) {
			res, err := s.githubError(err)
			return res, true, err
		}
	}
	setConditions(rel, outcome{phase: releasev1.PhaseBlocked, reason: releasev1.ReasonCommitNotFound, blocked: true,
		message: fmt.Sprintf("no tag %s in %s: push the tag or set spec.commit", strings.Join(candidates, " or "), repo)})
	return ctrl.Result{RequeueAfter: s.r.PollInterval}, true, nil
}

// githubError turns a GitHub failure into conditions and a retry. Nothing
// recorded is lost: the step is retried from the status as written.
func (s *step) githubError(err error) (ctrl.Result, error) {
	msg := err.Error()
	phase := s.rel.Status.Phase
	if phase == "" {
		phase = releasev1.PhasePending
	}
	if ce := credentialProblem(err); ce != nil {
		forgetToken(s.pipe.Namespace, s.pipe.Spec.GitHub.SecretRef)
		s.stall(ce.reason, ce.msg)
		return ctrl.Result{RequeueAfter: retryTerminal}, nil
	}
	switch github.KindOf(err) {
	case github.KindRateLimited:
		wait := github.RetryAfterOf(err)
		setConditions(s.rel, outcome{phase: phase, reason: releasev1.ReasonGitHubRateLimited,
			message: fmt.Sprintf("%s; retrying in %s", msg, wait)})
		return ctrl.Result{RequeueAfter: wait}, nil
	case github.KindUnauthorized:
		forgetToken(s.pipe.Namespace, s.pipe.Spec.GitHub.SecretRef)
		setConditions(s.rel, outcome{phase: releasev1.PhaseBlocked, reason: releasev1.ReasonGitHubUnauthorized, blocked: true, stalled: true,
			message: msg + ": check the token in the pipeline's secretRef and its permissions"})
		return ctrl.Result{RequeueAfter: retryTerminal}, nil
	case github.KindNotFound:
		setConditions(s.rel, outcome{phase: releasev1.PhaseBlocked, reason: releasev1.ReasonRepositoryNotFound, blocked: true, stalled: true,
			message: msg + ": check the repository and branch names and that the token can read them"})
		return ctrl.Result{RequeueAfter: retryTerminal}, nil
	}
	setConditions(s.rel, outcome{phase: phase, reason: releasev1.ReasonGitHubUnavailable, message: msg + "; retrying with backoff"})
	return ctrl.Result{}, err
}

// supersede stops a Release still on its way that a newer one overtook.
func (s *step) supersede(ctx context.Context, by, stage string) (ctrl.Result, error) {
	rel := s.rel
	for i := range rel.Status.Stages {
		ss := &rel.Status.Stages[i]
		switch ss.Phase {
		case releasev1.StagePromoted:
			ss.Phase, ss.Message = releasev1.StageSuperseded, fmt.Sprintf("newer release %s overtook it", by)
		case releasev1.StageWaiting, releasev1.StagePending:
			ss.Phase, ss.Message = releasev1.StageSuperseded, fmt.Sprintf("newer release %s goes instead", by)
		}
	}
	if err := s.r.unlockStages(ctx, s.pipe, rel); err != nil {
		return ctrl.Result{}, err
	}
	setConditions(rel, outcome{phase: releasev1.PhaseSuperseded, reason: releasev1.ReasonSuperseded,
		message: fmt.Sprintf("newer release %s reached %s", by, stage)})
	return ctrl.Result{}, nil
}

// supersedeReleased marks the stages of a released Release where a newer
// version now lives; once that includes its target stage, the Release is
// Superseded.
func (s *step) supersedeReleased(target int) {
	rel := s.rel
	for i := range rel.Status.Stages {
		ss := &rel.Status.Stages[i]
		if ss.Phase != releasev1.StagePromoted {
			continue
		}
		ps := s.pipe.Status.StageStatus(ss.Name)
		// A newer version still under verification may yet be rolled back:
		// it replaces this one only once it holds the stage no more.
		if ps == nil || ps.InFlight != nil || !newerVersion(ps.Release, ps.Version, rel) {
			continue
		}
		ss.Phase, ss.Message = releasev1.StageSuperseded, fmt.Sprintf("release %s (%s) replaced it", ps.Release, ps.Version)
		if i == target {
			setConditions(rel, outcome{phase: releasev1.PhaseSuperseded, reason: releasev1.ReasonSuperseded,
				message: fmt.Sprintf("newer release %s is live in %s", ps.Release, ss.Name)})
		}
	}
}

// gateTarget is the pseudo-gate that records an invalid target.
const gateTarget = "target"

// targetHeld keeps a stage whose target was found invalid from being retried
// before retryTerminal has passed, unless the pipeline changed: otherwise
// every pipeline status change would start a doomed promotion again.
func (s *step) targetHeld(i int, pipelineChanged bool) time.Duration {
	ss := &s.rel.Status.Stages[i]
	for _, g := range ss.Gates {
		if g.Name != gateTarget || g.Status != releasev1.GateFailed || g.LastChecked == nil || pipelineChanged {
			continue
		}
		if left := g.LastChecked.Add(retryTerminal).Sub(s.now); left > 0 {
			s.stall(releasev1.ReasonTargetInvalid, fmt.Sprintf("stage %s: %s: fix the file or the pipeline's target", ss.Name, g.Message))
			return left
		}
	}
	return 0
}

// evaluate runs the gates of stage i and takes the stage when they pass.
func (s *step) evaluate(ctx context.Context, i int) (ctrl.Result, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	snap := gates.Snapshot{Now: s.now, Release: rel, Stage: stage, Commit: rel.Status.Commit}
	if i > 0 {
		prev := s.pipe.Spec.Stages[i-1].Name
		snap.PreviousStage = &prev
		if p := rel.Status.Stages[i-1].Promotion; p != nil && p.CompletedAt != nil {
			t := p.CompletedAt.Time
			snap.PreviousLandedAt = &t
		}
	}
	if stage.Gates != nil && stage.Gates.Checks != nil && !rel.Spec.Paused {
		checks, err := s.gh.Checks(ctx, s.pipe.Spec.Source.Repository, rel.Status.Commit, stage.Gates.Checks.Required)
		if err != nil {
			return s.githubError(err)
		}
		snap.Checks = checks
	}
	if stage.Verify != nil {
		// A verification that cannot run must stop the promotion before it starts.
		if _, err := compileAnalysis(stage.Verify); err != nil {
			s.stall(ReasonInvalidAnalysis, fmt.Sprintf("stage %s: verify: %v: fix the pipeline", stage.Name, err))
			return ctrl.Result{RequeueAfter: retryTerminal}, nil
		}
	}
	if stage.Gates != nil && len(stage.Gates.Metrics) > 0 && !rel.Spec.Paused {
		ms, err := s.measureGate(ctx, stage)
		if err != nil {
			s.stall(ReasonInvalidAnalysis, fmt.Sprintf("stage %s: gates.metrics: %v: fix the pipeline", stage.Name, err))
			return ctrl.Result{RequeueAfter: retryTerminal}, nil
		}
		snap.Metrics = ms
	}
	recordSlip(rel, ss)
	if ss.PlannedAt != nil {
		t := ss.PlannedAt.Time
		snap.Planned = &t
	}
	cal, err := s.calendarFacts(ctx, stage.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	snap.Calendar = cal
	if !rel.Spec.Paused {
		if snap.Blockers, err = s.blockerFacts(ctx, i, s.target); err != nil {
			if github.KindOf(err) != "" {
				return s.githubError(err)
			}
			return ctrl.Result{}, err
		}
	}
	if snap.Checklist, err = s.checklistFacts(ctx, stage); err != nil {
		return ctrl.Result{}, err
	}
	results := gates.Evaluate(snap)
	state, holding := gates.Summary(results)
	if state == releasev1.GatePassed {
		ok, holder, err := s.r.lockStage(ctx, s.pipe, rel, stage.Name, s.now)
		if err != nil {
			return ctrl.Result{}, err
		}
		if ok && s.locked != nil {
			s.locked[stage.Name] = true
		}
		if !ok {
			results = append(results, gates.Result{Name: "stage", State: releasev1.GatePending, Reason: releasev1.ReasonStageBusy,
				Message: fmt.Sprintf("%s is busy: release %s is being promoted into it", stage.Name, holder)})
			state, holding = gates.Summary(results)
		}
	}
	ss.Gates = gateStatuses(ss.Gates, results, s.now)
	if state != releasev1.GatePassed {
		msgs := make([]string, 0, len(holding))
		for _, h := range holding {
			msgs = append(msgs, h.Name+": "+h.Message)
		}
		ss.Phase, ss.Message = releasev1.StageWaiting, strings.Join(msgs, "; ")
		o := outcome{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonGatesPending,
			message: fmt.Sprintf("waiting to promote into %s: %s", stage.Name, ss.Message)}
		if state == releasev1.GateFailed {
			o.phase, o.blocked, o.reason = releasev1.PhaseBlocked, true, releasev1.ReasonGateFailed
			o.message = fmt.Sprintf("blocked before %s: %s", stage.Name, ss.Message)
			if rel.Spec.Paused {
				o.reason = releasev1.ReasonPaused
			}
		}
		setConditions(rel, o)
		wait := s.r.PollInterval
		for _, h := range holding {
			if h.RecheckAfter > 0 && h.RecheckAfter < wait {
				wait = h.RecheckAfter
			}
		}
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	// The stage is ours. Record the intent before touching Git, so a crash
	// from here on resumes the promotion instead of starting another.
	ss.Phase, ss.Message = releasev1.StagePromoting, fmt.Sprintf("promoting %s into %s", rel.Spec.Version, stage.Name)
	started := metav1.NewTime(s.now)
	ss.Promotion = &releasev1.PromotionStatus{StartedAt: &started}
	setConditions(rel, outcome{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonPromoting, message: ss.Message})
	return continueNow, nil
}

// gateStatuses turns gate results into status, keeping lastChecked of a gate
// whose outcome did not change unless it is older than lastCheckedRefresh:
// every poll of a pending gate would otherwise be a write to the API server.
func gateStatuses(old []releasev1.GateStatus, results []gates.Result, now time.Time) []releasev1.GateStatus {
	const lastCheckedRefresh = 5 * time.Minute
	prev := map[string]releasev1.GateStatus{}
	for _, g := range old {
		prev[g.Name] = g
	}
	out := make([]releasev1.GateStatus, 0, len(results))
	t := metav1.NewTime(now)
	for _, r := range results {
		g := releasev1.GateStatus{Name: r.Name, Status: r.State, Reason: r.Reason, Message: r.Message, URL: r.URL, LastChecked: &t}
		if p, ok := prev[r.Name]; ok && p.LastChecked != nil && p.Status == g.Status && p.Reason == g.Reason && p.Message == g.Message && p.URL == g.URL &&
			now.Sub(p.LastChecked.Time) < lastCheckedRefresh {
			g.LastChecked = p.LastChecked
		}
		out = append(out, g)
	}
	return out
}

// gateSummary is the Markdown table of gate results for a pull request.
func gateSummary(gs []releasev1.GateStatus) string {
	if len(gs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("| Gate | Status | Detail |\n| --- | --- | --- |\n")
	for _, g := range gs {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", g.Name, g.Status, strings.ReplaceAll(g.Message, "|", "\\|"))
	}
	return b.String()
}

// promote writes the version into stage i, or finds that it was written.
func (s *step) promote(ctx context.Context, i int) (ctrl.Result, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	if ss.Promotion == nil || ss.Promotion.StartedAt == nil {
		started := metav1.NewTime(s.now)
		ss.Promotion = &releasev1.PromotionStatus{StartedAt: &started}
	}
	held := s.locked[stage.Name]
	if !held {
		var err error
		if held, err = s.r.holdsStage(ctx, s.pipe, rel, stage.Name); err != nil {
			return ctrl.Result{}, err
		}
	}
	if !held {
		// Lost the stage (taken over as stale): nothing was committed by us
		// unless our commit is found again after re-taking it.
		ss.Phase, ss.Message = releasev1.StageWaiting, "lost the stage lock; waiting to take it again"
		setConditions(rel, outcome{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonStageBusy, message: ss.Message})
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	req := &promotion.Request{
		Namespace: rel.Namespace, Release: rel.Name, Application: s.pipe.Name, Stage: stage.Name,
		Version: rel.Spec.Version, Artifacts: rel.Spec.Artifacts, Target: stage.Target,
		Since: ss.Promotion.StartedAt.Time, Gates: gateSummary(ss.Gates),
	}
	res, err := promotion.Promote(ctx, s.gh, req)
	if err != nil {
		return s.promotionFailed(ctx, i, err)
	}
	if res.PullRequest != nil {
		state := res.PullRequest.State
		if res.PullRequest.Merged {
			state = "merged"
		}
		ss.Promotion.PullRequest = &releasev1.PullRequestRef{Number: res.PullRequest.Number, URL: res.PullRequest.URL, Branch: req.Branch(), State: state}
	}
	if res.PreviousVersion != "" {
		ss.Promotion.PreviousVersion = res.PreviousVersion
	}
	if !res.Landed {
		ss.Phase = releasev1.StageAwaitingMerge
		ss.Message = fmt.Sprintf("waiting for pull request #%d to be merged: %s", res.PullRequest.Number, res.PullRequest.URL)
		setConditions(rel, outcome{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonAwaitingMerge, message: ss.Message})
		return ctrl.Result{RequeueAfter: s.r.PollInterval}, nil
	}
	verifying := stage.Verify != nil
	if err := s.r.recordLanding(ctx, s.pipe, rel, stage.Name, res.Commit, s.now, verifying); err != nil {
		return ctrl.Result{}, err
	}
	done := metav1.NewTime(s.now)
	ss.Phase, ss.Promotion.Commit, ss.Promotion.NoChange, ss.Promotion.CompletedAt = releasev1.StagePromoted, res.Commit, res.NoChange, &done
	recordSlip(rel, ss)
	s.recordDeployment(ctx, i, res.Resumed, verifying)
	if verifying {
		// The stage stays held until the analysis says the version is good.
		s.startVerifying(i)
		return continueNow, nil
	}
	ss.Message = fmt.Sprintf("%s live in %s: commit %s on %s@%s", rel.Spec.Version, stage.Name, short(res.Commit), stage.Target.Repository, stage.Target.Branch)
	if res.NoChange {
		ss.Message = fmt.Sprintf("%s already in %s: the files held it, nothing committed", rel.Spec.Version, stage.Name)
	}
	s.succeedDeployment(ctx, ss)
	setConditions(rel, outcome{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonPromoted, message: ss.Message})
	// The pipeline records the landing: a crash before the Release's status
	// says so finds the commit again.
	return goOn, nil
}

// recordDeployment records the promotion into stage i, which landed, as a
// GitHub deployment of the release commit to the stage's environment: in
// progress while it is verified, else successful (succeedDeployment). A
// resumed promotion may have created it before its status was written, so
// only then is it looked up first. Deployments report what Liftoff did: a
// failure to write one is logged and announced as an event, never holds the
// promotion.
func (s *step) recordDeployment(ctx context.Context, i int, resumed, verifying bool) {
	stage, ss := &s.pipe.Spec.Stages[i], &s.rel.Status.Stages[i]
	if s.pipe.Spec.GitHub.Deployments == releasev1.DeploymentsDisabled || ss.Promotion.DeploymentID != 0 {
		return
	}
	repo, key := s.pipe.Spec.Source.Repository, s.rel.Namespace+"/"+s.rel.Name
	env := stage.EnvironmentName()
	var id int64
	var err error
	if resumed {
		id, err = s.gh.FindDeployment(ctx, repo, s.rel.Status.Commit, env, key)
	}
	if err == nil && id == 0 {
		desc := trim(fmt.Sprintf("Liftoff promotes %s %s to %s", s.pipe.Name, s.rel.Spec.Version, stage.Name), 140)
		id, err = s.gh.CreateDeployment(ctx, repo, s.rel.Status.Commit, env, key, s.rel.Spec.Version, desc, i == len(s.pipe.Spec.Stages)-1)
	}
	if err == nil {
		ss.Promotion.DeploymentID = id
		if verifying {
			err = s.gh.SetDeploymentStatus(ctx, repo, id, github.DeploymentInProgress, "verifying", "")
		}
	}
	if err != nil {
		s.deploymentNotRecorded(ctx, ss, err)
	}
}

// deploymentNotRecorded logs and announces a GitHub deployment that could
// not be written.
func (s *step) deploymentNotRecorded(ctx context.Context, ss *releasev1.ReleaseStageStatus, err error) {
	ctrl.LoggerFrom(ctx).Error(err, "Recording the GitHub deployment", "stage", ss.Name)
	if s.r.Recorder != nil {
		s.r.Recorder.Eventf(s.rel, nil, corev1.EventTypeWarning, ReasonDeploymentNotRecorded, "RecordDeployment",
			"stage %s: the GitHub deployment was not recorded: %v", ss.Name, err)
	}
}

// promotionFailed handles an error of the GitOps change.
func (s *step) promotionFailed(ctx context.Context, i int, err error) (ctrl.Result, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	var te *promotion.TargetError
	var closed *promotion.PullRequestClosedError
	switch {
	case errors.As(err, &te):
		// Nothing was committed: give the stage back and retry later, a
		// person may fix the repository.
		if uerr := s.r.unlockStages(ctx, s.pipe, rel); uerr != nil {
			return ctrl.Result{}, uerr
		}
		ss.Phase = releasev1.StageWaiting
		ss.Message = fmt.Sprintf("cannot write the version into %s: %v", stage.Target.Repository, te)
		s.failDeployment(ctx, ss, "target invalid")
		ss.Promotion = nil
		checked := metav1.NewTime(s.now)
		kept := ss.Gates[:0]
		for _, g := range ss.Gates {
			if g.Name != gateTarget {
				kept = append(kept, g)
			}
		}
		ss.Gates = append(kept, releasev1.GateStatus{Name: gateTarget, Status: releasev1.GateFailed, Reason: releasev1.ReasonTargetInvalid,
			Message: te.Error(), LastChecked: &checked})
		s.stall(releasev1.ReasonTargetInvalid, fmt.Sprintf("stage %s: %s: fix the file or the pipeline's target", stage.Name, ss.Message))
		return ctrl.Result{RequeueAfter: retryTerminal}, nil
	case errors.As(err, &closed):
		if uerr := s.r.unlockStages(ctx, s.pipe, rel); uerr != nil {
			return ctrl.Result{}, uerr
		}
		ss.Phase, ss.Message = releasev1.StageFailed, closed.Error()
		if ss.Promotion != nil {
			ss.Promotion.PullRequest = &releasev1.PullRequestRef{Number: closed.PR.Number, URL: closed.PR.URL, Branch: closed.PR.HeadBranch, State: "closed"}
		}
		s.failDeployment(ctx, ss, "pull request closed")
		setConditions(rel, outcome{phase: releasev1.PhaseFailed, reason: releasev1.ReasonPullRequestClosed,
			message: fmt.Sprintf("promotion into %s refused: %s", stage.Name, closed.Error())})
		return ctrl.Result{}, nil
	}
	return s.githubError(err)
}

func (s *step) failDeployment(ctx context.Context, ss *releasev1.ReleaseStageStatus, why string) {
	if ss.Promotion == nil || ss.Promotion.DeploymentID == 0 {
		return
	}
	if err := s.gh.SetDeploymentStatus(ctx, s.pipe.Spec.Source.Repository, ss.Promotion.DeploymentID, github.DeploymentFailure, why, ""); err != nil {
		s.deploymentNotRecorded(ctx, ss, err)
	}
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
