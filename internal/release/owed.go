package release

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// How a GitHub record turned away is owed (records.go): noted in
// status.pendingRecords with why, and when the records owed are tried
// again.

// owedRecord returns the record of kind that rel owes for stage, or nil.
func owedRecord(rel *releasev1.Release, kind releasev1.RecordKind, stage string) *releasev1.PendingRecord {
	return owedRecordOf(rel, kind, stage, "")
}

// owedRecordOf returns the record of kind that rel owes for target of stage
// ("" for the stage's own), or nil.
func owedRecordOf(rel *releasev1.Release, kind releasev1.RecordKind, stage, target string) *releasev1.PendingRecord {
	for i := range rel.Status.PendingRecords {
		if p := &rel.Status.PendingRecords[i]; p.Kind == kind && p.Stage == stage && p.Target == target {
			return p
		}
	}
	return nil
}

// owe records that rec could not be written, because of err.
func (s *step) owe(rec releasev1.PendingRecord, err error) {
	rec.Since = metav1.NewTime(s.now)
	s.turnedAway(&rec, err)
	if owed := owedRecordOf(s.rel, rec.Kind, rec.Stage, rec.Target); owed != nil {
		owed.State, owed.Description, owed.Message = rec.State, rec.Description, rec.Message
		return
	}
	s.rel.Status.PendingRecords = append(s.rel.Status.PendingRecords, rec)
}

// recordRetry bounds how soon a record GitHub failed to write (not the write
// budget, which says when) is tried again.
const recordRetry = time.Second

// turnedAway notes on rec why it was not written and when the records owed
// are tried again: at the budget's next slot, when GitHub said, or after a
// failure a while later.
func (s *step) turnedAway(rec *releasev1.PendingRecord, err error) {
	what := recordName(rec)
	retry := s.now.Add(max(s.pollInterval, recordRetry))
	reason := releasev1.ReasonGitHubUnavailable
	d, ok := reconcile.GitHub(err, githubFixes)
	switch {
	case ok && !d.NextSlot.IsZero():
		s.waitsForSlot(rec, d.NextSlot)
		return
	case ok:
		rec.Message = fmt.Sprintf("%s not written yet: %s", what, d.Message(err))
		reason = d.Reason
		if d.RetryAfter > 0 {
			retry = s.now.Add(d.RetryAfter)
		}
		if d.Refused {
			s.credentials.Refused(s.pipe)
		}
	default:
		rec.Message = fmt.Sprintf("%s not written yet: %v; retrying", what, err)
	}
	rec.Message = trim(rec.Message, 1024)
	s.retryRecords(retry, reason)
}

// waitsForSlot notes on rec that it waits for the write budget's slot at
// next. The message does not say when: it would change, and be written to
// the API server, at every try.
func (s *step) waitsForSlot(rec *releasev1.PendingRecord, next time.Time) {
	rec.Message = recordName(rec) + " waiting for GitHub's write budget"
	s.retryRecords(next, releasev1.ReasonGitHubWriteBudget)
}

// retryRecords has the records owed tried again at retry (or sooner).
func (s *step) retryRecords(retry time.Time, reason string) {
	if s.records.retry.IsZero() || retry.Before(s.records.retry) {
		s.records.retry = retry
	}
	s.records.reason = reason
}

// recordSlot is when the credential's write budget has a slot for a record,
// and whether that is later than now (false when writes are unpaced).
func (s *step) recordSlot() (time.Time, bool) {
	b, ok := s.gh.(interface{ WriteBudget() *github.Budget })
	if !ok {
		return time.Time{}, false
	}
	// Releases owing records come back one after another, each at a slot
	// of its own, rather than all at the next one.
	next := b.WriteBudget().Promise(github.PriorityRecord, s.rel.Namespace+"/"+s.rel.Name)
	// A free slot is the budget's "now", which the step's time precedes:
	// compare with the clock read after the budget's answer.
	return next, next.After(s.clock.Now())
}

// recordName says which record rec is, for people.
func recordName(rec *releasev1.PendingRecord) string {
	if rec.Kind == releasev1.RecordPostmortem {
		return "postmortem issue of " + rec.Stage
	}
	where := rec.Stage
	if rec.Target != "" {
		where = targetWhere(rec.Stage, rec.Target)
	}
	if rec.State == "" {
		return "deployment record of " + where
	}
	return fmt.Sprintf("deployment record of %s (%s)", where, rec.State)
}

// targetWhere names one target of a stage in trailers, agents' requests
// and GitHub records (prod/us-east).
func targetWhere(stage, target string) string { return stage + "/" + target }

// recordContext marks a record's writes: last in the write budget, and never
// waiting for a slot in a reconcile (a record turned away is owed instead,
// so no worker waits for a record).
func recordContext(ctx context.Context) context.Context {
	return github.WithWriteWait(github.WithPriority(ctx, github.PriorityRecord), 0)
}

// recordNotWritten logs and announces a GitHub record that is owed.
func (s *step) recordNotWritten(ctx context.Context, stage, what string, err error) {
	ctrl.LoggerFrom(ctx).Info("GitHub record not written yet; owed", "stage", stage, "record", what, "error", err.Error())
	if s.recorder != nil {
		s.recorder.Eventf(s.rel, nil, corev1.EventTypeWarning, releasev1.ReasonDeploymentNotRecorded, "RecordDeployment",
			"stage %s: the %s is not written yet, it is owed and written later: %v", stage, what, err)
	}
}
