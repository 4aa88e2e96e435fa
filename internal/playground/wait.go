package playground

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// WaitReleased waits until a Release is Released, or says where it stands.
func WaitReleased(ctx context.Context, p *Playground, ns, name string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	rel := &releasev1.Release{}
	for {
		if err := p.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, rel); err == nil && rel.Status.Phase == releasev1.PhaseReleased {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("release %s/%s not released after %s: phase %q, stage %q, conditions %+v", ns, name, timeout, rel.Status.Phase, rel.Status.CurrentStage, rel.Status.Conditions)
		case <-tick.C:
		}
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s", timeout)
		case <-tick.C:
		}
	}
	return nil
}
