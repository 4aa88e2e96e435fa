package controllers

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// requeueNow starts a reconcile over from the object as it is now.
var requeueNow = ctrl.Result{RequeueAfter: time.Millisecond}

// patchStatus writes obj's status as a patch from orig, with optimistic
// locking. conflict is true when someone changed the object meanwhile: the
// caller starts over from it (requeueNow) instead of overwriting.
func patchStatus(ctx context.Context, c client.Client, orig, obj client.Object) (conflict bool, err error) {
	if err := c.Status().Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsConflict(err) {
			return true, nil
		}
		return false, fmt.Errorf("writing status: %w", err)
	}
	return false, nil
}
