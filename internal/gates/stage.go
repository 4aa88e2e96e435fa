package gates

import (
	"fmt"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// LockFacts is what was observed of a stage's lock held by another Release.
type LockFacts struct {
	// Stage is the stage locked.
	Stage string
	// Holder is the Release that holds the lock, since Since.
	Holder string
	Since  time.Time
	// HolderGone: the holder was deleted. HolderDone: it failed, was
	// superseded or released.
	HolderGone, HolderDone bool
	// HolderPromoting: the holder records that it promotes into the stage
	// (or waits for its pull request's merge).
	HolderPromoting bool
	// StaleAfter is how long a holder that is not promoting keeps the lock.
	StaleAfter time.Duration
}

// Stale reports whether the holder no longer promotes: deleted, finished,
// or not promoting for longer than StaleAfter (it took the lock and crashed
// before recording that it was promoting). A stale lock may be taken over.
func (l LockFacts) Stale(now time.Time) bool {
	switch {
	case l.HolderGone, l.HolderDone:
		return true
	case l.HolderPromoting:
		return false
	}
	return now.Sub(l.Since) > l.StaleAfter
}

// StageBusy holds a promotion while another Release promotes into the
// stage: one promotion in flight per stage.
func StageBusy(l LockFacts, now time.Time) Result {
	r := Result{Name: NameStage}
	if l.Stale(now) {
		r.State, r.Reason = releasev1.GatePassed, releasev1.ReasonStageFree
		r.Message = fmt.Sprintf("%s is free: release %s no longer promotes into it", l.Stage, l.Holder)
		return r
	}
	r.State, r.Reason = releasev1.GatePending, releasev1.ReasonStageBusy
	r.Message = fmt.Sprintf("%s is busy: release %s is being promoted into it", l.Stage, l.Holder)
	return r
}

// TargetFacts is a stage's last failed attempt to write the version into
// its target (a missing file, image entry or path).
type TargetFacts struct {
	// Stage whose target failed.
	Stage string
	// Message says what was wrong; FailedAt is when it was found.
	Message  string
	FailedAt time.Time
	// PipelineChanged: the pipeline changed since, which may fix the target.
	PipelineChanged bool
	// RetryAfter is how long an invalid target is left alone: a person may
	// fix the repository, which no watch reports.
	RetryAfter time.Duration
}

// TargetRetry holds a stage whose target was found invalid until RetryAfter
// has passed or the pipeline changed: otherwise every pipeline status
// change would start a doomed promotion again.
func TargetRetry(t TargetFacts, now time.Time) Result {
	r := Result{Name: NameTarget}
	left := t.FailedAt.Add(t.RetryAfter).Sub(now)
	if t.PipelineChanged || left <= 0 {
		r.State, r.Reason = releasev1.GatePassed, releasev1.ReasonRetryingTarget
		r.Message = fmt.Sprintf("stage %s: trying the target again", t.Stage)
		return r
	}
	r.State, r.Reason = releasev1.GateFailed, releasev1.ReasonTargetInvalid
	r.Message = fmt.Sprintf("stage %s: %s: fix the file or the pipeline's target", t.Stage, t.Message)
	r.RecheckAfter = left
	return r
}
