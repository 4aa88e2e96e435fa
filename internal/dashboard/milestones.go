package dashboard

import (
	"context"
	"fmt"
	"strings"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// MilestonesView is the milestones page.
type MilestonesView struct {
	Namespace  string          `json:"namespace,omitempty"`
	Namespaces []string        `json:"namespaces"`
	Milestones []MilestoneView `json:"milestones"`
}

// MilestoneView is one milestone: progress, forecast against due date, health.
type MilestoneView struct {
	Namespace     string          `json:"namespace"`
	Name          string          `json:"name"`
	Description   string          `json:"description,omitempty"`
	Health        string          `json:"health"`
	Due           string          `json:"due"`
	Forecast      string          `json:"forecast,omitempty"`
	ForecastLate  bool            `json:"forecastLate,omitempty"`
	DaysRemaining int32           `json:"daysRemaining"`
	Progress      string          `json:"progress,omitempty"`
	Percent       int32           `json:"percent"`
	ClosingRate   string          `json:"closingRate,omitempty"`
	Repository    string          `json:"repository,omitempty"`
	MilestoneURL  string          `json:"milestoneURL,omitempty"`
	Blockers      []BlockerView   `json:"blockers,omitempty"`
	Releases      []MilestoneItem `json:"releases,omitempty"`
}

// BlockerView is an open blocker issue, linked to GitHub.
type BlockerView struct {
	Number int    `json:"number"`
	Title  string `json:"title"`
	URL    string `json:"url,omitempty"`
}

// MilestoneItem is a Release of the milestone and where it stands.
type MilestoneItem struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Phase   string `json:"phase,omitempty"`
	Stage   string `json:"stage,omitempty"`
	Done    bool   `json:"done"`
}

func buildMilestones(ctx context.Context, s Store, ns string, loc *time.Location) (*MilestonesView, error) {
	ms, err := s.Milestones(ctx, "")
	if err != nil {
		return nil, err
	}
	sortByKey(ms)
	v := &MilestonesView{Namespace: ns}
	seen := map[string]bool{}
	for _, m := range ms {
		if !seen[m.Namespace] {
			seen[m.Namespace] = true
			v.Namespaces = append(v.Namespaces, m.Namespace)
		}
		if ns != "" && m.Namespace != ns {
			continue
		}
		v.Milestones = append(v.Milestones, milestoneView(m, loc))
	}
	return v, nil
}

func milestoneView(m *releasev1.Milestone, loc *time.Location) MilestoneView {
	st := m.Status
	mv := MilestoneView{Namespace: m.Namespace, Name: m.Name, Description: m.Spec.Description, Health: string(st.Health),
		Due: stamp(m.Spec.DueDate.Time, loc), DaysRemaining: st.DaysRemaining, Progress: st.Progress, Percent: st.Percent,
		ClosingRate: st.ClosingRate}
	if mv.Health == "" {
		mv.Health = "Unknown"
	}
	if st.Forecast != nil {
		mv.Forecast = stamp(st.Forecast.Time, loc)
		mv.ForecastLate = st.Forecast.After(m.Spec.DueDate.Time)
	}
	if gh := m.Spec.GitHub; gh != nil {
		mv.Repository = gh.Repository
		web := github.WebURL(gh.APIURL)
		mv.MilestoneURL = fmt.Sprintf("%s/%s/milestones?state=open&q=%s", web, gh.Repository, strings.ReplaceAll(gh.Milestone, " ", "+"))
	}
	for _, b := range st.Blockers {
		mv.Blockers = append(mv.Blockers, BlockerView{Number: b.Number, Title: b.Title, URL: b.URL})
	}
	for _, r := range st.Releases {
		mv.Releases = append(mv.Releases, MilestoneItem{Name: r.Name, Version: r.Version, Phase: string(r.Phase), Stage: r.Stage, Done: r.Done})
	}
	return mv
}
