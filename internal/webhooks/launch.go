package webhooks

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// +kubebuilder:webhook:path=/validate-release-liftoff-dev-v1alpha1-launch,mutating=false,failurePolicy=fail,sideEffects=None,groups=release.liftoff.dev,resources=launches,verbs=create;update,versions=v1alpha1,name=vlaunch.liftoff.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/mutate-release-liftoff-dev-v1alpha1-launch,mutating=true,failurePolicy=fail,sideEffects=None,groups=release.liftoff.dev,resources=launches,verbs=create;update,versions=v1alpha1,name=mlaunch.liftoff.dev,admissionReviewVersions=v1

// LaunchValidator refuses a Launch its members could never move with: a
// member already in another launch that is still on, a selector that does
// not parse, or a dependency cycle between its members (through their
// pipelines' spec.requires and their own). Its approvals are checked as a
// Release's are: append-only, by the requester, not its creator, with the
// approve verb on the launch.
type LaunchValidator struct {
	// Reader reads the namespace's launches, Releases and pipelines from
	// the API server.
	Reader client.Reader
	// Identity checks who approves; approvals are not checked without it.
	Identity *Identity
}

// ValidateCreate checks a new launch.
func (v LaunchValidator) ValidateCreate(ctx context.Context, l *releasev1.Launch) (admission.Warnings, error) {
	return nil, v.validate(ctx, nil, l)
}

// ValidateUpdate checks a changed launch.
func (v LaunchValidator) ValidateUpdate(ctx context.Context, old, l *releasev1.Launch) (admission.Warnings, error) {
	return nil, v.validate(ctx, old, l)
}

// ValidateDelete allows every deletion.
func (LaunchValidator) ValidateDelete(context.Context, *releasev1.Launch) (admission.Warnings, error) {
	return nil, nil
}

func (v LaunchValidator) validate(ctx context.Context, old, l *releasev1.Launch) error {
	if v.Identity != nil {
		if msg := v.approvalsRefusal(ctx, old, l); msg != "" {
			return fmt.Errorf("launch %s: %s", l.Name, msg)
		}
	}
	msg, err := LaunchRefusal(ctx, v.Reader, l)
	if err != nil {
		return err
	}
	if msg != "" {
		return fmt.Errorf("launch %s: %s", l.Name, msg)
	}
	return nil
}

// approvalsRefusal checks the launch's creator and approvals against the
// request's user (old is nil on a create).
func (v LaunchValidator) approvalsRefusal(ctx context.Context, old, l *releasev1.Launch) string {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return "no admission request to tell who approves: " + err.Error()
	}
	if old == nil {
		old = &releasev1.Launch{}
	}
	if msg := creatorRefusal(req, l, old, "launch"); msg != "" {
		return msg
	}
	return v.Identity.approvalsRefusal(ctx, req.UserInfo, l, old.Spec.Approvals, l.Spec.Approvals, "launch", "launches")
}

// MutateLaunch stamps the launch's creator and by/at of its appended
// approvals.
func (id *Identity) MutateLaunch(_ context.Context, req admission.Request) admission.Response {
	return mutateApprovals(id, req, &releasev1.Launch{}, &releasev1.Launch{}, func(l *releasev1.Launch) []releasev1.Approval { return l.Spec.Approvals })
}

// LaunchRefusal says why l cannot be admitted, or "".
func LaunchRefusal(ctx context.Context, c client.Reader, l *releasev1.Launch) (string, error) {
	if l.Spec.Selector != nil {
		if _, err := metav1.LabelSelectorAsSelector(l.Spec.Selector); err != nil {
			return fmt.Sprintf("spec.selector: %v", err), nil
		}
	}
	var rels releasev1.ReleaseList
	if err := c.List(ctx, &rels, client.InNamespace(l.Namespace)); err != nil {
		return "", fmt.Errorf("reading the Releases of namespace %s to check the launch: %w", l.Namespace, err)
	}
	var launches releasev1.LaunchList
	if err := c.List(ctx, &launches, client.InNamespace(l.Namespace)); err != nil {
		return "", fmt.Errorf("reading the launches of namespace %s: %w", l.Namespace, err)
	}
	members := map[string]*releasev1.Release{}
	for i := range rels.Items {
		if rel := &rels.Items[i]; l.Includes(rel) {
			members[rel.Name] = rel
		}
	}
	if msg := inOtherLaunch(l, members, launches.Items); msg != "" {
		return msg, nil
	}
	var pipes releasev1.ReleasePipelineList
	if err := c.List(ctx, &pipes, client.InNamespace(l.Namespace)); err != nil {
		return "", fmt.Errorf("reading the pipelines of namespace %s: %w", l.Namespace, err)
	}
	return membersCycle(members, pipes.Items), nil
}

// inOtherLaunch names a member of l that another launch still on has.
func inOtherLaunch(l *releasev1.Launch, members map[string]*releasev1.Release, launches []releasev1.Launch) string {
	for _, name := range l.Spec.Members {
		if members[name] != nil {
			continue
		}
		for i := range launches {
			if other := &launches[i]; other.Name != l.Name && !other.Done() && slices.Contains(other.Spec.Members, name) {
				return fmt.Sprintf("spec.members: %s is already a member of launch %s, which is still on: a Release moves with one launch at a time; remove it from one of them", name, other.Name)
			}
		}
	}
	for _, name := range sortedKeys(members) {
		for i := range launches {
			other := &launches[i]
			if other.Name != l.Name && !other.Done() && other.Includes(members[name]) {
				return fmt.Sprintf("spec.members: %s is already a member of launch %s, which is still on: a Release moves with one launch at a time; remove it from one of them", name, other.Name)
			}
		}
	}
	return ""
}

// membersCycle names a dependency cycle between the members' pipelines,
// with their pipelines' requirements and the members' own: members that
// each wait for the other to run first would hold the launch for ever.
func membersCycle(members map[string]*releasev1.Release, pipes []releasev1.ReleasePipeline) string {
	edges := map[string][]string{}
	add := func(from string, reqs []releasev1.Requirement) {
		for _, r := range reqs {
			if !slices.Contains(edges[from], r.Pipeline) {
				edges[from] = append(edges[from], r.Pipeline)
			}
		}
	}
	for i := range pipes {
		add(pipes[i].Name, pipes[i].Spec.Requires)
	}
	var starts []string
	for _, name := range sortedKeys(members) {
		rel := members[name]
		add(rel.Spec.Pipeline, rel.Spec.Requires)
		starts = append(starts, rel.Spec.Pipeline)
	}
	for _, p := range starts {
		if cycle := cycleThrough(p, edges); cycle != nil {
			return fmt.Sprintf("a dependency cycle between its members' services, %s: no member could ever go first; remove one of these requirements (spec.requires of the Releases or their pipelines)", strings.Join(cycle, " -> "))
		}
	}
	return ""
}

func sortedKeys(m map[string]*releasev1.Release) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ReleaseLaunchRefusal says why rel cannot be admitted into the launches
// that would have it (its name in spec.members, its labels matching a
// selector), or "": it may be in one launch that is still on. Checked on
// creation and when its labels change; old is nil on creation.
func ReleaseLaunchRefusal(ctx context.Context, c client.Reader, rel, old *releasev1.Release) (string, error) {
	if old != nil && maps.Equal(old.Labels, rel.Labels) {
		return "", nil
	}
	var launches releasev1.LaunchList
	if err := c.List(ctx, &launches, client.InNamespace(rel.Namespace)); err != nil {
		return "", fmt.Errorf("reading the launches of namespace %s: %w", rel.Namespace, err)
	}
	var in []string
	for i := range launches.Items {
		if l := &launches.Items[i]; !l.Done() && l.Includes(rel) {
			in = append(in, l.Name)
		}
	}
	if len(in) < 2 {
		return "", nil
	}
	sort.Strings(in)
	return fmt.Sprintf("Release %s would be a member of launches %s, which are all still on: a Release moves with one launch at a time; change its labels or the launches' spec.members or spec.selector",
		rel.Name, strings.Join(in, " and ")), nil
}
