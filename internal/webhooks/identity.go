package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/checklist"
)

// +kubebuilder:webhook:path=/mutate-release-liftoff-dev-v1alpha1-release,mutating=true,failurePolicy=fail,sideEffects=None,groups=release.liftoff.dev,resources=releases,verbs=create;update,versions=v1alpha1,name=mrelease.liftoff.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-release-liftoff-dev-v1alpha1-release,mutating=false,failurePolicy=fail,sideEffects=None,groups=release.liftoff.dev,resources=releases,verbs=create;update,versions=v1alpha1,name=vrelease.liftoff.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/mutate-release-liftoff-dev-v1alpha1-launchchecklist,mutating=true,failurePolicy=fail,sideEffects=None,groups=release.liftoff.dev,resources=launchchecklists,verbs=create;update,versions=v1alpha1,name=mlaunchchecklist.liftoff.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-release-liftoff-dev-v1alpha1-launchchecklist,mutating=false,failurePolicy=fail,sideEffects=None,groups=release.liftoff.dev,resources=launchchecklists,verbs=create;update,versions=v1alpha1,name=vlaunchchecklist.liftoff.dev,admissionReviewVersions=v1
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// Identity stamps and checks who approves Releases and signs off checklist
// items. The trail lives in the objects themselves, so it is as durable as
// they are, and no client can write someone else's name into it.
type Identity struct {
	// Client creates SubjectAccessReviews.
	Client client.Client
	// Reader reads the pipelines spec.requires names from the API server
	// (every shard's); Client when nil.
	Reader  client.Reader
	Decoder admission.Decoder
	// Now stamps `at`; time.Now when nil.
	Now func() time.Time
}

func (id *Identity) reader() client.Reader {
	if id.Reader != nil {
		return id.Reader
	}
	return id.Client
}

// refused denies with msg, or answers err (the API server could not be read).
func refused(msg string, err error) admission.Response {
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return admission.Denied(msg)
}

func (id *Identity) now() metav1.Time {
	if id.Now != nil {
		return metav1.NewTime(id.Now().Truncate(time.Second))
	}
	return metav1.NewTime(time.Now().Truncate(time.Second))
}

func decodePair[T runtime.Object](d admission.Decoder, req admission.Request, obj, old T) error {
	if err := d.DecodeRaw(req.Object, obj); err != nil {
		return err
	}
	if req.Operation == admissionv1.Update {
		return d.DecodeRaw(req.OldObject, old)
	}
	return nil
}

// MutateRelease stamps the creator and by/at of appended approvals.
func (id *Identity) MutateRelease(_ context.Context, req admission.Request) admission.Response {
	return mutateApprovals(id, req, &releasev1.Release{}, &releasev1.Release{}, func(r *releasev1.Release) []releasev1.Approval { return r.Spec.Approvals })
}

// mutateApprovals decodes obj (and old, on an update), stamps them as
// stampApprovals does and answers the patch.
func mutateApprovals[T client.Object](id *Identity, req admission.Request, obj, old T, approvals func(T) []releasev1.Approval) admission.Response {
	if err := decodePair(id.Decoder, req, obj, old); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	id.stampApprovals(req, obj, old, approvals(obj), len(approvals(old)))
	return patched(req, obj)
}

// stampApprovals stamps obj's creator (kept from old on an update) and
// by/at of the approvals appended after the recorded ones.
func (id *Identity) stampApprovals(req admission.Request, obj, old metav1.Object, approvals []releasev1.Approval, recorded int) {
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	if req.Operation == admissionv1.Create {
		ann[releasev1.AnnotationCreatedBy] = req.UserInfo.Username
	} else if was, ok := old.GetAnnotations()[releasev1.AnnotationCreatedBy]; ok {
		ann[releasev1.AnnotationCreatedBy] = was
	}
	obj.SetAnnotations(ann)
	now := id.now()
	for i := recorded; i < len(approvals); i++ {
		stamp(&approvals[i].By, &approvals[i].At, req.UserInfo.Username, now)
	}
}

// MutateChecklist stamps by/at of appended sign-offs.
func (id *Identity) MutateChecklist(_ context.Context, req admission.Request) admission.Response {
	lc, old := &releasev1.LaunchChecklist{}, &releasev1.LaunchChecklist{}
	if err := decodePair(id.Decoder, req, lc, old); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	now := id.now()
	for i := len(old.Spec.SignOffs); i < len(lc.Spec.SignOffs); i++ {
		stamp(&lc.Spec.SignOffs[i].By, &lc.Spec.SignOffs[i].At, req.UserInfo.Username, now)
	}
	return patched(req, lc)
}

// stamp fills by (when empty: a name that is not the requester's is left for
// the validating webhook to refuse, so a forgery is told, not hidden) and
// always sets at: the time is the server's.
func stamp(by *string, at **metav1.Time, user string, now metav1.Time) {
	if *by == "" {
		*by = user
	}
	*at = &now
}

func patched(req admission.Request, obj runtime.Object) admission.Response {
	raw, err := json.Marshal(obj)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return admission.PatchResponseFromRaw(req.Object.Raw, raw)
}

// ValidateRelease refuses requirements that cannot be met
// (ReleaseRequiresRefusal), a Release two launches would have
// (ReleaseLaunchRefusal), edits of recorded approvals, a forged creator or
// approver, self-approval and approvers without the approve verb.
func (id *Identity) ValidateRelease(ctx context.Context, req admission.Request) admission.Response {
	rel, old := &releasev1.Release{}, &releasev1.Release{}
	if err := decodePair(id.Decoder, req, rel, old); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if msg := creatorRefusal(req, rel, old, "Release"); msg != "" {
		return admission.Denied(msg)
	}
	if msg, err := ReleaseRequiresRefusal(ctx, id.reader(), rel, old); err != nil || msg != "" {
		return refused(msg, err)
	}
	var was *releasev1.Release
	if req.Operation == admissionv1.Update {
		was = old
	}
	if msg, err := ReleaseLaunchRefusal(ctx, id.reader(), rel, was); err != nil || msg != "" {
		return refused(msg, err)
	}
	if msg := id.approvalsRefusal(ctx, req.UserInfo, rel, old.Spec.Approvals, rel.Spec.Approvals, "Release", "releases"); msg != "" {
		return admission.Denied(msg)
	}
	return admission.Allowed("")
}

// creatorRefusal refuses a creator annotation that is not the requester's
// on a create, or that changed on an update; kind names obj for people.
func creatorRefusal(req admission.Request, obj, old metav1.Object, kind string) string {
	creator := obj.GetAnnotations()[releasev1.AnnotationCreatedBy]
	switch req.Operation {
	case admissionv1.Create:
		if creator != req.UserInfo.Username {
			return fmt.Sprintf("annotation %s must name the creator %q; leave it out, it is stamped", releasev1.AnnotationCreatedBy, req.UserInfo.Username)
		}
	case admissionv1.Update:
		if creator != old.GetAnnotations()[releasev1.AnnotationCreatedBy] {
			return fmt.Sprintf("annotation %s records who created the %s and cannot change", releasev1.AnnotationCreatedBy, kind)
		}
	}
	return ""
}

// approvalsRefusal refuses edits of obj's recorded approvals (old), a
// forged approver, self-approval by obj's creator and approvers without
// the approve verb on obj (a kind whose resource is resource).
func (id *Identity) approvalsRefusal(ctx context.Context, user authenticationv1.UserInfo, obj metav1.Object, old, cur []releasev1.Approval, kind, resource string) string {
	if msg := appendOnly("spec.approvals", len(old), func(i int) bool {
		return i < len(cur) && equality.Semantic.DeepEqual(old[i], cur[i])
	}); msg != "" {
		return msg
	}
	creator := obj.GetAnnotations()[releasev1.AnnotationCreatedBy]
	for i := len(old); i < len(cur); i++ {
		a := cur[i]
		if a.By != user.Username {
			return fmt.Sprintf("spec.approvals[%d].by is %q but you are %q: leave by and at out, they are stamped", i, a.By, user.Username)
		}
		if creator != "" && creator == user.Username {
			return fmt.Sprintf("%s created this %s and cannot approve it: another person must approve stage %s", user.Username, kind, a.Stage)
		}
		if err := id.allowed(ctx, user, releasev1.VerbApprove, resource, obj.GetNamespace(), obj.GetName()); err != nil {
			return err.Error()
		}
	}
	return ""
}

// ValidateChecklist refuses edits of recorded sign-offs, forged signers,
// sign-offs by people outside the item's owners or without the signoff verb,
// and an Approve on an item that is checked automatically.
func (id *Identity) ValidateChecklist(ctx context.Context, req admission.Request) admission.Response {
	lc, old := &releasev1.LaunchChecklist{}, &releasev1.LaunchChecklist{}
	if err := decodePair(id.Decoder, req, lc, old); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if msg := appendOnly("spec.signOffs", len(old.Spec.SignOffs), func(i int) bool {
		return i < len(lc.Spec.SignOffs) && equality.Semantic.DeepEqual(old.Spec.SignOffs[i], lc.Spec.SignOffs[i])
	}); msg != "" {
		return admission.Denied(msg)
	}
	user := req.UserInfo
	for i := len(old.Spec.SignOffs); i < len(lc.Spec.SignOffs); i++ {
		so := lc.Spec.SignOffs[i]
		if so.By != user.Username {
			return admission.Denied(fmt.Sprintf("spec.signOffs[%d].by is %q but you are %q: leave by and at out, they are stamped", i, so.By, user.Username))
		}
		item := findItem(lc, so.Item)
		if item == nil {
			return admission.Denied(fmt.Sprintf("spec.signOffs[%d]: no item %q in this checklist (items: %s)", i, so.Item, itemNames(lc)))
		}
		if so.Decision == releasev1.DecisionApprove && item.Check.Manual == nil {
			return admission.Denied(fmt.Sprintf("item %s is checked automatically (%s): sign it off with Waive or Reject, or let the check pass", item.Name, checkKind(item.Check)))
		}
		if !checklist.MaySignOff(item.Owners, user.Username, user.Groups) {
			return admission.Denied(fmt.Sprintf("%s is not an owner of item %s (%s): owners are %s", user.Username, item.Name, item.Function, ownersText(item.Owners)))
		}
		if err := id.allowed(ctx, user, releasev1.VerbSignOff, "launchchecklists", lc.Namespace, lc.Name); err != nil {
			return admission.Denied(err.Error())
		}
	}
	return admission.Allowed("")
}

// appendOnly says which recorded entry was edited or removed, if any.
func appendOnly(field string, recorded int, same func(i int) bool) string {
	for i := 0; i < recorded; i++ {
		if !same(i) {
			return fmt.Sprintf("%s[%d] was edited or removed: recorded entries are append-only; add a new entry instead", field, i)
		}
	}
	return ""
}

// allowed asks the API server whether user holds the custom verb on the object.
func (id *Identity) allowed(ctx context.Context, user authenticationv1.UserInfo, verb, resource, ns, name string) error {
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range user.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user.Username, Groups: user.Groups, UID: user.UID, Extra: extra,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Group: releasev1.GroupVersion.Group, Resource: resource, Name: name},
	}}
	if err := id.Client.Create(ctx, sar); err != nil {
		return fmt.Errorf("checking whether %s may %s %s: %v", user.Username, verb, resource, err)
	}
	if !sar.Status.Allowed {
		return fmt.Errorf("%s may not %s %s/%s in namespace %s: an admin must grant the verb %q on %s.%s (RBAC)",
			user.Username, verb, resource, name, ns, verb, resource, releasev1.GroupVersion.Group)
	}
	return nil
}

func findItem(lc *releasev1.LaunchChecklist, name string) *releasev1.ChecklistItem {
	for i := range lc.Spec.Items {
		if lc.Spec.Items[i].Name == name {
			return &lc.Spec.Items[i]
		}
	}
	return nil
}

func itemNames(lc *releasev1.LaunchChecklist) string {
	names := make([]string, 0, len(lc.Spec.Items))
	for _, it := range lc.Spec.Items {
		names = append(names, it.Name)
	}
	return strings.Join(names, ", ")
}

func ownersText(o releasev1.Owners) string {
	var parts []string
	if len(o.Users) > 0 {
		parts = append(parts, "users "+strings.Join(o.Users, ", "))
	}
	if len(o.Groups) > 0 {
		parts = append(parts, "groups "+strings.Join(o.Groups, ", "))
	}
	if len(parts) == 0 {
		return "nobody (set the item's owners)"
	}
	return strings.Join(parts, "; ")
}

func checkKind(c releasev1.ItemCheck) string {
	switch {
	case c.GitHubIssue != nil:
		return "githubIssue"
	case c.GitHubPullRequest != nil:
		return "githubPullRequest"
	case c.GitHubChecks != nil:
		return "githubChecks"
	case c.Prometheus != nil:
		return "prometheus"
	case c.Release != nil:
		return "release"
	}
	return "manual"
}
