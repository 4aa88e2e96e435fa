package credentials

import (
	"context"
	"errors"
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
)

// A token is read from its Secret once per TokenTTL on the store's clock;
// a token GitHub refused is read again at once; a Secret that cannot serve
// says what to fix, without the token.
func TestStoreReadsTokensOnItsClock(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	reads := 0
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "github", Namespace: "shop"}, Data: map[string][]byte{"token": []byte("ghp_secret")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "empty", Namespace: "shop"}},
	).WithInterceptorFuncs(interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		reads++
		return c.Get(ctx, key, obj, opts...)
	}}).Build()
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	s := NewStore(c, &github.Factory{}, clk)
	ref := &releasev1.LocalObjectReference{Name: "github"}
	get := func() {
		t.Helper()
		if _, err := s.GitHub(context.Background(), "shop", "", ref, "pipeline checkout"); err != nil {
			t.Fatal(err)
		}
	}

	get()
	clk.Step(TokenTTL - time.Second)
	get()
	if reads != 1 {
		t.Fatalf("%d Secret reads within the TTL, want 1", reads)
	}
	clk.Step(time.Second)
	get()
	if reads != 2 {
		t.Fatalf("%d Secret reads once the TTL passed, want 2", reads)
	}
	s.Forget("shop", ref)
	get()
	if reads != 3 {
		t.Fatalf("%d Secret reads after GitHub refused the token, want 3", reads)
	}

	for _, tt := range []struct {
		secret, reason, says string
	}{
		{"missing", releasev1.ReasonSecretNotFound, `Secret "missing" (spec.github.secretRef of pipeline checkout) not found in namespace shop`},
		{"empty", releasev1.ReasonSecretInvalid, "add the GitHub token under the key `token`"},
	} {
		_, err := s.GitHub(context.Background(), "shop", "", &releasev1.LocalObjectReference{Name: tt.secret}, "pipeline checkout")
		var ce *Error
		if !errors.As(err, &ce) || ce.Reason != tt.reason || !strings.Contains(ce.Message, tt.says) {
			t.Errorf("%s: %v, want %s saying %q", tt.secret, err, tt.reason, tt.says)
		}
	}
}
