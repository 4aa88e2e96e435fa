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
	a, _, err := appendTo(ctx, c, key, &releasev1.Release{}, func(rel *releasev1.Release) *[]releasev1.Approval { return &rel.Spec.Approvals },
		releasev1.Approval{Stage: stage, Comment: comment})
	return a, err
}

// ApproveLaunch appends an approval of stage to the launch (for the stages
// where its approvals replace its members') and returns it as recorded.
func ApproveLaunch(ctx context.Context, c client.Client, key types.NamespacedName, stage, comment string) (releasev1.Approval, error) {
	a, _, err := appendTo(ctx, c, key, &releasev1.Launch{}, func(l *releasev1.Launch) *[]releasev1.Approval { return &l.Spec.Approvals },
		releasev1.Approval{Stage: stage, Comment: comment})
	return a, err
}

// SignOff appends a sign-off of item to the checklist and returns it as recorded.
func SignOff(ctx context.Context, c client.Client, key types.NamespacedName, item string, decision releasev1.SignOffDecision, comment string) (releasev1.SignOff, error) {
	s, _, err := appendTo(ctx, c, key, &releasev1.LaunchChecklist{}, func(lc *releasev1.LaunchChecklist) *[]releasev1.SignOff { return &lc.Spec.SignOffs },
		releasev1.SignOff{Item: item, Decision: decision, Comment: comment})
	return s, err
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
	return appendTo(ctx, c, key, &releasev1.ReleasePipeline{}, func(p *releasev1.ReleasePipeline) *[]releasev1.RollbackRequest { return &p.Spec.Rollbacks },
		releasev1.RollbackRequest{Stage: stage, To: to, Reason: reason})
}

// ResumeStage appends a resume of stage to the pipeline, ending the hold of
// its latest rollback on demand, and returns it as recorded.
func ResumeStage(ctx context.Context, c client.Client, key types.NamespacedName, stage, comment string) (releasev1.ResumeRequest, error) {
	r, _, err := appendTo(ctx, c, key, &releasev1.ReleasePipeline{}, func(p *releasev1.ReleasePipeline) *[]releasev1.ResumeRequest { return &p.Spec.Resumes },
		releasev1.ResumeRequest{Stage: stage, Comment: comment})
	return r, err
}

// appendTo appends entry to a list of obj's spec (list points at it), read
// fresh from key and written again on a conflict, and returns the entry as
// the API server recorded it (the admission webhook stamps who and when)
// with its index.
func appendTo[O client.Object, E any](ctx context.Context, c client.Client, key types.NamespacedName, obj O, list func(O) *[]E, entry E) (E, int, error) {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(ctx, key, obj); err != nil {
			return err
		}
		*list(obj) = append(*list(obj), entry)
		return c.Update(ctx, obj)
	})
	if err != nil {
		var zero E
		return zero, 0, err
	}
	recorded := *list(obj)
	return recorded[len(recorded)-1], len(recorded) - 1, nil
}
