package credentials

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// A registry Secret that cannot serve says which Secret and what to fix,
// never what it holds.
func TestRegistrySecretsSayWhatToFix(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	secret := func(name string, data map[string][]byte) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}, Data: data}
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		secret("ok", map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"ghcr.io":{"username":"ci","password":"s3cret"}}}`)}),
		secret("opaque", map[string][]byte{"token": []byte("s3cret")}),
		secret("broken", map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths": s3cret`)}),
	).Build()
	s := NewStore(c, nil, nil)
	const field = "spec.artifacts[checkout].secretRef of pipeline checkout"
	if k, err := s.Registry(context.Background(), "shop", nil, field); k != nil || err != nil {
		t.Errorf("no secretRef: %v, %v; want anonymous", k, err)
	}
	if _, err := s.Registry(context.Background(), "shop", &releasev1.LocalObjectReference{Name: "ok"}, field); err != nil {
		t.Errorf("ok: %v", err)
	}
	for name, want := range map[string]string{
		"missing": releasev1.ReasonSecretNotFound,
		"opaque":  releasev1.ReasonSecretInvalid,
		"broken":  releasev1.ReasonSecretInvalid,
	} {
		_, err := s.Registry(context.Background(), "shop", &releasev1.LocalObjectReference{Name: name}, field)
		var ce *Error
		if !errors.As(err, &ce) || ce.Reason != want || !strings.Contains(ce.Message, `Secret "`+name+`"`) || !strings.Contains(ce.Message, field) || strings.Contains(ce.Message, "s3cret") {
			t.Errorf("%s: %v, want %s naming the Secret and the field, not its content", name, err, want)
		}
	}
	if _, err := s.Key(context.Background(), "shop", releasev1.LocalObjectReference{Name: "ok"}, "cosign.pub", "the signer's PEM public key", "gates.signature.secretRef"); err == nil ||
		!strings.Contains(err.Error(), "has no key cosign.pub: put the signer's PEM public key there") {
		t.Errorf("a Secret without the key: %v", err)
	}
}
