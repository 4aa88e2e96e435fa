package release

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/promotion"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// landingStep is one step after a promotion's change landed in stage i
// (res): done is true when the promotion's step ends there, with out.
type landingStep func(s *step, ctx context.Context, i int, res *promotion.Result) (out reconcile.Outcome, done bool, err error)

// landingSteps are the steps after a landing, in order; the last one always
// ends the promotion's step.
var landingSteps = []landingStep{
	(*step).land,          // the ledger, then the stage's status, record the commit
	(*step).recordLanding, // the GitHub deployment of the landing
	(*step).deployNext,    // a stage with a GitOps agent waits for it
	(*step).verifyNext,    // else committed is live; a stage with verify is verified
	(*step).liveNow,       // else the version is live: the stage is promoted
}

// afterLanding runs the steps after the landing of stage i's promotion
// (res), until one ends the promotion's step.
func (s *step) afterLanding(ctx context.Context, i int, res *promotion.Result) (reconcile.Outcome, error) {
	for _, next := range landingSteps {
		if out, done, err := next(s, ctx, i, res); done || err != nil {
			return out, err
		}
	}
	return reconcile.Stop(), fmt.Errorf("stage %s: no step ended the landing", s.pipe.Spec.Stages[i].Name)
}

// land records the commit that landed in stage i: in the pipeline's ledger
// first (with what it awaits: the stage stays held while it does), then in
// the stage's status, with its slip against the plan and its release notes.
func (s *step) land(ctx context.Context, i int, res *promotion.Result) (reconcile.Outcome, bool, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	ran := res.PreviousVersion // what the stage ran before, read from its files
	if res.NoChange {
		ran = "" // the files held this version already: the agent says whether it runs
	}
	if err := s.ledger.Landed(ctx, s.pipe, rel, stage.Name, res.Commit, ran, s.now, landingAwaits(stage)); err != nil {
		return reconcile.Stop(), true, err
	}
	done := metav1.NewTime(s.now)
	ss.Phase, ss.Promotion.Commit, ss.Promotion.NoChange, ss.Promotion.CompletedAt = releasev1.StagePromoted, res.Commit, res.NoChange, &done
	ss.CommittedAt = &done
	recordSlip(rel, ss)
	s.recordNotes(ctx, i)
	return reconcile.Outcome{}, false, nil
}

// recordLanding records the landing in stage i as a GitHub deployment: in
// progress while the commit awaits its agent or its verification, else
// successful (liveNow).
func (s *step) recordLanding(ctx context.Context, i int, res *promotion.Result) (reconcile.Outcome, bool, error) {
	progress := ""
	switch landingAwaits(&s.pipe.Spec.Stages[i]) {
	case AwaitsDeployment:
		progress = "deploying: waiting for the GitOps agent to apply it"
	case AwaitsVerification:
		progress = "verifying"
	}
	s.recordDeployment(ctx, i, res.Resumed, progress)
	return reconcile.Outcome{}, false, nil
}

// deployNext makes stage i wait for its GitOps agent, when it names one:
// the stage stays held until the agent applied the commit (awaitDeployed).
func (s *step) deployNext(_ context.Context, i int, _ *promotion.Result) (reconcile.Outcome, bool, error) {
	if s.pipe.Spec.Stages[i].Deployment == nil {
		return reconcile.Outcome{}, false, nil
	}
	s.startDeploying(i)
	return reconcile.WriteThenContinue(), true, nil
}

// verifyNext: without a GitOps agent to ask, committed counts as live; a
// stage with verify is verified next, and stays held until the analysis
// says the version is good.
func (s *step) verifyNext(_ context.Context, i int, _ *promotion.Result) (reconcile.Outcome, bool, error) {
	ss := &s.rel.Status.Stages[i]
	ss.DeployedAt = ss.CommittedAt
	if s.pipe.Spec.Stages[i].Verify == nil {
		return reconcile.Outcome{}, false, nil
	}
	s.startVerifying(i)
	return reconcile.WriteThenContinue(), true, nil
}

// liveNow concludes a promotion that awaits nothing: the version is live
// in stage i, the stage promoted and its GitHub deployment successful. The
// ledger recorded the landing: a crash before the Release's status says so
// finds the commit again, so the step needs no write of its own.
func (s *step) liveNow(ctx context.Context, i int, res *promotion.Result) (reconcile.Outcome, bool, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	ss.Message = fmt.Sprintf("%s live in %s: commit %s on %s@%s", rel.Spec.Version, stage.Name, github.ShortSHA(res.Commit), stage.Target.Repository, stage.Target.Branch)
	if res.NoChange {
		ss.Message = fmt.Sprintf("%s already in %s: the files held it, nothing committed", rel.Spec.Version, stage.Name)
	}
	s.succeedDeployment(ctx, ss)
	setConditions(rel, conclusion{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonPromoted, message: ss.Message})
	return reconcile.ContinueWithoutWrite(), true, nil
}
