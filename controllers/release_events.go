package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// emitEvents records what changed between two statuses that a person cares
// about: a promotion started, landed or deployed, a stage blocked, the
// Release released, superseded, failed, or stalled. Polls that change
// nothing emit nothing.
func (r *ReleaseReconciler) emitEvents(before, after *releasev1.Release) {
	if r.Recorder == nil {
		return
	}
	emit := func(eventType, reason, action, format string, args ...any) {
		r.Recorder.Eventf(after, nil, eventType, reason, action, format, args...)
	}
	for _, ss := range after.Status.Stages {
		old := before.Status.StageStatus(ss.Name)
		if old == nil {
			old = &releasev1.ReleaseStageStatus{}
		}
		r.emitDeploymentEvents(after, old, &ss)
		if old.Phase == ss.Phase {
			continue
		}
		switch ss.Phase {
		case releasev1.StagePromoting:
			emit(corev1.EventTypeNormal, releasev1.ReasonPromoting, "Promote", "Promoting %s into %s", after.Spec.Version, ss.Name)
		case releasev1.StageAwaitingMerge:
			emit(corev1.EventTypeNormal, releasev1.ReasonAwaitingMerge, "Promote", "Stage %s: %s", ss.Name, ss.Message)
		case releasev1.StageDeploying:
			emit(corev1.EventTypeNormal, releasev1.ReasonDeploying, "Deploy", "Stage %s: %s", ss.Name, ss.Message)
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
		releasev1.ReasonPullRequestClosed, releasev1.ReasonInvalidAnalysis,
		releasev1.ReasonAgentNotFound, releasev1.ReasonAgentForbidden, releasev1.ReasonKubeConfigInvalid, releasev1.ReasonAgentRevisionUnknown:
		emit(corev1.EventTypeWarning, now.Reason, "Reconcile", "%s", now.Message)
	case releasev1.ReasonGitHubRateLimited, releasev1.ReasonGitHubUnavailable:
		if was == nil || was.Reason != now.Reason {
			emit(corev1.EventTypeWarning, now.Reason, "CallGitHub", "%s", now.Message)
		}
	}
}

// emitDeploymentEvents announces what a stage's GitOps agent changed: the
// promotion or its rollback deployed (Deployed), or failed to be
// (DeployFailed, DeployTimeout). A stage without deployment, whose commit
// counts as live, announces nothing here.
func (r *ReleaseReconciler) emitDeploymentEvents(rel *releasev1.Release, old, ss *releasev1.ReleaseStageStatus) {
	emit := func(eventType, reason, format string, args ...any) {
		r.Recorder.Eventf(rel, nil, eventType, reason, "Deploy", format, args...)
	}
	if d := ss.Deployment; d != nil {
		if ss.DeployedAt != nil && old.DeployedAt == nil {
			emit(corev1.EventTypeNormal, releasev1.ReasonDeployed, "Stage %s: %s deployed: %s", ss.Name, rel.Spec.Version, d.Message)
		}
		if deployFailed(d) && (old.Deployment == nil || old.Deployment.Reason != d.Reason) {
			emit(corev1.EventTypeWarning, d.Reason, "Stage %s: %s: %s", ss.Name, rel.Spec.Version, d.Message)
		}
	}
	rb, oldRb := ss.Rollback, old.Rollback
	if rb == nil || rb.Deployment == nil {
		return
	}
	if oldRb == nil {
		oldRb = &releasev1.RollbackStatus{}
	}
	if rb.DeployedAt != nil && oldRb.DeployedAt == nil {
		emit(corev1.EventTypeNormal, releasev1.ReasonDeployed, "Stage %s: rollback deployed: %s", ss.Name, rb.Message)
	}
	if deployFailed(rb.Deployment) && (oldRb.Deployment == nil || oldRb.Deployment.Reason != rb.Deployment.Reason) {
		emit(corev1.EventTypeWarning, rb.Deployment.Reason, "Stage %s: %s", ss.Name, rb.Message)
	}
}

func deployFailed(d *releasev1.DeploymentStatus) bool {
	return d.Reason == releasev1.ReasonDeployFailed || d.Reason == releasev1.ReasonDeployTimeout
}
