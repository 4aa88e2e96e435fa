package release

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

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
		if n := s.stageNotes(ctx, i); n != nil {
			desc = n.DeploymentDescription()
		}
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
	if s.Recorder != nil {
		s.Recorder.Eventf(s.rel, nil, corev1.EventTypeWarning, releasev1.ReasonDeploymentNotRecorded, "RecordDeployment",
			"stage %s: the GitHub deployment was not recorded: %v", ss.Name, err)
	}
}

// succeedDeployment marks the stage's GitHub deployment successful.
func (s *step) succeedDeployment(ctx context.Context, ss *releasev1.ReleaseStageStatus) {
	if ss.Promotion == nil || ss.Promotion.DeploymentID == 0 {
		return
	}
	if err := s.gh.SetDeploymentStatus(ctx, s.pipe.Spec.Source.Repository, ss.Promotion.DeploymentID, github.DeploymentSuccess, trim(ss.Message, 140), ""); err != nil {
		s.deploymentNotRecorded(ctx, ss, err)
	}
}

// failDeployment marks the stage's GitHub deployment failed, saying why.
func (s *step) failDeployment(ctx context.Context, ss *releasev1.ReleaseStageStatus, why string) {
	if ss.Promotion == nil || ss.Promotion.DeploymentID == 0 {
		return
	}
	if err := s.gh.SetDeploymentStatus(ctx, s.pipe.Spec.Source.Repository, ss.Promotion.DeploymentID, github.DeploymentFailure, why, ""); err != nil {
		s.deploymentNotRecorded(ctx, ss, err)
	}
}
