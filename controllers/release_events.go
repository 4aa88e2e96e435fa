package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// emitEvents records what changed between two statuses that a person cares
// about: a promotion started or landed, a stage blocked, the Release released,
// superseded, failed, or stalled. Polls that change nothing emit nothing.
func (r *ReleaseReconciler) emitEvents(before, after *releasev1.Release) {
	if r.Recorder == nil {
		return
	}
	emit := func(eventType, reason, action, format string, args ...any) {
		r.Recorder.Eventf(after, nil, eventType, reason, action, format, args...)
	}
	for _, ss := range after.Status.Stages {
		old := before.Status.StageStatus(ss.Name)
		oldPhase := releasev1.StagePhase("")
		if old != nil {
			oldPhase = old.Phase
		}
		if oldPhase == ss.Phase {
			continue
		}
		switch ss.Phase {
		case releasev1.StagePromoting:
			emit(corev1.EventTypeNormal, releasev1.ReasonPromoting, "Promote", "Promoting %s into %s", after.Spec.Version, ss.Name)
		case releasev1.StageAwaitingMerge:
			emit(corev1.EventTypeNormal, releasev1.ReasonAwaitingMerge, "Promote", "Stage %s: %s", ss.Name, ss.Message)
		case releasev1.StagePromoted:
			emit(corev1.EventTypeNormal, releasev1.ReasonPromoted, "Promote", "Stage %s: %s", ss.Name, ss.Message)
		case releasev1.StageVerifying:
			emit(corev1.EventTypeNormal, releasev1.ReasonVerifying, "Verify", "Stage %s: %s", ss.Name, ss.Message)
		case releasev1.StageRolledBack:
			emit(corev1.EventTypeWarning, releasev1.ReasonRolledBack, "Rollback", "Stage %s: %s", ss.Name, ss.Message)
		case releasev1.StageFailed:
			emit(corev1.EventTypeWarning, releasev1.ReasonPromotionFailed, "Promote", "Stage %s: %s", ss.Name, ss.Message)
		}
	}
	was := meta.FindStatusCondition(before.Status.Conditions, releasev1.ConditionReady)
	now := meta.FindStatusCondition(after.Status.Conditions, releasev1.ConditionReady)
	if now == nil || (was != nil && was.Reason == now.Reason && was.Message == now.Message) {
		return
	}
	switch now.Reason {
	case releasev1.ReasonReleased, releasev1.ReasonSuperseded:
		emit(corev1.EventTypeNormal, now.Reason, "Release", "%s", now.Message)
	case releasev1.ReasonGateFailed, releasev1.ReasonPaused, releasev1.ReasonCommitNotFound:
		emit(corev1.EventTypeWarning, releasev1.ReasonBlocked, "Gate", "%s", now.Message)
	case releasev1.ReasonPipelineNotFound, releasev1.ReasonStageNotFound, releasev1.ReasonSecretNotFound, releasev1.ReasonSecretInvalid,
		releasev1.ReasonTargetInvalid, releasev1.ReasonRepositoryNotFound, releasev1.ReasonGitHubUnauthorized, releasev1.ReasonInvalidSpec,
		releasev1.ReasonPullRequestClosed, releasev1.ReasonInvalidAnalysis:
		emit(corev1.EventTypeWarning, now.Reason, "Reconcile", "%s", now.Message)
	case releasev1.ReasonGitHubRateLimited, releasev1.ReasonGitHubUnavailable:
		if was == nil || was.Reason != now.Reason {
			emit(corev1.EventTypeWarning, now.Reason, "CallGitHub", "%s", now.Message)
		}
	}
}
