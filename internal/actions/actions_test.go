package actions

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// An approval and a rollback asked while someone else changes the same
// object are each recorded once, after the other person's change, and
// returned as the API server recorded them (the webhook stamps who; here
// the interceptor plays it). The fast tier's proof; the envtests of the
// plugin, the dashboard and rollbacks run them against the real webhooks.
func TestAppendsAreRecordedOnceAfterAConflict(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := releasev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	rel := &releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: "checkout-1-4-2", Namespace: "team"},
		Spec: releasev1.ReleaseSpec{Pipeline: "checkout", Version: "1.4.2", Approvals: []releasev1.Approval{{Stage: "staging", By: "ann"}}}}
	pipe := &releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "team"},
		Spec: releasev1.ReleasePipelineSpec{Stages: []releasev1.Stage{{Name: "prod"}}}}
	conflicts := 0
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(rel, pipe).WithInterceptorFuncs(interceptor.Funcs{
		Update: func(ctx context.Context, w client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if conflicts%2 == 0 {
				// Someone else approved meanwhile (or asked a rollback).
				conflicts++
				switch o := obj.(type) {
				case *releasev1.Release:
					cur := &releasev1.Release{}
					_ = w.Get(ctx, client.ObjectKeyFromObject(o), cur)
					cur.Spec.Approvals = append(cur.Spec.Approvals, releasev1.Approval{Stage: "prod", By: "carol"})
					_ = w.Update(ctx, cur)
				case *releasev1.ReleasePipeline:
					cur := &releasev1.ReleasePipeline{}
					_ = w.Get(ctx, client.ObjectKeyFromObject(o), cur)
					cur.Spec.Rollbacks = append(cur.Spec.Rollbacks, releasev1.RollbackRequest{Stage: "prod", By: "carol"})
					_ = w.Update(ctx, cur)
				}
				return apierrors.NewConflict(schema.GroupResource{Group: releasev1.GroupVersion.Group, Resource: "releases"}, obj.GetName(), nil)
			}
			conflicts++
			switch o := obj.(type) {
			case *releasev1.Release:
				o.Spec.Approvals[len(o.Spec.Approvals)-1].By = "bob" // the webhook's stamp
			case *releasev1.ReleasePipeline:
				o.Spec.Rollbacks[len(o.Spec.Rollbacks)-1].By = "bob"
			}
			return w.Update(ctx, obj, opts...)
		},
	}).Build()
	ctx := context.Background()

	a, err := Approve(ctx, c, types.NamespacedName{Namespace: "team", Name: "checkout-1-4-2"}, "prod", "looks good")
	if err != nil {
		t.Fatal(err)
	}
	if a.By != "bob" || a.Comment != "looks good" {
		t.Errorf("Approve returned %+v; want bob's approval as recorded", a)
	}
	got := &releasev1.Release{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(rel), got); err != nil {
		t.Fatal(err)
	}
	if by := approvers(got.Spec.Approvals); by != "ann carol bob" {
		t.Errorf("approvals by %q; want ann carol bob: carol's kept, bob's once", by)
	}

	rb, i, err := RollBack(ctx, c, client.ObjectKeyFromObject(pipe), "prod", "1.4.1", "errors")
	if err != nil {
		t.Fatal(err)
	}
	if rb.By != "bob" || rb.To != "1.4.1" || i != 1 {
		t.Errorf("RollBack returned %+v at %d; want bob's rollback to 1.4.1 at index 1, after carol's", rb, i)
	}
}

func approvers(as []releasev1.Approval) string {
	out := ""
	for i, a := range as {
		if i > 0 {
			out += " "
		}
		out += a.By
	}
	return out
}
