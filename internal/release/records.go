package release

import (
	"context"
	"errors"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/credentials"
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
		if rec.Target != "" {
			return s.writeOwedTarget(ctx, i, rec)
		}
		if ss.Promotion == nil {
			ctrl.LoggerFrom(ctx).Info("Dropping a GitHub record owed for a promotion no longer in status", "record", recordName(rec))
			return nil
		}
		return s.deploy(ctx, ss, true, rec.State, rec.Description)
	}
}

// writeOwedTarget writes a deployment record owed for a target of stage i.
// A target gone from the stage (the pipeline changed) is dropped, and logged.
func (s *step) writeOwedTarget(ctx context.Context, i int, rec *releasev1.PendingRecord) error {
	for k, ts := range s.rel.Status.Stages[i].Targets {
		if ts.Name == rec.Target && k < len(s.pipe.Spec.Stages[i].Targets) && s.pipe.Spec.Stages[i].Targets[k].Name == ts.Name {
			return s.deployTarget(ctx, i, k, true, rec.State, rec.Description)
		}
	}
	ctrl.LoggerFrom(ctx).Info("Dropping a GitHub record owed for a target no longer in the stage", "record", recordName(rec))
	return nil
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
