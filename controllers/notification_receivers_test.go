package controllers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// notificationCondition is "Status/Reason: message" of a condition of a notification.
func (e *testEnv) notificationCondition(name, ctype string) func() string {
	return func() string { return conditionIn(e.notificationStatus(name).Conditions, ctype) }
}

// notificationEvents lists the events of a notification as "Type Reason: message".
func (e *testEnv) notificationEvents(name string) func() []string {
	return func() []string {
		var list corev1.EventList
		if err := k8s.List(context.Background(), &list, client.InNamespace(e.ns)); err != nil {
			e.t.Fatalf("listing events: %v", err)
		}
		var out []string
		for _, ev := range list.Items {
			if ev.InvolvedObject.Kind == "ReleaseNotification" && ev.InvolvedObject.Name == name {
				out = append(out, fmt.Sprintf("%s %s: %s", ev.Type, ev.Reason, ev.Message))
			}
		}
		return out
	}
}

// notifyPromoted creates a notification of Promoted to receivers.
func (e *testEnv) notifyPromoted(name string, receivers ...releasev1.NotificationReceiver) {
	e.t.Helper()
	e.notification(name, func(s *releasev1.ReleaseNotificationSpec) {
		s.Events = []releasev1.NotificationEvent{releasev1.EventPromoted}
		s.Receivers = receivers
	})
}

func receiverOf(name string, typ releasev1.ReceiverType, secret string) releasev1.NotificationReceiver {
	return releasev1.NotificationReceiver{Name: name, Type: typ, SecretRef: releasev1.LocalObjectReference{Name: secret}}
}

// touch changes an annotation of the notification, which reconciles it at
// once (instead of the minute after which a Stalled one is looked at again).
func (e *testEnv) touch(name, value string) {
	e.t.Helper()
	n := &releasev1.ReleaseNotification{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns}}
	NewWithT(e.t).Expect(updateFresh(n, func(n *releasev1.ReleaseNotification) {
		if n.Annotations == nil {
			n.Annotations = map[string]string{}
		}
		n.Annotations["test/touched"] = value
	})).To(Succeed())
}

// A receiver whose Secret is missing, or holds a URL that is not http(s),
// makes the notification Stalled as soon as it is created, before anything
// is due, naming the Secret and the key; nothing is sent to it and nothing
// retried (no back-off for a day); the other receivers deliver; once the
// Secrets are fixed the waiting message goes out.
func TestAReceiverThatCannotWorkIsStalledAtOnce(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	ok := newTestReceiver(t)
	e.receiverSecret("ok", ok.url(), "")
	e.receiverSecret("ftp", "ftp://hooks.example.com/services/XXXXsecretXXXX", "")
	e.pipeline(e.stage("dev"))
	e.notifyPromoted("dev", receiverOf("ok", releasev1.ReceiverSlack, "ok"), receiverOf("gone", releasev1.ReceiverWebhook, "gone-hook"),
		receiverOf("ftp", releasev1.ReceiverTeams, "ftp"))

	missing := fmt.Sprintf("receiver gone: Secret \"gone-hook\" not found in namespace %s: create it with the incoming webhook's URL under the key `url` "+
		"and the signing key under `secret`", e.ns)
	ftp := "receiver ftp: Secret \"ftp\" key `url` is not an http(s) URL (scheme \"ftp\"): put the incoming webhook's https:// URL under `url`"
	want := "False/SecretNotFound: " + missing + "; " + ftp + "; its messages wait until the Secret is fixed"
	g.Eventually(e.notificationCondition("dev", releasev1.ConditionReady), timeout, interval).Should(Equal(want), "before any event is due")
	g.Expect(e.notificationCondition("dev", releasev1.ConditionStalled)()).To(Equal("True/SecretNotFound: " + strings.TrimPrefix(want, "False/SecretNotFound: ")))
	g.Expect(e.notificationCondition("dev", releasev1.ConditionReconciling)()).To(BeEmpty(), "not retried as if the receiver were down")
	st := e.notificationStatus("dev")
	g.Expect(receiverState(st, "gone").ConfigError).To(Equal(missing))
	g.Expect(receiverState(st, "ftp").ConfigError).To(Equal(ftp))
	g.Eventually(e.notificationEvents("dev"), timeout, interval).Should(ContainElements(
		"Warning SecretNotFound: "+missing, "Warning SecretInvalid: "+ftp))

	// A message is due: the working receiver gets it; the others are not
	// tried, and it waits for them.
	e.release("r", "1.4.2")
	g.Eventually(func() int { return len(ok.accepted()) }, timeout, interval).Should(Equal(1))
	g.Eventually(func() int64 { return receiverState(e.notificationStatus("dev"), "ok").Delivered }, timeout, interval).Should(BeEquivalentTo(1))
	st = e.notificationStatus("dev")
	g.Expect(st.Pending).To(HaveLen(1))
	g.Expect(st.Pending[0].Receivers).To(ConsistOf("gone", "ftp"))
	for _, name := range []string{"gone", "ftp"} {
		rs := receiverState(st, name)
		g.Expect(rs.ConsecutiveFailures).To(BeZero(), name)
		g.Expect(rs.RetryAt).To(BeNil(), name)
		g.Expect(rs.LastError).To(BeEmpty(), name+": nothing was sent")
	}
	g.Expect(e.notificationCondition("dev", releasev1.ConditionReady)()).To(Equal(want))
	raw := fmt.Sprint(st, e.notificationEvents("dev")())
	g.Expect(raw).NotTo(ContainSubstring("XXXXsecretXXXX"), "no receiver URL in status or events")

	// Fixed: the waiting message goes to both, and the notification is Ready.
	gone, teams := newTestReceiver(t), newTestReceiver(t)
	e.receiverSecret("gone-hook", gone.url(), "whsec-test")
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ftp", Namespace: e.ns}}
	g.Expect(updateFresh(sec, func(s *corev1.Secret) { s.Data["url"] = []byte(teams.url()) })).To(Succeed())
	e.touch("dev", "fixed")
	g.Eventually(func() int32 { return e.notificationStatus("dev").PendingCount }, timeout, interval).Should(BeZero())
	g.Expect(webhookEvents(gone)).To(Equal([]string{"Promoted dev"}))
	g.Expect(teams.accepted()).To(HaveLen(1))
	g.Expect(e.notificationCondition("dev", releasev1.ConditionReady)()).To(HavePrefix("True/Delivering"))
	st = e.notificationStatus("dev")
	g.Expect(receiverState(st, "gone").ConfigError).To(BeEmpty())
	g.Expect(receiverState(st, "ftp").ConfigError).To(BeEmpty())
}

// Two receivers fail at once, then recover: each one's failure and
// recovery is an event of its own, under its name (the events API would
// fold them into one series that names only the first).
func TestEachReceiversFailureAndRecoveryIsAnEventOfItsOwn(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	a, b := newTestReceiver(t), newTestReceiver(t)
	a.setAnswer(func(*http.Request, []byte) int { return http.StatusServiceUnavailable })
	b.setAnswer(func(*http.Request, []byte) int { return http.StatusBadGateway })
	e.receiverSecret("a", a.url(), "whsec-a")
	e.receiverSecret("b", b.url(), "whsec-b")
	e.pipeline(e.stage("dev"))
	e.notifyPromoted("dev", receiverOf("alpha", releasev1.ReceiverWebhook, "a"), receiverOf("beta", releasev1.ReceiverWebhook, "b"))
	e.release("r", "1.4.2")

	g.Eventually(e.notificationEvents("dev"), timeout, interval).Should(ContainElements(
		"Warning DeliveryFailing: Receiver alpha: answered 503: ok",
		"Warning DeliveryFailing: Receiver beta: answered 502: ok"))

	a.setAnswer(func(*http.Request, []byte) int { return http.StatusOK })
	b.setAnswer(func(*http.Request, []byte) int { return http.StatusOK })
	g.Eventually(e.notificationEvents("dev"), timeout, interval).Should(ContainElements(
		"Normal DeliveryRecovered: Receiver alpha delivers again",
		"Normal DeliveryRecovered: Receiver beta delivers again"))
	g.Expect(webhookEvents(a)).To(Equal([]string{"Promoted dev"}))
	g.Expect(webhookEvents(b)).To(Equal([]string{"Promoted dev"}))
}
