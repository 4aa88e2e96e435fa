package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/artifacts"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/discovery"
	"github.com/liftoff-dev/liftoff/internal/registry"
)

// Discovery and the pipeline's artifacts (spec.artifacts): with source.from
// Registry the versions are the tags of the first artifact; whatever the
// source, a version becomes a Release only once every artifact has it in its
// registry, and the Release is created with their digests.

// artifactError is a registry's failure about one artifact.
type artifactError struct {
	artifact *releasev1.PipelineArtifact
	err      error
}

func (e *artifactError) Error() string { return e.err.Error() }
func (e *artifactError) Unwrap() error { return e.err }

// registryCandidates are the versions the first artifact's tags name under
// its tagTemplate.
func (r *ReleasePipelineReconciler) registryCandidates(ctx context.Context, pipe *releasev1.ReleasePipeline) ([]discovery.Candidate, error) {
	a := &pipe.Spec.Artifacts[0]
	tags, err := r.Artifacts.Tags(ctx, pipe, a)
	if err != nil {
		return nil, &artifactError{a, err}
	}
	var out []discovery.Candidate
	for _, t := range tags {
		if v, ok := artifacts.Version(a, t); ok {
			out = append(out, discovery.Candidate{Tag: v})
		}
	}
	return out, nil
}

// inArtifactRanges keeps the versions every artifact's versionConstraint allows.
func inArtifactRanges(pipe *releasev1.ReleasePipeline, found []discovery.Found) ([]discovery.Found, error) {
	for _, a := range pipe.Spec.Artifacts {
		if a.VersionConstraint == "" {
			continue
		}
		c, err := discovery.Constraint(a.VersionConstraint)
		if err != nil {
			return nil, fmt.Errorf("spec.artifacts[%s].%v", a.Name, err)
		}
		kept := found[:0:0]
		for _, f := range found {
			if c.Check(f.Version) {
				kept = append(kept, f)
			}
		}
		found = kept
	}
	return found, nil
}

// pinDiscovered resolves every artifact's tag of a discovered version: the
// digests the Release is created with, or the references not pushed yet.
func (r *ReleasePipelineReconciler) pinDiscovered(ctx context.Context, pipe *releasev1.ReleasePipeline, version string) ([]releasev1.Artifact, []string, error) {
	var pins []releasev1.Artifact
	var missing []string
	for i := range pipe.Spec.Artifacts {
		a := &pipe.Spec.Artifacts[i]
		d, err := r.Artifacts.Digest(ctx, pipe, a, version)
		switch {
		case registry.KindOf(err) == registry.KindNotFound:
			missing = append(missing, artifacts.Reference(a, version))
		case err != nil:
			return nil, nil, &artifactError{a, err}
		default:
			pins = append(pins, releasev1.Artifact{Name: a.Name, Image: artifacts.Location(a), Digest: d})
		}
	}
	return pins, missing, nil
}

// registryFailed records a registry's failure in status.discovery: a stall
// for what a person must fix, a wait for the rest (until the time a rate
// limit gave, else the next poll).
func (r *ReleasePipelineReconciler) registryFailed(pipe *releasev1.ReleasePipeline, interval time.Duration, err error) (time.Duration, *conditions.Summary, error) {
	st := pipe.Status.Discovery
	var ae *artifactError
	if !errors.As(err, &ae) {
		return 0, nil, err
	}
	if reason, msg, ok := artifacts.Stall(pipe, ae.artifact, ae.err); ok {
		st.Message = msg
		return conditions.RetryStalled, stalled(reason, msg), nil
	}
	msg := fmt.Sprintf("reading %s: %v", artifacts.Location(ae.artifact), strings.TrimSpace(ae.err.Error()))
	if st.Message != "" && strings.HasPrefix(st.Message, "created ") {
		msg = st.Message + "; " + msg
	}
	st.Message = msg
	switch registry.KindOf(ae.err) {
	case registry.KindRateLimited:
		s := conditions.Reconciling(releasev1.ReasonRegistryRateLimited, msg)
		return max(registry.UntilOf(ae.err).Sub(r.Clock.Now()), time.Second), &s, nil
	case registry.KindNotFound:
		s := conditions.Reconciling(releasev1.ReasonArtifactNotFound, msg+": no such repository yet")
		return interval, &s, nil
	}
	s := conditions.Reconciling(releasev1.ReasonRegistryUnavailable, msg)
	return interval, &s, nil
}

// pinSummary names the pinned digests, short, for the discovery event.
func pinSummary(pins []releasev1.Artifact) string {
	if len(pins) == 0 {
		return ""
	}
	parts := make([]string, 0, len(pins))
	for _, p := range pins {
		parts = append(parts, p.Name+"@"+releasev1.ShortDigest(p.Digest))
	}
	return " with " + strings.Join(parts, ", ")
}
