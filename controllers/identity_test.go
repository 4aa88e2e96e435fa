package controllers_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// as returns a client authenticated as user (with groups) against the test
// API server. Grant it rights with e.grant.
func (e *testEnv) as(user string, groups ...string) client.Client {
	e.t.Helper()
	u, err := env.AddUser(envtest.User{Name: user, Groups: groups}, restCfg)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := client.New(u.Config(), client.Options{Scheme: scheme})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// grant gives user, in the test's namespace, the verbs on the resources of
// Liftoff's API group.
func (e *testEnv) grant(user string, resources []string, verbs ...string) {
	e.t.Helper()
	g := NewWithT(e.t)
	name := user + "-" + resources[0] + "-" + verbs[len(verbs)-1]
	g.Expect(k8s.Create(context.Background(), &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{releasev1.GroupVersion.Group}, Resources: resources, Verbs: verbs}},
	})).To(Succeed())
	g.Expect(k8s.Create(context.Background(), &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	})).To(Succeed())
}

// approver is a user who may read, update and approve Releases.
func (e *testEnv) approver(user string) client.Client {
	e.grant(user, []string{"releases"}, "get", "list", "watch", "create", "update", "patch", releasev1.VerbApprove)
	return e.as(user)
}

// approveAs appends an approval of stage as the client's user.
func (e *testEnv) approveAs(c client.Client, name, stage string, mod ...func(*releasev1.Approval)) error {
	return approveIn(c, e.key(name), &releasev1.Release{}, func(r *releasev1.Release) *[]releasev1.Approval { return &r.Spec.Approvals }, stage, mod...)
}

// approveIn appends an approval of stage to the list of obj (read at key)
// as the client's user.
func approveIn[O client.Object](c client.Client, key client.ObjectKey, obj O, list func(O) *[]releasev1.Approval, stage string, mod ...func(*releasev1.Approval)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(context.Background(), key, obj); err != nil {
			return err
		}
		a := releasev1.Approval{Stage: stage, Comment: "looks good"}
		for _, m := range mod {
			m(&a)
		}
		*list(obj) = append(*list(obj), a)
		return c.Update(context.Background(), obj)
	})
}

// Who approved is stamped from the authenticated request and cannot be
// forged, edited, removed, self-granted or given without the approve verb.
func TestApprovalsRecordWhoReallyApproved(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.pipeline(e.stage("dev"), e.stage("prod", func(s *releasev1.Stage) {
		s.Promotion = releasev1.PromotionManual
		s.Gates = &releasev1.Gates{Approvals: &releasev1.ApprovalsGate{Count: 1}}
	}))
	carol := e.approver("carol") // creates the Release
	g.Expect(carol.Create(context.Background(), &releasev1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: e.ns},
		Spec:       releasev1.ReleaseSpec{Pipeline: "checkout", Version: "1.4.2"},
	})).To(Succeed())
	g.Expect(e.get("r").Annotations).To(HaveKeyWithValue(releasev1.AnnotationCreatedBy, "carol"))
	g.Eventually(e.gate("r", "prod", "approvals"), timeout, interval).Should(ContainSubstring("0 of 1 approvals"))

	// Self-approval.
	g.Expect(e.approveAs(carol, "r", "prod")).To(MatchError(ContainSubstring("carol created this Release and cannot approve it: another person must approve stage prod")))
	// A user without the approve verb (but allowed to update Releases).
	e.grant("dave", []string{"releases"}, "get", "update")
	g.Expect(e.approveAs(e.as("dave"), "r", "prod")).To(MatchError(ContainSubstring(
		`dave may not approve releases/r in namespace ` + e.ns + `: an admin must grant the verb "approve" on releases.release.liftoff.dev (RBAC)`)))
	// A forged name.
	ann := e.approver("ann")
	g.Expect(e.approveAs(ann, "r", "prod", func(a *releasev1.Approval) { a.By = "the-cto" })).To(MatchError(ContainSubstring(
		`spec.approvals[0].by is "the-cto" but you are "ann"`)))
	g.Expect(e.get("r").Spec.Approvals).To(BeEmpty())
	g.Consistently(e.stagePhase("r", "prod"), "500ms", interval).Should(Equal(releasev1.StageWaiting))

	// A real approval counts, stamped with who and when.
	g.Expect(e.approveAs(ann, "r", "prod")).To(Succeed())
	a := e.get("r").Spec.Approvals
	g.Expect(a).To(HaveLen(1))
	g.Expect(a[0].By).To(Equal("ann"))
	g.Expect(a[0].At).NotTo(BeNil())
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.gate("r", "prod", "approvals")()).To(ContainSubstring("1 of 1 approvals (ann)"))

	// The record cannot be edited or removed, nor the creator rewritten, even by an admin.
	rel := e.get("r")
	g.Expect(updateFresh(rel, func(r *releasev1.Release) { r.Spec.Approvals[0].Comment = "edited" })).To(MatchError(ContainSubstring(
		"spec.approvals[0] was edited or removed: recorded entries are append-only")))
	g.Expect(updateFresh(rel, func(r *releasev1.Release) { r.Spec.Approvals = nil })).To(MatchError(ContainSubstring("spec.approvals[0] was edited or removed")))
	g.Expect(updateFresh(rel, func(r *releasev1.Release) { r.Annotations[releasev1.AnnotationCreatedBy] = "someone-else" })).To(Succeed()) // the mutating webhook keeps the recorded creator
	g.Expect(e.get("r").Annotations).To(HaveKeyWithValue(releasev1.AnnotationCreatedBy, "carol"))
}

// updateFresh reads obj, applies mutate and updates it, again on a conflict
// (the controller writes status meanwhile), so the error is the webhook's.
func updateFresh[T client.Object](obj T, mutate func(T)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mutate(obj)
		return k8s.Update(context.Background(), obj)
	})
}
