package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/artifacts"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/discovery"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/hooks"
	lreconcile "github.com/liftoff-dev/liftoff/internal/reconcile"
)

// Discovery turns new GitHub releases or tags of a pipeline's source
// repository into Releases. Nothing is kept in memory: what was discovered is
// status.discovery and the Releases themselves (labelled with the pipeline),
// so a restart, a lost status write or a replayed webhook never creates a
// Release twice.

const (
	// LabelPipeline marks a Release created by discovery with its pipeline.
	LabelPipeline = "release.liftoff.dev/pipeline"
	// AnnotationDiscoveredFrom is the tag a discovered Release came from.
	AnnotationDiscoveredFrom = "release.liftoff.dev/discovered-from"
	// defaultDiscoveryInterval is spec.source.interval's default.
	defaultDiscoveryInterval = 5 * time.Minute
	// sourceRepoIndex indexes pipelines by lowercased spec.source.repository.
	sourceRepoIndex = "spec.source.repository"
)

// +kubebuilder:rbac:groups=release.liftoff.dev,resources=releases,verbs=create

// indexSourceRepository lets webhook triggers find the pipelines of a repository.
func indexSourceRepository(ctx context.Context, mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(ctx, &releasev1.ReleasePipeline{}, sourceRepoIndex, func(o client.Object) []string {
		return []string{strings.ToLower(o.(*releasev1.ReleasePipeline).Spec.Source.Repository)}
	})
}

// pipelinesOfRepository lists the pipelines whose source repository is repo
// (GitHub names are case-insensitive).
func pipelinesOfRepository(ctx context.Context, c client.Reader, repo string) ([]releasev1.ReleasePipeline, error) {
	var list releasev1.ReleasePipelineList
	if err := c.List(ctx, &list, client.MatchingFields{sourceRepoIndex: strings.ToLower(repo)}); err != nil {
		return nil, fmt.Errorf("listing the pipelines of %s: %w", repo, err)
	}
	return list.Items, nil
}

// pipelinesToDiscover maps a webhook discovery trigger to the pipelines that
// discover from the repository.
func pipelinesToDiscover(ctx context.Context, c client.Reader, ev hooks.Event) ([]client.Object, error) {
	pipes, err := pipelinesOfRepository(ctx, c, ev.Repository)
	if err != nil {
		return nil, err
	}
	var out []client.Object
	for i := range pipes {
		if pipes[i].Spec.Source.From != "" {
			out = append(out, &pipes[i])
		}
	}
	return out, nil
}

// releasesToRecheck maps a webhook QA trigger (check run, check suite or
// commit status) to the Releases of the repository's pipelines whose
// release commit it is: their gates are evaluated again at once. A Release
// whose commit the cache does not show yet (resolved by a status write the
// cache has not caught up with, or named only in spec.commit) is rechecked
// too: a trigger missed there would wait for the next poll.
func releasesToRecheck(ctx context.Context, c client.Reader, ev hooks.Event) ([]client.Object, error) {
	pipes, err := pipelinesOfRepository(ctx, c, ev.Repository)
	if err != nil {
		return nil, err
	}
	var out []client.Object
	for _, p := range pipes {
		var list releasev1.ReleaseList
		if err := c.List(ctx, &list, client.InNamespace(p.Namespace), client.MatchingFields{pipelineIndex: p.Name}); err != nil {
			return nil, fmt.Errorf("listing the Releases of pipeline %s: %w", klog.KObj(&p), err)
		}
		for i := range list.Items {
			rel := &list.Items[i]
			switch rel.Status.Phase {
			case releasev1.PhaseReleased, releasev1.PhaseFailed, releasev1.PhaseSuperseded:
				continue
			}
			commit := rel.Status.Commit
			if commit == "" {
				commit = rel.Spec.Commit
			}
			if commit == "" || strings.EqualFold(commit, ev.SHA) {
				out = append(out, rel)
			}
		}
	}
	return out, nil
}

// stalled is a problem that stops discovery until a person fixes it.
func stalled(reason, message string) *conditions.Summary {
	s := conditions.Stalled(reason, message)
	return &s
}

// discover creates a Release for each new version in range and records what
// it found in status.discovery. It returns when to poll again.
func (r *ReleasePipelineReconciler) discover(ctx context.Context, pipe *releasev1.ReleasePipeline, gh *github.Client) (time.Duration, *conditions.Summary, error) {
	src := pipe.Spec.Source
	st := pipe.Status.Discovery
	if st == nil {
		st = &releasev1.DiscoveryStatus{}
		pipe.Status.Discovery = st
	}
	interval := defaultDiscoveryInterval
	if src.Interval != nil && src.Interval.Duration > 0 {
		interval = src.Interval.Duration
	}
	constraint, err := discovery.Constraint(src.VersionConstraint)
	if err != nil {
		st.Message = "spec.source." + err.Error()
		return 0, stalled(releasev1.ReasonInvalidSpec, st.Message), nil
	}

	var cands []discovery.Candidate
	var truncated bool
	switch src.From {
	case releasev1.DiscoverRegistry:
		if cands, err = r.registryCandidates(ctx, pipe); err != nil {
			return r.registryFailed(pipe, interval, err)
		}
	case releasev1.DiscoverTags:
		var tags []github.Tag
		tags, truncated, err = gh.ListTags(ctx, src.Repository)
		for _, t := range tags {
			cands = append(cands, discovery.Candidate{Tag: t.Name, Commit: t.Commit})
		}
	default:
		var rels []github.PublishedRelease
		rels, truncated, err = gh.ListPublishedReleases(ctx, src.Repository)
		for _, p := range rels {
			cands = append(cands, discovery.Candidate{Tag: p.Tag})
		}
	}
	if err != nil {
		return r.discoveryFailed(pipe, interval, err)
	}
	now := metav1.NewTime(r.Clock.Now())
	st.LastChecked = &now

	found := discovery.InRange(cands, constraint)
	if found, err = inArtifactRanges(pipe, found); err != nil {
		st.Message = err.Error()
		return 0, stalled(releasev1.ReasonInvalidSpec, st.Message), nil
	}
	known, discovered, err := r.knownVersions(ctx, pipe)
	if err != nil {
		return 0, nil, err
	}
	latest := discovery.Latest(append(discovered, st.LatestVersion)...)
	fresh := discovery.New(found, latest, known)

	var created []string
	var waits []discovery.Waiting
	for _, f := range fresh {
		pins, missing, err := r.pinDiscovered(ctx, pipe, f.VersionString())
		if err != nil {
			if len(created) > 0 {
				st.Message = fmt.Sprintf("created %s", strings.Join(created, ", "))
			}
			return r.registryFailed(pipe, interval, err)
		}
		if len(missing) > 0 {
			// A version waiting for its artifacts does not hold a later
			// one that has them all (discovery.WaitingMessage).
			waits = append(waits, discovery.Waiting{Version: f.VersionString(), Missing: missing})
			continue
		}
		name, stall, err := r.createDiscovered(ctx, pipe, gh, f, pins)
		if stall != nil {
			st.Message = stall.Message
			return 0, stall, nil
		}
		if err != nil {
			st.Message = fmt.Sprintf("creating the Release of %s: %v", f.Tag, err)
			if len(created) > 0 {
				st.Message = fmt.Sprintf("created %s; ", strings.Join(created, ", ")) + st.Message
			}
			return r.discoveryFailed(pipe, interval, err)
		}
		created = append(created, name)
		st.LatestVersion, st.LatestRelease = f.VersionString(), name
	}
	if v := discovery.Latest(st.LatestVersion, latest); v != st.LatestVersion {
		// A discovered Release the status did not record (a crash between
		// the create and the status write).
		st.LatestVersion, st.LatestRelease = v, discovery.Name(pipe.Name, v)
	}
	waiting := discovery.WaitingMessage(waits, st.LatestVersion)
	if st.LatestVersion == "" && len(found) > 0 && waiting == "" {
		// The newest version in range has a Release made by hand: later
		// polls create what is newer.
		st.LatestVersion = found[len(found)-1].VersionString()
	}

	st.Message = discoveryMessage(src, created, found, len(cands), waiting, truncated)
	return interval, nil, nil
}

// discoveryMessage says what a poll found: the Releases it created, or why
// none; what waits for its artifacts; that a listing was cut short.
func discoveryMessage(src releasev1.SourceSpec, created []string, found []discovery.Found, listed int, waiting string, truncated bool) string {
	what := "published releases"
	switch src.From {
	case releasev1.DiscoverTags:
		what = "tags"
	case releasev1.DiscoverRegistry:
		what = "registry tags"
	}
	var msg string
	switch {
	case len(created) > 0:
		msg = fmt.Sprintf("created %s", strings.Join(created, ", "))
	case len(found) == 0:
		msg = fmt.Sprintf("none of %d %s of %s is a version in range %q", listed, what, src.Repository, orAll(src.VersionConstraint))
	default:
		msg = fmt.Sprintf("no new version: newest in range is %s", found[len(found)-1].VersionString())
	}
	if waiting != "" {
		msg += "; " + waiting
	}
	if truncated {
		msg += fmt.Sprintf(" (only the first %d %s were read)", listed, what)
	}
	return msg
}

func orAll(c string) string {
	if c == "" {
		return "*"
	}
	return c
}

// discoveryFixes say what to fix after a 404 or a refused token.
var discoveryFixes = lreconcile.Fixes{
	NotFound:     "check spec.source.repository and that the token can read it",
	Unauthorized: "check the token in spec.github.secretRef and that it can read the repository",
}

// discoveryFailed records a GitHub failure in status.discovery and says, as
// reconcile.GitHub does, whether it stalls the pipeline and when to poll again.
func (r *ReleasePipelineReconciler) discoveryFailed(pipe *releasev1.ReleasePipeline, interval time.Duration, err error) (time.Duration, *conditions.Summary, error) {
	st := pipe.Status.Discovery
	d, ok := lreconcile.GitHub(err, discoveryFixes)
	if !ok {
		return 0, nil, err
	}
	if st.Message == "" || !strings.Contains(st.Message, err.Error()) {
		st.Message = err.Error()
	}
	st.Message = d.Explain(st.Message)
	if d.Refused {
		r.Credentials.Forget(pipe.Namespace, pipe.Spec.GitHub.SecretRef)
	}
	switch {
	case d.Stalled:
		return min(interval, d.RetryAfter), stalled(d.Reason, st.Message), nil
	case d.RetryAfter > 0:
		s := conditions.Reconciling(d.Reason, st.Message)
		return d.RetryAfter, &s, nil
	}
	s := conditions.Reconciling(d.Reason, st.Message)
	return 0, &s, err
}

// knownVersions returns the versions that already have a Release in the
// pipeline (made by hand or by discovery), and those made by discovery.
func (r *ReleasePipelineReconciler) knownVersions(ctx context.Context, pipe *releasev1.ReleasePipeline) (map[string]bool, []string, error) {
	var list releasev1.ReleaseList
	if err := r.List(ctx, &list, client.InNamespace(pipe.Namespace), client.MatchingFields{pipelineIndex: pipe.Name}); err != nil {
		return nil, nil, err
	}
	known := map[string]bool{}
	var discovered []string
	for _, rel := range list.Items {
		v, ok := discovery.Version(rel.Spec.Version)
		if !ok {
			continue
		}
		known[v.String()] = true
		if rel.Labels[LabelPipeline] == pipe.Name {
			discovered = append(discovered, v.String())
		}
	}
	return known, discovered, nil
}

// createDiscovered creates the Release of one discovered version. A Release
// of that name and version that exists already (created before a crash or a
// lost status write) counts as created.
func (r *ReleasePipelineReconciler) createDiscovered(ctx context.Context, pipe *releasev1.ReleasePipeline, gh *github.Client, f discovery.Found, pins []releasev1.Artifact) (string, *conditions.Summary, error) {
	commit, from := f.Commit, f.Tag
	switch {
	case pipe.Spec.Source.From == releasev1.DiscoverRegistry:
		// The version came from the registry: the source's tag, if pushed
		// already, is the release commit; otherwise the Release finds it.
		from = artifacts.Reference(&pipe.Spec.Artifacts[0], f.VersionString())
		for _, tag := range []string{"v" + f.VersionString(), f.VersionString()} {
			sha, err := gh.ResolveCommit(ctx, pipe.Spec.Source.Repository, "refs/tags/"+tag)
			if err == nil && sha != "" {
				commit = sha
				break
			}
			if err != nil && !github.IsNotFound(err) {
				return "", nil, err
			}
		}
	case commit == "":
		sha, err := gh.ResolveCommit(ctx, pipe.Spec.Source.Repository, "refs/tags/"+f.Tag)
		if err != nil {
			return "", nil, err
		}
		commit = sha
	}
	name := discovery.Name(pipe.Name, f.VersionString())
	rel := &releasev1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: pipe.Namespace,
			Labels:      map[string]string{},
			Annotations: map[string]string{AnnotationDiscoveredFrom: from}},
		Spec: releasev1.ReleaseSpec{Pipeline: pipe.Name, Version: f.VersionString(), Commit: strings.ToLower(commit)},
	}
	if t := pipe.Spec.Source.ReleaseTemplate; t != nil {
		for k, v := range t.Labels {
			rel.Labels[k] = v
		}
		for _, a := range t.Artifacts {
			if !slices.ContainsFunc(pins, func(p releasev1.Artifact) bool { return p.Name == a.Name }) {
				rel.Spec.Artifacts = append(rel.Spec.Artifacts, releasev1.Artifact{Name: a.Name, Image: a.Image})
			}
		}
		rel.Spec.TargetStage, rel.Spec.Milestone, rel.Spec.LaunchChecklist = t.TargetStage, t.Milestone, t.LaunchChecklist
	}
	// The digests found in the registry are the Release's pins.
	rel.Spec.Artifacts = append(rel.Spec.Artifacts, pins...)
	rel.Labels[LabelPipeline] = pipe.Name
	if shard, ok := pipe.Labels[ShardLabel]; ok {
		// The Release goes to the shard of its pipeline.
		rel.Labels[ShardLabel] = shard
	}
	err := r.Create(ctx, rel)
	switch {
	case err == nil:
		ctrl.LoggerFrom(ctx).Info("Discovered a new version", "release", klog.KObj(rel), "tag", from, "commit", commit)
		if r.Recorder != nil {
			r.Recorder.Eventf(pipe, rel, corev1.EventTypeNormal, releasev1.ReasonDiscovered, "Discover",
				"Created Release %s for %s %s (%s)%s", name, pipe.Spec.Source.Repository, f.Tag, github.ShortSHA(commit), pinSummary(pins))
		}
		return name, nil, nil
	case apierrors.IsAlreadyExists(err):
		existing := &releasev1.Release{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(rel), existing); err != nil {
			return "", nil, err
		}
		if v, ok := discovery.Version(existing.Spec.Version); ok && v.Equal(f.Version) && existing.Spec.Pipeline == pipe.Name {
			return name, nil, nil
		}
		return "", stalled(releasev1.ReasonInvalidSpec, fmt.Sprintf(
			"discovered %s, but Release %s exists for %s %s: rename or delete it so discovery can create %s",
			f.Tag, name, existing.Spec.Pipeline, existing.Spec.Version, name)), nil
	case apierrors.IsInvalid(err) || apierrors.IsForbidden(err):
		return "", stalled(releasev1.ReasonInvalidSpec, fmt.Sprintf("creating Release %s for %s: %v: fix spec.source.releaseTemplate", name, f.Tag, err)), nil
	}
	return "", nil, err
}
