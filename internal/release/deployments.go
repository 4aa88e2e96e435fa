package release

import (
	"context"
	"fmt"

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
// deployment alone), with description. When a record of it is owed already,
// the new state replaces the owed one rather than overtake it: the records
// owed are written in order (settleRecords).
func (s *step) writeDeployment(ctx context.Context, ss *releasev1.ReleaseStageStatus, resumed bool, state, description string) {
	if ss.Promotion == nil {
		return
	}
	if owed := owedRecord(s.rel, releasev1.RecordDeployment, ss.Name); owed != nil {
		if state != "" {
			owed.State, owed.Description = state, description
		}
		return
	}
	if err := s.deploy(ctx, ss, resumed, state, description); err != nil {
		s.deploymentNotRecorded(ctx, ss, err)
		s.owe(releasev1.PendingRecord{Kind: releasev1.RecordDeployment, Stage: ss.Name, State: state, Description: description}, err)
	}
}

// deploy writes the stage's deployment, unless recorded, and its status.
// After a crash or a lost answer (find) the deployment is looked up by its
// payload and the status by the deployment's latest state first, so neither
// is written twice.
func (s *step) deploy(ctx context.Context, ss *releasev1.ReleaseStageStatus, find bool, state, description string) error {
	i := s.pipe.StageIndex(ss.Name)
	if i < 0 {
		return nil // the stage left the pipeline: nothing to record it in
	}
	ctx = recordContext(ctx)
	stage := &s.pipe.Spec.Stages[i]
	repo := s.pipe.Spec.Source.Repository
	if ss.Promotion.DeploymentID == 0 {
		key, env := s.rel.Namespace+"/"+s.rel.Name, stage.EnvironmentName()
		var id int64
		var err error
		if find {
			id, err = s.gh.FindDeployment(ctx, repo, s.rel.Status.Commit, env, key)
		}
		if err == nil && id == 0 {
			desc := trim(fmt.Sprintf("Liftoff promotes %s %s to %s", s.pipe.Name, s.rel.Spec.Version, stage.Name), 140)
			if n := s.stageNotes(ctx, i); n != nil {
				desc = n.DeploymentDescription()
			}
			id, err = s.gh.CreateDeployment(ctx, repo, s.rel.Status.Commit, env, key, s.rel.Spec.Version, desc, i == len(s.pipe.Spec.Stages)-1, pinnedDigests(s.rel)...)
		}
		if err != nil {
			return err
		}
		ss.Promotion.DeploymentID = id
		find = false // created now: it has no status yet
	}
	if state == "" {
		return nil
	}
	if find {
		latest, err := s.gh.DeploymentState(ctx, repo, ss.Promotion.DeploymentID)
		if err != nil || latest == state {
			return err
		}
	}
	return s.gh.SetDeploymentStatus(ctx, repo, ss.Promotion.DeploymentID, state, description, "")
}

// deploymentNotRecorded logs and announces a GitHub deployment (or its
// status) that is owed.
func (s *step) deploymentNotRecorded(ctx context.Context, ss *releasev1.ReleaseStageStatus, err error) {
	s.recordNotWritten(ctx, ss.Name, "GitHub deployment", err)
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
