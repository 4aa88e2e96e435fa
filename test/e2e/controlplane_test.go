package e2e

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"
)

// envtestArchive packs the control plane the suite runs on as Kubernetes'
// controller-tools publishes it for envtest (controller-tools/envtest/BIN in
// a gzipped tar) and returns the archive and its SHA-512.
func envtestArchive(t *testing.T, g *WithT) ([]byte, string) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "envtest-*.tar.gz")
	g.Expect(err).NotTo(HaveOccurred())
	z, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	tw := tar.NewWriter(z)
	for _, bin := range []string{"kube-apiserver", "etcd", "kubectl"} {
		src, err := os.Open(filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), bin))
		g.Expect(err).NotTo(HaveOccurred())
		info, err := src.Stat()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(tw.WriteHeader(&tar.Header{Name: "controller-tools/envtest/" + bin, Mode: 0o755, Size: info.Size()})).To(Succeed())
		_, err = io.Copy(tw, src)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(src.Close()).To(Succeed())
	}
	g.Expect(tw.Close()).To(Succeed())
	g.Expect(z.Close()).To(Succeed())
	g.Expect(f.Close()).To(Succeed())
	data, err := os.ReadFile(f.Name())
	g.Expect(err).NotTo(HaveOccurred())
	sum := sha512.Sum512(data)
	return data, hex.EncodeToString(sum[:])
}

// TestControlPlaneIsFetchedWhereReleasesAreReachable runs
// hack/build-control-plane.sh (what make dev and make test run first) on an
// empty cache against a release index and archive served here, as
// controller-tools serves them: the binaries are taken when the archive
// matches the index's SHA-512, refused when it does not, and a version the
// index lacks is not fetched. Building them (where nothing is reachable, as
// on this project's machines) is what every other test's control plane
// proves.
func TestControlPlaneIsFetchedWhereReleasesAreReachable(t *testing.T) {
	g := NewWithT(t)
	const version = "1.37.2"
	archive, sum := envtestArchive(t, g)
	name := fmt.Sprintf("envtest-v%s-%s-%s.tar.gz", version, runtime.GOOS, runtime.GOARCH)
	// hash is what the index says of the archive; the test changes it
	// between runs of the script, the server reads it.
	var hash atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/envtest-releases.yaml":
			fmt.Fprintf(w, "releases:\n  v1.36.0:\n    envtest-v1.36.0-%[3]s-%[4]s.tar.gz:\n      hash: 00\n      selfLink: http://%[1]s/old\n"+
				"  v%[5]s:\n    envtest-v%[5]s-darwin-arm64.tar.gz:\n      hash: 11\n      selfLink: http://%[1]s/other\n"+
				"    %[2]s:\n      hash: %[6]s\n      selfLink: http://%[1]s/download/%[2]s\n", r.Host, name, runtime.GOOS, runtime.GOARCH, version, hash.Load())
		case "/download/" + name:
			_, _ = w.Write(archive)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	script := func(cache, kubeVersion string) (string, string, error) {
		cmd := exec.Command(filepath.Join(root, "hack", "build-control-plane.sh"))
		cmd.Env = append(os.Environ(), "LIFTOFF_CACHE="+cache, "KUBE_VERSION="+kubeVersion,
			"LIFTOFF_ENVTEST_INDEX="+srv.URL+"/envtest-releases.yaml", "LIFTOFF_CONTROL_PLANE_BUILD=0")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), stderr.String(), err
	}

	hash.Store(strings.Repeat("ab", 64))
	_, stderr, err := script(t.TempDir(), version)
	g.Expect(err).To(HaveOccurred(), "an archive that does not match the index is not used")
	g.Expect(stderr).To(ContainSubstring(name + " does not match the SHA-512 of the release index"))

	_, stderr, err = script(t.TempDir(), "1.99.0")
	g.Expect(err).To(HaveOccurred())
	g.Expect(stderr).To(ContainSubstring("the envtest release index has no envtest-v1.99.0-"))

	hash.Store(sum)
	cache := t.TempDir()
	dir, stderr, err := script(cache, version)
	g.Expect(err).NotTo(HaveOccurred(), stderr)
	g.Expect(dir).To(Equal(filepath.Join(cache, "control-plane", strings.TrimSuffix(name, ".tar.gz"))))
	out, err := exec.Command(filepath.Join(dir, "kube-apiserver"), "--version").CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	g.Expect(string(out)).To(HavePrefix("Kubernetes v"), "the fetched kube-apiserver runs")

	// Once fetched, the cache answers without asking anything.
	srv.Close()
	again, stderr, err := script(cache, version)
	g.Expect(err).NotTo(HaveOccurred(), stderr)
	g.Expect(again).To(Equal(dir))
}
