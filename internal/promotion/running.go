package promotion

import (
	"context"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/updater"
)

// FileGetter reads a file of a repository at a ref.
type FileGetter interface {
	GetFile(ctx context.Context, repo, path, ref string) ([]byte, error)
}

// Running reads the version the target's files hold on its branch, as a
// promotion would find it before writing (its PreviousVersion): the first
// file that holds a version (a kustomize image's newTag, a yamlPath that
// takes the version or a tag). It returns "" when no file holds one (every
// file takes a digest).
func Running(ctx context.Context, gh FileGetter, t releasev1.Target) (string, error) {
	for _, f := range t.Files {
		if f.KustomizeImage == nil && (f.YAMLPath == "" || !holdsVersion(f)) {
			continue
		}
		content, err := gh.GetFile(ctx, t.Repository, f.Path, t.Branch)
		if err != nil {
			return "", err
		}
		if f.KustomizeImage != nil {
			img, err := updater.GetKustomizeImage(content, f.KustomizeImage.Name)
			if err != nil {
				return "", &TargetError{Path: f.Path, Err: err}
			}
			if img.NewTag != "" {
				return img.NewTag, nil
			}
			continue
		}
		v, err := updater.GetYAMLPath(content, f.YAMLPath)
		if err != nil {
			return "", &TargetError{Path: f.Path, Err: err}
		}
		if v != "" {
			return v, nil
		}
	}
	return "", nil
}

// holdsVersion: a yamlPath file takes the version (or the artifact's tag),
// not a digest.
func holdsVersion(f releasev1.TargetFile) bool {
	return f.Artifact == "" || f.Value == "" || f.Value == releasev1.ValueVersion || f.Value == releasev1.ValueTag
}
