package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

var chartDir = filepath.Join(root, "charts", "liftoff")

// chartOptions are the documented option sets the chart is rendered with:
// the defaults, and every option of values.yaml turned on or changed in one
// set or another.
var chartOptions = map[string][]string{
	"defaults": nil,
	"everything": {
		"--set", "webhook.certManager.enabled=true",
		"--set", "webhook.certManager.issuerRef.name=company-ca", "--set", "webhook.certManager.issuerRef.kind=ClusterIssuer",
		"--set", "webhook.failurePolicy=Ignore",
		"--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.serviceMonitor.interval=30s",
		"--set", "metrics.serviceMonitor.labels.release=prometheus",
		"--set", "grafanaDashboard.enabled=true",
		"--set", "dashboard.enabled=true", "--set", "dashboard.auth=kubernetes",
		"--set", "shards={,blue}",
		"--set", "github.webhook.secret=s3cret", "--set", "github.writesPerMinute=40", "--set", "github.writesPerHour=300",
		"--set", "github.coalesceCommits=false", "--set", "github.timeout=10s",
		"--set", "concurrency=16", "--set", "gatePollInterval=1m",
		"--set", "replicaCount=3", "--set", "podAntiAffinity=hard",
		"--set", "podDisruptionBudget.maxUnavailable=2",
		"--set", "image.digest=sha256:" + strings.Repeat("ab", 32),
		"--set", "serviceAccount.annotations.team=releases",
		"--set", "logLevel=debug", "--set", "extraArgs={--pprof-bind-address=:6060}",
		"--set", "metrics.secure=false",
	},
	"minimal": {
		"--set", "webhook.enabled=false", "--set", "crds.install=false",
		"--set", "leaderElection.enabled=false", "--set", "replicaCount=1",
		"--set", "podDisruptionBudget.enabled=false", "--set", "podAntiAffinity=none",
		"--set", "metrics.enabled=false", "--set", "rbac.aggregateToDefaultRoles=false",
		"--set", "dashboard.enabled=true", "--set", "dashboard.auth=none",
		"--set", "github.webhook.existingSecret=github-webhook", "--set", "crds.keep=false",
		"--set", "serviceAccount.create=false", "--set", "serviceAccount.name=liftoff",
	},
}

// helmBin builds helm (hack/build-helm.sh, cached) unless LIFTOFF_HELM names it.
func helmBin(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("LIFTOFF_HELM"); h != "" {
		return h
	}
	out, err := exec.Command(filepath.Join(root, "hack", "build-helm.sh")).Output()
	if err != nil {
		t.Fatalf("building helm: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// helm runs helm and returns its output; a failure returns stderr in the error.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBin(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// objects decodes a stream of YAML documents.
func objects(t *testing.T, manifest string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("decoding the rendered chart: %v", err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// kubectlApply applies objs server-side as the managers' user; dryRun
// validates them on the server without keeping them.
func kubectlApply(t *testing.T, objs []*unstructured.Unstructured, dryRun bool) {
	t.Helper()
	if len(objs) == 0 {
		return
	}
	var buf bytes.Buffer
	for _, o := range objs {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	args := []string{"--kubeconfig", kubeconfig, "apply", "--server-side", "--force-conflicts", "--field-manager=helm-test", "-f", "-"}
	if dryRun {
		args = append(args, "--dry-run=server")
	}
	cmd := exec.Command(filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"), args...)
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply --server-side (dry run %v): %v\n%s", dryRun, err, out)
	}
}

// TestChartInstalls lints and renders charts/liftoff with each option set
// and applies what it renders to the API server: the CRDs for real (then a
// sample of every kind is created through them), everything else for real
// too but the admission webhook configurations, which are checked with a
// server-side dry run (nothing serves them here, and with failurePolicy Fail
// they would refuse every later Release). The kinds of cert-manager and the
// Prometheus Operator, not installed here, are checked by their fields.
func TestChartInstalls(t *testing.T) {
	g := NewWithT(t)
	_, err := helm(t, "lint", "--strict", chartDir)
	g.Expect(err).NotTo(HaveOccurred())
	for name, opts := range chartOptions {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			ns := "chart-" + name
			release := "liftoff-" + name
			_, err := helm(t, append([]string{"lint", "--strict", chartDir, "--namespace", ns}, opts...)...)
			g.Expect(err).NotTo(HaveOccurred())
			out, err := helm(t, append([]string{"template", release, chartDir, "--namespace", ns}, opts...)...)
			g.Expect(err).NotTo(HaveOccurred())
			objs := objects(t, out)

			ctx := context.Background()
			if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
			var crds, webhooks, rest []*unstructured.Unstructured
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[o.GetKind()]++
				switch o.GetKind() {
				case "CustomResourceDefinition":
					crds = append(crds, o)
				case "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration":
					webhooks = append(webhooks, o)
				case "Certificate", "Issuer", "ServiceMonitor":
				default:
					rest = append(rest, o)
				}
			}
			kubectlApply(t, crds, false)
			if len(crds) > 0 {
				createSamples(t, ns)
			}
			kubectlApply(t, rest, false)
			kubectlApply(t, webhooks, true)
			t.Logf("%s: %v", name, kinds)
			checkChart(t, name, objs)
		})
	}
}

// createSamples creates config/samples' Liftoff objects in ns through the
// CRDs the chart installed, then deletes them.
func createSamples(t *testing.T, ns string) {
	t.Helper()
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	out, err := exec.Command(kubectl, "kustomize", filepath.Join(root, "config", "samples")).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize config/samples: %v", err)
	}
	created := 0
	for _, o := range objects(t, string(out)) {
		if !strings.HasPrefix(o.GetAPIVersion(), "release.liftoff.dev/") {
			continue
		}
		o.SetNamespace(ns)
		if err := k8s.Create(context.Background(), o); err != nil {
			t.Fatalf("creating the sample %s %s: %v", o.GetKind(), o.GetName(), err)
		}
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), o) })
		created++
	}
	if created < 6 {
		t.Fatalf("created %d samples, want one of each of the 6 kinds", created)
	}
}

// checkChart checks what each option set promises.
func checkChart(t *testing.T, name string, objs []*unstructured.Unstructured) {
	g := NewWithT(t)
	byKind := map[string][]*unstructured.Unstructured{}
	for _, o := range objs {
		byKind[o.GetKind()] = append(byKind[o.GetKind()], o)
	}
	var deps []appsv1.Deployment
	for _, o := range byKind["Deployment"] {
		var d appsv1.Deployment
		g.Expect(runtimeConvert(o, &d)).To(Succeed())
		deps = append(deps, d)
	}
	g.Expect(deps).NotTo(BeEmpty())
	mgr := deps[0].Spec.Template.Spec.Containers[0]
	checkFlagsExist(t, mgr.Args)
	switch name {
	case "defaults":
		g.Expect(deps).To(HaveLen(1))
		g.Expect(*deps[0].Spec.Replicas).To(Equal(int32(2)), "two replicas by default")
		g.Expect(mgr.Args).To(ContainElement("--leader-elect=true"))
		g.Expect(deps[0].Spec.Template.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution).To(HaveLen(1))
		g.Expect(byKind["PodDisruptionBudget"]).To(HaveLen(1))
		g.Expect(byKind["CustomResourceDefinition"]).To(HaveLen(7), "every kind, the Launch included")
		// The generated certificate's CA is in both configurations.
		g.Expect(byKind["Secret"]).To(HaveLen(1))
		ca, _, _ := unstructured.NestedString(byKind["Secret"][0].Object, "data", "ca.crt")
		g.Expect(ca).NotTo(BeEmpty())
		for _, cfg := range append(byKind["MutatingWebhookConfiguration"], byKind["ValidatingWebhookConfiguration"]...) {
			whs, _, _ := unstructured.NestedSlice(cfg.Object, "webhooks")
			g.Expect(whs).NotTo(BeEmpty())
			for _, wh := range whs {
				bundle, _, _ := unstructured.NestedString(wh.(map[string]any), "clientConfig", "caBundle")
				g.Expect(bundle).To(Equal(ca), "%s", cfg.GetName())
			}
		}
		checkEqualToKustomize(t, objs, mgr)
	case "everything":
		g.Expect(deps).To(HaveLen(2), "one Deployment per shard")
		g.Expect(deps[1].Spec.Template.Spec.Containers[0].Args).To(ContainElement("--shard=blue"))
		g.Expect(*deps[0].Spec.Replicas).To(Equal(int32(3)))
		g.Expect(deps[0].Spec.Template.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution).To(HaveLen(1))
		g.Expect(mgr.Args).To(ContainElements("--dashboard-auth=kubernetes", "--github-writes-per-minute=40", "--github-writes-per-hour=300",
			"--coalesce-commits=false", "--concurrency=16", "--gate-poll-interval=1m", "--zap-log-level=debug", "--pprof-bind-address=:6060", "--metrics-secure=false"))
		g.Expect(mgr.Image).To(HaveSuffix("@sha256:" + strings.Repeat("ab", 32)))
		g.Expect(byKind["Certificate"]).To(HaveLen(1))
		g.Expect(byKind["Issuer"]).To(BeEmpty(), "the given ClusterIssuer issues")
		issuer, _, _ := unstructured.NestedString(byKind["Certificate"][0].Object, "spec", "issuerRef", "kind")
		g.Expect(issuer).To(Equal("ClusterIssuer"))
		for _, cfg := range append(byKind["MutatingWebhookConfiguration"], byKind["ValidatingWebhookConfiguration"]...) {
			g.Expect(cfg.GetAnnotations()).To(HaveKeyWithValue("cert-manager.io/inject-ca-from", "chart-everything/liftoff-everything-webhook"))
		}
		g.Expect(byKind["ServiceMonitor"]).To(HaveLen(1))
		g.Expect(byKind["ConfigMap"]).To(HaveLen(1), "the Grafana dashboard")
		dashboardJSON, _, _ := unstructured.NestedString(byKind["ConfigMap"][0].Object, "data", "liftoff-releases.json")
		want, err := os.ReadFile(filepath.Join(root, "config", "prometheus", "grafana-dashboard.json"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(dashboardJSON).To(Equal(strings.TrimSuffix(string(want), "\n")))
		g.Expect(names(byKind["Service"])).To(ContainElements("liftoff-everything-dashboard", "liftoff-everything-controller-manager-blue-http"))
		for _, svc := range byKind["Service"] {
			if svc.GetName() == "liftoff-everything-dashboard" {
				sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
				g.Expect(sel).To(HaveKeyWithValue("release.liftoff.dev/shard-name", "default"), "the dashboard shows one shard's objects")
			}
		}
	case "minimal":
		g.Expect(byKind["CustomResourceDefinition"]).To(BeEmpty())
		g.Expect(byKind["MutatingWebhookConfiguration"]).To(BeEmpty())
		g.Expect(byKind["PodDisruptionBudget"]).To(BeEmpty())
		g.Expect(byKind["ServiceAccount"]).To(BeEmpty())
		g.Expect(deps[0].Spec.Template.Spec.ServiceAccountName).To(Equal("liftoff"))
		g.Expect(deps[0].Spec.Template.Spec.Affinity).To(BeNil())
		g.Expect(mgr.Args).To(ContainElements("--enable-webhooks=false", "--leader-elect=false", "--metrics-bind-address=0", "--dashboard-auth=none"))
		g.Expect(names(byKind["ClusterRole"])).NotTo(ContainElement(HaveSuffix("-dashboard-auth")), "no impersonation for a read-only dashboard")
	}
}

func names(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetName())
	}
	return out
}

func runtimeConvert(u *unstructured.Unstructured, into any) error {
	b, err := yaml.Marshal(u.Object)
	if err != nil {
		return err
	}
	return yaml.Unmarshal(b, into)
}

// checkFlagsExist checks that the manager knows every flag the chart passes.
func checkFlagsExist(t *testing.T, args []string) {
	t.Helper()
	out, _ := exec.Command(managerBin, "--help").CombinedOutput()
	for _, a := range args {
		flag, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.Contains(string(out), "  -"+flag+" ") && !strings.Contains(string(out), "  -"+flag+"\n") {
			t.Errorf("the chart passes --%s, which the manager does not know", flag)
		}
	}
}

// checkEqualToKustomize checks the default chart against config/default:
// the same CRDs, the manager's rules, webhooks, ports and probes, and every
// flag config/manager sets.
func checkEqualToKustomize(t *testing.T, chart []*unstructured.Unstructured, mgr corev1.Container) {
	g := NewWithT(t)
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	out, err := exec.Command(kubectl, "kustomize", filepath.Join(root, "config", "default")).Output()
	g.Expect(err).NotTo(HaveOccurred())
	kust := objects(t, string(out))
	find := func(objs []*unstructured.Unstructured, kind, suffix string) *unstructured.Unstructured {
		for _, o := range objs {
			if o.GetKind() == kind && strings.HasSuffix(o.GetName(), suffix) {
				return o
			}
		}
		t.Fatalf("no %s *%s", kind, suffix)
		return nil
	}
	// CRDs: the chart's files are config/crd/bases byte for byte.
	bases, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(bases).To(HaveLen(7))
	for _, b := range bases {
		want, _ := os.ReadFile(b)
		got, err := os.ReadFile(filepath.Join(chartDir, "files", "crds", filepath.Base(b)))
		g.Expect(err).NotTo(HaveOccurred(), "charts/liftoff/files/crds lacks %s: run make manifests", filepath.Base(b))
		g.Expect(string(got)).To(Equal(string(want)), "%s differs: run make manifests", filepath.Base(b))
	}
	for _, k := range kust {
		if k.GetKind() != "CustomResourceDefinition" {
			continue
		}
		c := find(chart, "CustomResourceDefinition", k.GetName())
		g.Expect(c.Object["spec"]).To(Equal(k.Object["spec"]), k.GetName())
		g.Expect(c.GetAnnotations()).To(HaveKeyWithValue("helm.sh/resource-policy", "keep"))
	}
	g.Expect(find(chart, "ClusterRole", "-manager").Object["rules"]).To(Equal(find(kust, "ClusterRole", "manager-role").Object["rules"]))
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		paths := func(o *unstructured.Unstructured) []string {
			var out []string
			whs, _, _ := unstructured.NestedSlice(o.Object, "webhooks")
			for _, wh := range whs {
				m := wh.(map[string]any)
				p, _, _ := unstructured.NestedString(m, "clientConfig", "service", "path")
				out = append(out, fmt.Sprint(m["name"], p, m["rules"]))
			}
			return out
		}
		g.Expect(paths(find(chart, kind, ""))).To(Equal(paths(find(kust, kind, ""))), kind)
	}
	var kd appsv1.Deployment
	g.Expect(runtimeConvert(find(kust, "Deployment", "controller-manager"), &kd)).To(Succeed())
	km := kd.Spec.Template.Spec.Containers[0]
	for _, a := range km.Args {
		flag, _, _ := strings.Cut(a, "=")
		g.Expect(slices.ContainsFunc(mgr.Args, func(c string) bool { return c == flag || strings.HasPrefix(c, flag+"=") })).To(BeTrue(), "the chart sets %s as config/manager does", flag)
	}
	for _, p := range km.Ports {
		g.Expect(mgr.Ports).To(ContainElement(HaveField("ContainerPort", p.ContainerPort)), "port %s", p.Name)
	}
	g.Expect(mgr.SecurityContext).To(Equal(km.SecurityContext))
	g.Expect(mgr.LivenessProbe.HTTPGet.Path).To(Equal(km.LivenessProbe.HTTPGet.Path))
	g.Expect(mgr.ReadinessProbe.HTTPGet.Path).To(Equal(km.ReadinessProbe.HTTPGet.Path))
	g.Expect(mgr.VolumeMounts).To(Equal(km.VolumeMounts))
}

// A wrong value is refused by values.schema.json, naming its path.
func TestChartRefusesWrongValues(t *testing.T) {
	for _, tc := range []struct {
		set  []string
		path string
	}{
		{[]string{"dashboard.auth=oidc"}, "/dashboard/auth"},
		{[]string{"replicaCount=0"}, "/replicaCount"},
		{[]string{"gatePollInterval=soon"}, "/gatePollInterval"},
		{[]string{"github.writesPerMinute=-1"}, "/github/writesPerMinute"},
		{[]string{"podAntiAffinity=always"}, "/podAntiAffinity"},
		{[]string{"webhook.certManager.issuerRef.kind=Vault"}, "/webhook/certManager/issuerRef"},
		{[]string{"leaderElection.enabled=false"}, "/replicaCount"},
		{[]string{"github.webhook.secrt=x"}, "/github/webhook"},
	} {
		t.Run(strings.Join(tc.set, ","), func(t *testing.T) {
			args := []string{"template", "liftoff", chartDir}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			_, err := helm(t, args...)
			NewWithT(t).Expect(err).To(MatchError(And(ContainSubstring("values don't meet the specifications of the schema"), ContainSubstring(tc.path))))
		})
	}
}
