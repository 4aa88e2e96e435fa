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
// last element of the image reference; a pinned artifact's digest before a
// spec's.
func artifactDigest(artifacts []releasev1.Artifact, pinned []releasev1.ArtifactStatus, name string) string {
	for _, p := range pinned {
		artifacts = append([]releasev1.Artifact{{Name: p.Name, Image: strings.TrimPrefix(p.Repository(), "oci://"), Digest: p.Digest}}, artifacts...)
	}
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
// content, the version the file held before ("" for a file that holds a
// digest), and whether it changed.
func apply(f releasev1.TargetFile, content []byte, req *Request) ([]byte, string, bool, error) {
	var a *releasev1.ArtifactStatus
	if f.Artifact != "" {
		if a = pinnedArtifact(req.Pinned, f.Artifact); a == nil {
			return nil, "", false, &TargetError{Path: f.Path, Err: fmt.Errorf("the Release pinned no artifact %q", f.Artifact)}
		}
	}
	switch {
	case f.KustomizeImage != nil:
		tag, digest := req.Version, artifactDigest(req.Artifacts, req.Pinned, f.KustomizeImage.Name)
		if a != nil {
			tag, digest = a.Tag(), a.Digest
		}
		out, prev, changed, err := updater.SetKustomizeImage(content, f.KustomizeImage.Name, tag, digest)
		if err != nil {
			return nil, "", false, &TargetError{Path: f.Path, Err: err}
		}
		return out, prev.NewTag, changed, nil
	case f.YAMLPath != "":
		value, holdsVersion := fileValue(f, req.Version, a)
		out, prev, changed, err := updater.SetYAMLPath(content, f.YAMLPath, value)
		if err != nil {
			return nil, "", false, &TargetError{Path: f.Path, Err: err}
		}
		if !holdsVersion {
			prev = ""
		}
		return out, prev, changed, nil
	}
	return nil, "", false, &TargetError{Path: f.Path, Err: fmt.Errorf("no updater set: set kustomizeImage or yamlPath")}
}

// fileValue is what a yamlPath file gets (its value: the version, or the
// artifact's tag, digest or tag@digest), and whether that is the version.
func fileValue(f releasev1.TargetFile, version string, a *releasev1.ArtifactStatus) (string, bool) {
	if a == nil {
		return version, true
	}
	value := version
	switch f.Value {
	case releasev1.ValueTag:
		value = a.Tag()
	case releasev1.ValueDigest:
		value = a.Digest
	case releasev1.ValueTagAndDigest:
		value = a.Tag() + "@" + a.Digest
	}
	return value, holdsVersion(f)
}

// pinnedArtifact is the named pinned artifact, or nil.
func pinnedArtifact(pinned []releasev1.ArtifactStatus, name string) *releasev1.ArtifactStatus {
	for i := range pinned {
		if pinned[i].Name == name {
			return &pinned[i]
		}
	}
	return nil
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
