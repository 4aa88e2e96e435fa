package controllers

import (
	"context"
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lreconcile "github.com/liftoff-dev/liftoff/internal/reconcile"
)

// patchStatus writes obj's status as a patch from orig, with optimistic
// locking. conflict is true when someone changed the object meanwhile: the
// caller starts over from it (reconcile.Requeue) instead of overwriting.
func patchStatus(ctx context.Context, c client.Client, orig, obj client.Object) (conflict bool, err error) {
	if err := c.Status().Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsConflict(err) {
			return true, nil
		}
		return false, fmt.Errorf("writing status: %w", err)
	}
	return false, nil
}

// writeStatus writes obj's status when it differs from orig's, then ends the
// reconcile with out and failure (an error the status already tells of,
// returned for controller-runtime's backoff). When someone changed the
// object meanwhile it starts over from a fresh read instead.
func writeStatus(ctx context.Context, c client.Client, orig, obj client.Object, out lreconcile.Outcome, failure error) (lreconcile.Outcome, error) {
	if equality.Semantic.DeepEqual(statusOf(orig), statusOf(obj)) {
		return out, failure
	}
	conflict, err := patchStatus(ctx, c, orig, obj)
	switch {
	case err != nil:
		return lreconcile.Stop(), err
	case conflict:
		return lreconcile.Requeue(), nil
	}
	return out, failure
}

// statusOf is the Status field of one of Liftoff's kinds.
func statusOf(obj client.Object) any {
	return reflect.ValueOf(obj).Elem().FieldByName("Status").Interface()
}
