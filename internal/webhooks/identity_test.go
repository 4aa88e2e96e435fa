package webhooks

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// identityFor answers every SubjectAccessReview as the RBAC of the test would:
// a user holds a verb when verbs[user] lists it.
func identityFor(t *testing.T, verbs map[string][]string) *Identity {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := releasev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := authorizationv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithInterceptorFuncs(interceptor.Funcs{
		Create: func(_ context.Context, _ client.WithWatch, obj client.Object, _ ...client.CreateOption) error {
			sar, ok := obj.(*authorizationv1.SubjectAccessReview)
			if !ok {
				t.Fatalf("the identity webhooks create only SubjectAccessReviews, not %T", obj)
			}
			for _, v := range verbs[sar.Spec.User] {
				if v == sar.Spec.ResourceAttributes.Verb {
					sar.Status.Allowed = true
				}
			}
			return nil
		},
	}).Build()
	at := time.Date(2026, 12, 7, 10, 30, 15, 500, time.UTC)
	return &Identity{Client: c, Decoder: admission.NewDecoder(scheme), Now: func() time.Time { return at }}
}

func request(t *testing.T, op admissionv1.Operation, user authenticationv1.UserInfo, obj, old runtime.Object) admission.Request {
	t.Helper()
	raw := func(o runtime.Object) runtime.RawExtension {
		if o == nil {
			return runtime.RawExtension{}
		}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		return runtime.RawExtension{Raw: b}
	}
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		Operation: op, UserInfo: user, Object: raw(obj), OldObject: raw(old),
	}}
}

func release(creator string, approvals ...releasev1.Approval) *releasev1.Release {
	r := &releasev1.Release{
		TypeMeta:   metav1.TypeMeta{APIVersion: releasev1.GroupVersion.String(), Kind: "Release"},
		ObjectMeta: metav1.ObjectMeta{Name: "checkout-1-4-2", Namespace: "team"},
		Spec:       releasev1.ReleaseSpec{Pipeline: "checkout", Version: "1.4.2", Approvals: approvals},
	}
	if creator != "" {
		r.Annotations = map[string]string{releasev1.AnnotationCreatedBy: creator}
	}
	return r
}

// patchedTo applies the response's JSON patch and returns the object a user
// would read back.
func patchedTo[T runtime.Object](t *testing.T, req admission.Request, resp admission.Response, into T) T {
	t.Helper()
	if !resp.Allowed {
		t.Fatalf("mutation refused: %v", resp.Result)
	}
	var root any
	if err := json.Unmarshal(req.Object.Raw, &root); err != nil {
		t.Fatal(err)
	}
	for _, op := range resp.Patches {
		root = setPath(t, root, strings.Split(strings.TrimPrefix(op.Path, "/"), "/"), op)
	}
	out, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, into); err != nil {
		t.Fatal(err)
	}
	return into
}

// setPath applies one add, replace or remove operation of the kind the
// mutating webhooks answer with.
func setPath(t *testing.T, node any, parts []string, op jsonpatch.JsonPatchOperation) any {
	t.Helper()
	key := strings.ReplaceAll(strings.ReplaceAll(parts[0], "~1", "/"), "~0", "~")
	switch n := node.(type) {
	case map[string]any:
		if len(parts) == 1 {
			if op.Operation == "remove" {
				delete(n, key)
			} else {
				n[key] = op.Value
			}
			return n
		}
		child, ok := n[key]
		if !ok {
			child = map[string]any{}
		}
		n[key] = setPath(t, child, parts[1:], op)
		return n
	case []any:
		var i int
		if key == "-" {
			i = len(n)
		} else if err := json.Unmarshal([]byte(key), &i); err != nil {
			t.Fatalf("patch path %s: %v", op.Path, err)
		}
		if len(parts) == 1 {
			switch {
			case op.Operation == "remove":
				return append(n[:i], n[i+1:]...)
			case i == len(n):
				return append(n, op.Value)
			default:
				n[i] = op.Value
				return n
			}
		}
		n[i] = setPath(t, n[i], parts[1:], op)
		return n
	}
	t.Fatalf("patch path %s runs through a %T", op.Path, node)
	return nil
}

var (
	ann = authenticationv1.UserInfo{Username: "ann", Groups: []string{"release-managers"}}
	bob = authenticationv1.UserInfo{Username: "bob", Groups: []string{"security"}}
)

func TestMutateReleaseStampsCreatorAndNewApprovalsOnly(t *testing.T) {
	id := identityFor(t, nil)

	create := request(t, admissionv1.Create, ann, release(""), nil)
	created := patchedTo(t, create, id.MutateRelease(context.Background(), create), &releasev1.Release{})
	if got := created.Annotations[releasev1.AnnotationCreatedBy]; got != "ann" {
		t.Errorf("creator stamped %q, want ann", got)
	}

	// bob appends an approval to a Release that already holds ann's: only
	// bob's entry is stamped, with the server's time to the second, and the
	// creator cannot be rewritten by an update.
	earlier := metav1.NewTime(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	old := release("ann", releasev1.Approval{Stage: "staging", By: "carol", At: &earlier})
	upd := release("bob", releasev1.Approval{Stage: "staging", By: "carol", At: &earlier}, releasev1.Approval{Stage: "prod"})
	req := request(t, admissionv1.Update, bob, upd, old)
	got := patchedTo(t, req, id.MutateRelease(context.Background(), req), &releasev1.Release{})
	if c := got.Annotations[releasev1.AnnotationCreatedBy]; c != "ann" {
		t.Errorf("an update rewrote the creator to %q; it records ann", c)
	}
	if a := got.Spec.Approvals[0]; a.By != "carol" || !a.At.Equal(&earlier) {
		t.Errorf("the recorded approval changed: %+v", a)
	}
	a := got.Spec.Approvals[1]
	if a.By != "bob" || a.At == nil || !a.At.Time.Equal(time.Date(2026, 12, 7, 10, 30, 15, 0, time.UTC)) {
		t.Errorf("the new approval is stamped %q at %v; want bob at 10:30:15 (the server's time, to the second)", a.By, a.At)
	}
}

func TestValidateRelease(t *testing.T) {
	id := identityFor(t, map[string][]string{"bob": {releasev1.VerbApprove}, "ann": {releasev1.VerbApprove}})
	stamped := func(by string) releasev1.Approval {
		at := metav1.NewTime(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
		return releasev1.Approval{Stage: "prod", By: by, At: &at}
	}
	cases := []struct {
		name     string
		op       admissionv1.Operation
		user     authenticationv1.UserInfo
		obj, old *releasev1.Release
		refusal  string // empty: allowed
	}{
		{"creation by its creator", admissionv1.Create, ann, release("ann"), nil, ""},
		{"a forged creator", admissionv1.Create, ann, release("bob"), nil, `must name the creator "ann"`},
		{"the creator changed", admissionv1.Update, bob, release("bob"), release("ann"), "cannot change"},
		{"an approval by someone else", admissionv1.Update, bob, release("ann", stamped("bob")), release("ann"), ""},
		{"an approval stamped with another name", admissionv1.Update, bob, release("ann", stamped("dave")), release("ann"), `spec.approvals[0].by is "dave" but you are "bob"`},
		{"self-approval", admissionv1.Update, ann, release("ann", stamped("ann")), release("ann"), "ann created this Release and cannot approve it"},
		{"a recorded approval edited", admissionv1.Update, bob, release("ann", stamped("bob")), release("ann", stamped("carol")), "spec.approvals[0] was edited or removed"},
		{"a recorded approval removed", admissionv1.Update, bob, release("ann"), release("ann", stamped("carol")), "append-only"},
		{"an approver without the verb", admissionv1.Update, authenticationv1.UserInfo{Username: "eve"}, release("ann", stamped("eve")), release("ann"),
			`eve may not approve releases/checkout-1-4-2 in namespace team: an admin must grant the verb "approve"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var old runtime.Object
			if tc.old != nil {
				old = tc.old
			}
			resp := id.ValidateRelease(context.Background(), request(t, tc.op, tc.user, tc.obj, old))
			assertVerdict(t, resp, tc.refusal)
		})
	}
}

func assertVerdict(t *testing.T, resp admission.Response, refusal string) {
	t.Helper()
	if refusal == "" {
		if !resp.Allowed {
			t.Fatalf("refused: %s", resp.Result.Message)
		}
		return
	}
	if resp.Allowed {
		t.Fatalf("allowed; want a refusal saying %q", refusal)
	}
	if !strings.Contains(resp.Result.Message, refusal) {
		t.Fatalf("refused with %q; want it to say %q", resp.Result.Message, refusal)
	}
}

func checklistWith(signOffs ...releasev1.SignOff) *releasev1.LaunchChecklist {
	return &releasev1.LaunchChecklist{
		TypeMeta:   metav1.TypeMeta{APIVersion: releasev1.GroupVersion.String(), Kind: "LaunchChecklist"},
		ObjectMeta: metav1.ObjectMeta{Name: "checkout-1-5-launch", Namespace: "team"},
		Spec: releasev1.LaunchChecklistSpec{
			Items: []releasev1.ChecklistItem{
				{Name: "security-review", Function: "Security", Owners: releasev1.Owners{Groups: []string{"security"}}, Check: releasev1.ItemCheck{Manual: &releasev1.ManualCheck{}}},
				{Name: "faq", Function: "Support", Owners: releasev1.Owners{Users: []string{"ann"}}, Check: releasev1.ItemCheck{GitHubIssue: &releasev1.GitHubItemRef{Repository: "acme/checkout", Number: 7}}},
				{Name: "blog", Function: "Marketing", Check: releasev1.ItemCheck{Manual: &releasev1.ManualCheck{}}},
			},
			SignOffs: signOffs,
		},
	}
}

func TestMutateChecklistStampsNewSignOffs(t *testing.T) {
	id := identityFor(t, nil)
	req := request(t, admissionv1.Update, bob, checklistWith(releasev1.SignOff{Item: "security-review", Decision: releasev1.DecisionApprove}), checklistWith())
	got := patchedTo(t, req, id.MutateChecklist(context.Background(), req), &releasev1.LaunchChecklist{})
	so := got.Spec.SignOffs[0]
	if so.By != "bob" || so.At == nil {
		t.Fatalf("sign-off stamped %q at %v; want bob with the server's time", so.By, so.At)
	}
}

func TestValidateChecklist(t *testing.T) {
	id := identityFor(t, map[string][]string{"bob": {releasev1.VerbSignOff}, "ann": {releasev1.VerbSignOff}})
	at := metav1.NewTime(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
	so := func(item, by string, d releasev1.SignOffDecision) releasev1.SignOff {
		return releasev1.SignOff{Item: item, By: by, At: &at, Decision: d}
	}
	cases := []struct {
		name     string
		user     authenticationv1.UserInfo
		obj, old *releasev1.LaunchChecklist
		refusal  string
	}{
		{"an owner by group", bob, checklistWith(so("security-review", "bob", releasev1.DecisionApprove)), checklistWith(), ""},
		{"an owner by name waives an automatic item", ann, checklistWith(so("faq", "ann", releasev1.DecisionWaive)), checklistWith(), ""},
		{"not an owner", ann, checklistWith(so("security-review", "ann", releasev1.DecisionApprove)), checklistWith(), "ann is not an owner of item security-review (Security): owners are groups security"},
		{"an item nobody owns", ann, checklistWith(so("blog", "ann", releasev1.DecisionApprove)), checklistWith(), "owners are nobody (set the item's owners)"},
		{"an unknown item", bob, checklistWith(so("pen-test", "bob", releasev1.DecisionApprove)), checklistWith(), `no item "pen-test" in this checklist (items: security-review, faq, blog)`},
		{"Approve on an automatic item", ann, checklistWith(so("faq", "ann", releasev1.DecisionApprove)), checklistWith(), "item faq is checked automatically (githubIssue)"},
		{"a forged signer", bob, checklistWith(so("security-review", "sue", releasev1.DecisionApprove)), checklistWith(), `spec.signOffs[0].by is "sue" but you are "bob"`},
		{"a recorded sign-off edited", bob, checklistWith(so("security-review", "bob", releasev1.DecisionReject)), checklistWith(so("security-review", "bob", releasev1.DecisionApprove)), "spec.signOffs[0] was edited or removed"},
		{"an owner without the verb", authenticationv1.UserInfo{Username: "sue", Groups: []string{"security"}}, checklistWith(so("security-review", "sue", releasev1.DecisionApprove)), checklistWith(),
			`sue may not signoff launchchecklists/checkout-1-5-launch in namespace team`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := id.ValidateChecklist(context.Background(), request(t, admissionv1.Update, tc.user, tc.obj, tc.old))
			assertVerdict(t, resp, tc.refusal)
		})
	}
}

func TestCalendarValidatorSaysWhatToFix(t *testing.T) {
	cal := func(zone string, w ...releasev1.CalendarWindow) *releasev1.ReleaseCalendar {
		return &releasev1.ReleaseCalendar{ObjectMeta: metav1.ObjectMeta{Name: "prod-calendar"}, Spec: releasev1.ReleaseCalendarSpec{TimeZone: zone, Windows: w}}
	}
	cases := []struct {
		name    string
		cal     *releasev1.ReleaseCalendar
		refusal string
	}{
		{"a weekly freeze", cal("Europe/Berlin", releasev1.CalendarWindow{Name: "friday", Kind: "Deny", RRule: "FREQ=WEEKLY;BYDAY=FR", Start: "2026-01-02T12:00:00", Duration: &metav1.Duration{Duration: 60 * time.Hour}}), ""},
		{"an unknown zone", cal("Mars/Olympus"), "Mars/Olympus"},
		{"an rrule that does not parse", cal("UTC", releasev1.CalendarWindow{Name: "bad", Kind: "Deny", RRule: "FREQ=SOMETIMES", Start: "2026-01-02T12:00:00", Duration: &metav1.Duration{Duration: time.Hour}}), "bad"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CalendarValidator{}.ValidateCreate(context.Background(), tc.cal)
			if tc.refusal == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.refusal) || !strings.Contains(err.Error(), "ReleaseCalendar prod-calendar") {
				t.Fatalf("got %v; want a refusal naming the calendar and %q", err, tc.refusal)
			}
		})
	}
}
