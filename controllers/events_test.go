package controllers_test

import (
	"context"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// An event whose message is longer than the API server takes (1,024 bytes)
// is cut, not refused and lost; the Release's status keeps the whole text.
func TestLongMessageReachesTheAPIServerAsAnEvent(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	var names []string
	for i := 0; i < 30; i++ {
		name := fmt.Sprintf("integration-suite-%02d-against-the-staging-database", i)
		names = append(names, name)
		e.sim.SetCheckRun(appRepo, e.appSHA, name, "completed", "failure")
	}
	e.pipeline(e.stage("dev", checksGate(names...)))
	e.release("r", "1.4.2")

	g.Eventually(e.condition("r", releasev1.ConditionBlocked), timeout, interval).Should(HavePrefix("True/GateFailed"))
	full := e.condition("r", releasev1.ConditionReady)()
	g.Expect(len(full)).To(BeNumerically(">", 1024), "the status holds the whole message")
	g.Expect(full).To(ContainSubstring(names[29]))
	g.Eventually(func() []corev1.Event {
		var list corev1.EventList
		g.Expect(k8s.List(context.Background(), &list, client.InNamespace(e.ns))).To(Succeed())
		var out []corev1.Event
		for _, ev := range list.Items {
			if ev.InvolvedObject.Name == "r" && ev.Reason == releasev1.ReasonBlocked {
				out = append(out, ev)
			}
		}
		return out
	}, timeout, interval).Should(ContainElement(HaveField("Message", And(
		HavePrefix("blocked before dev: checks: failed on "), ContainSubstring(names[0]),
		HaveSuffix("(cut: the whole text is in the object's status)"), WithTransform(func(s string) int { return len(s) }, BeNumerically("<=", 1024))))))
}
