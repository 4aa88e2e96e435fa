package release

import (
	"context"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

// groupFacts finds where the other members of the Release's launch stand,
// for stage i; nil when the Release is in no launch.
func (s *step) groupFacts(ctx context.Context, launch *releasev1.Launch, i int) (*gates.GroupFacts, error) {
	if launch == nil {
		return nil, nil
	}
	f := &gates.GroupFacts{Launch: launch.Name, OnFailure: launch.FailurePolicy(), Stage: s.pipe.Spec.Stages[i].Name}
	for _, j := range s.pipe.Spec.AfterIndexes(i) {
		f.After = append(f.After, s.pipe.Spec.Stages[j].Name)
	}
	members, missing, err := LaunchMembers(ctx, s.client, s.apiReader, launch)
	if err != nil {
		return nil, err
	}
	for _, m := range members {
		if m.Name != s.rel.Name {
			f.Members = append(f.Members, gates.GroupMember{Name: m.Name, Version: m.Spec.Version, Phase: m.Status.Phase, Stages: m.StagePhases(), WithLaunch: m.FailedWithLaunch()})
		}
	}
	for _, name := range missing {
		f.Members = append(f.Members, gates.GroupMember{Name: name, Missing: true})
	}
	return f, nil
}

// carriedBy is rel as its launch carries it: with the launch's milestone
// and launch checklist when rel names none, and the launch's plan for a
// stage when rel plans none for it or an earlier time. rel itself when it
// is in no launch; the copy shares rel's status, to read.
func carriedBy(rel *releasev1.Release, l *releasev1.Launch) *releasev1.Release {
	if l == nil || l.Spec.Milestone == "" && l.Spec.LaunchChecklist == "" && len(l.Spec.Plan) == 0 {
		return rel
	}
	v := &releasev1.Release{TypeMeta: rel.TypeMeta, ObjectMeta: rel.ObjectMeta, Spec: *rel.Spec.DeepCopy(), Status: rel.Status}
	if v.Spec.Milestone == "" {
		v.Spec.Milestone = l.Spec.Milestone
	}
	if v.Spec.LaunchChecklist == "" {
		v.Spec.LaunchChecklist = l.Spec.LaunchChecklist
	}
	for _, p := range l.Spec.Plan {
		own := plannedFor(v, p.Stage)
		switch {
		case own == nil:
			v.Spec.Plan = append(v.Spec.Plan, p)
		case own.Before(&p.At):
			*own = p.At
		}
	}
	return v
}

// LaunchOf is the launch rel is a member of and that is not over yet (the
// first by name: admission refuses a member in two), else one that failed
// (a failed launch keeps its members halted until a person deletes it or
// lets them go with onFailure Member), or nil.
func LaunchOf(ctx context.Context, c client.Reader, rel *releasev1.Release) (*releasev1.Launch, error) {
	var list releasev1.LaunchList
	if err := c.List(ctx, &list, client.InNamespace(rel.Namespace)); err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	var halted *releasev1.Launch
	for i := range list.Items {
		l := &list.Items[i]
		switch {
		case !l.Includes(rel):
		case !l.Done():
			return l, nil
		case l.Status.Phase == releasev1.LaunchFailed && halted == nil:
			halted = l
		}
	}
	return halted, nil
}

// LaunchMembers reads the launch's Releases, sorted by name, and the names
// in spec.members that no Release has. A member the cache does not hold
// (another shard's) is read from api, when set.
func LaunchMembers(ctx context.Context, c, api client.Reader, l *releasev1.Launch) (members []releasev1.Release, missing []string, err error) {
	if l.Spec.Selector != nil {
		var list releasev1.ReleaseList
		if err := c.List(ctx, &list, client.InNamespace(l.Namespace)); err != nil {
			return nil, nil, err
		}
		for _, rel := range list.Items {
			if l.Includes(&rel) {
				members = append(members, rel)
			}
		}
	}
	for _, name := range l.Spec.Members {
		rel := releasev1.Release{}
		key := types.NamespacedName{Namespace: l.Namespace, Name: name}
		err := c.Get(ctx, key, &rel)
		if apierrors.IsNotFound(err) && api != nil {
			err = api.Get(ctx, key, &rel)
		}
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, name)
		case err != nil:
			return nil, nil, err
		default:
			members = append(members, rel)
		}
	}
	sort.Slice(members, func(i, j int) bool { return members[i].Name < members[j].Name })
	sort.Strings(missing)
	return members, missing, nil
}

// groupBatch names the members of the Release's launch promoted into stage
// i together and says how many of them are expected into its repository
// and branch now, the Release among them: its coalesced commit waits for
// them (promotion.Request.Group and GroupSize). A member counts when it is
// still to be committed in a stage of that name whose target is the same
// repository and branch (a commit, no targets[], no pull request), unless
// it requires the pipeline of another member not deployed in that stage
// yet: the dependencies gate lets it in later, with a commit of its own.
// "", 0 for a Release in no launch, or when the members cannot be read
// (its promotion then goes without waiting).
func (s *step) groupBatch(ctx context.Context, i int) (string, int) {
	launch, err := LaunchOf(ctx, s.client, s.rel)
	if launch == nil || err != nil {
		return "", 0
	}
	members, _, err := LaunchMembers(ctx, s.client, s.apiReader, launch)
	if err != nil {
		return "", 0
	}
	stage := &s.pipe.Spec.Stages[i]
	type member struct {
		rel  *releasev1.Release
		pipe *releasev1.ReleasePipeline
	}
	var due []member
	undeployed := map[string]bool{}
	for k := range members {
		m := &members[k]
		if m.Status.Phase == releasev1.PhaseFailed || m.Status.Phase == releasev1.PhaseSuperseded {
			continue
		}
		pipe := s.pipe
		if m.Name != s.rel.Name {
			if pipe, _, err = s.requiredPipeline(ctx, m.Spec.Pipeline); err != nil || pipe == nil {
				continue
			}
		}
		j := pipe.StageIndex(stage.Name)
		if j < 0 {
			continue
		}
		switch stagePhaseOf(m, stage.Name) {
		case "", releasev1.StagePending, releasev1.StageWaiting, releasev1.StagePromoting:
			undeployed[pipe.Name] = true
			st := &pipe.Spec.Stages[j]
			if !st.HasTargets() && st.Target.Strategy != releasev1.StrategyPullRequest &&
				st.Target.Repository == stage.Target.Repository && st.Target.Branch == stage.Target.Branch {
				due = append(due, member{rel: m, pipe: pipe})
			}
		case releasev1.StageAwaitingMerge, releasev1.StageDeploying:
			undeployed[pipe.Name] = true
		}
	}
	n := 0
	for _, m := range due {
		held := false
		for _, r := range releasev1.Requires(m.pipe, m.rel) {
			held = held || (r.Pipeline != m.pipe.Name && undeployed[r.Pipeline])
		}
		if !held || m.rel.Name == s.rel.Name {
			n++
		}
	}
	return launch.Namespace + "/" + launch.Name + "|" + stage.Name, n
}

// stagePhaseOf is rel's phase in the stage of that name, "" before it
// started.
func stagePhaseOf(rel *releasev1.Release, stage string) releasev1.StagePhase {
	for _, ss := range rel.Status.Stages {
		if ss.Name == stage {
			return ss.Phase
		}
	}
	return ""
}
