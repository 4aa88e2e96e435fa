package release

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/checklist"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// stallError is a fact that cannot be gathered until a person fixes the
// pipeline (a verify spec or a metrics gate that does not compile).
type stallError struct{ reason, message string }

func (e *stallError) Error() string { return e.message }

// gather collects what the gates of stage i decide on: the target's last
// failure, the QA checks, the metrics gate's measurements, the plan, the
// calendar, the blockers, the checklist, the required pipelines, the other
// members of its launch, and the stage's lock. A target still held ends the gathering: nothing else could
// change that decision, and nothing is read from GitHub for a stage that
// cannot go. An error is a *stallError, a GitHub error, or a transient one.
func (s *step) gather(ctx context.Context, i int) (gates.Snapshot, error) {
	stage := &s.pipe.Spec.Stages[i]
	snap := gates.Snapshot{Now: s.now, Release: s.rel, Stage: stage, Commit: s.rel.Status.Commit}
	if snap.Target = s.targetFacts(i); snap.Target != nil && gates.TargetRetry(*snap.Target, s.now).State != releasev1.GatePassed {
		return snap, nil
	}
	launch, err := LaunchOf(ctx, s.client, s.rel)
	if err != nil {
		return snap, err
	}
	// The Release as its launch carries it: the launch's milestone,
	// checklist and plan where the Release has none of its own.
	rel := carriedBy(s.rel, launch)
	snap.Release = rel
	snap.PreviousStage, snap.PreviousLandedAt = s.previousFacts(i)
	paused := rel.Spec.Paused
	if stage.Gates != nil && stage.Gates.Checks != nil && !paused {
		checks, err := s.gh.Checks(ctx, s.pipe.Spec.Source.Repository, rel.Status.Commit, stage.Gates.Checks.Required)
		if err != nil {
			return snap, err
		}
		snap.Checks = checks
	}
	if stage.Verify != nil {
		// A verification that cannot run must stop the promotion before it starts.
		if _, err := compileAnalysis(stage.Verify); err != nil {
			return snap, &stallError{releasev1.ReasonInvalidAnalysis, fmt.Sprintf("stage %s: verify: %v: fix the pipeline", stage.Name, err)}
		}
	}
	if stage.Gates != nil && len(stage.Gates.Metrics) > 0 && !paused {
		ms, err := s.measureGate(ctx, stage)
		if err != nil {
			return snap, &stallError{releasev1.ReasonInvalidAnalysis, fmt.Sprintf("stage %s: gates.metrics: %v: fix the pipeline", stage.Name, err)}
		}
		snap.Metrics = ms
	}
	if p := plannedFor(rel, stage.Name); p != nil {
		t := p.Time
		snap.Planned = &t
	}
	if snap.Calendar, err = s.calendarFacts(ctx, stage.Name); err != nil {
		return snap, err
	}
	if !paused {
		if snap.Blockers, err = s.blockerFacts(ctx, rel, i, s.target); err != nil {
			return snap, err
		}
	}
	if snap.Checklist, err = s.checklistFacts(ctx, rel, stage); err != nil {
		return snap, err
	}
	if snap.Dependencies, err = s.dependencyFacts(ctx, stage.Name); err != nil {
		return snap, err
	}
	if snap.Group, err = s.groupFacts(ctx, launch, i); err != nil {
		return snap, err
	}
	if launch != nil && launch.ApprovesFor(stage.Name) {
		snap.LaunchApprovals = &gates.LaunchApprovals{Launch: launch.Name, Approvals: launch.Spec.Approvals}
	}
	snap.Hold = s.holdFacts(stage.Name)
	snap.Lock, err = s.lockFacts(ctx, stage.Name)
	return snap, err
}

// previousFacts is the stage the soak of stage i counts from and since when
// the version is live there: of the stages i comes after, the one where it
// went live last (deployed; committed, for a stage without deployment), or
// one where it is not live yet (nil time). Both are nil for a stage after
// none.
func (s *step) previousFacts(i int) (*string, *time.Time) {
	var stage *string
	var latest *time.Time
	for _, j := range s.pipe.Spec.AfterIndexes(i) {
		name := s.pipe.Spec.Stages[j].Name
		at := liveSince(&s.rel.Status.Stages[j])
		if at == nil {
			return &name, nil
		}
		if latest == nil || at.After(*latest) {
			t := at.Time
			stage, latest = &name, &t
		}
	}
	return stage, latest
}

// holdFacts is the rollback on demand that holds stage, or nil.
func (s *step) holdFacts(stage string) *gates.HoldFacts {
	k := s.pipe.HeldBy(stage)
	if k < 0 {
		return nil
	}
	rb := s.pipe.Spec.Rollbacks[k]
	h := &gates.HoldFacts{Pipeline: s.pipe.Name, Stage: stage, Index: k, To: rb.To, By: rb.By, Reason: rb.Reason}
	if rb.At != nil {
		h.At = rb.At.Time
	}
	if rec := s.pipe.Status.RollbackRecordOf(k); rec != nil {
		h.From = rec.From
	}
	return h
}

// targetFacts is stage i's last failure to write its target, recorded as
// its target gate, or nil.
func (s *step) targetFacts(i int) *gates.TargetFacts {
	ss := &s.rel.Status.Stages[i]
	for _, g := range ss.Gates {
		if g.Name == gates.NameTarget && g.Status == releasev1.GateFailed && g.LastChecked != nil {
			return &gates.TargetFacts{Stage: ss.Name, Message: g.Message, FailedAt: g.LastChecked.Time,
				PipelineChanged: s.pipelineChanged, RetryAfter: conditions.RetryStalled}
		}
	}
	return nil
}

// lockFacts is the stage's lock as the cache shows it when another Release
// holds it, nil when it is free or ours. The cache may lag: taking the lock
// reads it again from the API server.
func (s *step) lockFacts(ctx context.Context, stage string) (*gates.LockFacts, error) {
	ps := s.pipe.Status.StageStatus(stage)
	if ps == nil || ps.InFlight == nil || ps.InFlight.Release == s.rel.Name {
		return nil, nil
	}
	return s.ledger.Facts(ctx, s.client, s.pipe.Namespace, ps.InFlight, stage)
}

// calendarFacts reads the pipeline's calendar for the stage. Nil without calendarRef.
func (s *step) calendarFacts(ctx context.Context, stage string) (*gates.CalendarFacts, error) {
	ref := s.pipe.Spec.CalendarRef
	if ref == nil {
		return nil, nil
	}
	f := &gates.CalendarFacts{Name: ref.Name}
	rc := &releasev1.ReleaseCalendar{}
	if err := s.client.Get(ctx, types.NamespacedName{Namespace: s.pipe.Namespace, Name: ref.Name}, rc); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
		f.Problem = fmt.Sprintf("ReleaseCalendar %q not found in namespace %s: create it or fix the pipeline's calendarRef", ref.Name, s.pipe.Namespace)
		return f, nil
	}
	cal, err := s.calendar(rc)
	if err != nil {
		f.Problem = err.Error() + ": fix the calendar"
		return f, nil
	}
	st := cal.At(stage, s.now)
	f.Open, f.Reason, f.Location = st.Open, st.Reason, cal.Location()
	if next, _, ok := cal.NextChange(stage, s.now); ok {
		f.Next = next
	}
	return f, nil
}

// milestonesOf returns the Milestones the Release belongs to: the one its
// spec.milestone names and those whose selector matches its labels.
func milestonesOf(ctx context.Context, c client.Reader, rel *releasev1.Release) ([]releasev1.Milestone, []string, error) {
	var list releasev1.MilestoneList
	if err := c.List(ctx, &list, client.InNamespace(rel.Namespace)); err != nil {
		return nil, nil, err
	}
	var out []releasev1.Milestone
	found := rel.Spec.Milestone == ""
	for _, m := range list.Items {
		switch {
		case m.Name == rel.Spec.Milestone:
			found = true
		case m.Spec.Selector != nil:
			sel, err := metav1.LabelSelectorAsSelector(m.Spec.Selector)
			if err != nil || !sel.Matches(labels.Set(rel.Labels)) {
				continue
			}
		default:
			continue
		}
		out = append(out, m)
	}
	var missing []string
	if !found {
		missing = append(missing, rel.Spec.Milestone)
	}
	return out, missing, nil
}

// blockerFacts gathers the stage's blockers: the stage's issue search, and the
// open blockers of the milestones of rel (the Release as its launch carries
// it) whose target is this stage.
func (s *step) blockerFacts(ctx context.Context, rel *releasev1.Release, i, target int) (*gates.BlockerFacts, error) {
	stage := &s.pipe.Spec.Stages[i]
	f := &gates.BlockerFacts{}
	if stage.Gates != nil && stage.Gates.Blockers != nil {
		f.Query = stage.Gates.Blockers.Query
		total, items, err := s.searchBlockers(ctx, blockerQuery(f.Query))
		switch {
		case github.KindOf(err) == github.KindInvalid:
			f.QueryProblem = err.Error()
		case err != nil:
			return nil, err
		}
		f.SearchTotal, f.Search = total, items
	}
	ms, missing, err := milestonesOf(ctx, s.client, rel)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 && i == target {
		f.Milestone = missing[0]
		f.MilestoneProblem = fmt.Sprintf("Milestone %q not found in namespace %s: create it or fix spec.milestone", missing[0], rel.Namespace)
		return f, nil
	}
	for _, m := range ms {
		at := target
		if m.Spec.TargetStage != "" {
			at = s.pipe.StageIndex(m.Spec.TargetStage)
		}
		if at != i {
			continue
		}
		if f.Milestone != "" {
			f.Milestone += ", "
		}
		f.Milestone += m.Name
		f.MilestoneTotal += int(m.Status.BlockerCount)
		for _, b := range m.Status.Blockers {
			f.MilestoneBlockers = append(f.MilestoneBlockers, gates.Blocker{Number: b.Number, Title: b.Title, URL: b.URL})
		}
	}
	if f.Query == "" && f.Milestone == "" {
		return nil, nil
	}
	return f, nil
}

// searchBlockers runs the stage's blocker search (one request; the first 100
// matches are named, the total is counted).
func (s *step) searchBlockers(ctx context.Context, q string) (int, []gates.Blocker, error) {
	total, items, err := s.gh.SearchIssues(ctx, q)
	if err != nil {
		return 0, nil, err
	}
	out := make([]gates.Blocker, 0, len(items))
	for _, it := range items {
		out = append(out, gates.Blocker{Number: it.Number, Title: it.Title, URL: it.URL})
	}
	return total, out, nil
}

// blockerQuery restricts a user's search to open issues.
func blockerQuery(q string) string {
	return q + " is:issue is:open"
}

// liveSince is when the version went live in a stage: deployedAt, else
// (a status written before deployedAt existed) the landing.
func liveSince(ss *releasev1.ReleaseStageStatus) *metav1.Time {
	if ss.DeployedAt != nil {
		return ss.DeployedAt
	}
	if ss.Phase == releasev1.StageDeploying || ss.Promotion == nil {
		return nil
	}
	return ss.Promotion.CompletedAt
}

// checklistFacts reads the launch checklist of rel (the Release as its
// launch carries it) for a stage with gates.launchChecklist.
func (s *step) checklistFacts(ctx context.Context, rel *releasev1.Release, stage *releasev1.Stage) (*gates.ChecklistFacts, error) {
	if stage.Gates == nil || !stage.Gates.LaunchChecklist {
		return nil, nil
	}
	f := &gates.ChecklistFacts{Name: rel.Spec.LaunchChecklist}
	if f.Name == "" {
		return f, nil
	}
	lc := &releasev1.LaunchChecklist{}
	if err := s.client.Get(ctx, types.NamespacedName{Namespace: s.rel.Namespace, Name: f.Name}, lc); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
		where := "spec.launchChecklist"
		if s.rel.Spec.LaunchChecklist == "" {
			where = "the launch's spec.launchChecklist"
		}
		f.Problem = fmt.Sprintf("LaunchChecklist %q not found in namespace %s: create it or fix %s", f.Name, s.rel.Namespace, where)
		return f, nil
	}
	// Only a status that describes the current spec counts: a sign-off just
	// added is not ready until the checklist controller has seen it.
	f.Ready = lc.Status.Ready && lc.Status.ObservedGeneration == lc.Generation
	f.Done, f.Total, f.Open = lc.Status.Done, lc.Status.Total, checklist.Open(lc)
	if f.Open == "" && !f.Ready {
		f.Open = "not evaluated yet"
	}
	return f, nil
}

// gatherFailed turns a failure to gather the facts into a stall (the
// pipeline must be fixed), a GitHub disposition, or a transient error.
func (s *step) gatherFailed(err error) (reconcile.Outcome, error) {
	var st *stallError
	switch {
	case errors.As(err, &st):
		s.stall(st.reason, st.message)
		return reconcile.WaitFor(conditions.RetryStalled, reconcile.WaitFix), nil
	case github.KindOf(err) != "":
		return s.githubError(err)
	}
	return reconcile.Stop(), err
}
