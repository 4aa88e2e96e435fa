package release_test

import (
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/registry/registrytest"
)

// Artifacts from a real OCI registry (go-containerregistry's, over HTTP),
// pinned by digest when the Release starts and checked before every stage.

const (
	valuesFile = "chart:\n  version: 1.4.1 # the chart\n"
	imageFile  = "image:\n  ref: v1.4.1@sha256:0000\n"
)

// artifactWorld is a world whose pipeline names an image and a chart in reg:
// every stage's kustomization takes the image (tag v{{.Version}} and its
// digest), and prod's values.yaml the chart's version and image.yaml the image's
// tag@digest (image.yaml), in the same commit.
func artifactWorld(t *testing.T, mod ...func(*releasev1.PipelineArtifact)) (*world, *registrytest.Registry) {
	w := newWorld(t)
	reg := registrytest.New()
	t.Cleanup(reg.Close)
	_, err := w.sim.CommitFiles(gitopsRepo, "main", map[string]string{"envs/prod/values.yaml": valuesFile, "envs/prod/image.yaml": imageFile}, "Chart values")
	w.must(err)
	takeImage := func(s *releasev1.Stage) { s.Target.Files[0].Artifact = "checkout" }
	prod := w.stage("prod", takeImage, func(s *releasev1.Stage) {
		s.Promotion = releasev1.PromotionManual
		s.Gates = &releasev1.Gates{Approvals: &releasev1.ApprovalsGate{Count: 1}}
		s.Target.Files = append(s.Target.Files,
			releasev1.TargetFile{Path: "envs/prod/values.yaml", YAMLPath: "chart.version", Artifact: "chart"},
			releasev1.TargetFile{Path: "envs/prod/image.yaml", YAMLPath: "image.ref", Artifact: "checkout", Value: releasev1.ValueTagAndDigest})
	})
	p := w.pipeline(w.stage("dev", takeImage), prod)
	p.Spec.Artifacts = []releasev1.PipelineArtifact{
		{Name: "checkout", Image: reg.Ref("acme/checkout"), TagTemplate: "v{{.Version}}"},
		{Name: "chart", Chart: "oci://" + reg.Ref("acme/charts/checkout")},
	}
	for i := range p.Spec.Artifacts {
		for _, m := range mod {
			m(&p.Spec.Artifacts[i])
		}
	}
	w.must(w.c.Update(w.ctx, p))
	return w, reg
}

func (w *world) approve(name, stage string) {
	rel := w.get(name)
	rel.Spec.Approvals = append(rel.Spec.Approvals, releasev1.Approval{Stage: stage, By: "alice"})
	w.must(w.c.Update(w.ctx, rel))
}

func TestArtifactsArePinnedAtStartAndEveryStageWritesTheirDigests(t *testing.T) {
	g := NewWithT(t)
	w, reg := artifactWorld(t)
	image, err := reg.PushImage("acme/checkout", "v1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	chart, err := reg.PushChart("acme/charts/checkout", "1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	w.release("r", "1.4.2")
	w.settle("r", 10)
	rel := w.get("r")
	g.Expect(rel.Status.Artifacts).To(HaveLen(2))
	g.Expect(rel.Status.Artifacts[0]).To(MatchFields(IgnoreExtras, Fields{"Name": Equal("checkout"), "Reference": Equal(reg.Ref("acme/checkout") + ":v1.4.2"), "Digest": Equal(image)}))
	g.Expect(rel.Status.Artifacts[1]).To(MatchFields(IgnoreExtras, Fields{"Name": Equal("chart"), "Reference": Equal("oci://" + reg.Ref("acme/charts/checkout") + ":1.4.2"), "Digest": Equal(chart)}))

	g.Expect(w.file("dev")).To(ContainSubstring(`newTag: "v1.4.2"`))
	g.Expect(w.file("dev")).To(ContainSubstring("digest: " + image))
	dev := w.liftoffCommits("r", "dev")
	g.Expect(dev).To(HaveLen(1))
	g.Expect(dev[0].Message).To(ContainSubstring("Liftoff-Artifact: checkout@" + image + "\n"))
	g.Expect(dev[0].Message).To(ContainSubstring("Liftoff-Artifact: chart@" + chart + "\n"))
	deployments := w.sim.Deployments(appRepo)
	g.Expect(deployments).NotTo(BeEmpty())
	g.Expect(string(deployments[0].Payload)).To(ContainSubstring(`"artifacts":"checkout@` + image + ` chart@` + chart + `"`))

	w.approve("r", "prod")
	w.settle("r", 10)
	g.Expect(w.get("r").Status.Phase).To(Equal(releasev1.PhaseReleased), w.describe("r"))
	prod := w.liftoffCommits("r", "prod")
	g.Expect(prod).To(HaveLen(1), "the image and the chart move together, in the stage's one commit")
	g.Expect(prod[0].Files).To(ConsistOf("envs/prod/kustomization.yaml", "envs/prod/values.yaml", "envs/prod/image.yaml"))
	values, _ := w.sim.FileAt(gitopsRepo, "main", "envs/prod/values.yaml")
	g.Expect(values).To(Equal("chart:\n  version: 1.4.2 # the chart\n"))
	imageRef, _ := w.sim.FileAt(gitopsRepo, "main", "envs/prod/image.yaml")
	g.Expect(imageRef).To(Equal("image:\n  ref: v1.4.2@" + image + "\n"))
	g.Expect(w.get("r").Status.StageStatus("prod").Promotion.PreviousVersion).To(Equal("1.4.1"))
}

func TestATagPushedAgainBetweenStagesBlocksTheNextOneNamingBothDigests(t *testing.T) {
	g := NewWithT(t)
	w, reg := artifactWorld(t)
	qualified, err := reg.PushImage("acme/checkout", "v1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = reg.PushChart("acme/charts/checkout", "1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	w.release("r", "1.4.2")
	w.settle("r", 10)
	g.Expect(w.get("r").Status.StageStatus("dev").Phase).To(Equal(releasev1.StagePromoted))
	prodBefore := w.file("prod")

	repushed, err := reg.PushImage("acme/checkout", "v1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	w.approve("r", "prod")
	w.settle("r", 10)

	rel := w.get("r")
	g.Expect(rel.Status.Phase).To(Equal(releasev1.PhaseBlocked), w.describe("r"))
	blocked := w.condition("r", releasev1.ConditionBlocked)
	g.Expect(blocked).To(HavePrefix("True/" + releasev1.ReasonArtifactChanged))
	g.Expect(blocked).To(ContainSubstring(repushed))
	g.Expect(blocked).To(ContainSubstring(qualified))
	g.Expect(w.liftoffCommits("r", "prod")).To(BeEmpty(), "nothing is written")
	g.Expect(w.file("prod")).To(Equal(prodBefore))
	if ps := w.getPipeline().Status.StageStatus("prod"); ps != nil {
		g.Expect(ps.InFlight).To(BeNil(), "the stage is not held")
	}
	g.Expect(rel.Status.Artifacts[0].Digest).To(Equal(qualified), "the pin stays the qualified build")
}

func TestAnArtifactsRegistryFailuresSayWhatToDo(t *testing.T) {
	t.Run("a tag not pushed yet blocks the Release, naming it", func(t *testing.T) {
		g := NewWithT(t)
		w, reg := artifactWorld(t)
		_, err := reg.PushImage("acme/checkout", "v1.4.2")
		g.Expect(err).NotTo(HaveOccurred())
		w.release("r", "1.4.2")
		w.settle("r", 5)
		g.Expect(w.condition("r", releasev1.ConditionBlocked)).To(And(HavePrefix("True/"+releasev1.ReasonArtifactNotFound),
			ContainSubstring("oci://"+reg.Ref("acme/charts/checkout")+":1.4.2 is not in the registry")))
		g.Expect(w.liftoffCommits("r", "")).To(BeEmpty())

		_, err = reg.PushChart("acme/charts/checkout", "1.4.2")
		g.Expect(err).NotTo(HaveOccurred())
		w.clk.Step(w.engine.PollInterval)
		w.settle("r", 5)
		g.Expect(w.get("r").Status.StageStatus("dev").Phase).To(Equal(releasev1.StagePromoted), w.describe("r"))
	})

	t.Run("credentials refused stall the Release, naming the Secret", func(t *testing.T) {
		g := NewWithT(t)
		w, reg := artifactWorld(t, func(a *releasev1.PipelineArtifact) { a.SecretRef = &releasev1.LocalObjectReference{Name: "registry"} })
		_, err := reg.PushImage("acme/checkout", "v1.4.2")
		g.Expect(err).NotTo(HaveOccurred())
		reg.RequireBasicAuth("ci", "s3cret")
		auth := base64.StdEncoding.EncodeToString([]byte("ci:guess"))
		w.must(w.c.Create(w.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "registry", Namespace: ns}, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, reg.Host, auth))}}))
		w.release("r", "1.4.2")
		w.settle("r", 5)
		stalled := w.condition("r", releasev1.ConditionStalled)
		g.Expect(stalled).To(HavePrefix("True/" + releasev1.ReasonRegistryCredentialsRefused))
		g.Expect(stalled).To(ContainSubstring(`Secret "registry"`))
		g.Expect(stalled).NotTo(ContainSubstring("guess"))
	})

	t.Run("an unreachable registry waits, with the error", func(t *testing.T) {
		g := NewWithT(t)
		w, reg := artifactWorld(t)
		reg.SetDown(true)
		w.release("r", "1.4.2")
		out, err := w.reconcile("r")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(out.Waits())).To(Equal("Registry"))
		g.Expect(w.condition("r", releasev1.ConditionReconciling)).To(And(HavePrefix("True/"+releasev1.ReasonRegistryUnavailable), ContainSubstring("503")))
		g.Expect(w.condition("r", releasev1.ConditionStalled)).To(BeEmpty())
	})
}

func TestADigestGivenInTheReleaseIsThePin(t *testing.T) {
	g := NewWithT(t)
	w, reg := artifactWorld(t)
	first, err := reg.PushImage("acme/checkout", "v1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = reg.PushChart("acme/charts/checkout", "1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = reg.PushImage("acme/checkout", "v1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	w.release("r", "1.4.2", func(r *releasev1.Release) {
		r.Spec.Artifacts = []releasev1.Artifact{{Name: "checkout", Image: reg.Ref("acme/checkout"), Digest: first}}
	})
	w.settle("r", 5)
	g.Expect(w.get("r").Status.Artifacts[0].Digest).To(Equal(first))
	g.Expect(w.condition("r", releasev1.ConditionBlocked)).To(And(HavePrefix("True/"+releasev1.ReasonArtifactChanged), ContainSubstring(first)))
	g.Expect(strings.Count(w.file("dev"), "digest:")).To(BeZero(), "dev was not written")
}

func TestTheSignatureGateLetsOnlyWhatTheKeySigned(t *testing.T) {
	ours, theirs := registrytest.NewKey(), registrytest.NewKey()
	setup := func(t *testing.T) (*world, *registrytest.Registry, string) {
		w, reg := artifactWorld(t)
		p := w.getPipeline()
		p.Spec.Stages[0].Gates = &releasev1.Gates{Signature: &releasev1.SignatureGate{
			SecretRef: releasev1.LocalObjectReference{Name: "cosign"}, Key: "cosign.pub", Artifacts: []string{"checkout"}}}
		w.must(w.c.Update(w.ctx, p))
		w.must(w.c.Create(w.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cosign", Namespace: ns},
			Data: map[string][]byte{"cosign.pub": registrytest.PublicKeyPEM(ours)}}))
		image, err := reg.PushImage("acme/checkout", "v1.4.2")
		w.must(err)
		_, err = reg.PushChart("acme/charts/checkout", "1.4.2")
		w.must(err)
		return w, reg, image
	}
	for _, c := range []struct {
		name   string
		signer *ecdsa.PrivateKey
		reason string
	}{
		{"unsigned", nil, releasev1.ReasonArtifactUnsigned},
		{"signed by another key", theirs, releasev1.ReasonSignatureWrongSigner},
	} {
		t.Run(c.name+" is blocked", func(t *testing.T) {
			g := NewWithT(t)
			w, reg, image := setup(t)
			if c.signer != nil {
				g.Expect(reg.Sign("acme/checkout", image, image, c.signer)).To(Succeed())
			}
			w.release("r", "1.4.2")
			w.settle("r", 5)
			g.Expect(w.condition("r", releasev1.ConditionBlocked)).To(And(HavePrefix("True/"+c.reason), ContainSubstring(image), ContainSubstring(`Secret "cosign"`)))
			g.Expect(w.liftoffCommits("r", "")).To(BeEmpty())
		})
	}
	t.Run("signed by the key goes, and the signer is recorded", func(t *testing.T) {
		g := NewWithT(t)
		w, reg, image := setup(t)
		g.Expect(reg.Sign("acme/checkout", image, image, ours)).To(Succeed())
		w.release("r", "1.4.2")
		w.settle("r", 5)
		rel := w.get("r")
		g.Expect(rel.Status.StageStatus("dev").Phase).To(Equal(releasev1.StagePromoted), w.describe("r"))
		g.Expect(rel.Status.Artifacts[0].Signer).To(Equal(`Secret "cosign" key cosign.pub`))
		g.Expect(rel.Status.Artifacts[1].Signer).To(BeEmpty(), "the chart is not covered")
	})
}

func TestTheSignatureGateLetsOnlyWhatTheIdentitySignedKeyless(t *testing.T) {
	const subject, issuer = "release@acme.dev", "https://token.actions.githubusercontent.com"
	expected := subject + " via " + issuer
	trusted := registrytest.NewSigstore()
	issued := time.Now().Add(-3 * time.Hour)
	// What the Blocked condition says for each way of signing wrong: the
	// reason, the identities, what to fix.
	blocked := map[string][]string{
		"unsigned":                       {releasev1.ReasonArtifactUnsigned, "not signed: sign it keyless", "as " + expected},
		"wrong subject":                  {releasev1.ReasonSignatureWrongIdentity, "signed by mallory@acme.dev via " + issuer + ", expected " + expected, "fix gates.signature.identity"},
		"wrong issuer":                   {releasev1.ReasonSignatureWrongIdentity, "signed by " + subject + " via https://accounts.google.com, expected " + expected},
		"a certificate not from the CA":  {releasev1.ReasonSignatureUntrustedCertificate, "signed by " + expected, "does not chain to the CA bundle", "fulcio.crt.pem"},
		"expired at the integrated time": {releasev1.ReasonSignatureCertificateExpired, "valid from " + issued.UTC().Format(time.RFC3339), "sign it again"},
		"a SET not from the Rekor key":   {releasev1.ReasonSignatureUntrustedLog, "does not verify with the Rekor key", "rekor.pub"},
		"digest mismatch":                {releasev1.ReasonSignatureDigestMismatch, expected + " signed another digest"},
	}
	setup := func(t *testing.T) (*world, *registrytest.Registry, string) {
		w, reg := artifactWorld(t)
		p := w.getPipeline()
		p.Spec.Stages[0].Gates = &releasev1.Gates{Signature: &releasev1.SignatureGate{SecretRef: releasev1.LocalObjectReference{Name: "sigstore"},
			Identity: &releasev1.SignatureIdentity{Subject: subject, Issuer: issuer}, Artifacts: []string{"checkout"}}}
		w.must(w.c.Update(w.ctx, p))
		w.must(w.c.Create(w.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sigstore", Namespace: ns},
			Data: map[string][]byte{releasev1.SecretKeyFulcioBundle: trusted.CA.BundlePEM(), releasev1.SecretKeyRekorKey: trusted.RekorKeyPEM()}}))
		image, err := reg.PushImage("acme/checkout", "v1.4.2")
		w.must(err)
		_, err = reg.PushChart("acme/charts/checkout", "1.4.2")
		w.must(err)
		return w, reg, image
	}
	ways := append(trusted.Ways(subject, issuer, issued), registrytest.KeylessWay{Name: "unsigned"})
	for _, way := range ways[1:] {
		t.Run(way.Name+" is blocked", func(t *testing.T) {
			g := NewWithT(t)
			says, ok := blocked[way.Name]
			g.Expect(ok).To(BeTrue(), "a condition for each way")
			w, reg, image := setup(t)
			if way.By != nil {
				other, err := reg.PushImage("acme/checkout", "v1.4.3")
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(way.Sign(reg, "acme/checkout", image, other)).To(Succeed())
			}
			w.release("r", "1.4.2")
			w.settle("r", 5)
			cond := w.condition("r", releasev1.ConditionBlocked)
			g.Expect(cond).To(And(HavePrefix("True/"+says[0]), ContainSubstring(image)))
			for _, s := range says[1:] {
				g.Expect(cond).To(ContainSubstring(s))
			}
			g.Expect(w.liftoffCommits("r", "")).To(BeEmpty())
		})
	}
	t.Run("signed by the identity goes, and the identity is recorded", func(t *testing.T) {
		g := NewWithT(t)
		w, reg, image := setup(t)
		g.Expect(trusted.SignKeyless(reg, "acme/checkout", image, image, registrytest.Keyless{Subject: subject, Issuer: issuer})).To(Succeed())
		w.release("r", "1.4.2")
		w.settle("r", 5)
		rel := w.get("r")
		g.Expect(rel.Status.StageStatus("dev").Phase).To(Equal(releasev1.StagePromoted), w.describe("r"))
		g.Expect(rel.Status.Artifacts[0].Signer).To(Equal(expected))
	})
	t.Run("trust roots missing from the Secret stall, naming the key", func(t *testing.T) {
		g := NewWithT(t)
		w, _, _ := setup(t)
		s := &corev1.Secret{}
		w.must(w.c.Get(w.ctx, client.ObjectKey{Namespace: ns, Name: "sigstore"}, s))
		delete(s.Data, releasev1.SecretKeyRekorKey)
		w.must(w.c.Update(w.ctx, s))
		w.release("r", "1.4.2")
		w.settle("r", 5)
		g.Expect(w.condition("r", releasev1.ConditionStalled)).To(And(HavePrefix("True/"+releasev1.ReasonSecretInvalid),
			ContainSubstring(`Secret "sigstore"`), ContainSubstring("has no key rekor.pub: put the Rekor log's PEM public key there")))
	})
}

// A controller that dies after recording the promotion's intent and before
// writing it resumes the promotion after the restart: a tag pushed again
// while it was down is caught before anything is written.
func TestATagPushedAgainWhileTheControllerWasDownIsCaughtOnResume(t *testing.T) {
	g := NewWithT(t)
	w, reg := artifactWorld(t)
	pinned, err := reg.PushImage("acme/checkout", "v1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = reg.PushChart("acme/charts/checkout", "1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	w.transport = func(r *http.Request) (*http.Response, error) {
		if r.Method != http.MethodGet {
			return nil, errors.New("connection reset: the controller died")
		}
		return http.DefaultTransport.RoundTrip(r)
	}
	w.release("r", "1.4.2")
	_, _ = w.reconcile("r")
	g.Expect(w.get("r").Status.StageStatus("dev").Phase).To(Equal(releasev1.StagePromoting), w.describe("r"))
	g.Expect(w.liftoffCommits("r", "")).To(BeEmpty())

	rebuilt, err := reg.PushImage("acme/checkout", "v1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	w.transport = nil
	w.start()
	w.settle("r", 5)
	g.Expect(w.condition("r", releasev1.ConditionBlocked)).To(And(HavePrefix("True/"+releasev1.ReasonArtifactChanged),
		ContainSubstring(pinned), ContainSubstring(rebuilt)))
	g.Expect(w.liftoffCommits("r", "")).To(BeEmpty(), "nothing written")
	ss := w.get("r").Status.StageStatus("dev")
	g.Expect(ss.Phase).To(Equal(releasev1.StageWaiting), w.describe("r"))
}
