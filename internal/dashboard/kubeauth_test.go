package dashboard_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/dashboard"
)

// The in-cluster dashboard with --dashboard-auth=kubernetes: a bearer token
// is reviewed by the API server, reading needs list on releases, and an
// approval is made as the token's user (impersonation), so the identity
// webhook stamps their name, not the manager's.
func TestKubernetesAuthActsAsTheTokensUser(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the control plane")
	}
	g := NewWithT(t)
	ctx := context.Background()
	const ns = "incluster"
	g.Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	token := func(sa string) string {
		g.Expect(k8s.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns}})).To(Succeed())
		tr := &authenticationv1.TokenRequest{}
		g.Expect(k8s.SubResource("token").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns}}, tr)).To(Succeed())
		return tr.Status.Token
	}
	robot, stranger := token("robot"), token("stranger")
	robotUser := "system:serviceaccount:" + ns + ":robot"
	g.Expect(k8s.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "approver", Namespace: ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{releasev1.GroupVersion.Group}, Resources: []string{"releases", "releasepipelines"},
			Verbs: []string{"get", "list", "watch", "update", "patch", releasev1.VerbApprove}}}})).To(Succeed())
	g.Expect(k8s.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "approver", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "approver"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "robot", Namespace: ns}}})).To(Succeed())
	pipe := &releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: ns}, Spec: releasev1.ReleasePipelineSpec{
		Source: releasev1.SourceSpec{Repository: "acme/checkout"},
		Stages: []releasev1.Stage{{Name: "prod", Promotion: releasev1.PromotionManual, Gates: &releasev1.Gates{Approvals: &releasev1.ApprovalsGate{Count: 1}},
			Target: releasev1.Target{Repository: "acme/gitops", Files: []releasev1.TargetFile{{Path: "prod.yaml", YAMLPath: "image.tag"}}}}}}}
	g.Expect(k8s.Create(ctx, pipe)).To(Succeed())
	g.Expect(k8s.Create(ctx, &releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: "checkout-2-0-0", Namespace: ns},
		Spec: releasev1.ReleaseSpec{Pipeline: "checkout", Version: "2.0.0"}})).To(Succeed())

	// The dashboard as the manager serves it (--dashboard-auth=kubernetes),
	// from the manager's own cache.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0"})
	g.Expect(err).NotTo(HaveOccurred())
	srv, err := dashboard.ForManager(cctx, mgr, dashboard.AuthKubernetes, "UTC")
	g.Expect(err).NotTo(HaveOccurred())
	go func() { _ = mgr.Start(cctx) }()
	g.Expect(mgr.GetCache().WaitForCacheSync(cctx)).To(BeTrue())
	_, err = dashboard.ForManager(cctx, mgr, "oidc", "")
	g.Expect(err).To(MatchError(ContainSubstring(`--dashboard-auth "oidc": use none (read-only) or kubernetes`)))
	ts := httptest.NewServer(srv)
	defer ts.Close()

	get := func(path, tok string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := http.DefaultClient.Do(req)
		g.Expect(err).NotTo(HaveOccurred())
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, body := get("/api/pipelines?ns="+ns, "")
	g.Expect(code).To(Equal(http.StatusUnauthorized), body)
	code, body = get("/api/pipelines?ns="+ns, "not-a-token")
	g.Expect(code).To(Equal(http.StatusUnauthorized), body)
	code, body = get("/api/pipelines?ns="+ns, stranger)
	g.Expect(code).To(Equal(http.StatusForbidden), body)
	g.Expect(body).To(ContainSubstring("system:serviceaccount:incluster:stranger may not list releases"))
	code, body = get("/api/pipelines?ns="+ns, robot)
	g.Expect(code).To(Equal(http.StatusOK), body)
	g.Expect(body).To(ContainSubstring(`"name": "checkout"`))
	code, body = get("/api/pipelines", stranger)
	g.Expect(code).To(Equal(http.StatusOK))
	g.Expect(body).NotTo(ContainSubstring(`"checkout"`), "namespaces the user may not read are left out")

	// An approval from the robot's browser: session cookie, token, Origin.
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/releases/"+ns+"/checkout-2-0-0", nil)
	req.Header.Set("Authorization", "Bearer "+robot)
	res, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	g.Expect(res.StatusCode).To(Equal(http.StatusOK))
	csrf := between(string(page), `name="csrf-token" content="`, `"`)
	form := url.Values{"stage": {"prod"}, "comment": {"from the in-cluster dashboard"}}
	post, _ := http.NewRequest(http.MethodPost, ts.URL+"/releases/"+ns+"/checkout-2-0-0/approve", strings.NewReader(form.Encode()))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.Header.Set("Accept", "application/json")
	post.Header.Set("Origin", ts.URL)
	post.Header.Set("X-CSRF-Token", csrf)
	post.Header.Set("Authorization", "Bearer "+robot)
	for _, c := range res.Cookies() {
		post.AddCookie(c)
	}
	res, err = http.DefaultClient.Do(post)
	g.Expect(err).NotTo(HaveOccurred())
	out := map[string]string{}
	g.Expect(json.NewDecoder(res.Body).Decode(&out)).To(Succeed())
	res.Body.Close()
	g.Expect(res.StatusCode).To(Equal(http.StatusOK), out["error"])
	g.Expect(out["message"]).To(Equal("checkout-2-0-0 approved for prod by " + robotUser))
	rel := &releasev1.Release{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "checkout-2-0-0"}, rel)).To(Succeed())
	g.Expect(rel.Spec.Approvals).To(HaveLen(1))
	g.Expect(rel.Spec.Approvals[0].By).To(Equal(robotUser), "the webhook saw the token's user, not the manager")
}

func between(s, from, to string) string {
	_, rest, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(rest, to)
	return v
}
