package controllers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/credentials"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/milestone"
	lreconcile "github.com/liftoff-dev/liftoff/internal/reconcile"
)

// syncFailure is why GitHub could not be read. stalled: a person must fix
// the spec, a Secret or GitHub; otherwise it is retried (after retryAfter
// when GitHub said how long, else with backoff through err).
type syncFailure struct {
	reason, message string
	stalled         bool
	retryAfter      time.Duration
	err             error
}

// readGitHub reads the GitHub milestone and its issues.
func (s *milestoneSync) readGitHub(ctx context.Context, releases []releasev1.Release) (*milestone.IssueStats, *syncFailure) {
	spec := s.ms.Spec.GitHub
	gh, f := s.githubClient(ctx, releases)
	if f != nil {
		return nil, f
	}
	m, err := gh.GetMilestone(ctx, spec.Repository, spec.Milestone)
	if err != nil {
		return nil, s.githubFailure(err, fmt.Sprintf("fix spec.github.milestone (an exact title or a number) or create the milestone in %s", spec.Repository))
	}
	issues, err := gh.MilestoneIssues(ctx, spec.Repository, m.Number)
	if err != nil {
		return nil, s.githubFailure(err, fmt.Sprintf("check spec.github.repository %s and its credential", spec.Repository))
	}
	in := make([]milestone.Issue, 0, len(issues))
	for _, is := range issues {
		in = append(in, milestone.Issue{Number: is.Number, Title: is.Title, URL: is.URL, Open: is.Open(), Labels: is.Labels, CreatedAt: is.CreatedAt, ClosedAt: is.ClosedAt})
	}
	st := milestone.Stats(s.now, in, s.ms.Spec.BlockerLabels)
	return &st, nil
}

// githubClient uses spec.github's apiURL and secretRef when either is set,
// otherwise the GitHub settings of the pipeline of the first Release.
func (s *milestoneSync) githubClient(ctx context.Context, releases []releasev1.Release) (*github.Client, *syncFailure) {
	spec, ms := s.ms.Spec.GitHub, s.ms
	var c *github.Client
	var err error
	switch {
	case spec.SecretRef != nil || spec.APIURL != "":
		s.secretRef = spec.SecretRef
		c, err = s.r.Credentials.GitHub(ctx, ms.Namespace, spec.APIURL, spec.SecretRef, "milestone "+ms.Name)
	case len(releases) == 0:
		return nil, &syncFailure{stalled: true, reason: releasev1.ReasonWaitingForRelease,
			message: "no GitHub credential: set spec.github.secretRef (and apiURL for GitHub Enterprise), or name this milestone in a Release's spec.milestone to use its pipeline's credential"}
	default:
		pipe := &releasev1.ReleasePipeline{}
		name := releases[0].Spec.Pipeline
		if err := s.r.Get(ctx, types.NamespacedName{Namespace: ms.Namespace, Name: name}, pipe); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, &syncFailure{stalled: true, reason: releasev1.ReasonPipelineNotFound,
					message: fmt.Sprintf("ReleasePipeline %q of Release %s (whose GitHub credential this milestone uses) not found: create it, or set spec.github.secretRef", name, releases[0].Name)}
			}
			return nil, &syncFailure{reason: releasev1.ReasonGitHubUnavailable, message: err.Error(), err: err}
		}
		s.secretRef = pipe.Spec.GitHub.SecretRef
		c, err = s.r.Credentials.ForPipeline(ctx, pipe)
	}
	if err != nil {
		var ce *credentials.Error
		if errors.As(err, &ce) {
			return nil, &syncFailure{stalled: true, reason: ce.Reason, message: ce.Error()}
		}
		return nil, &syncFailure{reason: releasev1.ReasonGitHubUnavailable, message: "reading the credential: " + err.Error(), err: err}
	}
	return c, nil
}

// githubFailure says why GitHub could not be read, as reconcile.GitHub does;
// notFound says what a person should do when the milestone or repository is
// not found.
func (s *milestoneSync) githubFailure(err error, notFound string) *syncFailure {
	d, ok := lreconcile.GitHub(err, lreconcile.Fixes{NotFoundReason: releasev1.ReasonMilestoneNotFound, NotFound: notFound,
		Unauthorized: "the token cannot read the repository's issues; fix the Secret's `token`"})
	if !ok {
		return &syncFailure{reason: releasev1.ReasonGitHubUnavailable, message: err.Error(), err: err}
	}
	if d.Refused {
		s.r.Credentials.Forget(s.ms.Namespace, s.secretRef)
	}
	f := &syncFailure{reason: d.Reason, message: d.Message(err), stalled: d.Stalled, retryAfter: d.RetryAfter}
	if !d.Stalled && d.RetryAfter == 0 {
		f.err = err // backoff
	}
	return f
}

// failed records why GitHub was not read; what was read before stays.
func (s *milestoneSync) failed(f *syncFailure) (lreconcile.Outcome, error) {
	msg := f.message
	if last := s.ms.Status.LastSynced; last != nil && !f.stalled {
		msg += "; keeping what was read at " + last.UTC().Format(time.RFC3339)
	}
	if f.stalled {
		s.stall(f.reason, msg)
		return lreconcile.WaitFor(s.pollInterval(), lreconcile.WaitFix), nil
	}
	conditions.Set(&s.ms.Status.Conditions, s.ms.Generation, conditions.Reconciling(f.reason, msg))
	if f.err != nil {
		return lreconcile.Stop(), fmt.Errorf("reading GitHub milestone: %w", f.err) // backoff
	}
	if f.retryAfter <= 0 {
		return lreconcile.Stop(), nil
	}
	return lreconcile.WaitFor(f.retryAfter, lreconcile.WaitGitHub), nil
}

func (s *milestoneSync) stall(reason, message string) {
	conditions.Set(&s.ms.Status.Conditions, s.ms.Generation, conditions.Stalled(reason, message))
}

func (s *milestoneSync) ready(reason, message string) {
	conditions.Set(&s.ms.Status.Conditions, s.ms.Generation, conditions.Ready(reason, message))
}

func readyCondition(st *releasev1.MilestoneStatus) *metav1.Condition {
	return meta.FindStatusCondition(st.Conditions, releasev1.ConditionReady)
}

// applyStats writes the issue part of the status.
func applyStats(ms *releasev1.Milestone, st *milestone.IssueStats) {
	out := &ms.Status
	out.OpenIssues, out.ClosedIssues, out.Percent, out.Progress = st.Open, st.Closed, st.Percent, st.Progress
	out.Blockers, out.BlockerCount = st.Blockers, st.BlockerCount
	out.ClosingRate = milestone.FormatRate(st.PerWeek)
	out.Forecast = nil
	if st.Forecast != nil {
		t := metav1.NewTime(*st.Forecast)
		out.Forecast = &t
	}
}

// statsFromStatus is the issue part as last read, for reconciles between reads.
func statsFromStatus(st *releasev1.MilestoneStatus) *milestone.IssueStats {
	out := &milestone.IssueStats{Open: st.OpenIssues, Closed: st.ClosedIssues, Percent: st.Percent, Progress: st.Progress,
		Blockers: st.Blockers, BlockerCount: st.BlockerCount}
	out.PerWeek, _ = strconv.ParseFloat(st.ClosingRate, 64) // written by FormatRate; "" reads as 0
	if st.Forecast != nil {
		t := st.Forecast.Time
		out.Forecast = &t
	}
	return out
}

// emitHealthEvent announces a health change, and nothing else.
func (r *MilestoneReconciler) emitHealthEvent(before, after *releasev1.Milestone) {
	if r.Recorder == nil || before.Status.Health == after.Status.Health || after.Status.Health == "" {
		return
	}
	eventType := corev1.EventTypeNormal
	switch after.Status.Health {
	case releasev1.HealthAtRisk, releasev1.HealthLate, releasev1.HealthMissed:
		eventType = corev1.EventTypeWarning
	}
	msg := ""
	if c := readyCondition(&after.Status); c != nil {
		msg = c.Message
	}
	from := string(before.Status.Health)
	if from == "" {
		from = "none"
	}
	r.Recorder.Eventf(after, nil, eventType, releasev1.ReasonHealthChanged, "Track", "Health %s → %s: %s", from, after.Status.Health, msg)
}
