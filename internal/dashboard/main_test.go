package dashboard_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/liftoff-dev/liftoff/internal/dashboard"
	"github.com/liftoff-dev/liftoff/internal/webhooks/webhooktest"
)

// The browser tests run one real kube-apiserver and etcd (envtest) with the
// real CRDs and Liftoff's identity admission webhooks; under -short they
// are skipped and the control plane is not started.
var (
	env     *envtest.Environment
	restCfg *rest.Config
	k8s     client.Client
	scheme  *runtime.Scheme
)

func TestMain(m *testing.M) {
	flag.Parse()
	ctrl.SetLogger(logr.Discard())
	if testing.Short() {
		os.Exit(m.Run())
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		out, err := exec.Command("../../hack/build-control-plane.sh").Output()
		if err != nil {
			fmt.Fprintln(os.Stderr, "building the control plane:", err)
			os.Exit(1)
		}
		os.Setenv("KUBEBUILDER_ASSETS", strings.TrimSpace(string(out)))
	}
	var err error
	if scheme, err = dashboard.Scheme(); err != nil {
		panic(err)
	}
	root := filepath.Join("..", "..")
	env = &envtest.Environment{
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")}, ErrorIfCRDPathMissing: true,
		WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: []string{filepath.Join(root, "config", "webhook")}},
	}
	if restCfg, err = env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		os.Exit(1)
	}
	if k8s, err = client.New(restCfg, client.Options{Scheme: scheme}); err != nil {
		panic(err)
	}
	stop, err := webhooktest.Serve(&env.WebhookInstallOptions, scheme, k8s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the webhook server:", err)
		_ = env.Stop()
		os.Exit(1)
	}
	code := m.Run()
	stop()
	_ = env.Stop()
	os.Exit(code)
}
