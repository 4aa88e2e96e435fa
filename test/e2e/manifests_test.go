package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// TestDashboardManifestsServeTheManagersDashboard builds config/dashboard as
// `kubectl apply -k` would and checks what an operator relies on: the
// manager serves the dashboard with authentication on the port the Service
// targets, the manager's service account may impersonate, and the API server
// accepts every object the dashboard adds (a server-side dry run).
func TestDashboardManifestsServeTheManagersDashboard(t *testing.T) {
	g := NewWithT(t)
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	out, err := exec.Command(kubectl, "kustomize", filepath.Join(root, "config", "dashboard")).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("kubectl kustomize config/dashboard: %v: %s", err, ee.Stderr)
	}
	g.Expect(err).NotTo(HaveOccurred())

	objs := map[string]*unstructured.Unstructured{}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			break
		} else {
			g.Expect(err).NotTo(HaveOccurred())
		}
		if len(u.Object) > 0 {
			objs[u.GetKind()+"/"+u.GetName()] = u
		}
	}
	into := func(key string, obj any) {
		t.Helper()
		u, ok := objs[key]
		if !ok {
			t.Fatalf("config/dashboard has no %s", key)
		}
		raw, err := yaml.Marshal(u.Object)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(yaml.Unmarshal(raw, obj)).To(Succeed())
	}

	var dep appsv1.Deployment
	into("Deployment/liftoff-controller-manager", &dep)
	mgr := dep.Spec.Template.Spec.Containers[0]
	g.Expect(mgr.Args).To(ContainElements("--dashboard-bind-address=:8083", "--dashboard-auth=kubernetes"))
	g.Expect(mgr.Ports).To(ContainElement(corev1.ContainerPort{Name: "dashboard", ContainerPort: 8083}))

	var svc corev1.Service
	into("Service/liftoff-dashboard", &svc)
	g.Expect(svc.Namespace).To(Equal(dep.Namespace))
	for k, v := range svc.Spec.Selector {
		g.Expect(dep.Spec.Template.Labels).To(HaveKeyWithValue(k, v), "the Service selects the manager's pods")
	}
	g.Expect(svc.Spec.Ports).To(ConsistOf(HaveField("TargetPort", intstr.FromString("dashboard"))))

	var binding rbacv1.ClusterRoleBinding
	into("ClusterRoleBinding/liftoff-dashboard-auth-rolebinding", &binding)
	g.Expect(binding.Subjects).To(ConsistOf(rbacv1.Subject{Kind: "ServiceAccount", Name: dep.Spec.Template.Spec.ServiceAccountName, Namespace: dep.Namespace}))
	var role rbacv1.ClusterRole
	into("ClusterRole/"+binding.RoleRef.Name, &role)
	var impersonates []string
	for _, r := range role.Rules {
		if slices.Contains(r.Verbs, "impersonate") {
			impersonates = append(impersonates, r.Resources...)
		}
	}
	g.Expect(impersonates).To(ContainElements("users", "groups", "uids"))
	_, ok := objs["ServiceAccount/"+dep.Spec.Template.Spec.ServiceAccountName]
	g.Expect(ok).To(BeTrue(), "the service account the binding names is deployed")

	// The API server takes them as they are.
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: dep.Namespace}}
	if err := k8s.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for _, key := range []string{"Deployment/liftoff-controller-manager", "Service/liftoff-dashboard",
		"ClusterRole/" + binding.RoleRef.Name, "ClusterRoleBinding/" + binding.Name} {
		g.Expect(k8s.Create(ctx, objs[key].DeepCopy(), client.DryRunAll)).To(Succeed(), key)
	}
}
