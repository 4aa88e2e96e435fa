package dashboard

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/checklist"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// ReleaseView is a Release's page.
type ReleaseView struct {
	Namespace    string `json:"namespace"`
	Name         string `json:"name"`
	Pipeline     string `json:"pipeline"`
	Version      string `json:"version"`
	Phase        string `json:"phase"`
	Message      string `json:"message,omitempty"`
	CurrentStage string `json:"currentStage,omitempty"`
	Commit       string `json:"commit,omitempty"`
	CommitURL    string `json:"commitURL,omitempty"`
	CreatedBy    string `json:"createdBy,omitempty"`
	Paused       bool   `json:"paused"`
	// Done: the Release has nothing more to do (no pause, no approval).
	Done      bool           `json:"done"`
	Stages    []StageView    `json:"stages"`
	Approvals []ApprovalView `json:"approvals,omitempty"`
	Checklist *ChecklistView `json:"checklist,omitempty"`
	Milestone string         `json:"milestone,omitempty"`
	// Launches the Release is a member of (those the viewer may read).
	Launches []string `json:"launches,omitempty"`
	// Awaiting lists the stages that wait for an approval; Approve those
	// the viewer may approve (the API server and the identity rules say
	// so), Cannot why the viewer may not approve the others.
	Awaiting []string `json:"awaitingApproval,omitempty"`
	Approve  []string `json:"canApprove,omitempty"`
	Cannot   []string `json:"cannotApprove,omitempty"`
	// CanPause: the viewer may pause or resume the Release.
	CanPause bool `json:"canPause,omitempty"`
	// Verdict lists the stages whose analysis waits for a person's
	// verdict; CanVerdict: the viewer may give it.
	Verdict    []string `json:"awaitingVerdict,omitempty"`
	CanVerdict bool     `json:"canVerdict,omitempty"`
	// RollBack: the stages that run this Release's version and ran an
	// earlier one, where the viewer may roll back on demand (write that one
	// back).
	RollBack []string `json:"canRollBack,omitempty"`
	// Artifacts are the pinned artifacts: name, tag, short digest, signer.
	Artifacts []string `json:"artifacts,omitempty"`
}

// StageView is one stage of a Release.
type StageView struct {
	Name       string      `json:"name"`
	Phase      string      `json:"phase"`
	Message    string      `json:"message,omitempty"`
	Manual     bool        `json:"manual,omitempty"`
	Timeline   []Point     `json:"timeline"`
	Gates      []GateView  `json:"gates,omitempty"`
	Promotion  *Promotion  `json:"promotion,omitempty"`
	Analysis   string      `json:"analysis,omitempty"`
	AnalysisOf string      `json:"analysisMessage,omitempty"`
	Charts     []Chart     `json:"charts,omitempty"`
	Rollback   *LinkedItem `json:"rollback,omitempty"`
	Postmortem *LinkedItem `json:"postmortem,omitempty"`
	Planned    string      `json:"planned,omitempty"`
	Slip       string      `json:"slip,omitempty"`
	// Waves of a stage with targets.
	Waves []WaveView `json:"waves,omitempty"`
}

// Point is one step of a stage's timeline: committed, deployed, soaked, verified.
type Point struct {
	Label string `json:"label"`
	// State: done, pending, failed or waiting (not reached).
	State  string `json:"state"`
	At     string `json:"at,omitempty"`
	Detail string `json:"detail,omitempty"`
	URL    string `json:"url,omitempty"`
}

// GateView is one gate's last evaluation and who can move it: Words say
// it for the page (gates.Words); Message is the status's, for kubectl users.
type GateView struct {
	Name    string                   `json:"name"`
	Status  string                   `json:"status"`
	Reason  string                   `json:"reason,omitempty"`
	Words   string                   `json:"words,omitempty"`
	Message string                   `json:"message,omitempty"`
	URL     string                   `json:"url,omitempty"`
	Issues  []releasev1.BlockerIssue `json:"issues,omitempty"`
	Checked *Moment                  `json:"lastChecked,omitempty"`
	Owners  string                   `json:"owners,omitempty"`
}

// Promotion is the GitOps change of a stage, linked to GitHub.
type Promotion struct {
	Commit          string `json:"commit,omitempty"`
	CommitURL       string `json:"commitURL,omitempty"`
	PullRequest     int    `json:"pullRequest,omitempty"`
	PullRequestURL  string `json:"pullRequestURL,omitempty"`
	PullState       string `json:"pullRequestState,omitempty"`
	PreviousVersion string `json:"previousVersion,omitempty"`
}

// LinkedItem is a rollback or a postmortem: what, and where on GitHub.
type LinkedItem struct {
	Text string `json:"text"`
	URL  string `json:"url,omitempty"`
	// Note: where it stands (a rollback: waiting for the stage's agent, or
	// since when the stage is back on the version written back).
	Note string `json:"note,omitempty"`
}

// ApprovalView is one recorded approval.
type ApprovalView struct {
	Stage, By, At, Comment string
}

// ChecklistView is a launch checklist with who signed what.
type ChecklistView struct {
	Namespace string          `json:"namespace"`
	Name      string          `json:"name"`
	Missing   bool            `json:"missing,omitempty"`
	Ready     bool            `json:"ready"`
	Done      int32           `json:"done"`
	Total     int32           `json:"total"`
	Items     []ChecklistItem `json:"items"`
	// CanSignOff: the viewer may sign off at least one item.
	CanSignOff bool `json:"canSignOff,omitempty"`
}

// ChecklistItem is one item, its owners and its sign-offs.
type ChecklistItem struct {
	Name     string   `json:"name"`
	Function string   `json:"function"`
	State    string   `json:"state"`
	Required bool     `json:"required"`
	Owners   string   `json:"owners,omitempty"`
	Manual   bool     `json:"manual,omitempty"`
	Message  string   `json:"message,omitempty"`
	URL      string   `json:"url,omitempty"`
	SignOffs []string `json:"signOffs,omitempty"`
	// CanSignOff: the viewer owns the item and may sign it off.
	CanSignOff bool `json:"canSignOff,omitempty"`
}

// errNotFound is a page for an object the cache does not hold.
var errNotFound = errors.New("not found")

func buildRelease(ctx context.Context, s Store, key types.NamespacedName, who viewer, now time.Time, loc *time.Location) (*ReleaseView, error) {
	rel := &releasev1.Release{}
	if err := s.Get(ctx, key, rel); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, errNotFound
		}
		return nil, err
	}
	pipe := &releasev1.ReleasePipeline{}
	if err := s.Get(ctx, types.NamespacedName{Namespace: rel.Namespace, Name: rel.Spec.Pipeline}, pipe); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
		pipe = nil
	}
	v := &ReleaseView{Namespace: rel.Namespace, Name: rel.Name, Pipeline: rel.Spec.Pipeline, Version: rel.Spec.Version,
		Phase: phaseOr(rel.Status.Phase), CurrentStage: rel.Status.CurrentStage, Commit: rel.Status.Commit, Paused: rel.Spec.Paused,
		Done: done(rel.Status.Phase), CreatedBy: rel.Annotations[releasev1.AnnotationCreatedBy], Milestone: rel.Spec.Milestone,
	}
	if c := meta.FindStatusCondition(rel.Status.Conditions, releasev1.ConditionReady); c != nil {
		v.Message = inZone(c.Message, loc)
	}
	for _, a := range rel.Status.Artifacts {
		v.Artifacts = append(v.Artifacts, a.Name+": "+a.Summary())
	}
	web := github.WebURL("")
	var stages []releasev1.Stage
	if pipe != nil {
		web = github.WebURL(pipe.Spec.GitHub.APIURL)
		v.CommitURL = commitURL(web, pipe.Spec.Source.Repository, rel.Status.Commit)
		stages = pipe.Spec.Stages
	}
	for _, a := range rel.Spec.Approvals {
		at := ""
		if a.At != nil {
			at = stamp(a.At.Time, loc)
		}
		v.Approvals = append(v.Approvals, ApprovalView{Stage: a.Stage, By: a.By, At: at, Comment: a.Comment})
	}
	var lc *releasev1.LaunchChecklist
	if rel.Spec.LaunchChecklist != "" {
		lc = &releasev1.LaunchChecklist{}
		if err := s.Get(ctx, types.NamespacedName{Namespace: rel.Namespace, Name: rel.Spec.LaunchChecklist}, lc); err != nil {
			if !apierrors.IsNotFound(err) {
				return nil, err
			}
			lc = nil
			v.Checklist = &ChecklistView{Namespace: rel.Namespace, Name: rel.Spec.LaunchChecklist, Missing: true}
		} else {
			v.Checklist = checklistView(lc, loc)
		}
	}
	// Stages in pipeline order; a stage the status has not reached yet is Pending.
	names := make([]string, 0, len(stages))
	for _, st := range stages {
		names = append(names, st.Name)
	}
	if len(names) == 0 {
		for _, ss := range rel.Status.Stages {
			names = append(names, ss.Name)
		}
	}
	for i, name := range names {
		var spec, next *releasev1.Stage
		if i < len(stages) {
			spec = &stages[i]
		}
		if i+1 < len(stages) {
			next = &stages[i+1]
		}
		ss := rel.Status.StageStatus(name)
		if ss == nil {
			ss = &releasev1.ReleaseStageStatus{Name: name, Phase: releasev1.StagePending}
		}
		sv := stageView(rel, ss, spec, next, lc, web, now, loc)
		if name == rel.Status.CurrentStage && ss.Phase == releasev1.StageWaiting && sv.Message != "" {
			v.Message = "Before " + name + ": " + sv.Message // the status's says it for kubectl users
		}
		if sv.Manual && !v.Done && !promotedOrLater(ss.Phase) {
			v.Awaiting = append(v.Awaiting, name)
		}
		if ss.Analysis != nil && ss.Analysis.Phase == "Inconclusive" {
			v.Verdict = append(v.Verdict, name)
		}
		if runsIn(pipe, rel, name) {
			v.RollBack = append(v.RollBack, name)
		}
		v.Stages = append(v.Stages, sv)
	}
	offer(ctx, v, rel, lc, who)
	return v, nil
}

// runsIn: rel's version is the one last committed into stage, and the
// stage ran another before it.
func runsIn(pipe *releasev1.ReleasePipeline, rel *releasev1.Release, stage string) bool {
	if pipe == nil {
		return false
	}
	ps := pipe.Status.StageStatus(stage)
	return ps != nil && ps.Release == rel.Name && ps.Version == rel.Spec.Version && len(pipe.RollbackTargets(stage)) > 0
}

func promotedOrLater(p releasev1.StagePhase) bool {
	switch p {
	case releasev1.StagePending, releasev1.StageWaiting, "":
		return false
	}
	return true
}

func stageView(rel *releasev1.Release, ss *releasev1.ReleaseStageStatus, spec, next *releasev1.Stage, lc *releasev1.LaunchChecklist, web string, now time.Time, loc *time.Location) StageView {
	sv := StageView{Name: ss.Name, Phase: string(ss.Phase), Message: inZone(ss.Message, loc)}
	repo := ""
	if spec != nil {
		sv.Manual = spec.Promotion == releasev1.PromotionManual
		repo = spec.GitOpsRepository()
	}
	if p := ss.Promotion; p != nil && (p.Commit != "" || p.PullRequest != nil || p.NoChange) {
		pv := &Promotion{Commit: p.Commit, CommitURL: commitURL(web, repo, p.Commit), PreviousVersion: p.PreviousVersion}
		if pr := p.PullRequest; pr != nil {
			pv.PullRequest, pv.PullRequestURL, pv.PullState = pr.Number, pr.URL, pr.State
		}
		sv.Promotion = pv
	}
	if ss.PlannedAt != nil {
		sv.Planned = stamp(ss.PlannedAt.Time, loc)
	}
	if ss.Slip != nil {
		sv.Slip = ss.Slip.Duration.String()
	}
	sv.Timeline = timeline(ss, spec, next, web, repo, now, loc)
	sv.Waves = waveViews(ss, spec, web, loc)
	var holding []string
	for _, g := range ss.Gates {
		gv := GateView{Name: g.Name, Status: string(g.Status), Reason: g.Reason, Message: g.Message, URL: g.URL, Issues: g.Issues,
			Words: gates.Words(ss.Name, g, gates.Clock{Now: now, Loc: loc})}
		if g.LastChecked != nil {
			gv.Checked = moment(g.LastChecked.Time, loc)
		}
		gv.Owners = gateOwners(rel, ss.Name, g.Name, lc)
		sv.Gates = append(sv.Gates, gv)
		if g.Status != releasev1.GatePassed {
			holding = append(holding, gv.Words)
		}
	}
	if ss.Phase == releasev1.StageWaiting && len(holding) > 0 {
		sv.Message = strings.Join(holding, "; ") // in the page's words, as the gates below
	}
	if a := ss.Analysis; a != nil {
		sv.Analysis, sv.AnalysisOf = a.Phase, inZone(a.Message, loc)
		var metrics []releasev1.AnalysisMetric
		if spec != nil && spec.Verify != nil {
			metrics = spec.Verify.Analysis.Metrics
		}
		for _, m := range a.Metrics {
			cond := ""
			for _, sm := range metrics {
				if sm.Name == m.Name {
					cond = conditionText(sm)
				}
			}
			sv.Charts = append(sv.Charts, Chart{Metric: m.Name, Phase: m.Phase, Condition: cond,
				Summary: fmt.Sprintf("%d measured: %d successful, %d failed, %d inconclusive, %d errors", m.Count, m.Successes, m.Failures, m.Inconclusives, m.Errors),
				SVG:     template.HTML(chartSVG(m, cond, loc)), Measurements: measurementRows(m, loc)}) // the SVG escapes every text it holds
		}
	}
	if rb := ss.Rollback; rb != nil {
		li := &LinkedItem{Text: fmt.Sprintf("rolled back to %s, commit %s", rb.Version, github.ShortSHA(rb.Commit)), URL: commitURL(web, repo, rb.Commit), Note: inZone(rb.Message, loc)}
		if rb.PullRequest != nil {
			li.Text = fmt.Sprintf("rolled back to %s, pull request #%d", rb.Version, rb.PullRequest.Number)
			li.URL = rb.PullRequest.URL
		}
		sv.Rollback = li
	}
	if pm := ss.Postmortem; pm != nil {
		sv.Postmortem = &LinkedItem{Text: fmt.Sprintf("postmortem issue #%d", pm.Number), URL: pm.URL}
	}
	return sv
}

// gateOwners says who can move a gate: who approved so far, or the owners of
// the checklist's open items.
func gateOwners(rel *releasev1.Release, stage, gate string, lc *releasev1.LaunchChecklist) string {
	switch gate {
	case gates.NameApprovals:
		var by []string
		for _, a := range rel.Spec.Approvals {
			if a.Stage == stage {
				by = append(by, a.By)
			}
		}
		who := "anyone allowed to approve releases here, but " + orSomeone(rel.Annotations[releasev1.AnnotationCreatedBy]) + " (the creator)"
		if len(by) > 0 {
			return "approved by " + strings.Join(by, ", ") + "; " + who
		}
		return who
	case gates.NameLaunchChecklist:
		if lc == nil {
			return ""
		}
		return checklist.Open(lc) // the checklist's own rule: required items, their owners
	}
	return ""
}

func orSomeone(s string) string {
	if s == "" {
		return "the person who created it"
	}
	return s
}

func checklistView(lc *releasev1.LaunchChecklist, loc *time.Location) *ChecklistView {
	v := &ChecklistView{Namespace: lc.Namespace, Name: lc.Name, Ready: lc.Status.Ready, Done: lc.Status.Done, Total: lc.Status.Total}
	status := map[string]releasev1.ChecklistItemStatus{}
	for _, is := range lc.Status.Items {
		status[is.Name] = is
	}
	for _, it := range lc.Spec.Items {
		is := status[it.Name]
		item := ChecklistItem{Name: it.Name, Function: it.Function, State: string(is.State), Required: it.Required == nil || *it.Required,
			Owners: checklist.OwnersText(it.Owners), Manual: it.Check.Manual != nil, Message: is.Message, URL: is.URL}
		if item.State == "" {
			item.State = string(releasev1.ItemPending)
		}
		for _, so := range lc.Spec.SignOffs {
			if so.Item != it.Name {
				continue
			}
			line := fmt.Sprintf("%s by %s", strings.ToLower(string(so.Decision))+"d", so.By)
			if so.At != nil {
				line += " at " + stamp(so.At.Time, loc)
			}
			if so.Comment != "" {
				line += ": " + so.Comment
			}
			item.SignOffs = append(item.SignOffs, line)
		}
		v.Items = append(v.Items, item)
	}
	return v
}
