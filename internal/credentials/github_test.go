package credentials

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

const (
	appID         = 314
	exchangeRoute = "POST /app/installations/{installation_id}/access_tokens"
)

// appWorld is the simulator with App appID (key 0) installed on acme, and a
// Store over a fake API server holding objs, all on clk. reads counts the
// Secret reads.
func appWorld(t *testing.T, clk *clocktesting.FakeClock, objs ...client.Object) (*githubsim.Server, *Store, int64, *int) {
	t.Helper()
	sim := githubsim.New(githubsim.WithClock(clk.Now), githubsim.WithInstallationTokenTTL(10*time.Minute))
	t.Cleanup(sim.Close)
	if err := sim.CreateRepo("acme/gitops", "main"); err != nil {
		t.Fatal(err)
	}
	key, _ := githubsim.SharedAppKey(0)
	sim.AddApp(appID, "liftoff", &key.PublicKey)
	inst, err := sim.InstallApp(appID, "acme")
	if err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	reads := new(int)
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			*reads++
			return c.Get(ctx, key, obj, opts...)
		}}).Build()
	return sim, NewStore(c, &github.Factory{Clock: clk}, clk), inst, reads
}

func appSecret(name string, inst int64, keyPEM []byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}, Data: map[string][]byte{
		"appID": []byte(strconv.Itoa(appID)), "installationID": []byte(strconv.FormatInt(inst, 10)), "privateKey": keyPEM,
	}}
}

// An App credential gives the installation's client, with a live token;
// Secrets naming the same installation share it. A key rotated in the
// Secret is read at once when GitHub refuses the cached one, and a key
// GitHub refuses after that read says what to fix, without the key.
func TestStoreServesAGitHubApp(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
	// The installation's ID is known once the simulator runs: the Secrets
	// are written then.
	sim, s, inst, reads := appWorld(t, clk)
	_, keyPEM := githubsim.SharedAppKey(0)
	k8s := s.reader.(client.Client)
	ctx := context.Background()
	for _, name := range []string{"github", "github-copy"} {
		if err := k8s.Create(ctx, appSecret(name, inst, keyPEM)); err != nil {
			t.Fatal(err)
		}
	}
	ref := &releasev1.LocalObjectReference{Name: "github"}
	get := func(ref *releasev1.LocalObjectReference) (*github.Client, error) {
		return s.GitHub(ctx, "shop", sim.URL(), ref, "pipeline checkout")
	}
	a, err := get(ref)
	if err != nil {
		t.Fatal(err)
	}
	if k := a.Key(); k.APIURL != sim.URL()+"/" || k.AppID != appID || k.InstallationID != inst {
		t.Fatalf("client of %v, want installation %d of App %d", k, inst, appID)
	}
	if b, err := get(&releasev1.LocalObjectReference{Name: "github-copy"}); err != nil || b != a {
		t.Fatalf("another Secret of the installation: %v, want the same client", err)
	}
	if n := sim.Requests().ByOperation[exchangeRoute]; n != 1 || *reads != 2 {
		t.Fatalf("%d token exchanges and %d Secret reads, want 1 and 2", n, *reads)
	}

	// The key is rotated while the Secret is cached and the token is due
	// for renewal: GitHub refuses the cached key, the Secret is read again.
	clk.Step(8*time.Minute + 45*time.Second)
	if _, err := get(ref); err != nil { // the cache expired: read #3, same key
		t.Fatal(err)
	}
	old, _ := githubsim.SharedAppKey(0)
	rotated, rotatedPEM := githubsim.SharedAppKey(1)
	if err := sim.AddAppKey(appID, &rotated.PublicKey); err != nil {
		t.Fatal(err)
	}
	if err := sim.RevokeAppKey(appID, &old.PublicKey); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Update(ctx, appSecret("github", inst, rotatedPEM)); err != nil {
		t.Fatal(err)
	}
	clk.Step(20 * time.Second) // within TokenTTL, past the token's renewal
	if c, err := get(ref); err != nil || c == a {
		t.Fatalf("after the rotation: %v (the new key's client is its own)", err)
	}
	if *reads != 4 {
		t.Fatalf("%d Secret reads, want 4: the refused key read again at once", *reads)
	}

	// Revoked with nothing new in the Secret: stalled with what to fix.
	if err := sim.RevokeAppKey(appID, &rotated.PublicKey); err != nil {
		t.Fatal(err)
	}
	clk.Step(10 * time.Minute)
	_, err = get(ref)
	var ce *Error
	if !errors.As(err, &ce) || ce.Reason != releasev1.ReasonGitHubAppKeyRefused ||
		!strings.Contains(ce.Message, `GitHub App credential in Secret "github" (spec.github.secretRef of pipeline checkout)`) ||
		!strings.Contains(ce.Message, "generate a private key in the App's settings") {
		t.Fatalf("a revoked key: %v, want %s saying what to fix", err, releasev1.ReasonGitHubAppKeyRefused)
	}
	for _, line := range strings.Split(string(rotatedPEM), "\n") {
		if len(line) > 16 && !strings.HasPrefix(line, "-----") && strings.Contains(ce.Message, line) {
			t.Fatal("the message quotes the key")
		}
	}
}

// Two pipelines' Secrets name one installation, one with a key that is not
// the App's, retried every minute: the good Secret's token is exchanged once
// and never refused; the wrong one is refused every time and never gets a
// token.
func TestStoreKeepsAWrongKeyFromAnotherSecretsToken(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
	sim, s, inst, _ := appWorld(t, clk)
	_, goodPEM := githubsim.SharedAppKey(0)
	_, wrongPEM := githubsim.SharedAppKey(1)
	k8s := s.reader.(client.Client)
	ctx := context.Background()
	for name, key := range map[string][]byte{"github": goodPEM, "github-wrong": wrongPEM} {
		if err := k8s.Create(ctx, appSecret(name, inst, key)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sim.CommitFiles("acme/gitops", "main", map[string]string{"envs/prod/app.yaml": "tag: 1\n"}, "init"); err != nil {
		t.Fatal(err)
	}
	good, wrong := &releasev1.LocalObjectReference{Name: "github"}, &releasev1.LocalObjectReference{Name: "github-wrong"}
	for minute := 0; minute < 5; minute++ {
		for _, ref := range []*releasev1.LocalObjectReference{wrong, good, wrong} {
			c, err := s.GitHub(ctx, "shop", sim.URL(), ref, "pipeline "+ref.Name)
			if ref == wrong {
				var ce *Error
				if !errors.As(err, &ce) || ce.Reason != releasev1.ReasonGitHubAppKeyRefused {
					t.Fatalf("minute %d: the wrong key: %v, want %s", minute, err, releasev1.ReasonGitHubAppKeyRefused)
				}
				continue
			}
			if err != nil {
				t.Fatalf("minute %d: the good Secret: %v", minute, err)
			}
			if _, err := c.BranchHead(ctx, "acme/gitops", "main"); err != nil {
				t.Fatalf("minute %d: the good Secret's read: %v", minute, err)
			}
		}
		clk.Step(time.Minute)
	}
	st := sim.Requests()
	refused := st.ByStatus[http.StatusUnauthorized]
	if exchanged := st.ByOperation[exchangeRoute] - refused; exchanged != 1 || refused != 10 {
		t.Fatalf("%d tokens exchanged and %d refused, want 1 (the good key's) and 10 (the wrong key's)", exchanged, refused)
	}
}

// A Secret that holds no usable credential says which keys to fix and
// quotes none of their values.
func TestStoreRefusesAnIncompleteGitHubApp(t *testing.T) {
	_, keyPEM := githubsim.SharedAppKey(0)
	app := func(mod func(map[string][]byte)) map[string][]byte {
		d := appSecret("", 7, keyPEM).Data
		mod(d)
		return d
	}
	for _, tt := range []struct {
		name   string
		data   map[string][]byte
		reason string
		says   string
	}{
		{"both kinds", app(func(d map[string][]byte) { d["token"] = []byte("ghp_secret") }), releasev1.ReasonSecretInvalid,
			"has both `token` and GitHub App keys (appID, installationID, privateKey): keep one kind of credential"},
		{"neither", map[string][]byte{"user": []byte("liftoff")}, releasev1.ReasonSecretInvalid,
			"has no `token` key: add the GitHub token under the key `token`, or a GitHub App's `appID`, `installationID` and `privateKey`"},
		{"no privateKey", app(func(d map[string][]byte) { delete(d, "privateKey") }), releasev1.ReasonSecretInvalid,
			"has no privateKey: a GitHub App credential needs appID, installationID and privateKey"},
		{"appID the client ID", app(func(d map[string][]byte) { d["appID"] = []byte("Iv1.8a61f9b3a7aba766") }), releasev1.ReasonSecretInvalid,
			"`appID` is not a number: use the App ID on the App's settings page"},
		{"installationID zero", app(func(d map[string][]byte) { d["installationID"] = []byte("0") }), releasev1.ReasonSecretInvalid,
			"`installationID` is not a number: use the number at the end of the installation's page"},
		{"privateKey not PEM", app(func(d map[string][]byte) { d["privateKey"] = []byte("MIIEpAIBAAKCAQEAsecret") }), releasev1.ReasonGitHubAppKeyInvalid,
			"privateKey is not PEM"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(time.Now())
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "github", Namespace: "shop"}, Data: tt.data}
			sim, s, _, _ := appWorld(t, clk, secret)
			_, err := s.GitHub(context.Background(), "shop", sim.URL(), &releasev1.LocalObjectReference{Name: "github"}, "pipeline checkout")
			var ce *Error
			if !errors.As(err, &ce) || ce.Reason != tt.reason || !strings.Contains(ce.Message, tt.says) {
				t.Fatalf("%v, want %s saying %q", err, tt.reason, tt.says)
			}
			for _, v := range []string{"ghp_secret", "Iv1.8a61f9b3a7aba766", "MIIEpAIBAAKCAQEAsecret"} {
				if strings.Contains(ce.Message, v) {
					t.Errorf("the message quotes a value: %s", ce.Message)
				}
			}
			if n := sim.Requests().ByOperation[exchangeRoute]; n != 0 {
				t.Errorf("%d token exchanges with a credential that cannot work", n)
			}
		})
	}
}
