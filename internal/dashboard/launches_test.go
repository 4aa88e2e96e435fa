package dashboard

import (
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// launchWorld: launch spring ships app-000 1.0.0 and web 1.2.0 (web holds
// it, deploying to dev) and names ghost, which no Release has; launch
// winter, picked by label, is released; autumn is in another namespace.
func launchWorld() *memStore {
	m := fixtureWorld(1, 1)
	app := m.releases[0]
	app.Labels = map[string]string{"launch": "winter"}
	web := fixtureRelease("team-00", "web", "1.2.0")
	m.releases = append(m.releases, web)
	stages := func(phases ...releasev1.StagePhase) []releasev1.LaunchMemberStage {
		var out []releasev1.LaunchMemberStage
		for i, p := range phases {
			out = append(out, releasev1.LaunchMemberStage{Name: []string{"dev", "staging", "prod"}[i], Phase: p})
		}
		return out
	}
	spring := &releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Namespace: "team-00", Name: "spring", Generation: 2},
		Spec: releasev1.LaunchSpec{Members: []string{app.Name, web.Name, "ghost"}, OnFailure: releasev1.FailMember},
		Status: releasev1.LaunchStatus{ObservedGeneration: 2, Phase: releasev1.LaunchProgressing, CurrentStage: "dev",
			Holder: "web 1.2.0 is deploying to dev", Stages: []string{"dev", "staging", "prod"},
			CriticalPath: "web 1.2.0, prod at 2026-12-08T14:00:00Z",
			Forecast: []releasev1.LaunchStageForecast{
				{Stage: "dev", At: metav1.NewTime(time.Date(2026, 12, 8, 9, 30, 0, 0, time.UTC)), Member: "web 1.2.0"},
				{Stage: "prod", At: metav1.NewTime(time.Date(2026, 12, 8, 14, 0, 0, 0, time.UTC)), Member: "web 1.2.0"},
			},
			Conditions: []metav1.Condition{{Type: releasev1.ConditionReady, Status: metav1.ConditionFalse, Reason: "MemberNotFound", Message: "no Release ghost: it holds the launch"}},
			Members: []releasev1.LaunchMember{
				{Name: app.Name, Version: "1.0.0", Phase: releasev1.PhaseProgressing, Stages: stages(releasev1.StagePromoted, releasev1.StageWaiting)},
				{Name: web.Name, Version: "1.2.0", Phase: releasev1.PhaseDeploying, Holder: true, Stages: stages(releasev1.StageDeploying, releasev1.StagePending, releasev1.StagePending)},
				{Name: "ghost"},
			}}}
	winter := &releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Namespace: "team-00", Name: "winter"},
		Spec:   releasev1.LaunchSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"launch": "winter"}}},
		Status: releasev1.LaunchStatus{Phase: releasev1.LaunchReleased, CurrentStage: "prod", Stages: []string{"prod"}}}
	autumn := &releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Namespace: "team-01", Name: "autumn"}, Spec: releasev1.LaunchSpec{Members: []string{"x"}}}
	m.launches = append(m.launches, winter, spring, autumn)
	return m
}

func TestLaunchPageShowsMembersByStagesAndTheHolder(t *testing.T) {
	m := launchWorld()
	_, ts := newTestServer(t, m, ReadOnly{})
	_, denied := newTestServer(t, m, grants{user: "dan", verbs: []string{"list releases", "get releases"}})
	for _, c := range []struct {
		name, url string
		code      int
		want      []string
		not       []string
	}{
		{name: "the matrix: each cell the member's phase there, linking to its stage on the member's page", url: ts.URL + "/launches/team-00/spring", code: 200, want: []string{
			`<h1>Launch spring <span class="badge phase-progressing" id="launch-phase">Progressing</span></h1>`,
			`<p class="holder" id="launch-holder"><strong>Held by</strong> web 1.2.0 is deploying to dev</p>`,
			`<p class="problem">no Release ghost: it holds the launch</p>`,
			`<dd id="launch-stage">dev</dd>`,
			`<dd id="launch-onfailure">Member: a failing member is left behind: the others go on without it</dd>`,
			`<th scope="col" class="current">dev <span class="sr">(current stage)</span></th><th scope="col">staging</th><th scope="col">prod</th>`,
			`<a class="badge phase-promoted" href="/releases/team-00/app-000-1-0-0#stage-dev" aria-label="app-000-1-0-0 in dev: Promoted">Promoted</a>`,
			`<a class="badge phase-waiting" href="/releases/team-00/app-000-1-0-0#stage-staging" aria-label="app-000-1-0-0 in staging: Waiting">Waiting</a>`,
			`<span class="quiet">not in its pipeline</span>`, // app-000 has no prod in the launch's status
			`<tr id="member-web-1-2-0" class="holder">`,
			`<a href="/releases/team-00/web-1-2-0">web-1-2-0</a> <span class="version">1.2.0</span> <span class="badge holds">holds the launch</span>`,
			`<a class="badge phase-deploying" href="/releases/team-00/web-1-2-0#stage-dev"`,
			`ghost <span class="problem">no such Release</span>`,
			`data-live="launch:team-00/spring"`,
			`<caption>When the launch reaches each stage; critical path: web 1.2.0, prod at 2026-12-08 14:00 UTC</caption>`,
			`<tr><th scope="row">prod</th><td>forecast 2026-12-08 14:00 UTC</td><td>web 1.2.0</td></tr>`,
		}, not: []string{`<tr id="member-app-000-1-0-0" class="holder">`, "has not reported"}},
		{name: "a launch by selector, released", url: ts.URL + "/launches/team-00/winter", code: 200, not: []string{"launch-forecast"}, want: []string{
			`<dt>Members</dt><dd>the Releases labelled <code>launch=winter</code></dd>`,
			`<dd id="launch-onfailure">Group: a failing member halts the launch: the others do not start their next stage</dd>`,
			`<span class="badge phase-released" id="launch-phase">Released</span>`,
			"<p>No member yet.</p>",
		}},
		{name: "a launch the controller has not seen", url: ts.URL + "/launches/team-01/autumn", code: 200, want: []string{
			`<span class="badge phase-pending" id="launch-phase">Pending</span>`, `<dd id="launch-stage">not started</dd>`,
			"The controller has not reported on this launch as it is now", `<a href="/releases/team-01/x">x</a>`,
		}},
		{name: "no such launch", url: ts.URL + "/launches/team-00/summer", code: 404, want: []string{"not found"}},
		{name: "a member's page links its launches", url: ts.URL + "/releases/team-00/app-000-1-0-0", code: 200, want: []string{
			`<dt>Launch</dt><dd>part of launch <a href="/launches/team-00/spring">spring</a></dd>`,
			`<dt>Launch</dt><dd>part of launch <a href="/launches/team-00/winter">winter</a></dd>`,
		}},
		{name: "the pipelines page lists the launches, those on their way first", url: ts.URL + "/?ns=team-00", code: 200, want: []string{
			`<h2 id="launches-h">Launches</h2>`,
			`(?s)<a href="/launches/team-00/spring"><span class="ns">team-00/</span>spring</a>\s*<span class="badge phase-progressing">Progressing</span> in dev, 3 member\(s\): <span class="why">web 1.2.0 is deploying to dev</span>` +
				`.*<a href="/launches/team-00/winter">.*Released</span> in prod, 0 member\(s\)`,
		}, not: []string{"autumn"}},
		{name: "a viewer who may not read launches is told what RBAC lacks", url: denied.URL + "/launches/team-00/spring", code: 403, want: []string{
			"dan may not get launches.release.liftoff.dev in namespace team-00: an admin must grant it (RBAC)"}},
		{name: "and sees no launch on a member's page", url: denied.URL + "/releases/team-00/app-000-1-0-0", code: 200, not: []string{"part of launch"}},
		{name: "nor on the pipelines page", url: denied.URL + "/", code: 200, not: []string{"launches-h"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			res, err := http.Get(c.url)
			g.Expect(err).NotTo(HaveOccurred())
			body := readAll(res)
			g.Expect(res.StatusCode).To(Equal(c.code), body)
			for _, w := range c.want {
				if w[0] == '(' {
					g.Expect(body).To(MatchRegexp(w))
				} else {
					g.Expect(body).To(ContainSubstring(w))
				}
			}
			for _, n := range c.not {
				g.Expect(body).NotTo(ContainSubstring(n))
			}
		})
	}

	g := NewWithT(t)
	var v LaunchView
	g.Expect(getJSON(t, ts.URL+"/api/launches/team-00/spring", &v)).To(Equal(200))
	g.Expect(v.Members).To(HaveLen(3))
	g.Expect(v.Members[1]).To(Equal(LaunchRow{Name: "web-1-2-0", Version: "1.2.0", Phase: "Deploying", Holder: true, Cells: []LaunchCell{
		{Stage: "dev", Phase: "Deploying"}, {Stage: "staging", Phase: "Pending"}, {Stage: "prod", Phase: "Pending"}}}))
	g.Expect(v.Members[2]).To(Equal(LaunchRow{Name: "ghost", Missing: true, Cells: emptyCells(v.Stages)}))
	var p PipelinesView
	g.Expect(getJSON(t, ts.URL+"/api/pipelines", &p)).To(Equal(200))
	g.Expect(p.Launches).To(HaveLen(3))
	g.Expect(p.Launches[2]).To(Equal(LaunchSummary{Namespace: "team-00", Name: "winter", Phase: "Released", CurrentStage: "prod"}), "done last")
}
