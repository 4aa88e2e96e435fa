// Package actions are the writes a person makes to steer a release: approve a
// Manual stage, sign off a checklist item, pause or resume a Release, give
// the verdict of an Inconclusive analysis. The kubectl plugin and the
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
