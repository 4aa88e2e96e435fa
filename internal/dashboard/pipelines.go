package dashboard

import (
	"context"
	"errors"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// PipelinesQuery filters and pages the pipelines page.
type PipelinesQuery struct {
	Namespace string
	// Search matches pipeline names, source repositories, and the names and
	// versions of their Releases, case-insensitively.
	Search string
	// Needs shows only this kind of what needs a person (approve,
	// signoff, failing, blocked); every kind when empty.
	Needs string
	// Page, from 1.
	Page int
	// PerPage pipelines; 25 when zero.
	PerPage int `json:"-"`
	// allow, when set, hides the namespaces the requester may not see.
	allow func(ns string) bool
}

// PipelinesView is the pipelines page: one row per pipeline.
type PipelinesView struct {
	Query      PipelinesQuery `json:"query"`
	Namespaces []string       `json:"namespaces"`
	Rows       []PipelineRow  `json:"pipelines"`
	// Total pipelines that match the filter; Pages of PerPage.
	Total int `json:"total"`
	Pages int `json:"pages"`
	// Releases counts every Release that matched, on every page.
	Releases int `json:"releases"`
	// ReleasesLoading is set while the Releases are not listed yet: the
	// rows show the stages from each pipeline's status and no waiting
	// Release, and the search matches pipelines and repositories only.
	ReleasesLoading *Loading `json:"-"`
	// Needs is what needs a person first, of every matching pipeline (not
	// only this page): Releases the viewer may approve or sign off, those
	// failing and those blocked; at most maxNeeds, of the kind asked for.
	Needs []Need `json:"needs"`
	// NeedsCount counts them by kind, whichever is shown.
	NeedsCount map[string]int `json:"needsCount"`
	MoreNeeds  int            `json:"moreNeeds,omitempty"`
	// Launches of the namespace filtered (every readable one without),
	// those on their way first; at most maxLaunches, MoreLaunches not shown.
	Launches     []LaunchSummary `json:"launches"`
	MoreLaunches int             `json:"moreLaunches,omitempty"`
}

// Kinds of Need, in the order the page lists them.
const (
	needApprove = "approve"
	needSignOff = "signoff"
	needFailing = "failing"
	needBlocked = "blocked"
)

// NeedKinds are the kinds of Need with the words of the page's filter.
var NeedKinds = []struct{ Kind, Label string }{
	{needApprove, "to approve"}, {needSignOff, "to sign off"}, {needFailing, "failing"}, {needBlocked, "blocked"},
}

// maxNeeds bounds the rows of the "needs you" table.
const maxNeeds = 50

// Need is one thing that needs a person, in a row of its own: a Release the
// viewer may approve or sign off, one that failed or waits for a verdict,
// one held by something other than time, a pipeline that is not Ready.
type Need struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Pipeline  string `json:"pipeline"`
	Release   string `json:"release,omitempty"`
	Version   string `json:"version,omitempty"`
	Stage     string `json:"stage,omitempty"`
	// What says what holds it or what went wrong, in the page's words.
	What   string                   `json:"what"`
	Issues []releasev1.BlockerIssue `json:"issues,omitempty"`
}

// PipelineRow is one pipeline: its stages in order and its waiting Releases.
type PipelineRow struct {
	Namespace string      `json:"namespace"`
	Name      string      `json:"name"`
	Source    string      `json:"source"`
	SourceURL string      `json:"sourceURL,omitempty"`
	Ready     string      `json:"ready"`
	Problem   string      `json:"problem,omitempty"`
	Stages    []StageCell `json:"stages"`
	// Columns are the stages of a pipeline whose stages form a graph, by
	// depth: a stage stands one column right of the deepest stage it comes
	// after, the stages of a fan-out one above the other. Nil for a line.
	Columns [][]StageCell `json:"columns,omitempty"`
	Waiting []Waiting     `json:"waiting"`
	// MoreWaiting are waiting Releases not listed (the row shows maxWaiting).
	MoreWaiting int `json:"moreWaiting,omitempty"`
}

// StageCell is one stage of a pipeline: what is live and what is on its way.
type StageCell struct {
	Name string `json:"name"`
	// Namespace of the pipeline, for the cell's links.
	Namespace string `json:"-"`
	// After names the stages it comes after, in a pipeline whose stages
	// form a graph; First marks a stage after none there.
	After string `json:"after,omitempty"`
	First bool   `json:"first,omitempty"`
	// Version live in the stage: deployed by its GitOps agent, or for a
	// stage without deployment the last committed; Release promoted it,
	// DeployedAt says how long ago.
	Version    string  `json:"version,omitempty"`
	Release    string  `json:"release,omitempty"`
	DeployedAt *Moment `json:"deployedAt,omitempty"`
	// Note says where a live version Liftoff did not deploy came from (it
	// ran before Liftoff's first promotion into the stage).
	Note string `json:"note,omitempty"`
	// Committed is a version committed into the stage that its agent has
	// not deployed yet (CommittedRelease's, CommittedAt ago); Deploying
	// when that Release holds the stage, waiting for the agent.
	Committed        string  `json:"committed,omitempty"`
	CommittedRelease string  `json:"committedRelease,omitempty"`
	CommittedAt      *Moment `json:"committedAt,omitempty"`
	Deploying        bool    `json:"deploying,omitempty"`
	// InFlight is the Release being promoted into the stage (not yet
	// committed there).
	InFlight        string `json:"inFlight,omitempty"`
	InFlightVersion string `json:"inFlightVersion,omitempty"`
	Manual          bool   `json:"manual,omitempty"`
	// Targets says, for a stage with targets, which target runs what:
	// "1.5.0 on prod-1, prod-2; 1.4.2 on 10 targets (prod-3 … prod-12)".
	Targets string `json:"targets,omitempty"`
}

// Waiting is a Release on its way and the one gate that holds it, said in
// the page's words (gates.Words).
type Waiting struct {
	Name    string                   `json:"name"`
	Version string                   `json:"version"`
	Phase   string                   `json:"phase"`
	Stage   string                   `json:"stage,omitempty"`
	Gate    string                   `json:"gate,omitempty"`
	Message string                   `json:"message,omitempty"`
	Issues  []releasev1.BlockerIssue `json:"issues,omitempty"`
	Paused  bool                     `json:"paused,omitempty"`
}

const maxWaiting = 5

// done tells whether a Release has nothing more to do.
func done(p releasev1.ReleasePhase) bool {
	switch p {
	case releasev1.PhaseReleased, releasev1.PhaseFailed, releasev1.PhaseSuperseded:
		return true
	}
	return false
}

// Holding returns the gate that holds a Release in its current stage and
// what holds it in people's words: the first gate that has not passed, or
// the stage's own message.
func Holding(rel *releasev1.Release, clock gates.Clock) (stage string, g *releasev1.GateStatus, words string) {
	stage = rel.Status.CurrentStage
	if rel.Spec.Paused {
		p := releasev1.GateStatus{Name: gates.NamePaused, Status: releasev1.GateFailed}
		return stage, &p, gates.Words(stage, p, clock)
	}
	ss := rel.Status.StageStatus(stage)
	if ss == nil {
		if c := meta.FindStatusCondition(rel.Status.Conditions, releasev1.ConditionReady); c != nil {
			return stage, nil, inZone(c.Message, clock.Loc)
		}
		return stage, nil, "not evaluated yet"
	}
	for i := range ss.Gates {
		if g := &ss.Gates[i]; g.Status != releasev1.GatePassed {
			return stage, g, gates.Words(stage, *g, clock)
		}
	}
	return stage, nil, inZone(ss.Message, clock.Loc)
}

// buildPipelines renders the pipelines page from the cache.
func buildPipelines(ctx context.Context, s Store, q PipelinesQuery, who viewer, now time.Time, loc *time.Location) (*PipelinesView, error) {
	if q.PerPage <= 0 {
		q.PerPage = 25
	}
	if q.Page <= 0 {
		q.Page = 1
	}
	pipes, err := s.Pipelines(ctx, q.Namespace)
	if err != nil {
		return nil, err
	}
	v := &PipelinesView{Query: q}
	rels, err := s.Releases(ctx, q.Namespace)
	if errors.As(err, &v.ReleasesLoading) {
		rels = nil // the rows show what the pipelines' own status holds
	} else if err != nil {
		return nil, err
	}
	nsSeen := map[string]bool{}
	type key struct{ ns, name string }
	byPipe := map[key][]*releasev1.Release{}
	newest := map[key]*releasev1.Release{}
	search := strings.ToLower(strings.TrimSpace(q.Search))
	releaseHit := map[key]bool{}
	for _, r := range rels {
		k := key{r.Namespace, r.Spec.Pipeline}
		if search != "" && !releaseHit[k] && (strings.Contains(r.Name, search) || strings.Contains(strings.ToLower(r.Spec.Version), search)) {
			releaseHit[k] = true
		}
		if !done(r.Status.Phase) {
			byPipe[k] = append(byPipe[k], r)
		}
		if n := newest[k]; n == nil || n.CreationTimestamp.Before(&r.CreationTimestamp) ||
			n.CreationTimestamp.Equal(&r.CreationTimestamp) && n.Name < r.Name {
			newest[k] = r
		}
	}
	sortByKey(pipes)
	var match []*releasev1.ReleasePipeline
	for _, p := range pipes {
		if q.allow != nil && !q.allow(p.Namespace) {
			continue
		}
		nsSeen[p.Namespace] = true
		k := key{p.Namespace, p.Name}
		if search != "" && !strings.Contains(strings.ToLower(p.Name), search) &&
			!strings.Contains(strings.ToLower(p.Spec.Source.Repository), search) && !releaseHit[k] {
			continue
		}
		match = append(match, p)
		v.Releases += len(byPipe[k])
	}
	n := needs{ctx: ctx, store: s, who: who, clock: gates.Clock{Now: now, Loc: loc}, kind: q.Needs, count: map[string]int{}}
	for _, p := range match {
		k := key{p.Namespace, p.Name}
		n.pipeline(p, byPipe[k], newest[k])
	}
	v.Needs, v.NeedsCount, v.MoreNeeds = n.sorted()
	for ns := range nsSeen {
		v.Namespaces = append(v.Namespaces, ns)
	}
	sortStrings(v.Namespaces)
	v.Total = len(match)
	v.Pages = (v.Total + q.PerPage - 1) / q.PerPage
	if v.Pages == 0 {
		v.Pages = 1
	}
	if q.Page > v.Pages {
		q.Page, v.Query.Page = v.Pages, v.Pages
	}
	lo := (q.Page - 1) * q.PerPage
	hi := min(lo+q.PerPage, len(match))
	for _, p := range match[lo:hi] {
		v.Rows = append(v.Rows, pipelineRow(p, byPipe[key{p.Namespace, p.Name}], loc))
	}
	return v, nil
}

func pipelineRow(p *releasev1.ReleasePipeline, waiting []*releasev1.Release, loc *time.Location) PipelineRow {
	row := PipelineRow{Namespace: p.Namespace, Name: p.Name, Source: p.Spec.Source.Repository, Ready: "Unknown"}
	web := github.WebURL(p.Spec.GitHub.APIURL)
	row.SourceURL = repoURL(web, p.Spec.Source.Repository)
	if c := meta.FindStatusCondition(p.Status.Conditions, releasev1.ConditionReady); c != nil {
		row.Ready = string(c.Status)
		if c.Status != "True" {
			row.Problem = c.Message
		}
	}
	graph := false
	for _, st := range p.Spec.Stages {
		graph = graph || st.After != nil
	}
	depths := p.Spec.Depths()
	for i, st := range p.Spec.Stages {
		cell := stageCell(p, &st, loc)
		cell.Namespace = p.Namespace
		if graph {
			cell.After = strings.Join(p.Spec.AfterNames(i), ", ")
			cell.First = cell.After == ""
			for len(row.Columns) <= depths[i] {
				row.Columns = append(row.Columns, nil)
			}
			row.Columns[depths[i]] = append(row.Columns[depths[i]], cell)
		}
		row.Stages = append(row.Stages, cell)
	}
	sortByKey(waiting)
	for i, r := range waiting {
		if i == maxWaiting {
			row.MoreWaiting = len(waiting) - maxWaiting
			break
		}
		stage, gate, words := Holding(r, gates.Clock{Loc: loc})
		w := Waiting{Name: r.Name, Version: r.Spec.Version, Phase: phaseOr(r.Status.Phase), Stage: stage, Message: words, Paused: r.Spec.Paused}
		if gate != nil {
			w.Gate, w.Issues = gate.Name, gate.Issues
		}
		row.Waiting = append(row.Waiting, w)
	}
	return row
}

// stageCell is what stage runs (what its agent deployed), what is committed
// there and not deployed yet, and what is being promoted into it.
func stageCell(p *releasev1.ReleasePipeline, st *releasev1.Stage, loc *time.Location) StageCell {
	cell := StageCell{Name: st.Name, Manual: st.Promotion == releasev1.PromotionManual}
	live, committed := p.LiveIn(st.Name)
	if live != nil {
		cell.Version, cell.Release = live.Version, live.Release
		if live.Origin == releasev1.LiveFromGitOpsFiles {
			cell.Note = "ran before Liftoff's first promotion"
		} else {
			cell.DeployedAt = moment(live.DeployedAt.Time, loc)
		}
	}
	if committed != nil {
		cell.Committed, cell.CommittedRelease = committed.Version, committed.Release
		if committed.PromotedAt != nil {
			cell.CommittedAt = moment(committed.PromotedAt.Time, loc)
		}
	}
	cell.Targets = targetsLine(p, st)
	if ps := p.Status.StageStatus(st.Name); ps != nil && ps.InFlight != nil {
		if committed != nil && ps.InFlight.Release == committed.Release && ps.InFlight.Version == committed.Version {
			cell.Deploying = true // committed: the Release waits for the agent
		} else {
			cell.InFlight, cell.InFlightVersion = ps.InFlight.Release, ps.InFlight.Version
		}
	}
	return cell
}

func phaseOr(p releasev1.ReleasePhase) string {
	if p == "" {
		return string(releasev1.PhasePending)
	}
	return string(p)
}
