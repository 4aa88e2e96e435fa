package registry_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/liftoff-dev/liftoff/internal/registry"
	"github.com/liftoff-dev/liftoff/internal/registry/registrytest"
)

func repoOf(t *testing.T, ref string) name.Repository {
	t.Helper()
	repo, err := registry.ParseRepository(ref)
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

// withImage serves a registry holding acme/checkout:1.4.2, and returns its digest.
func withImage(t *testing.T) (*registrytest.Registry, string) {
	t.Helper()
	reg := registrytest.New()
	t.Cleanup(reg.Close)
	d, err := reg.PushImage("acme/checkout", "1.4.2")
	if err != nil {
		t.Fatal(err)
	}
	return reg, d
}

func TestTagsAreListedPageAfterPage(t *testing.T) {
	g := NewWithT(t)
	reg := registrytest.New()
	defer reg.Close()
	var want []string
	for i := range 23 {
		tag := fmt.Sprintf("1.%d.0", i)
		_, err := reg.PushImage("acme/checkout", tag)
		g.Expect(err).NotTo(HaveOccurred())
		want = append(want, tag)
	}
	c := registry.New(registry.Options{PageSize: 5})
	tags, err := c.Tags(context.Background(), repoOf(t, reg.Ref("acme/checkout")), nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tags).To(ConsistOf(want))
	// 23 tags, 5 a page: 5 pages (the last one short), no more.
	g.Expect(reg.RequestsOf("GET tags")).To(BeEquivalentTo(5))
}

func TestAnUnchangedListingCostsOneConditionalRequest(t *testing.T) {
	g := NewWithT(t)
	reg, _ := withImage(t)
	reg.ServeETags(true)
	c := registry.New(registry.Options{})
	repo := repoOf(t, reg.Ref("acme/checkout"))
	pings := reg.RequestsOf("GET ping") // the push's
	for range 3 {
		tags, err := c.Tags(context.Background(), repo, nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(tags).To(Equal([]string{"1.4.2"}))
	}
	_, err := reg.PushImage("acme/checkout", "1.4.3")
	g.Expect(err).NotTo(HaveOccurred())
	tags, err := c.Tags(context.Background(), repo, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tags).To(Equal([]string{"1.4.2", "1.4.3"}))
	g.Expect(reg.RequestsOf("GET tags")).To(BeEquivalentTo(4), "one request a listing")
	g.Expect(reg.NotModified()).To(BeEquivalentTo(2), "the second and third listings were not modified")
	g.Expect(reg.RequestsOf("GET ping")).To(BeNumerically("<=", pings+2), "the client's handshake once, the second push's")
}

func TestTagResolvesToTheDigestPushedLast(t *testing.T) {
	g := NewWithT(t)
	reg, first := withImage(t)
	c := registry.New(registry.Options{})
	repo := repoOf(t, reg.Ref("acme/checkout"))
	got, err := c.Digest(context.Background(), repo, "1.4.2", nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(Equal(first))

	second, err := reg.PushImage("acme/checkout", "1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(second).NotTo(Equal(first))
	got, err = c.Digest(context.Background(), repo, "1.4.2", nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(Equal(second))
	g.Expect(reg.RequestsOf("GET manifest")).To(BeZero(), "resolving is a HEAD request, not a pull")
}

func TestAHelmChartResolvesLikeAnImage(t *testing.T) {
	g := NewWithT(t)
	reg := registrytest.New()
	defer reg.Close()
	pushed, err := reg.PushChart("acme/charts/checkout", "1.4.2+build.7")
	g.Expect(err).NotTo(HaveOccurred())
	c := registry.New(registry.Options{})
	repo := repoOf(t, "oci://"+reg.Ref("acme/charts/checkout"))
	tags, err := c.Tags(context.Background(), repo, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tags).To(Equal([]string{"1.4.2_build.7"}))
	got, err := c.Digest(context.Background(), repo, "1.4.2_build.7", nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(Equal(pushed))
}

func TestAMissingTagIsNotFound(t *testing.T) {
	g := NewWithT(t)
	reg, _ := withImage(t)
	c := registry.New(registry.Options{})
	_, err := c.Digest(context.Background(), repoOf(t, reg.Ref("acme/checkout")), "9.9.9", nil)
	g.Expect(registry.KindOf(err)).To(Equal(registry.KindNotFound), "%v", err)
	_, err = c.Tags(context.Background(), repoOf(t, reg.Ref("acme/nothing")), nil)
	g.Expect(registry.KindOf(err)).To(Equal(registry.KindNotFound), "%v", err)
}

func dockerConfig(host, user, password string) []byte {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	return []byte(fmt.Sprintf(`{"auths":{"http://%s":{"auth":%q}}}`, host, auth))
}

func TestCredentialsComeFromTheDockerConfigAndWrongOnesAreRefused(t *testing.T) {
	g := NewWithT(t)
	reg := registrytest.New()
	defer reg.Close()
	reg.RequireBasicAuth("ci", "s3cret")
	pushed, err := reg.PushImage("acme/checkout", "1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	c := registry.New(registry.Options{})
	repo := repoOf(t, reg.Ref("acme/checkout"))

	_, err = c.Digest(context.Background(), repo, "1.4.2", nil)
	g.Expect(registry.KindOf(err)).To(Equal(registry.KindRefused), "anonymous: %v", err)

	wrong, err := registry.ParseDockerConfig(dockerConfig(reg.Host, "ci", "guess"))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = c.Digest(context.Background(), repo, "1.4.2", wrong)
	g.Expect(registry.KindOf(err)).To(Equal(registry.KindRefused), "wrong password: %v", err)
	g.Expect(err.Error()).NotTo(ContainSubstring("guess"))

	right, err := registry.ParseDockerConfig(dockerConfig(reg.Host, "ci", "s3cret"))
	g.Expect(err).NotTo(HaveOccurred())
	got, err := c.Digest(context.Background(), repo, "1.4.2", right)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(Equal(pushed))
	tags, err := c.Tags(context.Background(), repo, right)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tags).To(Equal([]string{"1.4.2"}))
}

func TestADockerConfigThatIsNotOneSaysWhyWithoutQuotingIt(t *testing.T) {
	g := NewWithT(t)
	for _, data := range []string{`{"auths": {"ghcr.io": {"auth": "s3cret!!"}}}`, `{"auths": {"ghcr.io": {"auth": "` + base64.StdEncoding.EncodeToString([]byte("s3cret")) + `"}}}`, `{"auths": s3cret}`, `{}`} {
		_, err := registry.ParseDockerConfig([]byte(data))
		g.Expect(err).To(HaveOccurred(), data)
		g.Expect(err.Error()).NotTo(ContainSubstring("s3cret"))
	}
	k, err := registry.ParseDockerConfig([]byte(`{"auths":{"https://index.docker.io/v1/":{"username":"u","password":"p"}}}`))
	g.Expect(err).NotTo(HaveOccurred())
	auth, err := k.Resolve(repoOf(t, "acme/checkout"))
	g.Expect(err).NotTo(HaveOccurred())
	cfg, err := auth.Authorization()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cfg.Username).To(Equal("u"), "Docker Hub's key names docker.io references")
}

func TestA429IsAWaitUntilRetryAfterAndNothingIsSentBefore(t *testing.T) {
	g := NewWithT(t)
	reg, _ := withImage(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakePassiveClock(now)
	c := registry.New(registry.Options{Clock: clk})
	repo := repoOf(t, reg.Ref("acme/checkout"))

	reg.RateLimit(time.Now().Add(time.Hour), "120", false)
	_, err := c.Digest(context.Background(), repo, "1.4.2", nil)
	g.Expect(registry.KindOf(err)).To(Equal(registry.KindRateLimited), "%v", err)
	g.Expect(registry.UntilOf(err)).To(Equal(now.Add(120 * time.Second)))

	served := reg.Requests()
	_, err = c.Tags(context.Background(), repo, nil)
	g.Expect(registry.KindOf(err)).To(Equal(registry.KindRateLimited))
	g.Expect(reg.Requests()).To(Equal(served), "the host asked to wait: nothing is sent")

	reg.RateLimit(time.Time{}, "", false)
	clk.SetTime(now.Add(121 * time.Second))
	_, err = c.Tags(context.Background(), repo, nil)
	g.Expect(err).NotTo(HaveOccurred())
}

func TestDockerHubsPullLimitIsNamed(t *testing.T) {
	g := NewWithT(t)
	reg, _ := withImage(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	c := registry.New(registry.Options{Clock: clocktesting.NewFakePassiveClock(now)})
	reg.RateLimit(time.Now().Add(time.Hour), "", true)
	_, err := c.Digest(context.Background(), repoOf(t, reg.Ref("acme/checkout")), "1.4.2", nil)
	g.Expect(registry.KindOf(err)).To(Equal(registry.KindRateLimited), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring("pull limit 100 per 6h0m0s, 0 left"))
	g.Expect(registry.UntilOf(err).After(now)).To(BeTrue())
}

func TestAnUnreachableRegistryIsUnavailable(t *testing.T) {
	g := NewWithT(t)
	reg := registrytest.New()
	repo := repoOf(t, reg.Ref("acme/checkout"))
	reg.Close()
	c := registry.New(registry.Options{})
	_, err := c.Digest(context.Background(), repo, "1.4.2", nil)
	g.Expect(registry.KindOf(err)).To(Equal(registry.KindUnavailable), "%v", err)

	down := registrytest.New()
	defer down.Close()
	_, err = down.PushImage("acme/checkout", "1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	down.SetDown(true)
	_, err = c.Tags(context.Background(), repoOf(t, down.Ref("acme/checkout")), nil)
	g.Expect(registry.KindOf(err)).To(Equal(registry.KindUnavailable), "%v", err)
}

func TestMalformedReferencesSayWhatToGive(t *testing.T) {
	g := NewWithT(t)
	for _, ref := range []string{"ghcr.io/acme/checkout:1.4.2", "ghcr.io/acme/checkout@sha256:" + strings.Repeat("a", 64), "GHCR.io/Acme/Checkout", "ghcr.io/acme/check out", ""} {
		_, err := registry.ParseRepository(ref)
		g.Expect(err).To(HaveOccurred(), ref)
	}
	for _, ref := range []string{"ghcr.io/acme/checkout", "oci://ghcr.io/acme/charts/checkout", "localhost:5000/checkout", "acme/checkout"} {
		_, err := registry.ParseRepository(ref)
		g.Expect(err).NotTo(HaveOccurred(), ref)
	}
}

func TestCosignSignaturesAreVerifiedOfflineAgainstAPublicKey(t *testing.T) {
	g := NewWithT(t)
	reg, digest := withImage(t)
	other, err := reg.PushImage("acme/checkout", "1.4.3")
	g.Expect(err).NotTo(HaveOccurred())
	ours, theirs := registrytest.NewKey(), registrytest.NewKey()
	key, err := registry.PublicKeyVerifier(registrytest.PublicKeyPEM(ours))
	g.Expect(err).NotTo(HaveOccurred())
	c := registry.New(registry.Options{})
	repo := repoOf(t, reg.Ref("acme/checkout"))
	verify := func(d string) registry.Verdict {
		f, err := c.VerifyCosign(context.Background(), repo, d, nil, registry.Key{Verifier: key})
		g.Expect(err).NotTo(HaveOccurred())
		return f.Verdict
	}

	g.Expect(verify(digest)).To(Equal(registry.Unsigned))
	g.Expect(reg.Sign("acme/checkout", digest, digest, theirs)).To(Succeed())
	g.Expect(verify(digest)).To(Equal(registry.WrongSigner))
	g.Expect(reg.Sign("acme/checkout", digest, digest, ours)).To(Succeed())
	g.Expect(verify(digest)).To(Equal(registry.Verified), "one of the signatures is ours")

	// Our signature of another digest copied under this one's tag.
	g.Expect(reg.Sign("acme/checkout", other, digest, ours)).To(Succeed())
	g.Expect(verify(other)).To(Equal(registry.DigestMismatch))

	_, err = registry.PublicKeyVerifier([]byte("not a key"))
	g.Expect(err).To(HaveOccurred())
}

func TestKeylessSignaturesAreVerifiedOfflineAgainstACertificateIdentity(t *testing.T) {
	const subject, issuer = "release@acme.dev", "https://token.actions.githubusercontent.com"
	trusted := registrytest.NewSigstore()
	issued := time.Now().Add(-2 * time.Hour)
	type want struct {
		verdict        registry.Verdict
		found, details string
	}
	wants := map[string]want{
		"verified":                       {registry.Verified, subject + " via " + issuer, ""},
		"wrong subject":                  {registry.WrongIdentity, "mallory@acme.dev via " + issuer, ""},
		"wrong issuer":                   {registry.WrongIdentity, subject + " via https://accounts.google.com", ""},
		"a certificate not from the CA":  {registry.UntrustedCertificate, "", "does not chain to the CA bundle"},
		"expired at the integrated time": {registry.CertificateExpired, "", "the log integrated the signature at " + issued.Add(time.Hour).UTC().Format(time.RFC3339)},
		"a SET not from the Rekor key":   {registry.UntrustedLog, "", "does not verify with the Rekor key"},
		"digest mismatch":                {registry.DigestMismatch, "", "the payload names sha256:"},
	}
	trust, err := registry.NewKeyless(trusted.CA.BundlePEM(), trusted.RekorKeyPEM(), registry.Identity{Subject: subject, Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	c := registry.New(registry.Options{})
	for _, way := range trusted.Ways(subject, issuer, issued) {
		t.Run(way.Name, func(t *testing.T) {
			g := NewWithT(t)
			tc, ok := wants[way.Name]
			g.Expect(ok).To(BeTrue(), "a verdict for each way")
			reg, digest := withImage(t)
			other, err := reg.PushImage("acme/checkout", "1.4.3")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(way.Sign(reg, "acme/checkout", digest, other)).To(Succeed())
			f, err := c.VerifyCosign(context.Background(), repoOf(t, reg.Ref("acme/checkout")), digest, nil, trust)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(f.Verdict).To(Equal(tc.verdict), f.Detail)
			if tc.found != "" {
				g.Expect(f.Found).To(Equal(tc.found))
			}
			g.Expect(f.Detail).To(ContainSubstring(tc.details))
		})
	}

	t.Run("a regular expression of subjects", func(t *testing.T) {
		g := NewWithT(t)
		reg, digest := withImage(t)
		workflow := "https://github.com/acme/checkout/.github/workflows/release.yml@refs/tags/v1.4.2"
		g.Expect(trusted.SignKeyless(reg, "acme/checkout", digest, digest, registrytest.Keyless{Subject: workflow, Issuer: issuer})).To(Succeed())
		byRegExp, err := registry.NewKeyless(trusted.CA.BundlePEM(), trusted.RekorKeyPEM(),
			registry.Identity{SubjectRegExp: `^https://github\.com/acme/checkout/\.github/workflows/release\.yml@refs/tags/v`, Issuer: issuer})
		g.Expect(err).NotTo(HaveOccurred())
		f, err := c.VerifyCosign(context.Background(), repoOf(t, reg.Ref("acme/checkout")), digest, nil, byRegExp)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(f).To(Equal(registry.Finding{Verdict: registry.Verified, Found: workflow + " via " + issuer}))
	})

	t.Run("a CA bundle of the root alone: the signature's chain gives the intermediate", func(t *testing.T) {
		g := NewWithT(t)
		reg, digest := withImage(t)
		g.Expect(trusted.SignKeyless(reg, "acme/checkout", digest, digest, registrytest.Keyless{Subject: subject, Issuer: issuer})).To(Succeed())
		rootOnly, err := registry.NewKeyless(trusted.CA.RootPEM(), trusted.RekorKeyPEM(), registry.Identity{Subject: subject, Issuer: issuer})
		g.Expect(err).NotTo(HaveOccurred())
		f, err := c.VerifyCosign(context.Background(), repoOf(t, reg.Ref("acme/checkout")), digest, nil, rootOnly)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(f.Verdict).To(Equal(registry.Verified), f.Detail)
	})

	t.Run("a key's signature is not keyless", func(t *testing.T) {
		g := NewWithT(t)
		reg, digest := withImage(t)
		g.Expect(reg.Sign("acme/checkout", digest, digest, registrytest.NewKey())).To(Succeed())
		f, err := c.VerifyCosign(context.Background(), repoOf(t, reg.Ref("acme/checkout")), digest, nil, trust)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(f.Verdict).To(Equal(registry.WrongSigner))
		g.Expect(f.Detail).To(ContainSubstring("sign it keyless"))
	})

	t.Run("bad trust roots", func(t *testing.T) {
		g := NewWithT(t)
		_, err := registry.NewKeyless([]byte("no"), trusted.RekorKeyPEM(), registry.Identity{Subject: subject, Issuer: issuer})
		g.Expect(err).To(MatchError(ContainSubstring("CA bundle")))
		_, err = registry.NewKeyless(trusted.CA.BundlePEM(), []byte("no"), registry.Identity{Subject: subject, Issuer: issuer})
		g.Expect(err).To(MatchError(ContainSubstring("Rekor key")))
		_, err = registry.NewKeyless(trusted.CA.BundlePEM(), trusted.RekorKeyPEM(), registry.Identity{SubjectRegExp: "(", Issuer: issuer})
		g.Expect(err).To(MatchError(ContainSubstring("subjectRegExp")))
	})
}
