package dashboard

import (
	"context"
	"errors"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// LaunchView is a launch's page: its members × stages, the member that
// holds it and why.
type LaunchView struct {
	Namespace    string `json:"namespace"`
	Name         string `json:"name"`
	Phase        string `json:"phase"`
	CurrentStage string `json:"currentStage,omitempty"`
	// Holder is status.holder: which member holds the launch and why.
	Holder string `json:"holder,omitempty"`
	// Problem is the Ready condition's message when it is not True (a
	// member that does not exist).
	Problem   string `json:"problem,omitempty"`
	OnFailure string `json:"onFailure"`
	// OnFailureWords says what a failing member does to the others.
	OnFailureWords string `json:"onFailureWords"`
	// Selector is spec.selector, written as kubectl does; empty when the
	// members are named.
	Selector string      `json:"selector,omitempty"`
	Stages   []string    `json:"stages"`
	Members  []LaunchRow `json:"members"`
	// Unreported: the controller has not written the launch's status for
	// its spec yet (a new or changed launch).
	Unreported bool `json:"unreported,omitempty"`
	// Forecast is status.forecast: when the launch reaches each stage, and
	// the member it waits for there; CriticalPath is status.criticalPath.
	Forecast     []LaunchForecastRow `json:"forecast,omitempty"`
	CriticalPath string              `json:"criticalPath,omitempty"`
}

// LaunchForecastRow is when the launch reaches one stage (every member
// promoted there): At in the viewer's zone, the member promoted last there.
type LaunchForecastRow struct {
	Stage   string `json:"stage"`
	At      string `json:"at"`
	Member  string `json:"member,omitempty"`
	Reached bool   `json:"reached,omitempty"`
}

// LaunchRow is one member: its Release, its phase in each of the launch's stages.
type LaunchRow struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Phase   string `json:"phase"`
	Holder  bool   `json:"holder,omitempty"`
	// Missing: no Release has the member's name.
	Missing bool         `json:"missing,omitempty"`
	Cells   []LaunchCell `json:"cells"`
}

// LaunchCell is a member's phase in one stage; empty when its pipeline has
// no such stage.
type LaunchCell struct {
	Stage string `json:"stage"`
	Phase string `json:"phase,omitempty"`
}

// LaunchSummary is a launch in a list: where it stands and who holds it.
type LaunchSummary struct {
	Namespace    string `json:"namespace"`
	Name         string `json:"name"`
	Phase        string `json:"phase"`
	CurrentStage string `json:"currentStage,omitempty"`
	Holder       string `json:"holder,omitempty"`
	Members      int    `json:"members"`
}

// failureWords says what spec.onFailure does, as the page puts it.
var failureWords = map[releasev1.LaunchFailurePolicy]string{
	releasev1.FailGroup:  "a failing member halts the launch: the others do not start their next stage",
	releasev1.FailMember: "a failing member is left behind: the others go on without it",
}

func launchPhase(l *releasev1.Launch) string {
	if l.Status.Phase == "" {
		return string(releasev1.LaunchPending)
	}
	return string(l.Status.Phase)
}

func buildLaunch(ctx context.Context, s Store, key types.NamespacedName, loc *time.Location) (*LaunchView, error) {
	l := &releasev1.Launch{}
	if err := s.Get(ctx, key, l); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, errNotFound
		}
		return nil, err
	}
	st := l.Status
	policy := l.FailurePolicy()
	v := &LaunchView{Namespace: l.Namespace, Name: l.Name, Phase: launchPhase(l), CurrentStage: st.CurrentStage,
		Holder: inZone(st.Holder, loc), OnFailure: string(policy), OnFailureWords: failureWords[policy],
		Stages: st.Stages, Unreported: st.ObservedGeneration < l.Generation}
	if v.Stages == nil {
		v.Stages = []string{}
	}
	v.CriticalPath = inZone(st.CriticalPath, loc)
	for _, f := range st.Forecast {
		v.Forecast = append(v.Forecast, LaunchForecastRow{Stage: f.Stage, At: stamp(f.At.Time, loc), Member: f.Member, Reached: f.Reached})
	}
	if sel := l.Spec.Selector; sel != nil {
		v.Selector = metav1.FormatLabelSelector(sel)
	}
	if c := meta.FindStatusCondition(st.Conditions, releasev1.ConditionReady); c != nil && c.Status != "True" {
		v.Problem = inZone(c.Message, loc)
	}
	reported := map[string]bool{}
	for _, m := range st.Members {
		reported[m.Name] = true
		row := LaunchRow{Name: m.Name, Version: m.Version, Phase: string(m.Phase), Holder: m.Holder, Missing: m.Phase == "" && m.Version == ""}
		for _, stage := range v.Stages {
			cell := LaunchCell{Stage: stage}
			for _, ms := range m.Stages {
				if ms.Name == stage {
					cell.Phase = string(ms.Phase)
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		v.Members = append(v.Members, row)
	}
	// Members named in the spec that the status does not list yet.
	for _, name := range l.Spec.Members {
		if !reported[name] {
			v.Members = append(v.Members, LaunchRow{Name: name, Cells: emptyCells(v.Stages)})
			v.Unreported = true
		}
	}
	return v, nil
}

func emptyCells(stages []string) []LaunchCell {
	out := make([]LaunchCell, len(stages))
	for i, s := range stages {
		out[i] = LaunchCell{Stage: s}
	}
	return out
}

// launchSummaries lists the launches of ns ("" for all) the viewer may read
// (allow nil: all): those on their way first, then by namespace and name; at
// most limit, and how many more there are. While the launches load, or when
// they cannot be listed, the list is empty: it is a pointer to their pages,
// not what the pipelines page is about.
func launchSummaries(ctx context.Context, s Store, ns string, allow func(string) bool, limit int) ([]LaunchSummary, int, error) {
	ls, err := s.Launches(ctx, ns)
	var loading *Loading
	if errors.As(err, &loading) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	kept := make([]*releasev1.Launch, 0, len(ls))
	for _, l := range ls {
		if allow == nil || allow(l.Namespace) {
			kept = append(kept, l)
		}
	}
	sort.Slice(kept, func(i, j int) bool {
		a, b := kept[i], kept[j]
		if a.Done() != b.Done() {
			return !a.Done()
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	more := 0
	if len(kept) > limit {
		more, kept = len(kept)-limit, kept[:limit]
	}
	out := make([]LaunchSummary, 0, len(kept))
	for _, l := range kept {
		out = append(out, LaunchSummary{Namespace: l.Namespace, Name: l.Name, Phase: launchPhase(l), CurrentStage: l.Status.CurrentStage,
			Holder: l.Status.Holder, Members: max(len(l.Status.Members), len(l.Spec.Members))})
	}
	return out, more, nil
}

// launchesOf names the launches rel is a member of (named in spec.members
// or picked by the selector); none while the launches load.
func launchesOf(ctx context.Context, s Store, rel *releasev1.Release) ([]string, error) {
	ls, err := s.Launches(ctx, rel.Namespace)
	var loading *Loading
	if errors.As(err, &loading) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range ls {
		if l.Includes(rel) {
			out = append(out, l.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}
