package controllers

import (
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/notify"
)

var hook = releasev1.NotificationReceiver{Name: "hook", Type: releasev1.ReceiverWebhook, SecretRef: releasev1.LocalObjectReference{Name: "hook"}}

// broken is a receiver set in which hook cannot be used.
func broken(p *notify.ConfigError) *receiverSet {
	return &receiverSet{problems: map[string]*notify.ConfigError{hook.Name: p}}
}

// A ReleaseNotification's conditions, as a user reads them: Stalled while
// its spec cannot be used, Reconciling while a receiver fails, else Ready.
func TestNotificationConditions(t *testing.T) {
	retry := metav1.NewTime(time.Date(2026, 11, 23, 9, 0, 5, 0, time.UTC))
	failing := []releasev1.ReceiverStatus{
		{Name: "slack", Delivered: 3},
		{Name: "hook", ConsecutiveFailures: 2, LastError: "answered 503", RetryAt: &retry},
	}
	for _, tt := range []struct {
		name      string
		receivers []releasev1.ReceiverStatus
		stalled   string
		rcs       *receiverSet
		// want is "Ready Reconciling Stalled" statuses ("-" absent), then
		// the reason and message.
		want, reason, message string
	}{
		{"delivering", []releasev1.ReceiverStatus{{Name: "slack", Delivered: 3}}, "", nil,
			"True - -", releasev1.ReasonDelivering, "1 receiver(s), 0 message(s) pending"},
		{"a receiver fails: retried", failing, "", nil,
			"False True -", releasev1.ReasonDeliveryFailing, "hook: answered 503; retrying at 2026-11-23T09:00:05Z"},
		{"an invalid schedule stalls, over a failing receiver", failing,
			stalledBy(nil, errors.New(`spec.report: bad rrule: fix the schedule`)), nil,
			"False - True", releasev1.ReasonInvalidSpec, "spec.report: bad rrule: fix the schedule"},
		{"a selector and the schedule", nil, stalledBy(errors.New("spec.pipelines: bad"), errors.New("spec.report: bad")), nil,
			"False - True", releasev1.ReasonInvalidSpec, "spec.pipelines: bad; spec.report: bad"},
		{"a receiver's Secret is missing: stalled, over a failing receiver", failing, "", broken(notify.SecretNotFound(hook, "shop")),
			"False - True", releasev1.ReasonSecretNotFound, "receiver hook: Secret \"hook\" not found in namespace shop: create it with the incoming webhook's URL " +
				"under the key `url` and the signing key under `secret`; its messages wait until the Secret is fixed"},
		{"a URL that is not http(s)", nil, "", broken(&notify.ConfigError{Reason: releasev1.ReasonSecretInvalid, Message: "receiver hook: ftp"}),
			"False - True", releasev1.ReasonSecretInvalid, "receiver hook: ftp; its messages wait until the Secret is fixed"},
		{"an invalid schedule and a missing Secret", nil, "spec.report: bad", broken(notify.SecretNotFound(hook, "shop")),
			"False - True", releasev1.ReasonInvalidSpec, "spec.report: bad; receiver hook: Secret \"hook\" not found in namespace shop: create it with the incoming " +
				"webhook's URL under the key `url` and the signing key under `secret`; its messages wait until the Secret is fixed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := &releasev1.ReleaseNotification{ObjectMeta: metav1.ObjectMeta{Generation: 4}}
			n.Spec.Receivers = []releasev1.NotificationReceiver{hook}
			n.Status.Receivers = tt.receivers
			// What an earlier state left goes away.
			n.Status.Conditions = []metav1.Condition{{Type: releasev1.ConditionStalled, Status: metav1.ConditionTrue, Reason: "Old"}}
			(&ReleaseNotificationReconciler{}).setConditions(n, tt.stalled, tt.rcs)
			got := ""
			for _, ct := range []string{releasev1.ConditionReady, releasev1.ConditionReconciling, releasev1.ConditionStalled} {
				c := meta.FindStatusCondition(n.Status.Conditions, ct)
				if c == nil {
					got += " -"
					continue
				}
				got += " " + string(c.Status)
				if c.Reason != tt.reason || c.Message != tt.message || c.ObservedGeneration != 4 {
					t.Errorf("%s: %s %q at %d, want %s %q at 4", ct, c.Reason, c.Message, c.ObservedGeneration, tt.reason, tt.message)
				}
			}
			if got[1:] != tt.want {
				t.Errorf("Ready Reconciling Stalled = %s, want %s", got[1:], tt.want)
			}
		})
	}
}
