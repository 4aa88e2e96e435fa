package github

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

const (
	testAppID     = 42
	exchangeRoute = "POST /app/installations/{installation_id}/access_tokens"
)

// appKey returns one of the App private keys.
func appKey(_ *testing.T, i int) (*rsa.PrivateKey, []byte) { return githubsim.SharedAppKey(i) }

// appSim is a simulator with acme/gitops and acme/checkout and App 42
// installed on acme/gitops only; it returns the installation ID.
func appSim(t *testing.T, opts ...githubsim.Option) (*githubsim.Server, int64) {
	t.Helper()
	s := githubsim.New(opts...)
	t.Cleanup(s.Close)
	for _, r := range []string{"acme/gitops", "acme/checkout"} {
		if err := s.CreateRepo(r, "main"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CommitFiles(r, "main", map[string]string{"envs/dev/app.yaml": "tag: 1\n"}, "init"); err != nil {
			t.Fatal(err)
		}
	}
	key, _ := appKey(t, 0)
	s.AddApp(testAppID, "liftoff", &key.PublicKey)
	inst, err := s.InstallApp(testAppID, "acme", "acme/gitops")
	if err != nil {
		t.Fatal(err)
	}
	return s, inst
}

func forApp(t *testing.T, f *Factory, apiURL string, inst int64, keyPEM []byte) *Client {
	t.Helper()
	c, err := f.ForApp(apiURL, AppCredential{AppID: testAppID, InstallationID: inst, PrivateKey: keyPEM})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The installation token is renewed by Liftoff's clock before it expires;
// the ETag cache outlives the token: the answers read with the last one are
// revalidated (304, free) with the new one.
func TestAppTokenRenewedByTheClockAndTheCacheOutlivesIt(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
	s, inst := appSim(t, githubsim.WithClock(clk.Now), githubsim.WithInstallationTokenTTL(10*time.Minute))
	_, keyPEM := appKey(t, 0)
	c := forApp(t, &Factory{Clock: clk}, s.URL(), inst, keyPEM)
	ctx := context.Background()
	read := func() {
		t.Helper()
		got, err := c.GetFile(ctx, "acme/gitops", "envs/dev/app.yaml", "main")
		if err != nil || string(got) != "tag: 1\n" {
			t.Fatalf("read: %q %v", got, err)
		}
	}
	read()
	read()
	st := s.Requests()
	if st.ByOperation[exchangeRoute] != 1 || st.NotModified != 1 {
		t.Fatalf("one token, one revalidation expected: %+v", st)
	}
	clk.Step(9 * time.Minute) // a minute before the token expires
	read()
	clk.Step(45 * time.Minute) // long after: the JWT is signed on this clock too
	read()
	st = s.Requests()
	if st.ByOperation[exchangeRoute] != 3 {
		t.Fatalf("%d token exchanges, want 3", st.ByOperation[exchangeRoute])
	}
	if st.NotModified != 3 || st.ByStatus[http.StatusUnauthorized] != 0 {
		t.Fatalf("every read after the first is a 304 and none is refused: %+v", st)
	}
}

func TestOneClientPerAppInstallation(t *testing.T) {
	s, inst := appSim(t)
	other, err := s.InstallApp(testAppID, "acme")
	if err != nil {
		t.Fatal(err)
	}
	_, keyPEM := appKey(t, 0)
	f := &Factory{}
	a := forApp(t, f, s.URL(), inst, keyPEM)
	if b := forApp(t, f, s.URL()+"/", inst, keyPEM); b != a {
		t.Fatal("the same installation got two clients")
	}
	if b := forApp(t, f, s.URL(), other, keyPEM); b == a {
		t.Fatal("two installations share a client")
	}
	if k := a.Key(); k.APIURL != s.URL()+"/" || k.AppID != testAppID || k.InstallationID != inst || !k.IsApp() ||
		k.PrivateKey == "" || strings.Contains(string(keyPEM), k.PrivateKey) {
		t.Fatalf("key %+v", k)
	}
	tc, _ := f.For(s.URL(), "ghp_secret")
	if tc.Key().IsApp() || strings.Contains(tc.Key().String(), "ghp_secret") {
		t.Fatalf("token key %v", tc.Key())
	}
	// Two pipelines on one installation: one token for both.
	for _, c := range []*Client{a, forApp(t, f, s.URL(), inst, keyPEM)} {
		if _, err := c.BranchHead(context.Background(), "acme/gitops", "main"); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Requests().ByOperation[exchangeRoute]; n != 1 {
		t.Fatalf("%d token exchanges, want 1", n)
	}
}

// Two Secrets name one installation, one with a key that is not the App's:
// whatever the order of their uses (a retry of the wrong one every minute),
// the good one's token is never exchanged again nor refused, and the wrong
// one never gets a token, its own or borrowed.
func TestAWrongKeyNeverDisturbsAnotherSecretOfTheInstallation(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
	s, inst := appSim(t, githubsim.WithClock(clk.Now))
	_, goodPEM := appKey(t, 0)
	_, wrongPEM := appKey(t, 1) // not a key of the App
	f := &Factory{Clock: clk}
	ctx := context.Background()
	for minute := 0; minute < 5; minute++ {
		// The wrong Secret takes its client just before the good one uses
		// its own, then tries its token just after the good one took its client.
		wrong := forApp(t, f, s.URL(), inst, wrongPEM)
		good := forApp(t, f, s.URL(), inst, goodPEM)
		if good == wrong {
			t.Fatal("two private keys share a client")
		}
		if _, err := good.BranchHead(ctx, "acme/gitops", "main"); err != nil {
			t.Fatalf("minute %d: the good Secret's read: %v", minute, err)
		}
		if err := wrong.Authenticate(ctx); ProblemOf(err) != ProblemKeyRefused {
			t.Fatalf("minute %d: the wrong key: %v, want %s", minute, err, ProblemKeyRefused)
		}
		if _, err := wrong.BranchHead(ctx, "acme/gitops", "main"); ProblemOf(err) != ProblemKeyRefused {
			t.Fatalf("minute %d: the wrong key read with %v, want %s", minute, err, ProblemKeyRefused)
		}
		if err := good.Authenticate(ctx); err != nil {
			t.Fatalf("minute %d: the good Secret after the wrong one: %v", minute, err)
		}
		clk.Step(time.Minute)
	}
	st := s.Requests()
	refused := st.ByStatus[http.StatusUnauthorized]
	if exchanged := st.ByOperation[exchangeRoute] - refused; exchanged != 1 {
		t.Fatalf("%d tokens exchanged for the good key, want 1", exchanged)
	}
	if refused != 10 {
		t.Fatalf("%d refusals, want 10: the wrong key's two tries each minute, nothing else", refused)
	}
}

// A rotated key has a client and a token of its own, exchanged at once;
// the installation's ETag cache and write budget are the same. The revoked
// key, when its token is due, is refused with what to fix.
func TestRotatedAppKey(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
	s, inst := appSim(t, githubsim.WithClock(clk.Now), githubsim.WithInstallationTokenTTL(10*time.Minute))
	old, oldPEM := appKey(t, 0)
	rotated, newPEM := appKey(t, 1)
	f := &Factory{Clock: clk, WriteBudget: &WriteBudget{}}
	ctx := context.Background()
	c := forApp(t, f, s.URL(), inst, oldPEM)
	if _, err := c.BranchHead(ctx, "acme/gitops", "main"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAppKey(testAppID, &rotated.PublicKey); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAppKey(testAppID, &old.PublicKey); err != nil {
		t.Fatal(err)
	}
	c2 := forApp(t, f, s.URL(), inst, newPEM)
	if c2 == c || c2.WriteBudget() != c.WriteBudget() || c2.WriteBudget() == nil {
		t.Fatal("a new key: a client of its own, the installation's write budget")
	}
	s.ResetStats()
	if _, err := c2.BranchHead(ctx, "acme/gitops", "main"); err != nil {
		t.Fatalf("with the new key: %v", err)
	}
	if st := s.Requests(); st.ByOperation[exchangeRoute] != 1 || st.NotModified != 1 {
		t.Fatalf("%d token exchanges and %d 304s, want 1 and 1 (the new key exchanges at once; the ETag cache is the installation's)", st.ByOperation[exchangeRoute], st.NotModified)
	}
	clk.Step(10 * time.Minute)
	_, err := c.BranchHead(ctx, "acme/gitops", "main")
	if ProblemOf(err) != ProblemKeyRefused || KindOf(err) != KindUnauthorized || !strings.Contains(err.Error(), "A JSON web token could not be decoded") {
		t.Fatalf("revoked key: %v (problem %q)", err, ProblemOf(err))
	}
}

// GitHub refusing a live token (revoked) costs a new exchange, not a failure.
func TestRefusedInstallationTokenIsExchangedAgain(t *testing.T) {
	s, inst := appSim(t)
	_, keyPEM := appKey(t, 0)
	c := forApp(t, &Factory{}, s.URL(), inst, keyPEM)
	ctx := context.Background()
	if _, err := c.BranchHead(ctx, "acme/gitops", "main"); err != nil {
		t.Fatal(err)
	}
	s.Inject(githubsim.Fault{Method: "PUT", Path: "/contents/", Status: http.StatusUnauthorized, Times: 1})
	f, err := c.ReadFile(ctx, "acme/gitops", "envs/dev/app.yaml", "main")
	if err != nil {
		t.Fatal(err)
	}
	// A write: its body is sent again.
	if _, err := c.PutFile(ctx, "acme/gitops", "main", "envs/dev/app.yaml", []byte("tag: 2\n"), f.SHA, "bump"); err != nil {
		t.Fatalf("write after a refused token: %v", err)
	}
	if got, _ := s.FileAt("acme/gitops", "main", "envs/dev/app.yaml"); got != "tag: 2\n" {
		t.Fatalf("file %q", got)
	}
	if n := s.Requests().ByOperation[exchangeRoute]; n != 2 {
		t.Fatalf("%d token exchanges, want 2", n)
	}
}

func TestAppCredentialProblems(t *testing.T) {
	_, keyPEM := appKey(t, 0)
	_, otherPEM := appKey(t, 1)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})
	later := func() time.Time { return time.Now().Add(20 * time.Minute) }
	tests := []struct {
		name    string
		sim     []githubsim.Option
		factory *Factory
		inst    int64 // 0: the installation
		key     []byte
		problem Problem
		message string
	}{
		{name: "not PEM", key: []byte("not a key"), problem: ProblemKeyInvalid, message: "privateKey is not PEM"},
		{name: "ECDSA", key: ecPEM, problem: ProblemKeyInvalid, message: "privateKey is an ECDSA key"},
		{name: "a certificate", key: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")}), problem: ProblemKeyInvalid, message: `a PEM "CERTIFICATE" block`},
		{name: "another App's key", key: otherPEM, problem: ProblemKeyRefused, message: "not a key of GitHub App 42"},
		{name: "unknown installation", inst: 999999, key: keyPEM, problem: ProblemInstallationNotFound, message: "GitHub App 42 has no installation 999999"},
		{name: "clock behind GitHub's", sim: []githubsim.Option{githubsim.WithClock(later)}, key: keyPEM, problem: ProblemClockSkew, message: "behind GitHub's"},
		{name: "clock ahead of GitHub's", factory: &Factory{Clock: clocktesting.NewFakeClock(later())}, key: keyPEM, problem: ProblemClockSkew, message: "ahead of GitHub's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, inst := appSim(t, tt.sim...)
			if tt.inst != 0 {
				inst = tt.inst
			}
			f := tt.factory
			if f == nil {
				f = &Factory{}
			}
			c, err := f.ForApp(s.URL(), AppCredential{AppID: testAppID, InstallationID: inst, PrivateKey: tt.key})
			if err == nil {
				err = c.Authenticate(context.Background())
			}
			if ProblemOf(err) != tt.problem || KindOf(err) != KindUnauthorized || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("got %v (problem %q), want %s: %q", err, ProblemOf(err), tt.problem, tt.message)
			}
			for _, line := range strings.Split(string(tt.key), "\n") {
				if len(line) > 8 && !strings.HasPrefix(line, "-----") && strings.Contains(err.Error(), line) {
					t.Fatal("the message quotes the key")
				}
			}
		})
	}
	t.Run("PKCS #8 RSA is taken", func(t *testing.T) {
		s, inst := appSim(t)
		key, _ := appKey(t, 0)
		der, _ := x509.MarshalPKCS8PrivateKey(key)
		c := forApp(t, &Factory{}, s.URL(), inst, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		if err := c.Authenticate(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// A repository outside the installation is a credential problem, not a
// missing file or tag; a missing file of an installed repository stays one.
func TestRepositoryOutsideTheInstallation(t *testing.T) {
	s, inst := appSim(t)
	_, keyPEM := appKey(t, 0)
	c := forApp(t, &Factory{}, s.URL(), inst, keyPEM)
	ctx := context.Background()
	_, err := c.ResolveCommit(ctx, "acme/checkout", "refs/tags/v1.0.0")
	if ProblemOf(err) != ProblemNotInstalled || IsNotFound(err) || !strings.Contains(err.Error(), "repository acme/checkout is not among the repositories of GitHub App installation") {
		t.Fatalf("outside: %v (problem %q)", err, ProblemOf(err))
	}
	if _, err := c.GetFile(ctx, "acme/gitops", "envs/qa/app.yaml", "main"); !IsNotFound(err) || ProblemOf(err) != "" {
		t.Fatalf("missing file inside: %v", err)
	}
	if _, err := c.ResolveCommit(ctx, "acme/gitops", "refs/tags/v9.9.9"); !IsNotFound(err) {
		t.Fatalf("missing tag inside: %v", err)
	}
	// GraphQL says NOT_FOUND where REST says 404: the same problem.
	head, _ := s.BranchHead("acme/checkout", "main")
	files := map[string][]byte{"envs/dev/app.yaml": []byte("tag: 2\n")}
	if _, err := c.CommitOnBranch(ctx, "acme/checkout", "main", head, files, "bump", ""); ProblemOf(err) != ProblemNotInstalled {
		t.Fatalf("a commit outside through GraphQL: %v (problem %q)", err, ProblemOf(err))
	}
	head, _ = s.BranchHead("acme/gitops", "main")
	if _, err := c.CommitOnBranch(ctx, "acme/gitops", "release", head, files, "bump", ""); !IsNotFound(err) || ProblemOf(err) != "" {
		t.Fatalf("a commit to a missing branch inside: %v", err)
	}
	if _, err := c.CommitOnBranch(ctx, "acme/gitops", "main", head, files, "bump", ""); err != nil {
		t.Fatalf("a commit inside: %v", err)
	}
}

// The token exchange goes to the pipeline's API URL: a GitHub Enterprise
// Server's is https://HOST/api/v3/.
func TestAppOnGitHubEnterpriseServerPath(t *testing.T) {
	s, inst := appSim(t)
	mux := http.NewServeMux()
	mux.Handle("/api/v3/", http.StripPrefix("/api/v3", s.Handler()))
	ghes := httptest.NewServer(mux)
	defer ghes.Close()
	_, keyPEM := appKey(t, 0)
	c := forApp(t, &Factory{}, ghes.URL+"/api/v3/", inst, keyPEM)
	ctx := context.Background()
	if _, err := c.BranchHead(ctx, "acme/gitops", "main"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BranchHead(ctx, "acme/checkout", "main"); ProblemOf(err) != ProblemNotInstalled {
		t.Fatalf("outside the installation under /api/v3: %v", err)
	}
	if n := s.Requests().ByOperation[exchangeRoute]; n != 1 {
		t.Fatalf("%d token exchanges at /api/v3, want 1", n)
	}
}

// The pipelines of one App installation share its write budget, as they
// share its client; another installation has its own, as GitHub counts
// them. The token exchange is no content-generating request: it takes no
// slot, and a budget that GitHub's refusal blocked lets it through, so the
// reads go on with a renewed token while the writes wait.
func TestAppWriteBudgetPerInstallationLetsTheTokenExchangeThrough(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
	s, inst := appSim(t, githubsim.WithClock(clk.Now), githubsim.WithInstallationTokenTTL(10*time.Minute))
	other, err := s.InstallApp(testAppID, "acme")
	if err != nil {
		t.Fatal(err)
	}
	_, keyPEM := appKey(t, 0)
	f := &Factory{Clock: clk, WriteBudget: &WriteBudget{PerMinute: 20, PerHour: 100}}
	a, b, c := forApp(t, f, s.URL(), inst, keyPEM), forApp(t, f, s.URL(), inst, keyPEM), forApp(t, f, s.URL(), other, keyPEM)
	if a.WriteBudget() == nil || b.WriteBudget() != a.WriteBudget() || c.WriteBudget() == a.WriteBudget() {
		t.Fatal("want one write budget per installation")
	}
	if tc, _ := f.For(s.URL(), "ghp_secret"); tc.WriteBudget() == a.WriteBudget() {
		t.Fatal("a token shares an installation's write budget")
	}
	ctx := context.Background()
	bump := func(c *Client, tag string) error {
		f, err := c.ReadFile(ctx, "acme/gitops", "envs/dev/app.yaml", "main")
		if err != nil {
			return err
		}
		_, err = c.PutFile(ctx, "acme/gitops", "main", "envs/dev/app.yaml", []byte("tag: "+tag+"\n"), f.SHA, "bump")
		return err
	}
	if err := a.Authenticate(ctx); err != nil {
		t.Fatal(err)
	}
	if free, _ := a.WriteBudget().snapshot(); free["minute"] != 20 || free["hour"] != 100 {
		t.Fatalf("after a token exchange the budget has %v slots left, want all", free)
	}

	a.WriteBudget().Block(time.Hour) // as GitHub's secondary-limit refusal would
	if err := bump(b, "2"); !IsWriteBudget(err) {
		t.Fatalf("a write of the installation: %v, want it held by the budget", err)
	}
	if err := bump(c, "2"); err != nil {
		t.Fatalf("another installation: %v", err)
	}
	clk.Step(11 * time.Minute) // the token expired
	if _, err := a.BranchHead(ctx, "acme/gitops", "main"); err != nil {
		t.Fatalf("a read with a new token while the writes are blocked: %v", err)
	}
	if err := bump(a, "3"); !IsWriteBudget(err) {
		t.Fatalf("a write: %v, want it held by the budget", err)
	}
	st := s.Requests()
	if st.ByOperation[exchangeRoute] != 3 || st.ContentGenerating != 1 {
		t.Fatalf("%d token exchanges, %d content-generating requests; want 3 (two installations, one renewal) and 1",
			st.ByOperation[exchangeRoute], st.ContentGenerating)
	}
}

func TestAppRoutes(t *testing.T) {
	for path, want := range map[string]bool{
		"/app":                                        true,
		"/app/installations/7/access_tokens":          true,
		"/api/v3/app/installations/7":                 true,
		"/installation/repositories":                  false,
		"/repos/acme/app/contents/envs/dev/app.yaml":  false,
		"/api/v3/repos/acme/app/git/refs/heads/app/x": false,
	} {
		if got := appRoute(path); got != want {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
}
