package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/notify"
)

// When a ReleaseNotification comes back by itself, and why: at a failing
// receiver's retry, when a message comes due, and every minute while a
// receiver's Secret needs fixing; never, when nothing is pending or due.
func TestNotificationNext(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return now.Add(d) }
	queued := metav1.NewTime(now.Add(-time.Minute))
	retry := metav1.NewTime(at(20 * time.Second))
	backingOff := []releasev1.ReceiverStatus{{Name: "hook", ConsecutiveFailures: 3, RetryAt: &retry}}
	pending := []releasev1.PendingMessage{{Key: "k", Receivers: []string{"hook"}, QueuedAt: queued}}
	fine := &receiverSet{}
	for _, tt := range []struct {
		name      string
		pending   []releasev1.PendingMessage
		receivers []releasev1.ReceiverStatus
		rcs       *receiverSet
		due       []time.Time
		want      string
	}{
		{"nothing pending or due: a watch brings it back", nil, nil, fine, []time.Time{{}, {}}, "Stop"},
		{"a receiver backs off: its retry", pending, backingOff, fine, nil,
			"WaitUntil(2026-11-23T09:00:20Z, Delivery)"},
		{"a message comes due sooner than the retry", pending, backingOff, fine, []time.Time{at(5 * time.Second), {}},
			"WaitUntil(2026-11-23T09:00:05Z, Due)"},
		{"the next report", nil, nil, fine, []time.Time{{}, at(time.Hour)}, "WaitUntil(2026-11-23T10:00:00Z, Due)"},
		{"a Secret to fix: read again in a minute", pending, nil, broken(notify.SecretNotFound(hook, "shop")), []time.Time{at(time.Hour)},
			"WaitFor(1m0s, Fix)"},
		{"a Secret to fix, and a message due sooner", nil, nil, broken(notify.SecretNotFound(hook, "shop")), []time.Time{at(10 * time.Second)},
			"WaitUntil(2026-11-23T09:00:10Z, Due)"},
		{"a held receiver's message waits for its Secret, not for a retry", pending, nil, broken(notify.SecretNotFound(hook, "shop")), nil,
			"WaitFor(1m0s, Fix)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := &releasev1.ReleaseNotification{}
			n.Spec.Receivers = []releasev1.NotificationReceiver{hook}
			n.Status.Pending, n.Status.Receivers = tt.pending, tt.receivers
			for name, p := range tt.rcs.problems {
				n.Status.Receivers = append(n.Status.Receivers, releasev1.ReceiverStatus{Name: name, ConfigError: p.Message})
			}
			if got := notificationNext(n, tt.rcs, now, tt.due...).String(); got != tt.want {
				t.Errorf("next = %s, want %s", got, tt.want)
			}
		})
	}
}
