package release

import (
	"context"
	"fmt"
	"slices"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// recordDeployment records the promotion into stage i, which landed, as a
// GitHub deployment of the release commit to the stage's environment: in
// progress while the GitOps agent applies it or it is verified (progress
// says which, "" for neither), else successful (succeedDeployment). A
// resumed promotion may have created it before its status was written, so
// only then is it looked up first. Deployments report what Liftoff did: a
// write turned away (by the write budget or GitHub) never holds the
// promotion; the record is owed (status.pendingRecords) and written later.
func (s *step) recordDeployment(ctx context.Context, i int, resumed bool, progress string) {
	ss := &s.rel.Status.Stages[i]
	if s.pipe.Spec.GitHub.Deployments == releasev1.DeploymentsDisabled || ss.Promotion.DeploymentID != 0 {
		return
	}
	state := ""
	if progress != "" {
		state = github.DeploymentInProgress
	}
	s.writeDeployment(ctx, ss, resumed, state, progress)
}

// succeedDeployment marks the stage's GitHub deployment successful.
func (s *step) succeedDeployment(ctx context.Context, ss *releasev1.ReleaseStageStatus) {
	if s.hasDeployment(ss) {
		s.writeDeployment(ctx, ss, false, github.DeploymentSuccess, trim(ss.Message, 140))
	}
}

// failDeployment marks the stage's GitHub deployment failed, saying why. A
// rollback's failure status is owed like any record until GitHub has it.
func (s *step) failDeployment(ctx context.Context, ss *releasev1.ReleaseStageStatus, why string) {
	if s.hasDeployment(ss) {
		s.writeDeployment(ctx, ss, false, github.DeploymentFailure, why)
	}
}

// hasDeployment: the stage's GitHub deployment was recorded, or is owed.
func (s *step) hasDeployment(ss *releasev1.ReleaseStageStatus) bool {
	return ss.Promotion != nil && (ss.Promotion.DeploymentID != 0 || owedRecord(s.rel, releasev1.RecordDeployment, ss.Name) != nil)
}

// writeDeployment brings the stage's GitHub deployment to state ("" for the
// deployment alone), with description.
func (s *step) writeDeployment(ctx context.Context, ss *releasev1.ReleaseStageStatus, resumed bool, state, description string) {
	if ss.Promotion == nil {
		return
	}
	s.writeOwable(ctx, releasev1.PendingRecord{Kind: releasev1.RecordDeployment, Stage: ss.Name, State: state, Description: description}, func() error {
		return s.deploy(ctx, ss, resumed, state, description)
	})
}

// writeOwable writes the deployment record rec with write. When a record
// of it is owed already, the new state replaces the owed one rather than
// overtake it: the records owed are written in order (settleRecords). A
// write turned away is owed.
func (s *step) writeOwable(ctx context.Context, rec releasev1.PendingRecord, write func() error) {
	if owed := owedRecordOf(s.rel, rec.Kind, rec.Stage, rec.Target); owed != nil {
		if rec.State != "" {
			owed.State, owed.Description = rec.State, rec.Description
		}
		return
	}
	if err := write(); err != nil {
		where := rec.Stage
		if rec.Target != "" {
			where = targetWhere(rec.Stage, rec.Target)
		}
		s.recordNotWritten(ctx, where, "GitHub deployment", err)
		s.owe(rec, err)
	}
}

// deployment is one GitHub deployment of the Release: where it goes, and
// where its id is kept.
type deployment struct {
	id             *int64
	repo, ref, env string
	production     bool
	description    func(context.Context) string
}

// deploy writes the stage's deployment, unless recorded, and its status.
func (s *step) deploy(ctx context.Context, ss *releasev1.ReleaseStageStatus, find bool, state, description string) error {
	i := s.pipe.StageIndex(ss.Name)
	if i < 0 {
		return nil // the stage left the pipeline: nothing to record it in
	}
	stage := &s.pipe.Spec.Stages[i]
	return s.deployAs(ctx, deployment{
		id: &ss.Promotion.DeploymentID, repo: s.pipe.Spec.Source.Repository, ref: s.rel.Status.Commit, env: stage.EnvironmentName(),
		production: i == len(s.pipe.Spec.Stages)-1,
		description: func(ctx context.Context) string {
			if n := s.stageNotes(ctx, i); n != nil {
				return n.DeploymentDescription()
			}
			return trim(fmt.Sprintf("Liftoff promotes %s %s to %s", s.pipe.Name, s.rel.Spec.Version, stage.Name), 140)
		},
	}, find, state, description)
}

// deployAs writes deployment d, unless recorded, and its status. After a
// crash or a lost answer (find) the deployment is looked up by its payload
// and the status by the deployment's latest state first, so neither is
// written twice.
func (s *step) deployAs(ctx context.Context, d deployment, find bool, state, description string) error {
	ctx = recordContext(ctx)
	if *d.id == 0 {
		key := s.rel.Namespace + "/" + s.rel.Name
		var id int64
		var err error
		if find {
			id, err = s.gh.FindDeployment(ctx, d.repo, d.ref, d.env, key)
		}
		if err == nil && id == 0 {
			id, err = s.gh.CreateDeployment(ctx, d.repo, d.ref, d.env, key, s.rel.Spec.Version, d.description(ctx), d.production, pinnedDigests(s.rel)...)
		}
		if err != nil {
			return err
		}
		*d.id = id
		find = false // created now: it has no status yet
	}
	if state == "" {
		return nil
	}
	if find {
		latest, err := s.gh.DeploymentState(ctx, d.repo, *d.id)
		if err != nil || latest == state {
			return err
		}
	}
	return s.gh.SetDeploymentStatus(ctx, d.repo, *d.id, state, description, "")
}

// A stage with targets records one GitHub deployment per target, in the
// target's repository, of the commit that landed the version there, to the
// environment STAGE/TARGET: created when the commit lands, successful once
// the target's wave is deployed (and verified), failed when the wave fails
// or the target is written back. Each is written once as the stage's own
// are: owed when turned away, found again after a crash. Their statuses are
// written after reading the deployment's latest state, so a step repeated
// after a lost status write does not write one twice.

// recordTarget records the landing of target k of stage i as a GitHub
// deployment; resumed: the commit was found again, so may the deployment.
func (s *step) recordTarget(ctx context.Context, i, k int, resumed bool) {
	ts := &s.rel.Status.Stages[i].Targets[k]
	if s.pipe.Spec.GitHub.Deployments == releasev1.DeploymentsDisabled || ts.DeploymentID != 0 {
		return
	}
	s.writeTargetDeployment(ctx, i, k, resumed, "", "")
}

// endTargetDeployments brings the GitHub deployment of each target of stage
// i at ks, that has one, to state, with description.
func (s *step) endTargetDeployments(ctx context.Context, i int, ks []int, state, description string) {
	ss := &s.rel.Status.Stages[i]
	for _, k := range ks {
		if ts := &ss.Targets[k]; ts.DeploymentID != 0 || owedRecordOf(s.rel, releasev1.RecordDeployment, ss.Name, ts.Name) != nil {
			s.writeTargetDeployment(ctx, i, k, true, state, trim(description, 140))
		}
	}
}

// writeTargetDeployment brings the GitHub deployment of target k of stage i
// to state ("" for the deployment alone), with description.
func (s *step) writeTargetDeployment(ctx context.Context, i, k int, find bool, state, description string) {
	ss := &s.rel.Status.Stages[i]
	rec := releasev1.PendingRecord{Kind: releasev1.RecordDeployment, Stage: ss.Name, Target: ss.Targets[k].Name, State: state, Description: description}
	s.writeOwable(ctx, rec, func() error { return s.deployTarget(ctx, i, k, find, state, description) })
}

// deployTarget writes the deployment of target k of stage i, unless
// recorded, and its status.
func (s *step) deployTarget(ctx context.Context, i, k int, find bool, state, description string) error {
	stage, ts := &s.pipe.Spec.Stages[i], &s.rel.Status.Stages[i].Targets[k]
	where := targetWhere(stage.Name, ts.Name)
	return s.deployAs(ctx, deployment{
		id: &ts.DeploymentID, repo: stage.Targets[k].Target.Repository, ref: ts.Commit, env: targetWhere(stage.EnvironmentName(), ts.Name),
		production: i == len(s.pipe.Spec.Stages)-1,
		description: func(context.Context) string {
			return trim(fmt.Sprintf("Liftoff promotes %s %s to %s", s.pipe.Name, s.rel.Spec.Version, where), 140)
		},
	}, find, state, description)
}

// pinnedDigests are the Release's pins as name@digest, for the GitHub
// deployment's payload.
func pinnedDigests(rel *releasev1.Release) []string {
	out := make([]string, 0, len(rel.Status.Artifacts))
	for _, a := range rel.Status.Artifacts {
		out = append(out, a.Name+"@"+a.Digest)
	}
	return out
}

// failWrittenBack marks the GitHub deployment of each target of stage i
// written back (back) failed, as the rollback of a stage's own does.
func (s *step) failWrittenBack(ctx context.Context, i int, back []releasev1.PipelineTargetStatus, why string) {
	var ks []int
	for k, ts := range s.rel.Status.Stages[i].Targets {
		if slices.ContainsFunc(back, func(b releasev1.PipelineTargetStatus) bool { return b.Name == ts.Name }) {
			ks = append(ks, k)
		}
	}
	s.endTargetDeployments(ctx, i, ks, github.DeploymentFailure, "rolled back: "+why)
}
