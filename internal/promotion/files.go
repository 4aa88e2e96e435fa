package promotion

import (
	"fmt"
	"path"
	"strings"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/updater"
)

// TargetError says a target file cannot take the version: the file, the image
// or the path is missing, or the file is not valid YAML. A person must fix the
// GitOps repository or the pipeline; nothing was committed.
type TargetError struct {
	Path string
	Err  error
}

func (e *TargetError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }
func (e *TargetError) Unwrap() error { return e.Err }

// artifactDigest returns the digest of the Release artifact that an image
// entry named name refers to: by image reference, by artifact name, or by the
// last element of the image reference.
func artifactDigest(artifacts []releasev1.Artifact, name string) string {
	for _, a := range artifacts {
		if a.Image == name || a.Name == name {
			return a.Digest
		}
	}
	for _, a := range artifacts {
		if a.Image != "" && path.Base(a.Image) == path.Base(name) {
			return a.Digest
		}
	}
	return ""
}

// apply writes the version into one file's content. It returns the new
// content, what the file held before, and whether it changed.
func apply(f releasev1.TargetFile, content []byte, version string, artifacts []releasev1.Artifact) ([]byte, string, bool, error) {
	switch {
	case f.KustomizeImage != nil:
		out, prev, changed, err := updater.SetKustomizeImage(content, f.KustomizeImage.Name, version, artifactDigest(artifacts, f.KustomizeImage.Name))
		if err != nil {
			return nil, "", false, &TargetError{Path: f.Path, Err: err}
		}
		return out, prev.NewTag, changed, nil
	case f.YAMLPath != "":
		out, prev, changed, err := updater.SetYAMLPath(content, f.YAMLPath, version)
		if err != nil {
			return nil, "", false, &TargetError{Path: f.Path, Err: err}
		}
		return out, prev, changed, nil
	}
	return nil, "", false, &TargetError{Path: f.Path, Err: fmt.Errorf("no updater set: set kustomizeImage or yamlPath")}
}

// describeChange lists the files and what changes in them, for pull request bodies.
func describeChange(files []releasev1.TargetFile, previous, version string) string {
	var b strings.Builder
	b.WriteString("| File | Updater | Change |\n| --- | --- | --- |\n")
	for _, f := range files {
		updaterName := "yamlPath `" + f.YAMLPath + "`"
		if f.KustomizeImage != nil {
			updaterName = "kustomize image `" + f.KustomizeImage.Name + "`"
		}
		from := previous
		if from == "" {
			from = "(unset)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s → %s |\n", f.Path, updaterName, from, version)
	}
	return b.String()
}
