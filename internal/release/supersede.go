package release

import (
	"context"
	"fmt"

	"github.com/Masterminds/semver/v3"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// supersede stops a Release still on its way that a newer one overtook.
func (s *step) supersede(ctx context.Context, by, stage string) (reconcile.Outcome, error) {
	rel := s.rel
	for i := range rel.Status.Stages {
		ss := &rel.Status.Stages[i]
		switch ss.Phase {
		case releasev1.StagePromoted:
			ss.Phase, ss.Message = releasev1.StageSuperseded, fmt.Sprintf("newer release %s overtook it", by)
		case releasev1.StageWaiting, releasev1.StagePending:
			ss.Phase, ss.Message = releasev1.StageSuperseded, fmt.Sprintf("newer release %s goes instead", by)
		}
	}
	if err := s.ledger.Free(ctx, s.pipe, rel); err != nil {
		return reconcile.Stop(), err
	}
	setConditions(rel, conclusion{phase: releasev1.PhaseSuperseded, reason: releasev1.ReasonSuperseded,
		message: fmt.Sprintf("newer release %s reached %s", by, stage)})
	return reconcile.Stop(), nil
}

// supersedeReleased marks the stages of a released Release where a newer
// version now lives; once that includes every stage it ended in (its
// targetStage, or each stage no other comes after), the Release is
// Superseded.
func (s *step) supersedeReleased() {
	rel := s.rel
	var by *releasev1.LiveVersion
	var where string
	for i := range rel.Status.Stages {
		ss := &rel.Status.Stages[i]
		if ss.Phase != releasev1.StagePromoted {
			continue
		}
		ps := s.pipe.Status.StageStatus(ss.Name)
		// A newer version still deploying or under verification may yet be
		// rolled back: it replaces this one only once it holds the stage no
		// more, and only once its agent deployed it (one halted before that
		// never ran there).
		if ps == nil || ps.InFlight != nil {
			continue
		}
		// Both what was committed last and what runs must be newer: a
		// rollback of the newer version, committed but not yet applied,
		// leaves rel's version the stage's own.
		live, _ := s.pipe.LiveIn(ss.Name)
		if live == nil || !newerVersion(live.Release, live.Version, rel) || !newerVersion(ps.Release, ps.Version, rel) {
			continue
		}
		ss.Phase, ss.Message = releasev1.StageSuperseded, fmt.Sprintf("release %s (%s) replaced it", live.Release, live.Version)
		by, where = live, ss.Name
	}
	if by == nil {
		return
	}
	ends := s.pipe.Spec.Leaves()
	if rel.Spec.TargetStage != "" {
		ends = []int{s.target}
	}
	for _, i := range ends {
		if rel.Status.Stages[i].Phase != releasev1.StageSuperseded {
			return
		}
	}
	setConditions(rel, conclusion{phase: releasev1.PhaseSuperseded, reason: releasev1.ReasonSuperseded,
		message: fmt.Sprintf("newer release %s is live in %s", by.Release, where)})
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
//
// A Release with a promotion being written or deployed in one branch of the
// graph is not overtaken until it ends: a promotion in flight is never
// abandoned half-way.
func newerInPipeline(pipe *releasev1.ReleasePipeline, rel *releasev1.Release) (string, string) {
	for _, ss := range rel.Status.Stages {
		if writing(ss.Phase) {
			return "", ""
		}
	}
	for i, ss := range rel.Status.Stages {
		// Where it is live, and where it is about to go: every stage not
		// promoted yet whose stages before are.
		relevant := ss.Phase == releasev1.StagePromoted
		if !relevant && ss.Phase != releasev1.StageSkipped && i < len(pipe.Spec.Stages) && pipe.Spec.Stages[i].Name == ss.Name {
			relevant = true
			for _, j := range pipe.Spec.AfterIndexes(i) {
				if rel.Status.Stages[j].Phase != releasev1.StagePromoted {
					relevant = false
				}
			}
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
		if ps.InFlight != nil && newerVersion(ps.InFlight.Release, ps.InFlight.Version, rel) {
			return ps.InFlight.Release, ss.Name
		}
	}
	return "", ""
}
