package dashboard

import (
	"io"
	"net/http"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// A Release's page names its pinned artifacts: tag, short digest, signer.
func TestReleasePageNamesThePinnedArtifacts(t *testing.T) {
	g := NewWithT(t)
	m := fixtureWorld(1, 1)
	rel := m.releases[0]
	rel.Status.Artifacts = []releasev1.ArtifactStatus{{Name: "app", Reference: "ghcr.io/acme/app-000:v1.0.0",
		Digest: "sha256:4f2c0e0b8a6d1c2e3f4a5b6c", ResolvedAt: metav1.NewTime(t0), Signer: `Secret "cosign" key cosign.pub`}}
	_, ts := newTestServer(t, m, ReadOnly{})
	want := `app: ghcr.io/acme/app-000:v1.0.0 4f2c0e0b8a6d, signed by Secret "cosign" key cosign.pub`

	var v ReleaseView
	g.Expect(getJSON(t, ts.URL+"/api/releases/team-00/"+rel.Name, &v)).To(Equal(200))
	g.Expect(v.Artifacts).To(Equal([]string{want}))

	res, err := http.Get(ts.URL + "/releases/team-00/" + rel.Name)
	g.Expect(err).NotTo(HaveOccurred())
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(body)).To(ContainSubstring("<dt>Artifact</dt><dd>app: ghcr.io/acme/app-000:v1.0.0 4f2c0e0b8a6d, signed by Secret &#34;cosign&#34; key cosign.pub</dd>"))
}
