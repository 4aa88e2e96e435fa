package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// credentialError: the pipeline's GitHub credential cannot be used. Its
// message says what to fix and never holds the token.
type credentialError struct {
	reason string
	msg    string
}

func (e *credentialError) Error() string { return e.msg }

// githubClient returns the shared client for the pipeline's API URL and
// token. The Secret is read straight from the API server: the controller
// keeps no cluster-wide Secret watch or cache.
func (r *ReleaseReconciler) githubClient(ctx context.Context, pipe *releasev1.ReleasePipeline) (*github.Client, error) {
	return clientFor(ctx, r.APIReader, r.GitHub, pipe)
}

func clientFor(ctx context.Context, reader client.Reader, factory *github.Factory, pipe *releasev1.ReleasePipeline) (*github.Client, error) {
	return clientWith(ctx, reader, factory, pipe.Namespace, pipe.Spec.GitHub.APIURL, pipe.Spec.GitHub.SecretRef, "pipeline "+pipe.Name)
}

// clientWith returns the shared client for apiURL and the token in the
// Secret ref (none when nil) of namespace. owner names the object whose
// spec.github holds them, for messages ("pipeline checkout").
func clientWith(ctx context.Context, reader client.Reader, factory *github.Factory, namespace, apiURL string, ref *releasev1.LocalObjectReference, owner string) (*github.Client, error) {
	token := ""
	if ref != nil {
		secret := &corev1.Secret{}
		if err := reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, secret); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, &credentialError{reason: releasev1.ReasonSecretNotFound,
					msg: fmt.Sprintf("Secret %q (spec.github.secretRef of %s) not found in namespace %s: create it with a `token` key", ref.Name, owner, namespace)}
			}
			return nil, err
		}
		raw, ok := secret.Data["token"]
		if !ok || len(raw) == 0 {
			return nil, &credentialError{reason: releasev1.ReasonSecretInvalid,
				msg: fmt.Sprintf("Secret %q has no `token` key: add the GitHub token under the key `token`", ref.Name)}
		}
		token = string(raw)
	}
	c, err := factory.For(apiURL, token)
	if err != nil {
		return nil, &credentialError{reason: releasev1.ReasonInvalidSpec, msg: err.Error()}
	}
	return c, nil
}
