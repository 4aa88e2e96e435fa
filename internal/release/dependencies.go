package release

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

// dependencyFacts finds, for each of the Release's requirements (its own
// spec.requires and its pipeline's), what the required pipeline runs in
// the stage that corresponds to stage, and where its Releases stand. Nil
// without requirements.
func (s *step) dependencyFacts(ctx context.Context, stage string) ([]gates.DependencyFacts, error) {
	reqs := releasev1.Requires(s.pipe, s.rel)
	if len(reqs) == 0 {
		return nil, nil
	}
	out := make([]gates.DependencyFacts, 0, len(reqs))
	for _, r := range reqs {
		f := gates.DependencyFacts{Pipeline: r.Pipeline, Version: r.Version}
		f.Stage, f.Mapped = r.StageFor(stage)
		other, reader, err := s.requiredPipeline(ctx, r.Pipeline)
		if err != nil {
			return nil, err
		}
		switch {
		case other == nil:
			f.Missing = true
		case other.StageIndex(f.Stage) < 0:
			f.NoStage = true
		default:
			live, committed := other.LiveIn(f.Stage)
			if live != nil {
				f.Live = live.Version
			}
			if committed != nil {
				f.Committed = committed.Version
			}
			if f.Releases, err = releasesOfPipeline(ctx, reader, other); err != nil {
				return nil, err
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// requiredPipeline reads a required pipeline from the cache, or, when the
// cache does not hold it (another shard's), from the API server; nil when
// it does not exist. reader is where its Releases are to be read.
func (s *step) requiredPipeline(ctx context.Context, name string) (*releasev1.ReleasePipeline, client.Reader, error) {
	key := types.NamespacedName{Namespace: s.rel.Namespace, Name: name}
	p := &releasev1.ReleasePipeline{}
	err := s.client.Get(ctx, key, p)
	if err == nil {
		return p, s.client, nil
	}
	if !apierrors.IsNotFound(err) || s.apiReader == nil {
		return nil, nil, client.IgnoreNotFound(err)
	}
	if err := s.apiReader.Get(ctx, key, p); err != nil {
		return nil, nil, client.IgnoreNotFound(err)
	}
	return p, s.apiReader, nil
}

// releasesOfPipeline is where each Release of pipe stands.
func releasesOfPipeline(ctx context.Context, c client.Reader, pipe *releasev1.ReleasePipeline) ([]gates.DependencyRelease, error) {
	var list releasev1.ReleaseList
	if err := c.List(ctx, &list, client.InNamespace(pipe.Namespace)); err != nil {
		return nil, err
	}
	var out []gates.DependencyRelease
	for _, rel := range list.Items {
		if rel.Spec.Pipeline == pipe.Name {
			out = append(out, gates.DependencyRelease{Name: rel.Name, Version: rel.Spec.Version, Phase: rel.Status.Phase, Stage: rel.Status.CurrentStage})
		}
	}
	return out, nil
}
