package webhooks

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// PipelineRequiresRefusal says why the spec.requires of pipe cannot be
// admitted, or "" when it can: a version that is not a semver range, a
// pipeline requiring itself, a stages mapping that names a stage neither
// pipeline has, a required pipeline that does not exist (for an entry
// added: one whose pipeline was deleted since stays, and the dependencies
// gate blocks on it), or a dependency cycle across the namespace's
// pipelines, named. old is what pipe required before (nil on creation). c
// reads the namespace's pipelines from the API server (every shard's).
func PipelineRequiresRefusal(ctx context.Context, c client.Reader, pipe, old *releasev1.ReleasePipeline) (string, error) {
	var was []releasev1.Requirement
	if old != nil {
		was = old.Spec.Requires
	}
	return requiresRefusal(ctx, c, pipe.Namespace, pipe.Name, pipe.Spec.Requires, was, func(map[string]*releasev1.ReleasePipeline) *releasev1.ReleasePipeline { return pipe })
}

// ReleaseRequiresRefusal says why the spec.requires of rel cannot be
// admitted, as PipelineRequiresRefusal does for a pipeline's; the cycle is
// sought with the Release's pipeline's requirements and its own together.
func ReleaseRequiresRefusal(ctx context.Context, c client.Reader, rel, old *releasev1.Release) (string, error) {
	var was []releasev1.Requirement
	if old != nil {
		was = old.Spec.Requires
	}
	return requiresRefusal(ctx, c, rel.Namespace, rel.Spec.Pipeline, rel.Spec.Requires, was, func(pipes map[string]*releasev1.ReleasePipeline) *releasev1.ReleasePipeline {
		return pipes[rel.Spec.Pipeline]
	})
}

// requiresRefusal checks reqs, the requirements of pipeline owner (or of
// one of its Releases), against the namespace's pipelines; ownerOf is the
// owner's pipeline as admitted (nil when it does not exist).
func requiresRefusal(ctx context.Context, c client.Reader, ns, owner string, reqs, old []releasev1.Requirement,
	ownerOf func(map[string]*releasev1.ReleasePipeline) *releasev1.ReleasePipeline) (string, error) {
	if len(reqs) == 0 {
		return "", nil
	}
	var list releasev1.ReleasePipelineList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return "", fmt.Errorf("reading the pipelines of namespace %s to check spec.requires: %w", ns, err)
	}
	pipes := map[string]*releasev1.ReleasePipeline{}
	for i := range list.Items {
		pipes[list.Items[i].Name] = &list.Items[i]
	}
	pipe := ownerOf(pipes)
	for i, r := range reqs {
		at := fmt.Sprintf("spec.requires[%d]", i)
		if _, err := semver.NewConstraint(r.Version); err != nil {
			return fmt.Sprintf("%s.version: %q is not a semver range (%v): write one like \">=1.8.0\", \"^2\" or \">=1.8.0 <2.0.0\"", at, r.Version, err), nil
		}
		if r.Pipeline == owner {
			return fmt.Sprintf("%s.pipeline: %s cannot require itself: name another service's pipeline", at, owner), nil
		}
		required, ok := pipes[r.Pipeline]
		if !ok {
			if slices.ContainsFunc(old, func(o releasev1.Requirement) bool { return o.Pipeline == r.Pipeline }) {
				continue
			}
			return fmt.Sprintf("%s.pipeline: no ReleasePipeline %q in namespace %s (pipelines: %s): create it first or fix the name", at, r.Pipeline, ns, names(pipes)), nil
		}
		if msg := stagesRefusal(at, r, pipe, required); msg != "" {
			return msg, nil
		}
	}
	// The graph as it would be once admitted: the owner's edges are its
	// pipeline's as admitted, plus a Release's own.
	edges := map[string][]string{}
	pipes[owner] = pipe
	for name, p := range pipes {
		if p == nil {
			continue
		}
		for _, r := range p.Spec.Requires {
			edges[name] = append(edges[name], r.Pipeline)
		}
	}
	for _, r := range reqs {
		if !slices.Contains(edges[owner], r.Pipeline) {
			edges[owner] = append(edges[owner], r.Pipeline)
		}
	}
	if cycle := cycleThrough(owner, edges); cycle != nil {
		return fmt.Sprintf("spec.requires: a dependency cycle, %s: no release could ever go first; remove one of these requirements", strings.Join(cycle, " -> ")), nil
	}
	return "", nil
}

// stagesRefusal says which name of r's stages mapping is not a stage of
// pipe (a key) or of required (a value), or "".
func stagesRefusal(at string, r releasev1.Requirement, pipe, required *releasev1.ReleasePipeline) string {
	keys := make([]string, 0, len(r.Stages))
	for k := range r.Stages {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if pipe != nil && pipe.StageIndex(k) < 0 {
			return fmt.Sprintf("%s.stages: %q is not a stage of %s (stages: %s)", at, k, pipe.Name, pipe.StageNames())
		}
		if v := r.Stages[k]; required.StageIndex(v) < 0 {
			return fmt.Sprintf("%s.stages.%s: %q is not a stage of %s (stages: %s)", at, k, v, required.Name, required.StageNames())
		}
	}
	return ""
}

// cycleThrough is a path of edges from start back to start, or nil.
func cycleThrough(start string, edges map[string][]string) []string {
	visited := map[string]bool{}
	var path []string
	var walk func(n string) bool
	walk = func(n string) bool {
		path = append(path, n)
		for _, next := range edges[n] {
			if next == start {
				path = append(path, next)
				return true
			}
			if !visited[next] {
				visited[next] = true
				if walk(next) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		return false
	}
	if walk(start) {
		return path
	}
	return nil
}

func names(pipes map[string]*releasev1.ReleasePipeline) string {
	if len(pipes) == 0 {
		return "none"
	}
	out := make([]string, 0, len(pipes))
	for n := range pipes {
		out = append(out, n)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
