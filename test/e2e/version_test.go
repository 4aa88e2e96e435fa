package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/liftoff-dev/liftoff/internal/version"
)

// The build is visible where an operator looks: `manager --version`, the
// liftoff_build_info metric, and `kubectl liftoff version`, which reads
// through the user's kubeconfig what the elected manager recorded.
func TestVersionIsVisible(t *testing.T) {
	g := NewWithT(t)
	commit := "unknown"
	if out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
	}
	want := fmt.Sprintf("%s (commit %s, go", e2eVersion, commit)

	out, err := exec.Command(managerBin, "--version").Output()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(out)).To(HavePrefix("liftoff manager " + want))

	w := newWorld(t)
	metricsAddr := freeAddr(t)
	startReplica(t, "a", w.ns, "--metrics-bind-address="+metricsAddr, "--metrics-secure=false")

	g.Eventually(func() string {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}, timeout, interval).Should(MatchRegexp(`liftoff_build_info\{commit="%s",goversion="go[^"]+",version="%s"\} 1`, commit, e2eVersion))

	// The leader's record, then the plugin reading it.
	g.Eventually(func() map[string]string {
		cm := &corev1.ConfigMap{}
		_ = k8s.Get(context.Background(), types.NamespacedName{Namespace: w.ns, Name: version.RecordName("")}, cm)
		return cm.Data
	}, timeout, interval).Should(And(HaveKeyWithValue("version", e2eVersion), HaveKeyWithValue("commit", commit)))

	plugin, err := goBuild("./cmd/kubectl-liftoff", "kubectl-liftoff")
	g.Expect(err).NotTo(HaveOccurred())
	for _, args := range [][]string{{"version", "-n", w.ns}, {"version"}} {
		out, err := exec.Command(plugin, append(args, "--kubeconfig", kubeconfig)...).CombinedOutput()
		g.Expect(err).NotTo(HaveOccurred(), "%s", out)
		g.Expect(string(out)).To(ContainSubstring("Client: "+want), "%v", args)
		g.Expect(string(out)).To(ContainSubstring("Server: "+want), "%v", args)
		g.Expect(string(out)).To(ContainSubstring("(namespace %s, shard default, leader ", w.ns), "%v", args)
	}
}

// freeAddr is a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
