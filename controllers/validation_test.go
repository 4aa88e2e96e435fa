package controllers_test

import (
	"context"
	"fmt"
	"k8s.io/apimachinery/pkg/util/intstr"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// The API server refuses bad input with a message that says what to fix.
// targetsStage is a prod stage of 6 targets in two repositories, in waves.
func targetsStage(waves ...intstr.IntOrString) releasev1.Stage {
	st := releasev1.Stage{Name: "prod", Waves: waves}
	for k := 1; k <= 6; k++ {
		st.Targets = append(st.Targets, releasev1.StageTarget{Name: fmt.Sprintf("prod-%d", k), Target: releasev1.Target{
			Repository: fmt.Sprintf("acme/gitops-%d", k%2),
			Files:      []releasev1.TargetFile{{Path: fmt.Sprintf("envs/prod-%d/kustomization.yaml", k), KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "app"}}}}})
	}
	return st
}

func TestAPIRefusesBadInput(t *testing.T) {
	needsControlPlane(t)
	ns := fmt.Sprintf("validation-%d", nsSeq.Add(1))
	NewWithT(t).Expect(k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	file := func() releasev1.TargetFile {
		return releasev1.TargetFile{Path: "envs/dev/kustomization.yaml", KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "app"}}
	}
	stage := func(name string) releasev1.Stage {
		return releasev1.Stage{Name: name, Target: releasev1.Target{Repository: "acme/gitops", Files: []releasev1.TargetFile{file()}}}
	}
	pipeline := func(mod func(*releasev1.ReleasePipelineSpec)) *releasev1.ReleasePipeline {
		p := &releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{GenerateName: "p-", Namespace: ns},
			Spec: releasev1.ReleasePipelineSpec{Source: releasev1.SourceSpec{Repository: "acme/app"}, Stages: []releasev1.Stage{stage("dev"), stage("prod")}}}
		mod(&p.Spec)
		return p
	}

	cases := []struct {
		name string
		mod  func(*releasev1.ReleasePipelineSpec)
		want string
	}{
		{"ok", func(*releasev1.ReleasePipelineSpec) {}, ""},
		{"duplicate stage names", func(s *releasev1.ReleasePipelineSpec) { s.Stages[1].Name = "dev" }, "stage names must be unique"},
		{"no stages", func(s *releasev1.ReleasePipelineSpec) { s.Stages = nil }, "spec.stages"},
		{"two updaters on a file", func(s *releasev1.ReleasePipelineSpec) { s.Stages[0].Target.Files[0].YAMLPath = "image.tag" }, "set exactly one updater per file"},
		{"no updater on a file", func(s *releasev1.ReleasePipelineSpec) { s.Stages[0].Target.Files[0].KustomizeImage = nil }, "set exactly one updater per file"},
		{"same file twice", func(s *releasev1.ReleasePipelineSpec) {
			s.Stages[0].Target.Files = append(s.Stages[0].Target.Files, file())
		}, "Duplicate value"},
		{"path escaping the repository", func(s *releasev1.ReleasePipelineSpec) { s.Stages[0].Target.Files[0].Path = "../secrets.yaml" }, "must not contain '..'"},
		{"autoMerge with Commit", func(s *releasev1.ReleasePipelineSpec) { s.Stages[0].Target.AutoMerge = true }, "autoMerge applies only to strategy PullRequest"},
		{"manual stage without approvals", func(s *releasev1.ReleasePipelineSpec) { s.Stages[1].Promotion = releasev1.PromotionManual }, "a Manual stage needs gates.approvals"},
		{"bad repository", func(s *releasev1.ReleasePipelineSpec) { s.Source.Repository = "not a repo" }, "spec.source.repository"},
		{"bad strategy", func(s *releasev1.ReleasePipelineSpec) { s.Stages[0].Target.Strategy = "Push" }, `supported values: "Commit", "PullRequest"`},
		{"bad stage name", func(s *releasev1.ReleasePipelineSpec) { s.Stages[0].Name = "Dev Stage" }, "spec.stages[0].name"},
		{"bad API URL", func(s *releasev1.ReleasePipelineSpec) { s.GitHub.APIURL = "ftp://example" }, "spec.github.apiURL"},
		{"artifacts: an image and a chart, files taking them", func(s *releasev1.ReleasePipelineSpec) {
			s.Artifacts = []releasev1.PipelineArtifact{{Name: "app", Image: "ghcr.io/acme/app", TagTemplate: "v{{.Version}}"},
				{Name: "chart", Chart: "oci://localhost:5000/acme/charts/app"}}
			s.Stages[0].Target.Files[0].Artifact = "app"
			s.Stages[1].Target.Files = append(s.Stages[1].Target.Files,
				releasev1.TargetFile{Path: "envs/prod/values.yaml", YAMLPath: "image.ref", Artifact: "app", Value: releasev1.ValueTagAndDigest})
		}, ""},
		{"artifact image with a tag", func(s *releasev1.ReleasePipelineSpec) {
			s.Artifacts = []releasev1.PipelineArtifact{{Name: "app", Image: "ghcr.io/acme/app:1.4.2"}}
		}, "spec.artifacts[0].image: Invalid value"},
		{"artifact image with a digest", func(s *releasev1.ReleasePipelineSpec) {
			s.Artifacts = []releasev1.PipelineArtifact{{Name: "app", Image: "ghcr.io/acme/app@sha256:4f2c"}}
		}, "image must be a repository without tag or digest"},
		{"artifact chart without oci://", func(s *releasev1.ReleasePipelineSpec) {
			s.Artifacts = []releasev1.PipelineArtifact{{Name: "chart", Chart: "ghcr.io/acme/charts/app"}}
		}, "spec.artifacts[0].chart: Invalid value"},
		{"artifact with image and chart", func(s *releasev1.ReleasePipelineSpec) {
			s.Artifacts = []releasev1.PipelineArtifact{{Name: "app", Image: "ghcr.io/acme/app", Chart: "oci://ghcr.io/acme/charts/app"}}
		}, "set exactly one of image"},
		{"tag template without the version", func(s *releasev1.ReleasePipelineSpec) {
			s.Artifacts = []releasev1.PipelineArtifact{{Name: "app", Image: "ghcr.io/acme/app", TagTemplate: "latest"}}
		}, "spec.artifacts[0].tagTemplate"},
		{"a file naming an unknown artifact", func(s *releasev1.ReleasePipelineSpec) {
			s.Artifacts = []releasev1.PipelineArtifact{{Name: "app", Image: "ghcr.io/acme/app"}}
			s.Stages[1].Target.Files[0].Artifact = "api"
		}, "a target file's artifact must name one of spec.artifacts"},
		{"a digest value without an artifact", func(s *releasev1.ReleasePipelineSpec) {
			s.Stages[1].Target.Files = []releasev1.TargetFile{{Path: "values.yaml", YAMLPath: "image.digest", Value: releasev1.ValueDigest}}
		}, "set artifact too"},
		{"a signature gate without artifacts", func(s *releasev1.ReleasePipelineSpec) {
			s.Stages[1].Gates = &releasev1.Gates{Signature: &releasev1.SignatureGate{SecretRef: releasev1.LocalObjectReference{Name: "cosign"}, Key: "cosign.pub"}}
		}, "gates.signature verifies spec.artifacts"},
		{"a signature gate with both a key and an identity", func(s *releasev1.ReleasePipelineSpec) {
			s.Artifacts = []releasev1.PipelineArtifact{{Name: "app", Image: "ghcr.io/acme/app"}}
			s.Stages[1].Gates = &releasev1.Gates{Signature: &releasev1.SignatureGate{SecretRef: releasev1.LocalObjectReference{Name: "cosign"}, Key: "cosign.pub",
				Identity: &releasev1.SignatureIdentity{Subject: "release@acme.dev", Issuer: "https://token.actions.githubusercontent.com"}}}
		}, "spec.stages[1].gates.signature: Invalid value: set key"},
		{"a keyless identity with both a subject and a regular expression", func(s *releasev1.ReleasePipelineSpec) {
			s.Artifacts = []releasev1.PipelineArtifact{{Name: "app", Image: "ghcr.io/acme/app"}}
			s.Stages[1].Gates = &releasev1.Gates{Signature: &releasev1.SignatureGate{SecretRef: releasev1.LocalObjectReference{Name: "sigstore"},
				Identity: &releasev1.SignatureIdentity{Subject: "release@acme.dev", SubjectRegExp: ".*", Issuer: "https://token.actions.githubusercontent.com"}}}
		}, "spec.stages[1].gates.signature.identity: Invalid value: set subject (exact) or subjectRegExp, exactly one"},
		{"a keyless identity", func(s *releasev1.ReleasePipelineSpec) {
			s.Artifacts = []releasev1.PipelineArtifact{{Name: "app", Image: "ghcr.io/acme/app"}}
			s.Stages[1].Gates = &releasev1.Gates{Signature: &releasev1.SignatureGate{SecretRef: releasev1.LocalObjectReference{Name: "sigstore"},
				Identity: &releasev1.SignatureIdentity{SubjectRegExp: "^https://github.com/acme/", Issuer: "https://token.actions.githubusercontent.com"}}}
		}, ""},
		{"discovery from the registry without artifacts", func(s *releasev1.ReleasePipelineSpec) { s.Source.From = releasev1.DiscoverRegistry }, "source.from Registry discovers versions from spec.artifacts"},
		{"targets in waves", func(s *releasev1.ReleasePipelineSpec) {
			s.Stages[1] = targetsStage(intstr.FromInt32(1), intstr.FromString("50%"), intstr.FromString("100%"))
		}, ""},
		{"target and targets", func(s *releasev1.ReleasePipelineSpec) {
			t := s.Stages[1].Target
			s.Stages[1] = targetsStage()
			s.Stages[1].Target = t
		}, "spec.stages[1].targets: Invalid value: set target (one GitOps target) or targets (several, rolled out in waves), not both"},
		{"neither target nor targets", func(s *releasev1.ReleasePipelineSpec) { s.Stages[1].Target = releasev1.Target{} },
			"spec.stages[1].targets: Invalid value: set target (one GitOps target) or targets"},
		{"waves without targets", func(s *releasev1.ReleasePipelineSpec) { s.Stages[1].Waves = []intstr.IntOrString{intstr.FromInt32(1)} },
			"spec.stages[1].waves: Invalid value: waves split a stage's targets: set targets, or remove waves"},
		{"a target named twice", func(s *releasev1.ReleasePipelineSpec) {
			s.Stages[1] = targetsStage()
			s.Stages[1].Targets[1].Name = "prod-1"
		}, `spec.stages[1].targets[1]: Duplicate value: {"name":"prod-1"}`},
		{"the stage's deployment with targets", func(s *releasev1.ReleasePipelineSpec) {
			s.Stages[1] = targetsStage()
			s.Stages[1].Deployment = &releasev1.DeploymentSpec{ArgoCD: &releasev1.ArgoCDDeployment{Name: "prod"}}
		}, "spec.stages[1].deployment: Invalid value: a stage with targets names each target's deployment (targets[].deployment)"},
	}
	for _, c := range cases {
		t.Run("pipeline/"+c.name, func(t *testing.T) {
			err := k8s.Create(context.Background(), pipeline(c.mod))
			if c.want == "" {
				NewWithT(t).Expect(err).NotTo(HaveOccurred())
				return
			}
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring(c.want)))
		})
	}

	// A soak that is not a duration: the typed client cannot send one, so send raw JSON.
	t.Run("pipeline/soak not a duration", func(t *testing.T) {
		p := pipeline(func(*releasev1.ReleasePipelineSpec) {})
		p.Name = "rawsoak"
		raw := rawWithSoak(t, p, "ten minutes")
		NewWithT(t).Expect(raw).To(MatchError(ContainSubstring("spec.stages[1].gates.soak")))
	})

	release := func(mod func(*releasev1.ReleaseSpec)) *releasev1.Release {
		r := &releasev1.Release{ObjectMeta: metav1.ObjectMeta{GenerateName: "r-", Namespace: ns},
			Spec: releasev1.ReleaseSpec{Pipeline: "p", Version: "1.4.2"}}
		mod(&r.Spec)
		return r
	}
	rcases := []struct {
		name string
		mod  func(*releasev1.ReleaseSpec)
		want string
	}{
		{"ok", func(*releasev1.ReleaseSpec) {}, ""},
		{"ok with v and prerelease", func(s *releasev1.ReleaseSpec) { s.Version = "v2.0.0-rc.1+build.5" }, ""},
		{"not semver", func(s *releasev1.ReleaseSpec) { s.Version = "1.4" }, "spec.version"},
		{"short commit", func(s *releasev1.ReleaseSpec) { s.Commit = "abc123" }, "spec.commit"},
		{"bad digest", func(s *releasev1.ReleaseSpec) {
			s.Artifacts = []releasev1.Artifact{{Name: "app", Digest: "not a digest"}}
		}, "spec.artifacts[0].digest"},
		{"no pipeline", func(s *releasev1.ReleaseSpec) { s.Pipeline = "" }, "spec.pipeline"},
	}
	for _, c := range rcases {
		t.Run("release/"+c.name, func(t *testing.T) {
			err := k8s.Create(context.Background(), release(c.mod))
			if c.want == "" {
				NewWithT(t).Expect(err).NotTo(HaveOccurred())
				return
			}
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring(c.want)))
		})
	}

	t.Run("release/version is immutable", func(t *testing.T) {
		g := NewWithT(t)
		r := release(func(*releasev1.ReleaseSpec) {})
		g.Expect(k8s.Create(context.Background(), r)).To(Succeed())
		r.Spec.Version = "1.4.3"
		g.Expect(k8s.Update(context.Background(), r)).To(MatchError(ContainSubstring("version is immutable")))
	})
}

// rawWithSoak creates p with the soak of its second stage set to a raw string.
func rawWithSoak(t *testing.T, p *releasev1.ReleasePipeline, soak string) error {
	p.TypeMeta = metav1.TypeMeta{APIVersion: releasev1.GroupVersion.String(), Kind: "ReleasePipeline"}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(p)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: obj}
	stages, _, _ := unstructured.NestedSlice(u.Object, "spec", "stages")
	stages[1].(map[string]any)["gates"] = map[string]any{"soak": soak}
	if err := unstructured.SetNestedSlice(u.Object, stages, "spec", "stages"); err != nil {
		t.Fatal(err)
	}
	return k8s.Create(context.Background(), u)
}
