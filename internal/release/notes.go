package release

import (
	"context"
	"errors"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/notes"
)

// Release notes are the pull requests a promotion brings into a stage: those
// merged in the source repository between the version the stage ran and the
// release commit. They go into the promotion's pull request, the stage's
// status, the GitHub deployment and the postmortem, all read through the
// engine's notes cache, so one version pair costs GitHub's requests once
// (two GETs) whichever of them asks first. Notes are a courtesy: they never
// fail a step, and a step waits for them at most notesTimeout. On any error
// (no tag for a version, GitHub down or slow) there are none.

// notesTimeout bounds the wait for a version pair's notes.
const notesTimeout = 5 * time.Second

// pullRequestNotes is the notes' section of the pull request that promotes
// into stage i, "" when the stage commits straight to its branch or the pull
// request was opened already. Before the promotion the previous version is
// the one the pipeline shows live in the stage.
func (s *step) pullRequestNotes(ctx context.Context, i int) string {
	stage, ss := &s.pipe.Spec.Stages[i], &s.rel.Status.Stages[i]
	if stage.Target.Strategy != releasev1.StrategyPullRequest || ss.Phase != releasev1.StagePromoting {
		return ""
	}
	live := s.pipe.Status.StageStatus(stage.Name)
	if live == nil || live.Release == s.rel.Name {
		return ""
	}
	if n := s.releaseNotes(ctx, live.Version); n != nil {
		return n.PullRequestSection()
	}
	return ""
}

// stageNotes are the notes of the promotion into stage i once it landed:
// from the version the promotion replaced.
func (s *step) stageNotes(ctx context.Context, i int) *notes.Notes {
	if p := s.rel.Status.Stages[i].Promotion; p != nil {
		return s.releaseNotes(ctx, p.PreviousVersion)
	}
	return nil
}

// recordNotes writes the notes' summary into stage i's status.
func (s *step) recordNotes(ctx context.Context, i int) {
	if n := s.stageNotes(ctx, i); n != nil {
		s.rel.Status.Stages[i].ReleaseNotes = n.Status()
	}
}

// releaseNotes are the notes from version from to the Release's commit, nil
// when there are none.
func (s *step) releaseNotes(ctx context.Context, from string) *notes.Notes {
	if from == "" || from == s.rel.Spec.Version {
		return nil
	}
	to := s.rel.Status.Commit
	if to == "" {
		to = s.rel.Spec.Version
	}
	cache := s.notes
	if cache == nil {
		cache = notes.Default
	}
	ctx, cancel := context.WithTimeout(ctx, notesTimeout)
	defer cancel()
	n, err := cache.For(ctx, s.gh, s.pipe.Spec.Source.Repository, from, to)
	if err != nil {
		if !notes.IsNotFound(err) && !errors.Is(err, notes.ErrNoPreviousVersion) {
			ctrl.LoggerFrom(ctx).V(1).Info("Release notes not read; promoting without them", "from", from, "version", s.rel.Spec.Version, "error", err.Error())
		}
		return nil
	}
	named := *n // shared with the cache: not modified
	named.To = s.rel.Spec.Version
	return &named
}
