package release

import (
	"context"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

// StageLedger is the pipeline's record of its stages, in its
// status.stages: who holds each stage (one promotion in flight per stage: a
// Release takes a stage by writing itself into inFlight with optimistic
// locking, so two Releases racing for a stage cannot both win), what was
// committed there last, what is live, the last promotions, the targets of a
// stage with targets, and the rollbacks on demand. Reads go to the API
// server, not the cache, because a stale read here would let two Releases
// commit.
type StageLedger struct {
	// Reader reads from the API server.
	Reader client.Reader
	// Writer writes the pipeline's status.
	Writer client.StatusClient
	// StaleAfter is how long a stage lock may be held by a Release that is
	// not promoting before another Release may take it.
	StaleAfter time.Duration
}

const historyLimit = 10

// Awaits is what a commit recorded in a stage waits for before the Release
// is done with the stage: it says whether the commit is live at once and
// whether the Release keeps the stage's lock meanwhile.
type Awaits int

const (
	// AwaitsNothing says no GitOps agent applies the commit and nothing
	// verifies it: it is live at once, and the stage is freed.
	AwaitsNothing Awaits = iota
	// AwaitsDeployment says the stage's GitOps agent applies the commit: it
	// is live once Deployed records it, and the stage stays held until then.
	AwaitsDeployment
	// AwaitsVerification says the commit is live (no agent applies it, or
	// the agent did), and the stage stays held until its verification ends.
	AwaitsVerification
)

// landingAwaits is what a promotion's commit into stage awaits: its GitOps
// agent, else its verification, else nothing.
func landingAwaits(stage *releasev1.Stage) Awaits {
	switch {
	case stage.Deployment != nil:
		return AwaitsDeployment
	case stage.Verify != nil:
		return AwaitsVerification
	}
	return AwaitsNothing
}

// deployedAwaits is what a promotion's commit, once its agent deployed
// it in stage, awaits: the stage's verification, or nothing.
func deployedAwaits(stage *releasev1.Stage) Awaits {
	if stage.Verify != nil {
		return AwaitsVerification
	}
	return AwaitsNothing
}

// rollbackAwaits is what a rollback's commit into stage awaits: its GitOps
// agent, or nothing.
func rollbackAwaits(stage *releasev1.Stage) Awaits {
	if stage.Deployment != nil {
		return AwaitsDeployment
	}
	return AwaitsNothing
}

// Take takes stage for rel. When another Release is promoting into it, it
// returns false and what was found of that lock (fresh from the API server),
// for the stage gate to say so. When a rollback on demand holds the stage,
// it returns false and refreshes pipe, for the hold gate to say so.
func (l *StageLedger) Take(ctx context.Context, pipe *releasev1.ReleasePipeline, rel *releasev1.Release, stage string, now time.Time) (bool, *gates.LockFacts, error) {
	var held *gates.LockFacts
	onHold := false
	err := l.patchPipelineStatus(ctx, pipe, func(p *releasev1.ReleasePipeline) (bool, error) {
		held = nil
		if onHold = p.HeldBy(stage) >= 0; onHold {
			// A rollback on demand the cache did not show yet: the caller
			// decides again on the pipeline as it is.
			p.DeepCopyInto(pipe)
			return false, nil
		}
		ps := stageEntry(p, stage)
		if ps.InFlight != nil && ps.InFlight.Release == rel.Name {
			return false, nil
		}
		if ps.InFlight != nil {
			facts, err := l.Facts(ctx, l.Reader, p.Namespace, ps.InFlight, stage)
			if err != nil {
				return false, err
			}
			if !facts.Stale(now) {
				held = facts
				return false, nil
			}
		}
		ps.InFlight = &releasev1.InFlightPromotion{Release: rel.Name, Version: rel.Spec.Version, Since: metav1.NewTime(now)}
		return true, nil
	})
	return held == nil && !onHold && err == nil, held, err
}

// Facts reads, with reader, what the stage gate decides a lock on: who holds
// it since when, and whether that Release still promotes into the stage.
func (l *StageLedger) Facts(ctx context.Context, reader client.Reader, ns string, lock *releasev1.InFlightPromotion, stage string) (*gates.LockFacts, error) {
	f := &gates.LockFacts{Stage: stage, Holder: lock.Release, Since: lock.Since.Time, StaleAfter: l.StaleAfter}
	holder := &releasev1.Release{}
	if err := reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: lock.Release}, holder); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
		f.HolderGone = true
		return f, nil
	}
	switch holder.Status.Phase {
	case releasev1.PhaseFailed, releasev1.PhaseSuperseded, releasev1.PhaseReleased:
		f.HolderDone = true
	}
	if ss := holder.Status.StageStatus(stage); holder.Status.Phase == releasev1.PhaseFailed && ss != nil && (writing(ss.Phase) || ss.Phase == releasev1.StageVerifying) {
		// Failed in another branch of the graph: it finishes this
		// promotion (finishInFlight) and frees the stage then.
		f.HolderDone = false
	}
	// Waiting for its GitOps agent is part of the promotion: the deadline,
	// not the stale-lock timer, ends it.
	if ss := holder.Status.StageStatus(stage); ss != nil && (ss.Phase == releasev1.StagePromoting || ss.Phase == releasev1.StageAwaitingMerge || ss.Phase == releasev1.StageDeploying) {
		f.HolderPromoting = true
	}
	return f, nil
}

// Holds reports whether rel may go on promoting into stage: it holds the
// lock, or it already landed there (a crash, or a lost status write, after
// recording the landing in the pipeline but before the Release's own
// status). A Release that landed takes the free stage again before it goes
// on: its promotion, retried to find its commit, may wait for a coalesced
// commit, and no other Release may promote into the stage meanwhile.
func (l *StageLedger) Holds(ctx context.Context, pipe *releasev1.ReleasePipeline, rel *releasev1.Release, stage string, now time.Time) (bool, error) {
	held := false
	err := l.patchPipelineStatus(ctx, pipe, func(p *releasev1.ReleasePipeline) (bool, error) {
		ps := p.Status.StageStatus(stage)
		switch {
		case ps == nil:
			held = false
		case ps.InFlight != nil:
			held = ps.InFlight.Release == rel.Name
		default:
			held = ps.Release == rel.Name && ps.Version == rel.Spec.Version
			if held {
				ps.InFlight = &releasev1.InFlightPromotion{Release: rel.Name, Version: rel.Spec.Version, Since: metav1.NewTime(now)}
				return true, nil
			}
		}
		return false, nil
	})
	return held && err == nil, err
}

// Landed records that rel's commit landed in stage: the stage's version,
// release, commit and promotedAt, and the history. Unless the commit
// awaits its deployment (no GitOps agent to wait for), committed counts as
// live, and the stage's deployedAt and live are recorded in the same write;
// otherwise they wait for Deployed, and until then the stage runs the
// version before: for Liftoff's first promotion into the stage, previous,
// the version its GitOps files held (recorded as live, found in the files).
// The stage is freed when the commit awaits nothing: a stage waiting for its
// agent or under verification stays held until that ends.
func (l *StageLedger) Landed(ctx context.Context, pipe *releasev1.ReleasePipeline, rel *releasev1.Release, stage, commit, previous string, now time.Time, awaits Awaits) error {
	return l.patchPipelineStatus(ctx, pipe, func(p *releasev1.ReleasePipeline) (bool, error) {
		ps := stageEntry(p, stage)
		if ps.InFlight != nil && ps.InFlight.Release != rel.Name {
			return false, fmt.Errorf("stage %s is held by release %s", stage, ps.InFlight.Release)
		}
		ours := ps.InFlight != nil && !awaits.holds()
		if !awaits.holds() {
			ps.InFlight = nil
		}
		if ps.Release == rel.Name && ps.Commit == commit {
			return ours, nil // already recorded: free the stage taken again
		}
		if !awaits.live() && ps.Live == nil && ps.Version == "" && len(ps.History) == 0 && previous != "" {
			// Nothing of Liftoff's ran there yet: what the files held runs.
			ps.Live = &releasev1.LiveVersion{Version: previous, DeployedAt: metav1.NewTime(now), Origin: releasev1.LiveFromGitOpsFiles}
		}
		before := "" // what the stage ran before, for a rollback on demand to go back to
		if ss := rel.Status.StageStatus(stage); ss != nil && ss.Promotion != nil {
			before = ss.Promotion.PreviousVersion
		}
		committed(p, ps, releasev1.PromotionRecord{Release: rel.Name, Version: rel.Spec.Version, Commit: commit, PreviousVersion: before, At: metav1.NewTime(now)}, awaits)
		return true, nil
	})
}

// RolledBack records that rel's rollback commit wrote version back into
// stage, and frees the stage whatever the commit awaits: without a GitOps
// agent the version written back is live at once, else once Deployed
// (AwaitsDeployment; the agent is followed without the lock). done, for a
// rollback on demand, is its record, written in the same write.
func (l *StageLedger) RolledBack(ctx context.Context, pipe *releasev1.ReleasePipeline, rel *releasev1.Release, stage, version, commit string, now time.Time, awaits Awaits, done *releasev1.RollbackRecord) error {
	return l.patchPipelineStatus(ctx, pipe, func(p *releasev1.ReleasePipeline) (bool, error) {
		ps := stageEntry(p, stage)
		recorded := done == nil || recordRollback(p, *done)
		if ps.Commit == commit && ps.InFlight == nil {
			return !recorded, nil
		}
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
		committed(p, ps, releasev1.PromotionRecord{Release: owner, Version: version, Commit: commit, PreviousVersion: rel.Spec.Version, At: metav1.NewTime(now)}, awaits)
		return true, nil
	})
}

// ClaimRollback makes rel the Release that makes the rollback on demand
// spec.rollbacks[k] and returns its record: rel's version is the one the
// stage runs (fresh from the API server), and no other Release claimed it.
// It returns nil when rel is not the one to make it.
func (l *StageLedger) ClaimRollback(ctx context.Context, pipe *releasev1.ReleasePipeline, rel *releasev1.Release, k int) (*releasev1.RollbackRecord, error) {
	var claimed *releasev1.RollbackRecord
	err := l.patchPipelineStatus(ctx, pipe, func(p *releasev1.ReleasePipeline) (bool, error) {
		claimed = nil
		if r := p.Status.RollbackRecordOf(k); r != nil || k >= len(p.Spec.Rollbacks) {
			if r != nil && r.Release == rel.Name {
				claimed = r.DeepCopy()
			}
			return false, nil
		}
		rb := p.Spec.Rollbacks[k]
		ps := p.Status.StageStatus(rb.Stage)
		if ps == nil || ps.Release != rel.Name || ps.Version != rel.Spec.Version {
			return false, nil
		}
		rec := releasev1.RollbackRecord{Index: int32(k), Stage: rb.Stage, From: ps.Version, To: rb.To, Release: rel.Name, Phase: releasev1.RollbackRunning,
			Message: fmt.Sprintf("release %s writes %s back into %s", rel.Name, rb.To, rb.Stage)}
		recordRollback(p, rec)
		claimed = rec.DeepCopy()
		return true, nil
	})
	return claimed, err
}

// RecordRollback records where a claimed rollback on demand stands (its
// pull request waits, or it cannot be made), unless the record says so
// already.
func (l *StageLedger) RecordRollback(ctx context.Context, pipe *releasev1.ReleasePipeline, rec releasev1.RollbackRecord) error {
	return l.patchPipelineStatus(ctx, pipe, func(p *releasev1.ReleasePipeline) (bool, error) {
		return !recordRollback(p, rec), nil
	})
}

// recordRollback writes rec into p's status.rollbacks; it returns true when
// it was there already as it is.
func recordRollback(p *releasev1.ReleasePipeline, rec releasev1.RollbackRecord) bool {
	if r := p.Status.RollbackRecordOf(int(rec.Index)); r != nil {
		if equality.Semantic.DeepEqual(*r, rec) {
			return true
		}
		*r = rec
		return false
	}
	p.Status.Rollbacks = append(p.Status.Rollbacks, rec)
	return false
}

// committed records a commit that landed in stage ps: the stage's version,
// and its history. Unless it awaits its deployment the commit is live at
// once; otherwise it waits for Deployed and the live version stays.
func committed(p *releasev1.ReleasePipeline, ps *releasev1.PipelineStageStatus, c releasev1.PromotionRecord, awaits Awaits) {
	at := c.At
	ps.Release, ps.Version, ps.Commit, ps.PromotedAt, ps.DeployedAt = c.Release, c.Version, c.Commit, &at, nil
	if awaits.live() {
		ps.DeployedAt = &at
		ps.Live = &releasev1.LiveVersion{Version: c.Version, Release: c.Release, Commit: c.Commit, DeployedAt: at}
	}
	ps.History = append([]releasev1.PromotionRecord{c}, ps.History...)
	if len(ps.History) > historyLimit {
		ps.History = ps.History[:historyLimit]
	}
	p.Status.Live = p.LiveSummary()
}

// live: the commit is live once recorded.
func (a Awaits) live() bool { return a != AwaitsDeployment }

// holds: the stage stays held once the commit is recorded.
func (a Awaits) holds() bool { return a != AwaitsNothing }

// Deployed records that stage's GitOps agent deployed commit, the last one
// committed there (by rel's promotion, or by its rollback): the stage's
// deployedAt, and live is that version now. Unless it awaits its
// verification next, rel's lock on the stage is freed in the same write. It
// returns when the deployment was recorded: a Release that finds itself
// deployed again (its own status write lost) writes nothing and gets the
// time recorded the first time. A commit that is no longer the stage's last
// (another landed since) is not recorded: that one's own deployment will be.
func (l *StageLedger) Deployed(ctx context.Context, pipe *releasev1.ReleasePipeline, rel *releasev1.Release, stage, commit string, now time.Time, awaits Awaits) (metav1.Time, error) {
	at := metav1.NewTime(now)
	err := l.patchPipelineStatus(ctx, pipe, func(p *releasev1.ReleasePipeline) (bool, error) {
		at = metav1.NewTime(now)
		ps := stageEntry(p, stage)
		write := false
		if awaits != AwaitsVerification && ps.InFlight != nil && ps.InFlight.Release == rel.Name {
			ps.InFlight, write = nil, true
		}
		switch {
		case ps.Commit != commit:
		case ps.DeployedAt != nil:
			at = *ps.DeployedAt
		default:
			ps.DeployedAt = &at
			ps.Live = &releasev1.LiveVersion{Version: ps.Version, Release: ps.Release, Commit: ps.Commit, DeployedAt: at}
			p.Status.Live = p.LiveSummary()
			write = true
		}
		return write, nil
	})
	return at, err
}

// Free frees the named stages rel holds, or every stage it holds when none
// is named. A stage of a fan-out frees only its own: its siblings may still
// be promoting.
func (l *StageLedger) Free(ctx context.Context, pipe *releasev1.ReleasePipeline, rel *releasev1.Release, stages ...string) error {
	return l.patchPipelineStatus(ctx, pipe, func(p *releasev1.ReleasePipeline) (bool, error) {
		changed := false
		for i := range p.Status.Stages {
			if len(stages) > 0 && !slices.Contains(stages, p.Status.Stages[i].Name) {
				continue
			}
			if l := p.Status.Stages[i].InFlight; l != nil && l.Release == rel.Name {
				p.Status.Stages[i].InFlight = nil
				changed = true
			}
		}
		return changed, nil
	})
}

// Targets records what the targets of stage run, entry by entry (by
// name): the commit that landed a version in each, and when it was
// deployed there.
func (l *StageLedger) Targets(ctx context.Context, pipe *releasev1.ReleasePipeline, stage string, entries []releasev1.PipelineTargetStatus) error {
	return l.patchPipelineStatus(ctx, pipe, func(p *releasev1.ReleasePipeline) (bool, error) {
		ps := stageEntry(p, stage)
		write := false
		for _, e := range entries {
			k := slices.IndexFunc(ps.Targets, func(t releasev1.PipelineTargetStatus) bool { return t.Name == e.Name })
			switch {
			case k < 0:
				ps.Targets, write = append(ps.Targets, e), true
			case !equality.Semantic.DeepEqual(ps.Targets[k], e):
				ps.Targets[k], write = e, true
			}
		}
		return write, nil
	})
}

// writing reports whether a stage in phase p has a promotion being written
// or deployed.
func writing(p releasev1.StagePhase) bool {
	return p == releasev1.StagePromoting || p == releasev1.StageAwaitingMerge || p == releasev1.StageDeploying
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
func (l *StageLedger) patchPipelineStatus(ctx context.Context, pipe *releasev1.ReleasePipeline, mutate func(*releasev1.ReleasePipeline) (bool, error)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		fresh, err := l.freshPipeline(ctx, pipe)
		if err != nil {
			return err
		}
		orig := fresh.DeepCopy()
		write, err := mutate(fresh)
		if err != nil || !write {
			return err
		}
		if err := l.Writer.Status().Patch(ctx, fresh, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return err
		}
		fresh.DeepCopyInto(pipe)
		return nil
	})
}

// freshPipeline reads the pipeline from the API server.
func (l *StageLedger) freshPipeline(ctx context.Context, pipe *releasev1.ReleasePipeline) (*releasev1.ReleasePipeline, error) {
	fresh := &releasev1.ReleasePipeline{}
	err := l.Reader.Get(ctx, types.NamespacedName{Namespace: pipe.Namespace, Name: pipe.Name}, fresh)
	return fresh, err
}
