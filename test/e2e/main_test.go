// Package e2e tests Liftoff end to end: the manager binary runs as separate
// processes against a real kube-apiserver and etcd (envtest), with leader
// election, and promotes through the GitHub API simulator served by the test.
package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// root is the repository root, relative to this package.
const root = "../.."

var (
	scheme = runtime.NewScheme()
	// k8s is the test's own client (an administrator).
	k8s client.Client
	// managerBin is the manager built from this checkout.
	managerBin string
	// kubeconfig is the file the managers connect with.
	kubeconfig string
	// buildDir holds the binaries the tests build.
	buildDir string
)

// e2eVersion is the version linked into the binaries the tests build, as the
// Makefile links its own.
const e2eVersion = "v0.0.0-e2e"

// ldflags link e2eVersion and the checkout's commit (when git knows it).
func ldflags() string {
	f := "-X github.com/liftoff-dev/liftoff/internal/version.version=" + e2eVersion
	if out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output(); err == nil {
		f += " -X github.com/liftoff-dev/liftoff/internal/version.commit=" + strings.TrimSpace(string(out))
	}
	return f
}

// goBuild builds pkg (./cmd/...) into buildDir.
func goBuild(pkg, name string) (string, error) {
	out := filepath.Join(buildDir, name)
	build := exec.Command("go", "build", "-ldflags", ldflags(), "-o", out, pkg)
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	return out, build.Run()
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		fmt.Println("the e2e tier runs manager binaries against a control plane: not in -short")
		return 0
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		out, err := exec.Command(filepath.Join(root, "hack", "build-control-plane.sh")).Output()
		if err != nil {
			fmt.Fprintln(os.Stderr, "building the control plane:", err)
			return 1
		}
		os.Setenv("KUBEBUILDER_ASSETS", strings.TrimSpace(string(out)))
	}
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, releasev1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	dir, err := os.MkdirTemp("", "liftoff-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)

	buildDir = dir
	if managerBin, err = goBuild("./cmd/manager", "manager"); err != nil {
		fmt.Fprintln(os.Stderr, "building the manager:", err)
		return 1
	}

	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The managers are clients like any other: their own user, by kubeconfig.
	user, err := env.AddUser(envtest.User{Name: "liftoff-manager", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "adding the manager's user:", err)
		return 1
	}
	kc, err := user.KubeConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
