// Package actions are the writes a person makes to steer a release: approve a
// Manual stage, sign off a checklist item, pause or resume a Release, give
// the verdict of an Inconclusive analysis, roll a stage back on demand and
// resume it. The kubectl plugin and the
// dashboard both call them with a client that acts as that person, so RBAC
// and the identity webhooks decide, and who acted is never sent: the
// admission webhook stamps it from the authenticated request.
package actions

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// VerdictAnnotation decides an Inconclusive analysis: continue or rollback.
const VerdictAnnotation = releasev1.AnnotationVerdict

// Verdicts a person may give.
const (
	VerdictContinue = "continue"
	VerdictRollback = "rollback"
)

// Approve appends an approval of stage to the Release and returns it as
// recorded (by and at stamped by the webhook).
func Approve(ctx context.Context, c client.Client, key types.NamespacedName, stage, comment string) (releasev1.Approval, error) {
	rel := &releasev1.Release{}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(ctx, key, rel); err != nil {
			return err
		}
		rel.Spec.Approvals = append(rel.Spec.Approvals, releasev1.Approval{Stage: stage, Comment: comment})
		return c.Update(ctx, rel)
	})
	if err != nil {
		return releasev1.Approval{}, err
	}
	return rel.Spec.Approvals[len(rel.Spec.Approvals)-1], nil
}

// SignOff appends a sign-off of item to the checklist and returns it as recorded.
func SignOff(ctx context.Context, c client.Client, key types.NamespacedName, item string, decision releasev1.SignOffDecision, comment string) (releasev1.SignOff, error) {
	lc := &releasev1.LaunchChecklist{}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(ctx, key, lc); err != nil {
			return err
		}
		lc.Spec.SignOffs = append(lc.Spec.SignOffs, releasev1.SignOff{Item: item, Decision: decision, Comment: comment})
		return c.Update(ctx, lc)
	})
	if err != nil {
		return releasev1.SignOff{}, err
	}
	return lc.Spec.SignOffs[len(lc.Spec.SignOffs)-1], nil
}

// SetPaused pauses (true) or resumes (false) every further promotion of the Release.
func SetPaused(ctx context.Context, c client.Client, key types.NamespacedName, paused bool) error {
	rel := &releasev1.Release{}
	if err := c.Get(ctx, key, rel); err != nil {
		return err
	}
	patch := client.MergeFrom(rel.DeepCopy())
	rel.Spec.Paused = paused
	return c.Patch(ctx, rel, patch)
}

// Verdict annotates the Release with the decision on its Inconclusive analysis.
func Verdict(ctx context.Context, c client.Client, key types.NamespacedName, verdict string) error {
	if verdict != VerdictContinue && verdict != VerdictRollback {
		return fmt.Errorf("verdict %q: say %s or %s", verdict, VerdictContinue, VerdictRollback)
	}
	rel := &releasev1.Release{}
	if err := c.Get(ctx, key, rel); err != nil {
		return err
	}
	patch := client.MergeFrom(rel.DeepCopy())
	if rel.Annotations == nil {
		rel.Annotations = map[string]string{}
	}
	rel.Annotations[VerdictAnnotation] = verdict
	return c.Patch(ctx, rel, patch)
}

// RollBack appends a rollback on demand of stage (to version to, or the one
// the stage ran before when empty) to the pipeline and returns it as
// recorded (by, at and to stamped by the webhook) with its index.
func RollBack(ctx context.Context, c client.Client, key types.NamespacedName, stage, to, reason string) (releasev1.RollbackRequest, int, error) {
	pipe := &releasev1.ReleasePipeline{}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(ctx, key, pipe); err != nil {
			return err
		}
		pipe.Spec.Rollbacks = append(pipe.Spec.Rollbacks, releasev1.RollbackRequest{Stage: stage, To: to, Reason: reason})
		return c.Update(ctx, pipe)
	})
	if err != nil {
		return releasev1.RollbackRequest{}, 0, err
	}
	n := len(pipe.Spec.Rollbacks) - 1
	return pipe.Spec.Rollbacks[n], n, nil
}

// ResumeStage appends a resume of stage to the pipeline, ending the hold of
// its latest rollback on demand, and returns it as recorded.
func ResumeStage(ctx context.Context, c client.Client, key types.NamespacedName, stage, comment string) (releasev1.ResumeRequest, error) {
	pipe := &releasev1.ReleasePipeline{}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(ctx, key, pipe); err != nil {
			return err
		}
		pipe.Spec.Resumes = append(pipe.Spec.Resumes, releasev1.ResumeRequest{Stage: stage, Comment: comment})
		return c.Update(ctx, pipe)
	})
	if err != nil {
		return releasev1.ResumeRequest{}, err
	}
	return pipe.Spec.Resumes[len(pipe.Spec.Resumes)-1], nil
}
