package controllers

import (
	"context"
	"fmt"
	"time"

	"github.com/Masterminds/semver/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// One promotion in flight per stage: a Release takes a stage by writing itself
// into the pipeline's status.stages[].inFlight with optimistic locking, so two
// Releases racing for a stage cannot both win. Reads go to the API server, not
// the cache, because a stale read here would let two Releases commit.

const historyLimit = 10

// freshPipeline reads the pipeline from the API server.
func (r *ReleaseReconciler) freshPipeline(ctx context.Context, pipe *releasev1.ReleasePipeline) (*releasev1.ReleasePipeline, error) {
	fresh := &releasev1.ReleasePipeline{}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: pipe.Namespace, Name: pipe.Name}, fresh)
	return fresh, err
}

func stageEntry(p *releasev1.ReleasePipeline, stage string) *releasev1.PipelineStageStatus {
	if ps := p.Status.StageStatus(stage); ps != nil {
		return ps
	}
	p.Status.Stages = append(p.Status.Stages, releasev1.PipelineStageStatus{Name: stage})
	return &p.Status.Stages[len(p.Status.Stages)-1]
}

// patchPipelineStatus applies mutate to a fresh copy of the pipeline and
// writes it with optimistic locking, retrying on conflict. mutate returns
// false to write nothing.
func (r *ReleaseReconciler) patchPipelineStatus(ctx context.Context, pipe *releasev1.ReleasePipeline, mutate func(*releasev1.ReleasePipeline) (bool, error)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		fresh, err := r.freshPipeline(ctx, pipe)
		if err != nil {
			return err
		}
		orig := fresh.DeepCopy()
		write, err := mutate(fresh)
		if err != nil || !write {
			return err
		}
		if err := r.Status().Patch(ctx, fresh, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return err
		}
		fresh.DeepCopyInto(pipe)
		return nil
	})
}

// lockStage takes stage for rel. It returns false and the holder when another
// Release is promoting into it.
func (r *ReleaseReconciler) lockStage(ctx context.Context, pipe *releasev1.ReleasePipeline, rel *releasev1.Release, stage string, now time.Time) (bool, string, error) {
	holder := ""
	err := r.patchPipelineStatus(ctx, pipe, func(p *releasev1.ReleasePipeline) (bool, error) {
		ps := stageEntry(p, stage)
		if ps.InFlight != nil && ps.InFlight.Release == rel.Name {
			return false, nil
		}
		if ps.InFlight != nil {
			stale, err := r.staleLock(ctx, p.Namespace, ps.InFlight, stage, now)
			if err != nil {
				return false, err
			}
			if !stale {
				holder = ps.InFlight.Release
				return false, nil
			}
		}
		ps.InFlight = &releasev1.InFlightPromotion{Release: rel.Name, Version: rel.Spec.Version, Since: metav1.NewTime(now)}
		return true, nil
	})
	return holder == "" && err == nil, holder, err
}

// staleLock reports whether the holder of a stage lock no longer promotes:
// deleted, finished, or not promoting for longer than StaleLockAfter (it took
// the lock and crashed before recording that it was promoting).
func (r *ReleaseReconciler) staleLock(ctx context.Context, ns string, l *releasev1.InFlightPromotion, stage string, now time.Time) (bool, error) {
	holder := &releasev1.Release{}
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ns, Name: l.Release}, holder); err != nil {
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	}
	switch holder.Status.Phase {
	case releasev1.PhaseFailed, releasev1.PhaseSuperseded, releasev1.PhaseReleased:
		return true, nil
	}
	if ss := holder.Status.StageStatus(stage); ss != nil && (ss.Phase == releasev1.StagePromoting || ss.Phase == releasev1.StageAwaitingMerge) {
		return false, nil
	}
	return now.Sub(l.Since.Time) > r.StaleLockAfter, nil
}

// holdsStage reports whether rel may go on promoting into stage: it holds the
// lock, or it already landed there (a crash after recording the landing in the
// pipeline but before the Release's own status).
func (r *ReleaseReconciler) holdsStage(ctx context.Context, pipe *releasev1.ReleasePipeline, rel *releasev1.Release, stage string) (bool, error) {
	fresh, err := r.freshPipeline(ctx, pipe)
	if err != nil {
		return false, err
	}
	ps := fresh.Status.StageStatus(stage)
	if ps == nil {
		return false, nil
	}
	if ps.InFlight != nil {
		return ps.InFlight.Release == rel.Name, nil
	}
	return ps.Release == rel.Name && ps.Version == rel.Spec.Version, nil
}

// recordLanding records the version live in stage. The stage is freed unless
// keepLock: a stage under verification stays held until its analysis ends.
func (r *ReleaseReconciler) recordLanding(ctx context.Context, pipe *releasev1.ReleasePipeline, rel *releasev1.Release, stage, commit string, now time.Time, keepLock bool) error {
	return r.patchPipelineStatus(ctx, pipe, func(p *releasev1.ReleasePipeline) (bool, error) {
		ps := stageEntry(p, stage)
		if ps.InFlight != nil && ps.InFlight.Release != rel.Name {
			return false, fmt.Errorf("stage %s is held by release %s", stage, ps.InFlight.Release)
		}
		if ps.Release == rel.Name && ps.Commit == commit {
			return false, nil // already recorded
		}
		at := metav1.NewTime(now)
		if !keepLock {
			ps.InFlight = nil
		}
		ps.Release, ps.Version, ps.Commit, ps.PromotedAt = rel.Name, rel.Spec.Version, commit, &at
		ps.History = append([]releasev1.PromotionRecord{{Release: rel.Name, Version: rel.Spec.Version, Commit: commit, At: at}}, ps.History...)
		if len(ps.History) > historyLimit {
			ps.History = ps.History[:historyLimit]
		}
		p.Status.Live = p.LiveSummary()
		return true, nil
	})
}

// recordRollback records that stage holds version again, written back by
// rel's rollback commit, and frees the stage.
func (r *ReleaseReconciler) recordRollback(ctx context.Context, pipe *releasev1.ReleasePipeline, rel *releasev1.Release, stage, version, commit string, now time.Time) error {
	return r.patchPipelineStatus(ctx, pipe, func(p *releasev1.ReleasePipeline) (bool, error) {
		ps := stageEntry(p, stage)
		if ps.Commit == commit && ps.InFlight == nil {
			return false, nil
		}
		at := metav1.NewTime(now)
		if ps.InFlight != nil && ps.InFlight.Release == rel.Name {
			ps.InFlight = nil
		}
		// The version written back belongs to the Release that last put it there.
		owner := ""
		for _, h := range ps.History {
			if h.Version == version && h.Release != rel.Name {
				owner = h.Release
				break
			}
		}
		ps.Release, ps.Version, ps.Commit, ps.PromotedAt = owner, version, commit, &at
		ps.History = append([]releasev1.PromotionRecord{{Release: owner, Version: version, Commit: commit, At: at}}, ps.History...)
		if len(ps.History) > historyLimit {
			ps.History = ps.History[:historyLimit]
		}
		p.Status.Live = p.LiveSummary()
		return true, nil
	})
}

// unlockStages frees every stage rel holds.
func (r *ReleaseReconciler) unlockStages(ctx context.Context, pipe *releasev1.ReleasePipeline, rel *releasev1.Release) error {
	return r.patchPipelineStatus(ctx, pipe, func(p *releasev1.ReleasePipeline) (bool, error) {
		changed := false
		for i := range p.Status.Stages {
			if l := p.Status.Stages[i].InFlight; l != nil && l.Release == rel.Name {
				p.Status.Stages[i].InFlight = nil
				changed = true
			}
		}
		return changed, nil
	})
}

// newerVersion reports whether release (at version) is another Release with a
// newer version than rel.
func newerVersion(release, version string, rel *releasev1.Release) bool {
	if release == "" || release == rel.Name {
		return false
	}
	mine, err := semver.NewVersion(rel.Spec.Version)
	if err != nil {
		return false
	}
	v, err := semver.NewVersion(version)
	return err == nil && v.GreaterThan(mine)
}

// newerInPipeline returns a Release with a newer version than rel (still on
// its way) that is live in a stage rel reached or is about to enter, or holds
// the stage rel waits for, and that stage. Such a Release overtook rel.
func newerInPipeline(pipe *releasev1.ReleasePipeline, rel *releasev1.Release) (string, string) {
	next := true // the first stage not yet promoted
	for _, ss := range rel.Status.Stages {
		relevant := ss.Phase == releasev1.StagePromoted
		if !relevant && next && ss.Phase != releasev1.StageSkipped {
			relevant, next = true, false
		}
		if !relevant {
			continue
		}
		ps := pipe.Status.StageStatus(ss.Name)
		if ps == nil {
			continue
		}
		if newerVersion(ps.Release, ps.Version, rel) {
			return ps.Release, ss.Name
		}
		// A promotion in flight is never abandoned half-way: only a Release
		// still waiting yields to a newer one that holds the stage.
		if ps.InFlight != nil && ss.Phase != releasev1.StagePromoting && ss.Phase != releasev1.StageAwaitingMerge &&
			newerVersion(ps.InFlight.Release, ps.InFlight.Version, rel) {
			return ps.InFlight.Release, ss.Name
		}
	}
	return "", ""
}
