package notify

import (
	"testing"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// A promotion's news names the pinned artifacts: tag, short digest, signer.
func TestPromotionsNameThePinnedArtifacts(t *testing.T) {
	rel := release("checkout-1-4-2", releasev1.PhaseProgressing, "staging", landed("dev", releasev1.StagePromoted, t0, t0.Add(time.Minute)))
	rel.Status.Artifacts = []releasev1.ArtifactStatus{{Name: "checkout", Reference: "ghcr.io/acme/checkout:v1.4.2", Digest: "sha256:4f2c0e0b8a6d1c2e3f4a"}}
	events, _ := Derive(Input{Now: t0.Add(10 * time.Minute), Notification: notification(releasev1.EventPromoted),
		Pipelines: []releasev1.ReleasePipeline{pipeline()}, Releases: []releasev1.Release{rel}})
	if len(events) != 1 {
		t.Fatalf("events %s", eventTypes(events))
	}
	want := Fact{"Artifact checkout", "ghcr.io/acme/checkout:v1.4.2 4f2c0e0b8a6d"}
	for _, f := range events[0].Facts {
		if f == want {
			return
		}
	}
	t.Errorf("facts %+v lack %+v", events[0].Facts, want)
}
