package dashboard

import (
	"context"
	"fmt"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/checklist"
)

// viewer is who looks at a page and what the API server lets them do.
type viewer struct {
	user   string
	groups []string
	// may tells whether the viewer may do verb on resource (ns, name); nil:
	// nothing (a read-only dashboard).
	may func(ctx context.Context, verb, resource, ns, name string) bool
}

func viewerOf(sess *Session) viewer {
	v := viewer{user: sess.User, groups: sess.Groups}
	if sess.Client != nil {
		v.may = sess.May
	}
	return v
}

func (w viewer) can(ctx context.Context, resource, ns, name string, verbs ...string) bool {
	if w.may == nil {
		return false
	}
	for _, verb := range verbs {
		if !w.may(ctx, verb, resource, ns, name) {
			return false
		}
	}
	return true
}

// mayApprove tells whether the viewer may approve stage of rel, or why not:
// the rules of the identity webhook (not the creator, RBAC's update and
// approve on the Release, or with name "" on the Releases of its namespace)
// and an approval of their own already counted.
func (w viewer) mayApprove(ctx context.Context, rel *releasev1.Release, stage, name string) (bool, string) {
	if w.may == nil {
		return false, ""
	}
	if creator := rel.Annotations[releasev1.AnnotationCreatedBy]; creator != "" && creator == w.user {
		return false, fmt.Sprintf("You created %s: another person approves %s.", rel.Name, stage)
	}
	for _, a := range rel.Spec.Approvals {
		if a.Stage == stage && a.By != "" && a.By == w.user {
			return false, fmt.Sprintf("You approved %s; another approval must come from someone else.", stage)
		}
	}
	if !w.can(ctx, "releases", rel.Namespace, name, "update", releasev1.VerbApprove) {
		return false, fmt.Sprintf("Approving %s needs the verb %s on releases in %s, which you do not have (RBAC).", stage, releasev1.VerbApprove, rel.Namespace)
	}
	return true, ""
}

// offer fills in the actions the viewer may take on a Release's page, asked
// of the API server (cached briefly per viewer): a button is shown only to
// someone whose click would be accepted.
func offer(ctx context.Context, v *ReleaseView, rel *releasev1.Release, lc *releasev1.LaunchChecklist, w viewer) {
	if w.may == nil {
		v.RollBack = nil
		return
	}
	if len(v.RollBack) > 0 && !w.can(ctx, "releasepipelines", rel.Namespace, rel.Spec.Pipeline, "update", releasev1.VerbRollback) {
		v.RollBack = nil
	}
	for _, stage := range v.Awaiting {
		if ok, why := w.mayApprove(ctx, rel, stage, rel.Name); ok {
			v.Approve = append(v.Approve, stage)
		} else if why != "" {
			v.Cannot = append(v.Cannot, why)
		}
	}
	if !v.Done || len(v.Verdict) > 0 {
		patch := w.can(ctx, "releases", rel.Namespace, rel.Name, "patch")
		v.CanPause = patch && !v.Done
		v.CanVerdict = patch && len(v.Verdict) > 0
	}
	if lc == nil || v.Checklist == nil || v.Done {
		return // a finished Release's page offers no sign-off
	}
	owners := map[string]releasev1.Owners{}
	for _, it := range lc.Spec.Items {
		owners[it.Name] = it.Owners
	}
	var signer *bool
	for i := range v.Checklist.Items {
		it := &v.Checklist.Items[i]
		if !checklist.MaySignOff(owners[it.Name], w.user, w.groups) {
			continue
		}
		if signer == nil {
			ok := w.can(ctx, "launchchecklists", lc.Namespace, lc.Name, "update", releasev1.VerbSignOff)
			signer = &ok
		}
		it.CanSignOff = *signer
		v.Checklist.CanSignOff = v.Checklist.CanSignOff || *signer
	}
}
