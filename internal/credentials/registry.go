package credentials

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/registry"
)

// Registry reads the registry credentials of a kubernetes.io/dockerconfigjson
// Secret (its `.dockerconfigjson` key) in namespace; nil ref is anonymous.
// field names where the reference is written, for messages
// ("spec.artifacts[checkout].secretRef of pipeline checkout"). A Secret
// that is missing or holds no Docker config is an *Error; its message names
// the Secret, never what it holds. The Secret is read at every call: a
// registry's transport is kept by the registry client, so this costs one
// read of the API server per resolution, not per request.
func (s *Store) Registry(ctx context.Context, namespace string, ref *releasev1.LocalObjectReference, field string) (*registry.Keychain, error) {
	if ref == nil {
		return nil, nil
	}
	secret := &corev1.Secret{}
	if err := s.reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &Error{Reason: releasev1.ReasonSecretNotFound,
				Message: fmt.Sprintf("Secret %q (%s) not found in namespace %s: create it with `kubectl create secret docker-registry`", ref.Name, field, namespace)}
		}
		return nil, err
	}
	data, ok := secret.Data[corev1.DockerConfigJsonKey]
	if !ok {
		return nil, &Error{Reason: releasev1.ReasonSecretInvalid,
			Message: fmt.Sprintf("Secret %q (%s) has no %s key: make it a %s Secret (`kubectl create secret docker-registry`)", ref.Name, field, corev1.DockerConfigJsonKey, corev1.SecretTypeDockerConfigJson)}
	}
	keys, err := registry.ParseDockerConfig(data)
	if err != nil {
		return nil, &Error{Reason: releasev1.ReasonSecretInvalid, Message: fmt.Sprintf("Secret %q (%s): %v", ref.Name, field, err)}
	}
	return keys, nil
}

// Key reads what a Secret's key holds (what says it for messages: "the
// signer's PEM public key") in namespace; field names where the reference
// is written.
func (s *Store) Key(ctx context.Context, namespace string, ref releasev1.LocalObjectReference, key, what, field string) ([]byte, error) {
	secret := &corev1.Secret{}
	if err := s.reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &Error{Reason: releasev1.ReasonSecretNotFound,
				Message: fmt.Sprintf("Secret %q (%s) not found in namespace %s: create it with %s under %s", ref.Name, field, namespace, what, key)}
		}
		return nil, err
	}
	data, ok := secret.Data[key]
	if !ok {
		return nil, &Error{Reason: releasev1.ReasonSecretInvalid,
			Message: fmt.Sprintf("Secret %q (%s) has no key %s: put %s there", ref.Name, field, key, what)}
	}
	return data, nil
}
