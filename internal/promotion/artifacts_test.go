package promotion

import (
	"strings"
	"testing"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// A promotion's pull request and commit name the digests it writes.
func TestPinnedArtifactsAreNamedInThePullRequestAndTheTrailers(t *testing.T) {
	req := &Request{Namespace: "shop", Release: "r", Application: "checkout", Stage: "prod", Version: "1.4.2",
		Pinned: []releasev1.ArtifactStatus{
			{Name: "checkout", Reference: "ghcr.io/acme/checkout:v1.4.2", Digest: "sha256:4f2c"},
			{Name: "chart", Reference: "oci://ghcr.io/acme/charts/checkout:1.4.2", Digest: "sha256:9a8b"},
		},
		Target: releasev1.Target{Files: []releasev1.TargetFile{{Path: "values.yaml", YAMLPath: "image.digest", Artifact: "checkout", Value: releasev1.ValueDigest}}}}
	body := pullRequestBody(req, "1.4.1")
	for _, want := range []string{"| checkout | `ghcr.io/acme/checkout:v1.4.2` | `sha256:4f2c` |", "| chart | `oci://ghcr.io/acme/charts/checkout:1.4.2` | `sha256:9a8b` |"} {
		if !strings.Contains(body, want) {
			t.Errorf("pull request body lacks %q:\n%s", want, body)
		}
	}
	msg := commitMessage(req, "1.4.1")
	if !strings.HasSuffix(msg, "Liftoff-Artifact: checkout@sha256:4f2c\nLiftoff-Artifact: chart@sha256:9a8b\n") {
		t.Errorf("trailers:\n%s", msg)
	}
	if tr := Trailers(msg); tr[TrailerRelease] != "shop/r" || tr[TrailerStage] != "prod" {
		t.Errorf("the promotion is still found by its trailers: %v", tr)
	}
	out, prev, changed, err := apply(req.Target.Files[0], []byte("image:\n  digest: sha256:0000\n"), req)
	if err != nil || !changed || prev != "" || string(out) != "image:\n  digest: sha256:4f2c\n" {
		t.Errorf("apply: %q, previous %q, %v, %v", out, prev, changed, err)
	}
}
