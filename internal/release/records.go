package release

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/credentials"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// A Release's GitHub records (its deployments and their statuses, its
// postmortem issues) report what Liftoff did and never hold a promotion.
// Their writes go last in the credential's write budget, so they may be
// turned away, by the budget or by GitHub: such a record is owed. It waits
// in status.pendingRecords, the RecordsPending condition says so, and later
// reconciles write the records owed, oldest first, until none is left, even
// once the Release is done. Each is written once: a deployment is looked up
// by its payload before it is created, a status by the deployment's latest
// state, a postmortem by its marker.

// records is what the steps of one reconcile know of the records owed.
type records struct {
	// settled: the records owed were tried in this reconcile.
	settled bool
	// retry is when the records still owed are tried again; zero when
	// none was turned away in this reconcile.
	retry time.Time
	// reason is the reason of the last refusal.
	reason string
}

// recordContext marks a record's writes: last in the write budget, and never
// waiting for a slot in a reconcile (a record turned away is owed instead,
// so no worker waits for a record).
func recordContext(ctx context.Context) context.Context {
	return github.WithWriteWait(github.WithPriority(ctx, github.PriorityRecord), 0)
}

// owedRecord returns the record of kind that rel owes for stage, or nil.
func owedRecord(rel *releasev1.Release, kind releasev1.RecordKind, stage string) *releasev1.PendingRecord {
	for i := range rel.Status.PendingRecords {
		if p := &rel.Status.PendingRecords[i]; p.Kind == kind && p.Stage == stage {
			return p
		}
	}
	return nil
}

// owe records that rec could not be written, because of err.
func (s *step) owe(rec releasev1.PendingRecord, err error) {
	rec.Since = metav1.NewTime(s.now)
	s.turnedAway(&rec, err)
	if owed := owedRecord(s.rel, rec.Kind, rec.Stage); owed != nil {
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
	if rec.State == "" {
		return "deployment record of " + rec.Stage
	}
	return fmt.Sprintf("deployment record of %s (%s)", rec.Stage, rec.State)
}

// settleRecords writes the records owed, oldest first, once per reconcile.
// While the write budget has no slot for records, nothing is asked of GitHub
// (not even the reads that find a record written before): the records wait
// for the slot.
func (s *step) settleRecords(ctx context.Context) {
	if s.records.settled || len(s.rel.Status.PendingRecords) == 0 {
		return
	}
	s.records.settled = true
	var kept []releasev1.PendingRecord
	for _, rec := range s.rel.Status.PendingRecords {
		if next, later := s.recordSlot(); later {
			s.waitsForSlot(&rec, next)
			kept = append(kept, rec)
			continue
		}
		if err := s.writeOwed(ctx, &rec); err != nil {
			s.turnedAway(&rec, err)
			kept = append(kept, rec)
		}
	}
	s.rel.Status.PendingRecords = kept
}

// writeOwed writes one record owed. A record whose stage or promotion is
// gone (the pipeline changed) has nowhere to go: it is dropped, and logged.
func (s *step) writeOwed(ctx context.Context, rec *releasev1.PendingRecord) error {
	i := s.pipe.StageIndex(rec.Stage)
	if i < 0 {
		ctrl.LoggerFrom(ctx).Info("Dropping a GitHub record owed for a stage no longer in the pipeline", "record", recordName(rec))
		return nil
	}
	ss := &s.rel.Status.Stages[i]
	switch rec.Kind {
	case releasev1.RecordPostmortem:
		if ss.Postmortem != nil || s.pipe.Spec.Stages[i].Postmortem == nil {
			return nil
		}
		issue, err := s.openPostmortem(ctx, i, owedFailure(ss, rec.Description), rec.Since.Time)
		if err == nil {
			ss.Postmortem = issue
		}
		return err
	default:
		if ss.Promotion == nil {
			ctrl.LoggerFrom(ctx).Info("Dropping a GitHub record owed for a promotion no longer in status", "record", recordName(rec))
			return nil
		}
		return s.deploy(ctx, ss, true, rec.State, rec.Description)
	}
}

// recordNotWritten logs and announces a GitHub record that is owed.
func (s *step) recordNotWritten(ctx context.Context, stage, what string, err error) {
	ctrl.LoggerFrom(ctx).Info("GitHub record not written yet; owed", "stage", stage, "record", what, "error", err.Error())
	if s.recorder != nil {
		s.recorder.Eventf(s.rel, nil, corev1.EventTypeWarning, releasev1.ReasonDeploymentNotRecorded, "RecordDeployment",
			"stage %s: the %s is not written yet, it is owed and written later: %v", stage, what, err)
	}
}

// settleOnly is the step of a Release that is done (released, failed,
// superseded): nothing is left to do but the records it owes.
func (s *step) settleOnly(ctx context.Context) (reconcile.Outcome, error) {
	if len(s.rel.Status.PendingRecords) == 0 {
		return reconcile.Stop(), nil
	}
	gh, err := s.credentials.GitHub(ctx, s.pipe)
	if err != nil {
		var ce *credentials.Error
		if errors.As(err, &ce) {
			s.records.reason = ce.Reason
			return reconcile.WaitFor(conditions.RetryStalled, reconcile.WaitRecords), nil
		}
		return reconcile.Stop(), err
	}
	s.gh = gh
	s.settleRecords(ctx)
	return reconcile.Stop(), nil
}

// noteRecords writes the RecordsPending condition from the records owed.
func (s *step) noteRecords() {
	rel := s.rel
	if len(rel.Status.PendingRecords) == 0 {
		meta.RemoveStatusCondition(&rel.Status.Conditions, releasev1.ConditionRecordsPending)
		return
	}
	reason := s.records.reason
	if reason == "" {
		if c := meta.FindStatusCondition(rel.Status.Conditions, releasev1.ConditionRecordsPending); c != nil {
			reason = c.Reason
		} else {
			reason = releasev1.ReasonGitHubWriteBudget
		}
	}
	msgs := make([]string, 0, len(rel.Status.PendingRecords))
	for _, rec := range rel.Status.PendingRecords {
		msgs = append(msgs, rec.Message)
	}
	meta.SetStatusCondition(&rel.Status.Conditions, metav1.Condition{Type: releasev1.ConditionRecordsPending, Status: metav1.ConditionTrue,
		Reason: reason, Message: trim(strings.Join(msgs, "; "), 4096), ObservedGeneration: rel.Generation})
}

// owing makes out come back when the records owed are due: by the last
// refusal's retry, else (none was tried in this reconcile) after the poll
// interval. A Release that owes records never stops.
func (s *step) owing(out reconcile.Outcome) reconcile.Outcome {
	if len(s.rel.Status.PendingRecords) == 0 {
		return out
	}
	due := s.records.retry
	if due.IsZero() {
		due = s.now.Add(s.pollInterval)
	}
	return out.NoLaterThan(due, s.now, reconcile.WaitRecords)
}
