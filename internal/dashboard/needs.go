package dashboard

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/checklist"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

// needs collects what needs a person across the matching pipelines.
type needs struct {
	ctx   context.Context
	store Store
	who   viewer
	clock gates.Clock
	// kind shown; every kind when empty.
	kind  string
	count map[string]int
	list  []Need
	// owns: whether the viewer owns an open item of a checklist, read once.
	owns map[types.NamespacedName]bool
}

func (n *needs) add(need Need) {
	n.count[need.Kind]++
	if n.kind == "" || n.kind == need.Kind {
		n.list = append(n.list, need)
	}
}

// pipeline adds what needs a person in one pipeline: itself when it is not
// Ready, its newest Release when it failed, and each Release on its way
// that waits for the viewer, for a verdict, or for something other than
// time (a planned time, a soak or a calendar window pass by themselves).
func (n *needs) pipeline(p *releasev1.ReleasePipeline, waiting []*releasev1.Release, newest *releasev1.Release) {
	base := Need{Namespace: p.Namespace, Pipeline: p.Name}
	if c := meta.FindStatusCondition(p.Status.Conditions, releasev1.ConditionReady); c != nil && c.Status == "False" {
		need := base
		need.Kind, need.What = needFailing, inZone(c.Message, n.clock.Loc)
		n.add(need)
	}
	if newest != nil && newest.Status.Phase == releasev1.PhaseFailed {
		need := n.release(base, newest)
		need.Kind, need.What = needFailing, inZone(failure(newest), n.clock.Loc)
		n.add(need)
	}
	for _, rel := range waiting {
		n.waiting(n.release(base, rel), rel)
	}
}

func (n *needs) release(base Need, rel *releasev1.Release) Need {
	base.Release, base.Version, base.Stage = rel.Name, rel.Spec.Version, rel.Status.CurrentStage
	return base
}

// failure says what went wrong with a failed Release: its Ready message.
func failure(rel *releasev1.Release) string {
	if c := meta.FindStatusCondition(rel.Status.Conditions, releasev1.ConditionReady); c != nil && c.Message != "" {
		return c.Message
	}
	return "failed in " + rel.Status.CurrentStage
}

func (n *needs) waiting(need Need, rel *releasev1.Release) {
	for _, ss := range rel.Status.Stages {
		if ss.Analysis != nil && ss.Analysis.Phase == "Inconclusive" {
			need.Kind, need.Stage = needFailing, ss.Name
			need.What = fmt.Sprintf("the analysis in %s is inconclusive: a person's verdict decides", ss.Name)
			n.add(need)
			return
		}
		if ss.Phase == releasev1.StageRolledBack || ss.Phase == releasev1.StageFailed {
			need.Kind, need.Stage, need.What = needFailing, ss.Name, failure(rel)
			if ss.Message != "" {
				need.What = inZone(ss.Message, n.clock.Loc)
			}
			n.add(need)
			return
		}
	}
	ss := rel.Status.StageStatus(rel.Status.FirstCurrentStage())
	if rel.Spec.Paused {
		need.Kind, need.What = needBlocked, gates.Words(need.Stage, releasev1.GateStatus{Name: gates.NamePaused, Status: releasev1.GateFailed}, n.clock)
		n.add(need)
		return
	}
	if ss == nil {
		return
	}
	var blocked *releasev1.GateStatus
	for i := range ss.Gates {
		g := &ss.Gates[i]
		if g.Status == releasev1.GatePassed {
			continue
		}
		switch {
		case g.Name == gates.NameApprovals && n.mayApprove(rel, ss.Name):
			need.Kind, need.What = needApprove, gates.Words(ss.Name, *g, n.clock)
			n.add(need)
			return
		case g.Name == gates.NameLaunchChecklist && n.ownsOpenItem(rel):
			need.Kind, need.What = needSignOff, gates.Words(ss.Name, *g, n.clock)
			n.add(need)
			return
		case blocked == nil && (g.Status == releasev1.GateFailed ||
			g.Name != gates.NameNotBefore && g.Name != gates.NameSoak && g.Name != gates.NameCalendar && g.Name != gates.NameStage):
			blocked = g
		}
	}
	if blocked != nil {
		need.Kind, need.What, need.Issues = needBlocked, gates.Words(ss.Name, *blocked, n.clock), blocked.Issues
		n.add(need)
	}
}

// ownsOpenItem: one of the required open items of the Release's checklist
// is the viewer's to sign off (checklist.OpenItems, checklist.MaySignOff).
func (n *needs) ownsOpenItem(rel *releasev1.Release) bool {
	if n.who.may == nil || rel.Spec.LaunchChecklist == "" {
		return false
	}
	key := types.NamespacedName{Namespace: rel.Namespace, Name: rel.Spec.LaunchChecklist}
	owns, seen := n.owns[key]
	if !seen {
		lc := &releasev1.LaunchChecklist{}
		if err := n.store.Get(n.ctx, key, lc); err == nil {
			for _, it := range checklist.OpenItems(lc) {
				owns = owns || checklist.MaySignOff(it.Item.Owners, n.who.user, n.who.groups)
			}
		}
		if n.owns == nil {
			n.owns = map[types.NamespacedName]bool{}
		}
		n.owns[key] = owns
	}
	// Asked for the namespace, as the viewer's session keeps it a while.
	return owns && n.who.can(n.ctx, "launchchecklists", rel.Namespace, "", "update", releasev1.VerbSignOff)
}

// mayApprove asks for the namespace, as the viewer's session keeps it a while.
func (n *needs) mayApprove(rel *releasev1.Release, stage string) bool {
	ok, _ := n.who.mayApprove(n.ctx, rel, stage, "")
	return ok
}

// sorted lists the needs by kind (the order of NeedKinds), then pipeline and
// Release, at most maxNeeds.
func (n *needs) sorted() ([]Need, map[string]int, int) {
	order := map[string]int{}
	for i, k := range NeedKinds {
		order[k.Kind] = i
	}
	sort.SliceStable(n.list, func(i, j int) bool {
		a, b := n.list[i], n.list[j]
		if a.Kind != b.Kind {
			return order[a.Kind] < order[b.Kind]
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Pipeline != b.Pipeline {
			return a.Pipeline < b.Pipeline
		}
		return a.Release < b.Release
	})
	more := 0
	if len(n.list) > maxNeeds {
		more = len(n.list) - maxNeeds
		n.list = n.list[:maxNeeds]
	}
	return n.list, n.count, more
}
