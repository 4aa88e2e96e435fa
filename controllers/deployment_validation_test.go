package controllers_test

import (
	"context"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// A stage's deployment names exactly one agent, with what to fix when not;
// the API server fills in the documented defaults.
func TestAPIValidatesStageDeployment(t *testing.T) {
	needsControlPlane(t)
	ctx := context.Background()
	ns := fmt.Sprintf("deployment-validation-%d", nsSeq.Add(1))
	NewWithT(t).Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	pipeline := func(d *releasev1.DeploymentSpec) *releasev1.ReleasePipeline {
		return &releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{GenerateName: "p-", Namespace: ns},
			Spec: releasev1.ReleasePipelineSpec{Source: releasev1.SourceSpec{Repository: "acme/app"}, Stages: []releasev1.Stage{{
				Name: "prod", Deployment: d,
				Target: releasev1.Target{Repository: "acme/gitops", Files: []releasev1.TargetFile{{Path: "envs/prod/kustomization.yaml", KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "app"}}}},
			}}}}
	}
	app := &releasev1.ArgoCDDeployment{Name: "checkout-prod"}
	ks := &releasev1.FluxDeployment{Name: "apps"}
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "checkout"}}
	cases := []struct {
		name string
		d    *releasev1.DeploymentSpec
		want string
	}{
		{"no agent", &releasev1.DeploymentSpec{}, "set exactly one of argoCD, flux or commitStatus"},
		{"two agents", &releasev1.DeploymentSpec{ArgoCD: app, Flux: ks}, "set exactly one of argoCD, flux or commitStatus"},
		{"name and selector", &releasev1.DeploymentSpec{ArgoCD: &releasev1.ArgoCDDeployment{Name: "a", Selector: selector}}, "set either name (one Application) or selector"},
		{"neither name nor selector", &releasev1.DeploymentSpec{ArgoCD: &releasev1.ArgoCDDeployment{Namespace: "argocd"}}, "set either name (one Application) or selector"},
		{"empty selector", &releasev1.DeploymentSpec{ArgoCD: &releasev1.ArgoCDDeployment{Selector: &metav1.LabelSelector{}}}, "selector needs matchLabels or matchExpressions"},
		{"kubeconfig for a commit status", &releasev1.DeploymentSpec{CommitStatus: &releasev1.CommitStatusDeployment{Context: "deploy/prod"},
			KubeConfigSecretRef: &releasev1.KubeConfigSecretReference{Name: "prod"}}, "kubeConfigSecretRef is for an Argo CD or Flux in another cluster"},
		{"unknown Flux kind", &releasev1.DeploymentSpec{Flux: &releasev1.FluxDeployment{Kind: "GitRepository", Name: "apps"}}, `supported values: "Kustomization", "HelmRelease"`},
		{"empty status context", &releasev1.DeploymentSpec{CommitStatus: &releasev1.CommitStatusDeployment{}}, "spec.stages[0].deployment.commitStatus.context"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			NewWithT(t).Expect(k8s.Create(ctx, pipeline(c.d))).To(MatchError(ContainSubstring(c.want)))
		})
	}

	t.Run("defaults", func(t *testing.T) {
		g := NewWithT(t)
		argo := pipeline(&releasev1.DeploymentSpec{ArgoCD: &releasev1.ArgoCDDeployment{Selector: selector}})
		g.Expect(k8s.Create(ctx, argo)).To(Succeed())
		g.Expect(argo.Spec.Stages[0].Deployment.ArgoCD.Namespace).To(Equal("argocd"))

		fl := pipeline(&releasev1.DeploymentSpec{Flux: &releasev1.FluxDeployment{Name: "apps"}, KubeConfigSecretRef: &releasev1.KubeConfigSecretReference{Name: "prod"}})
		g.Expect(k8s.Create(ctx, fl)).To(Succeed())
		d := fl.Spec.Stages[0].Deployment
		g.Expect(d.Flux.Kind).To(Equal(releasev1.FluxKustomization))
		g.Expect(d.Flux.Namespace).To(Equal("flux-system"))
		g.Expect(d.KubeConfigSecretRef.Key).To(Equal("value"))
		g.Expect(d.Timeout).To(BeNil(), "the 10m default is the controller's, so a later change of it applies")
	})
}
