package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/liftoff-dev/liftoff/internal/hooks"
)

// AnnotationGitHubDelivery is the GitHub webhook delivery last stamped on a
// pipeline (a discovery trigger) or a Release (a QA re-check) by the replica
// that received it. The change wakes the elected leader's controllers, so a
// delivery to any replica is acted on, and one received while the leader
// dies waits in the API server for the next leader.
const AnnotationGitHubDelivery = "release.liftoff.dev/github-delivery"

// deliveryStamps is the webhook receiver's hooks.Sink: it records each
// trigger as AnnotationGitHubDelivery on the objects it concerns, found in
// this replica's cache (which every replica runs, leader or not).
type deliveryStamps struct {
	Reader client.Reader
	Writer client.Writer
}

func (d *deliveryStamps) Discover(ctx context.Context, ev hooks.Event) error {
	objs, err := pipelinesToDiscover(ctx, d.Reader, ev)
	if err != nil {
		return err
	}
	return d.stamp(ctx, objs, ev)
}

func (d *deliveryStamps) Recheck(ctx context.Context, ev hooks.Event) error {
	objs, err := releasesToRecheck(ctx, d.Reader, ev)
	if err != nil {
		return err
	}
	return d.stamp(ctx, objs, ev)
}

// stamp writes the delivery on each object with a merge patch (no
// resourceVersion: it never conflicts with the leader's writes). An object
// deleted meanwhile needs nothing.
func (d *deliveryStamps) stamp(ctx context.Context, objs []client.Object, ev hooks.Event) error {
	id := ev.Delivery
	if id == "" {
		// Without GitHub's ID, the time tells deliveries apart.
		id = time.Now().UTC().Format(time.RFC3339Nano)
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{AnnotationGitHubDelivery: id}}})
	if err != nil {
		return err
	}
	for _, o := range objs {
		if o.GetAnnotations()[AnnotationGitHubDelivery] == id {
			continue // a redelivery to this replica or another: stamped already
		}
		if err := d.Writer.Patch(ctx, o, client.RawPatch("application/merge-patch+json", patch)); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("stamping delivery %s on %s: %w", id, klog.KObj(o), err)
		}
	}
	return nil
}

// deliveryStamped passes an update that stamped a new delivery.
var deliveryStamped = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetAnnotations()[AnnotationGitHubDelivery] != e.ObjectNew.GetAnnotations()[AnnotationGitHubDelivery]
	},
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}
