package promotion

import (
	"context"
	"testing"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

type files map[string]string

func (f files) GetFile(_ context.Context, _, path, _ string) ([]byte, error) {
	return []byte(f[path]), nil
}

// What a stage runs before Liftoff's first promotion is the version its
// files hold, read as a promotion would read it.
func TestRunningReadsTheVersionTheFilesHold(t *testing.T) {
	kust := "images:\n  - name: ghcr.io/acme/checkout\n    newTag: \"1.4.1\"\n"
	values := "image:\n  tag: 1.4.0\n  digest: sha256:abc\n"
	for _, tt := range []struct {
		name  string
		files []releasev1.TargetFile
		want  string
	}{
		{"a kustomize image's tag", []releasev1.TargetFile{{Path: "k.yaml", KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "ghcr.io/acme/checkout"}}}, "1.4.1"},
		{"a yamlPath that takes the version", []releasev1.TargetFile{{Path: "v.yaml", YAMLPath: "image.tag"}}, "1.4.0"},
		{"a digest is not a version: the next file says", []releasev1.TargetFile{
			{Path: "v.yaml", YAMLPath: "image.digest", Artifact: "app", Value: releasev1.ValueDigest},
			{Path: "k.yaml", KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "ghcr.io/acme/checkout"}}}, "1.4.1"},
		{"only digests", []releasev1.TargetFile{{Path: "v.yaml", YAMLPath: "image.digest", Artifact: "app", Value: releasev1.ValueDigest}}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Running(context.Background(), files{"k.yaml": kust, "v.yaml": values}, releasev1.Target{Repository: "acme/gitops", Branch: "main", Files: tt.files})
			if err != nil || got != tt.want {
				t.Errorf("Running = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
