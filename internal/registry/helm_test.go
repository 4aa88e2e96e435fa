package registry_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/liftoff-dev/liftoff/internal/registry"
	"github.com/liftoff-dev/liftoff/internal/registry/registrytest"
)

// helmBinary is the real helm: $LIFTOFF_HELM, else the one the Helm chart's
// tooling caches.
func helmBinary(t *testing.T) string {
	bin := os.Getenv("LIFTOFF_HELM")
	if bin == "" {
		cache, _ := os.UserCacheDir()
		bin = filepath.Join(cache, "liftoff", "bin", "helm-v4.3.2")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no helm binary (%v): set LIFTOFF_HELM", err)
	}
	return bin
}

// A chart pushed by `helm push` is listed and resolved to the digest helm
// printed: the client reads what Helm writes, not only what registrytest does.
func TestAChartPushedByHelmResolvesToTheDigestHelmPrinted(t *testing.T) {
	g := NewWithT(t)
	helm := helmBinary(t)
	reg := registrytest.New()
	defer reg.Close()
	dir := t.TempDir()
	run := func(args ...string) string {
		cmd := exec.Command(helm, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+filepath.Join(dir, "config"), "HELM_CACHE_HOME="+filepath.Join(dir, "cache"))
		out, err := cmd.CombinedOutput()
		g.Expect(err).NotTo(HaveOccurred(), string(out))
		return string(out)
	}
	run("create", "checkout")
	run("package", "checkout", "--version", "1.4.2+build.7")
	out := run("push", "checkout-1.4.2+build.7.tgz", "oci://"+reg.Ref("acme/charts"), "--plain-http")
	m := regexp.MustCompile(`Digest: (sha256:[0-9a-f]{64})`).FindStringSubmatch(out)
	g.Expect(m).To(HaveLen(2), out)

	c := registry.New(registry.Options{})
	repo := repoOf(t, "oci://"+reg.Ref("acme/charts/checkout"))
	tags, err := c.Tags(context.Background(), repo, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tags).To(Equal([]string{"1.4.2_build.7"}), "Helm writes + as _ in tags")
	got, err := c.Digest(context.Background(), repo, "1.4.2_build.7", nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(Equal(m[1]))
}
