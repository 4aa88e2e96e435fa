package main

import (
	"testing"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// The notes name the exact binaries shipped: each pin's tag, short digest
// and signer.
func TestNotesListThePinnedArtifacts(t *testing.T) {
	rel := &releasev1.Release{}
	if got := pinnedArtifacts(rel); got != "" {
		t.Errorf("no pins: %q", got)
	}
	rel.Status.Artifacts = []releasev1.ArtifactStatus{
		{Name: "checkout", Reference: "ghcr.io/acme/checkout:v1.4.2", Digest: "sha256:4f2c0e0b8a6d1111111111111111111111111111111111111111111111111111", Signer: `Secret "cosign" key cosign.pub`},
		{Name: "chart", Reference: "ghcr.io/acme/charts/checkout:1.4.2", Digest: "sha256:9a9a9a9a9a9a2222222222222222222222222222222222222222222222222222"},
	}
	want := "Artifacts:\n  ghcr.io/acme/checkout:v1.4.2 4f2c0e0b8a6d, signed by Secret \"cosign\" key cosign.pub\n  ghcr.io/acme/charts/checkout:1.4.2 9a9a9a9a9a9a\n"
	if got := pinnedArtifacts(rel); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
