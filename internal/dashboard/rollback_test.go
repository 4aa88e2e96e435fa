package dashboard

import (
	"testing"

	. "github.com/onsi/gomega"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// A rollback is offered for the stages that run the Release's version and
// ran another before it, and nowhere else: never for a stage where a newer
// Release runs, whose rollback the button would be.
func TestReleaseOffersRollbackWhereItsVersionRuns(t *testing.T) {
	g := NewWithT(t)
	m := fixtureWorld(1, 1)
	rel, pipe := m.releases[0], m.pipelines[0]
	rel.Status.Phase = releasev1.PhaseReleased
	for i := range pipe.Status.Stages {
		ps := &pipe.Status.Stages[i]
		ps.Release, ps.Version, ps.Commit = rel.Name, rel.Spec.Version, "c-"+ps.Name
		ps.History = []releasev1.PromotionRecord{{Release: rel.Name, Version: rel.Spec.Version, Commit: ps.Commit, PreviousVersion: "0.9.0", At: *mt(t0)}}
	}
	pipe.Status.Stages[0].History[0].PreviousVersion = "" // dev ran nothing before
	pipe.Status.Stages[2].Release = "app-000-1-0-1"       // a newer Release runs in prod
	releaseManager := grants{user: "ann", verbs: []string{"update releasepipelines", "rollback releasepipelines"}}
	_, ts := newTestServer(t, m, releaseManager)
	var v ReleaseView
	g.Expect(getJSON(t, ts.URL+"/api/releases/team-00/"+rel.Name, &v)).To(Equal(200))
	g.Expect(v.RollBack).To(Equal([]string{"staging"}))

	// Offered only to whom the API server lets roll back, and never on a
	// read-only dashboard.
	for name, access := range map[string]Access{"without the verb rollback": grants{user: "lee", verbs: []string{"update releasepipelines"}}, "read-only": ReadOnly{}} {
		_, ts := newTestServer(t, m, access)
		var v ReleaseView
		g.Expect(getJSON(t, ts.URL+"/api/releases/team-00/"+rel.Name, &v)).To(Equal(200))
		g.Expect(v.RollBack).To(BeEmpty(), name)
	}
}
