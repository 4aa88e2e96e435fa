package controllers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/registry/registrytest"
)

// Artifacts from a real OCI registry (go-containerregistry's, served over
// HTTP), against a real API server.

// artifactPipeline is the test pipeline naming an image (tag v{{.Version}})
// and a chart in reg; every stage's kustomization takes the image's tag and
// digest; prod waits for an approval.
func (e *testEnv) artifactPipeline(reg *registrytest.Registry, mod ...func(*releasev1.ReleasePipeline)) {
	e.t.Helper()
	takeImage := func(s *releasev1.Stage) { s.Target.Files[0].Artifact = "checkout" }
	p := e.newPipeline(e.stage("dev", takeImage), e.stage("prod", takeImage, func(s *releasev1.Stage) {
		s.Promotion = releasev1.PromotionManual
		s.Gates = &releasev1.Gates{Approvals: &releasev1.ApprovalsGate{Count: 1}}
	}))
	p.Spec.Artifacts = []releasev1.PipelineArtifact{
		{Name: "checkout", Image: reg.Ref("acme/checkout"), TagTemplate: "v{{.Version}}"},
		{Name: "chart", Chart: "oci://" + reg.Ref("acme/charts/checkout")},
	}
	for _, m := range mod {
		m(p)
	}
	NewWithT(e.t).Expect(k8s.Create(context.Background(), p)).To(Succeed())
}

// servedArtifacts serves a registry with the image acme/checkout:v1.4.2 and,
// when chart is true, the chart acme/charts/checkout 1.4.2; it returns their
// digests.
func servedArtifacts(t *testing.T, chart bool) (reg *registrytest.Registry, imageDigest, chartDigest string) {
	t.Helper()
	reg = registrytest.New()
	t.Cleanup(reg.Close)
	imageDigest, err := reg.PushImage("acme/checkout", "v1.4.2")
	if err == nil && chart {
		chartDigest, err = reg.PushChart("acme/charts/checkout", "1.4.2")
	}
	if err != nil {
		t.Fatal(err)
	}
	return reg, imageDigest, chartDigest
}

func (e *testEnv) approve(name, stage string) {
	e.t.Helper()
	NewWithT(e.t).Expect(e.approveAs(e.approver("ann"), name, stage)).To(Succeed())
}

func TestDiscoveryFromTheRegistryCreatesOneReleaseWithTheImageAndTheChart(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	reg, image, _ := servedArtifacts(t, false)
	_, err := reg.PushImage("acme/checkout", "latest")
	g.Expect(err).NotTo(HaveOccurred())
	e.artifactPipeline(reg, func(p *releasev1.ReleasePipeline) {
		p.Spec.Source.From = releasev1.DiscoverRegistry
		p.Spec.Source.Interval = &metav1Duration{Duration: 200 * time.Millisecond}
	})

	// The image is there, not the chart: no Release yet, and discovery says why.
	g.Eventually(func() string { return e.discovery().Message }, timeout, interval).Should(
		ContainSubstring("1.4.2 waits for its artifacts: oci://" + reg.Ref("acme/charts/checkout") + ":1.4.2 not in the registry yet"))
	g.Expect(e.releaseNames()).To(BeEmpty())

	chart, err := reg.PushChart("acme/charts/checkout", "1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(e.releaseNames, timeout, interval).Should(Equal([]string{"checkout-1-4-2"}), func() string {
		return fmt.Sprintf("discovery %+v, conditions %+v", e.discovery(), e.getPipeline().Status.Conditions)
	})
	rel := e.get("checkout-1-4-2")
	g.Expect(rel.Spec.Commit).To(Equal(e.appSHA), "the source's tag v1.4.2 is the release commit")
	g.Expect(rel.Spec.Artifacts).To(ContainElements(
		releasev1.Artifact{Name: "checkout", Image: reg.Ref("acme/checkout"), Digest: image},
		releasev1.Artifact{Name: "chart", Image: "oci://" + reg.Ref("acme/charts/checkout"), Digest: chart}))

	g.Eventually(e.stagePhase("checkout-1-4-2", "dev"), timeout, interval).Should(Equal(releasev1.StagePromoted))
	pins := e.get("checkout-1-4-2").Status.Artifacts
	g.Expect(pins).To(HaveLen(2))
	g.Expect(pins[0].Digest).To(Equal(image))
	g.Expect(pins[1].Digest).To(Equal(chart))
	g.Expect(e.file("dev")).To(And(ContainSubstring(`newTag: "v1.4.2"`), ContainSubstring("digest: "+image)))
	g.Consistently(e.releaseNames, time.Second, 100*time.Millisecond).Should(HaveLen(1), "one Release for the version")
}

// A version whose artifacts never all arrive does not hold a later one that
// has them: 1.5.0's chart is never pushed, 1.5.1 comes complete and becomes
// a Release; 1.5.0 is passed over for good, as status.discovery says.
func TestAVersionWaitingForItsArtifactsDoesNotHoldALaterOne(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	reg, _, _ := servedArtifacts(t, true)
	e.artifactPipeline(reg, func(p *releasev1.ReleasePipeline) {
		p.Spec.Source.From = releasev1.DiscoverRegistry
		p.Spec.Source.Interval = &metav1Duration{Duration: 200 * time.Millisecond}
	})
	g.Eventually(e.releaseNames, timeout, interval).Should(Equal([]string{"checkout-1-4-2"}))
	chart := "oci://" + reg.Ref("acme/charts/checkout")

	push := func(version string, withChart bool) {
		g.Expect(e.sim.CreateTag(appRepo, "v"+version, e.commit(version))).To(Succeed())
		_, err := reg.PushImage("acme/checkout", "v"+version)
		g.Expect(err).NotTo(HaveOccurred())
		if withChart {
			_, err = reg.PushChart("acme/charts/checkout", version)
			g.Expect(err).NotTo(HaveOccurred())
		}
	}
	push("1.5.0", false)
	g.Eventually(func() string { return e.discovery().Message }, timeout, interval).Should(
		ContainSubstring("1.5.0 waits for its artifacts: " + chart + ":1.5.0 not in the registry yet"))

	push("1.5.1", true)
	g.Eventually(e.releaseNames, timeout, interval).Should(ConsistOf("checkout-1-4-2", "checkout-1-5-1"), func() string {
		return fmt.Sprintf("discovery %+v", e.discovery())
	})
	// The Release is created before discovery's status says so.
	g.Eventually(func() string { return e.discovery().LatestVersion }, timeout, interval).Should(Equal("1.5.1"))

	// The chart of 1.5.0 arriving late makes no Release: 1.5.1 is newer.
	_, err := reg.PushChart("acme/charts/checkout", "1.5.0")
	g.Expect(err).NotTo(HaveOccurred())
	g.Consistently(e.releaseNames, time.Second, 100*time.Millisecond).Should(ConsistOf("checkout-1-4-2", "checkout-1-5-1"))
	g.Expect(e.discovery().Message).NotTo(ContainSubstring("waits for"))
}

func TestAnImageTagPushedAgainBetweenStagingAndProdBlocksProd(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	reg, qualified, _ := servedArtifacts(t, true)
	e.artifactPipeline(reg)
	e.release("r", "1.4.2")
	g.Eventually(e.gate("r", "prod", "approvals"), timeout, interval).Should(HavePrefix("Pending/"))
	prodBefore := e.file("prod")

	repushed, err := reg.PushImage("acme/checkout", "v1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	e.approve("r", "prod")

	g.Eventually(e.condition("r", releasev1.ConditionBlocked), timeout, interval).Should(And(
		HavePrefix("True/"+releasev1.ReasonArtifactChanged), ContainSubstring(qualified), ContainSubstring(repushed)))
	g.Expect(e.phase("r")()).To(Equal(releasev1.PhaseBlocked))
	g.Expect(e.gate("r", "prod", "artifacts")()).To(HavePrefix("Failed/" + releasev1.ReasonArtifactChanged))
	g.Consistently(func() int { return len(e.liftoffCommits("r", "prod")) }, time.Second, 100*time.Millisecond).Should(BeZero(), "nothing committed")
	g.Expect(e.file("prod")).To(Equal(prodBefore))
}

func TestALeaderKilledBetweenResolvingAndWritingMakesOneCommit(t *testing.T) {
	g := NewWithT(t)
	reg, image, _ := servedArtifacts(t, true)

	// Once the artifacts gate of prod resolved the tags (a HEAD request
	// after the approval), the first write to the GitOps branch hangs until
	// the controller is stopped: it dies between resolving and writing.
	var approved, killed atomic.Bool
	var headsAtApproval atomic.Int64
	dying := make(chan struct{})
	hanging := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if approved.Load() && reg.RequestsOf("HEAD manifest") > headsAtApproval.Load() && isRefUpdate(r) && killed.CompareAndSwap(false, true) {
			close(dying)
		}
		if killed.Load() {
			<-r.Context().Done()
			return nil, r.Context().Err()
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	e := newEnv(t, withTransport(hanging))
	e.artifactPipeline(reg)
	e.release("r", "1.4.2")
	g.Eventually(e.gate("r", "prod", "approvals"), timeout, interval).Should(HavePrefix("Pending/"))
	headsAtApproval.Store(reg.RequestsOf("HEAD manifest"))
	approved.Store(true)
	e.approve("r", "prod")
	g.Eventually(dying, timeout).Should(BeClosed())
	e.stopController()
	g.Expect(e.liftoffCommits("r", "prod")).To(BeEmpty())

	e.restart(nil)
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	commits := e.liftoffCommits("r", "prod")
	g.Expect(commits).To(HaveLen(1))
	g.Expect(commits[0].Message).To(ContainSubstring("Liftoff-Artifact: checkout@" + image))
	g.Expect(strings.Count(e.file("prod"), image)).To(Equal(1))
}

func TestAnUnsignedImageIsBlockedByTheSignatureGate(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	reg, image, _ := servedArtifacts(t, true)
	key := registrytest.NewKey()
	g.Expect(k8s.Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cosign", Namespace: e.ns},
		Data: map[string][]byte{"cosign.pub": registrytest.PublicKeyPEM(key)}})).To(Succeed())
	e.artifactPipeline(reg, func(p *releasev1.ReleasePipeline) {
		p.Spec.Stages[0].Gates = &releasev1.Gates{Signature: &releasev1.SignatureGate{SecretRef: releasev1.LocalObjectReference{Name: "cosign"}, Key: "cosign.pub", Artifacts: []string{"checkout"}}}
	})
	e.release("r", "1.4.2")
	g.Eventually(e.condition("r", releasev1.ConditionBlocked), timeout, interval).Should(And(
		HavePrefix("True/"+releasev1.ReasonArtifactUnsigned), ContainSubstring(image)))
	g.Expect(e.liftoffCommits("r", "")).To(BeEmpty())

	// Signed with the key, it goes at the next look.
	g.Expect(reg.Sign("acme/checkout", image, image, key)).To(Succeed())
	g.Eventually(e.stagePhase("r", "dev"), timeout, interval).Should(Equal(releasev1.StagePromoted))
	g.Expect(e.get("r").Status.Artifacts[0].Signer).To(Equal(`Secret "cosign" key cosign.pub`))
}

func TestAKeylessSignatureOfAnotherIdentityIsBlockedByTheSignatureGate(t *testing.T) {
	const subject, issuer = "release@acme.dev", "https://token.actions.githubusercontent.com"
	g := NewWithT(t)
	e := newEnv(t)
	reg, image, _ := servedArtifacts(t, true)
	sigstore := registrytest.NewSigstore()
	g.Expect(k8s.Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sigstore", Namespace: e.ns},
		Data: map[string][]byte{releasev1.SecretKeyFulcioBundle: sigstore.CA.BundlePEM(), releasev1.SecretKeyRekorKey: sigstore.RekorKeyPEM()}})).To(Succeed())
	e.artifactPipeline(reg, func(p *releasev1.ReleasePipeline) {
		p.Spec.Stages[0].Gates = &releasev1.Gates{Signature: &releasev1.SignatureGate{SecretRef: releasev1.LocalObjectReference{Name: "sigstore"},
			Identity: &releasev1.SignatureIdentity{Subject: subject, Issuer: issuer}, Artifacts: []string{"checkout"}}}
	})
	// Signed keyless, by a certificate of another subject (valid ten
	// minutes, an hour ago: verified at the log's time, not now).
	g.Expect(sigstore.SignKeyless(reg, "acme/checkout", image, image, registrytest.Keyless{Subject: "mallory@acme.dev", Issuer: issuer})).To(Succeed())
	e.release("r", "1.4.2")
	g.Eventually(e.condition("r", releasev1.ConditionBlocked), timeout, interval).Should(And(
		HavePrefix("True/"+releasev1.ReasonSignatureWrongIdentity), ContainSubstring(image),
		ContainSubstring("signed by mallory@acme.dev via "+issuer+", expected "+subject+" via "+issuer)))
	g.Expect(e.liftoffCommits("r", "")).To(BeEmpty())

	// Signed by the identity, it goes at the next look, the identity recorded.
	g.Expect(sigstore.SignKeyless(reg, "acme/checkout", image, image, registrytest.Keyless{Subject: subject, Issuer: issuer})).To(Succeed())
	g.Eventually(e.stagePhase("r", "dev"), timeout, interval).Should(Equal(releasev1.StagePromoted))
	g.Expect(e.get("r").Status.Artifacts[0].Signer).To(Equal(subject + " via " + issuer))
}
