// Package artifacts knows a pipeline's artifacts (spec.artifacts): the tag
// of a version, the version of a tag, and where each one is in its
// registry; Resolver reads the registry with the artifact's credentials.
package artifacts

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/credentials"
	"github.com/liftoff-dev/liftoff/internal/registry"
)

// versionField is the one placeholder of a tag template.
const versionField = "{{.Version}}"

// Location is where the artifact lives: its image repository, or its
// chart's oci:// reference.
func Location(a *releasev1.PipelineArtifact) string {
	if a.Chart != "" {
		return a.Chart
	}
	return a.Image
}

// Tag is the artifact's tag of version: its tagTemplate with .Version the
// version without a leading v. A chart's tag writes + as _, as Helm does.
func Tag(a *releasev1.PipelineArtifact, version string) string {
	t := a.TagTemplate
	if t == "" {
		t = versionField
	}
	v := strings.TrimPrefix(version, "v")
	if a.Chart != "" {
		v = strings.ReplaceAll(v, "+", "_")
	}
	return strings.Replace(t, versionField, v, 1)
}

// Version is the version a tag names under the artifact's template, and
// false for a tag the template does not make.
func Version(a *releasev1.PipelineArtifact, tag string) (string, bool) {
	t := a.TagTemplate
	if t == "" {
		t = versionField
	}
	prefix, suffix, _ := strings.Cut(t, versionField)
	if len(tag) <= len(prefix)+len(suffix) || !strings.HasPrefix(tag, prefix) || !strings.HasSuffix(tag, suffix) {
		return "", false
	}
	v := tag[len(prefix) : len(tag)-len(suffix)]
	if a.Chart != "" {
		v = strings.ReplaceAll(v, "_", "+")
	}
	return v, true
}

// Reference is the artifact's tag of version, as people write it
// (ghcr.io/acme/checkout:1.4.2, oci://ghcr.io/acme/charts/checkout:1.4.2).
func Reference(a *releasev1.PipelineArtifact, version string) string {
	return Location(a) + ":" + Tag(a, version)
}

// Keys reads an artifact's registry credentials and a signature gate's
// public key or trust roots
// (credentials.Store).
type Keys interface {
	Registry(ctx context.Context, namespace string, ref *releasev1.LocalObjectReference, field string) (*registry.Keychain, error)
	Key(ctx context.Context, namespace string, ref releasev1.LocalObjectReference, key, what, field string) ([]byte, error)
}

// Resolver reads the pipeline's artifacts in their registries.
type Resolver struct {
	Registry *registry.Client
	Keys     Keys
}

// Digest resolves the artifact's tag of version to its digest. A
// credentials Secret that cannot be used is a *credentials.Error; the
// registry's failures are *registry.Error.
func (r *Resolver) Digest(ctx context.Context, pipe *releasev1.ReleasePipeline, a *releasev1.PipelineArtifact, version string) (string, error) {
	repo, keys, err := r.open(ctx, pipe, a)
	if err != nil {
		return "", err
	}
	return r.Registry.Digest(ctx, repo, Tag(a, version), keys)
}

// Tags lists the artifact's tags.
func (r *Resolver) Tags(ctx context.Context, pipe *releasev1.ReleasePipeline, a *releasev1.PipelineArtifact) ([]string, error) {
	repo, keys, err := r.open(ctx, pipe, a)
	if err != nil {
		return nil, err
	}
	return r.Registry.Tags(ctx, repo, keys)
}

// Verify checks the cosign signatures of the artifact's digest against the
// gate's public key or certificate identity, offline. signer names whom
// the gate trusts, for people. A key or trust root that cannot be read or
// parsed is a *credentials.Error.
func (r *Resolver) Verify(ctx context.Context, pipe *releasev1.ReleasePipeline, gate *releasev1.SignatureGate, a *releasev1.PipelineArtifact, digest string) (f registry.Finding, signer string, err error) {
	trust, signer, err := r.trust(ctx, pipe, gate)
	if err != nil {
		return f, "", err
	}
	repo, keys, err := r.open(ctx, pipe, a)
	if err != nil {
		return f, "", err
	}
	f, err = r.Registry.VerifyCosign(ctx, repo, digest, keys, trust)
	return f, signer, err
}

// trust reads the gate's public key, or its trust roots and identity.
func (r *Resolver) trust(ctx context.Context, pipe *releasev1.ReleasePipeline, gate *releasev1.SignatureGate) (registry.Trust, string, error) {
	field := "gates.signature.secretRef of pipeline " + pipe.Name
	invalid := func(what string, err error) error {
		return &credentials.Error{Reason: releasev1.ReasonSecretInvalid, Message: fmt.Sprintf("%s (%s): %v", what, field, err)}
	}
	if id := gate.Identity; id != nil {
		bundle, err := r.Keys.Key(ctx, pipe.Namespace, gate.SecretRef, releasev1.SecretKeyFulcioBundle, "the Fulcio CA bundle (PEM root and intermediates)", field)
		if err != nil {
			return nil, "", err
		}
		rekor, err := r.Keys.Key(ctx, pipe.Namespace, gate.SecretRef, releasev1.SecretKeyRekorKey, "the Rekor log's PEM public key", field)
		if err != nil {
			return nil, "", err
		}
		k, err := registry.NewKeyless(bundle, rekor, registry.Identity{Subject: id.Subject, SubjectRegExp: id.SubjectRegExp, Issuer: id.Issuer})
		if err != nil {
			return nil, "", invalid(fmt.Sprintf("Secret %q", gate.SecretRef.Name), err)
		}
		return k, k.Identity.String(), nil
	}
	signer := fmt.Sprintf("Secret %q key %s", gate.SecretRef.Name, gate.KeyName())
	pem, err := r.Keys.Key(ctx, pipe.Namespace, gate.SecretRef, gate.KeyName(), "the signer's PEM public key", field)
	if err != nil {
		return nil, "", err
	}
	key, err := registry.PublicKeyVerifier(pem)
	if err != nil {
		return nil, "", invalid(signer, err)
	}
	return registry.Key{Verifier: key}, signer, nil
}

func (r *Resolver) open(ctx context.Context, pipe *releasev1.ReleasePipeline, a *releasev1.PipelineArtifact) (name.Repository, *registry.Keychain, error) {
	repo, err := registry.ParseRepository(Location(a))
	if err != nil {
		return name.Repository{}, nil, &registry.Error{Kind: registry.KindInvalid, Err: err}
	}
	field := fmt.Sprintf("spec.artifacts[%s].secretRef of pipeline %s", a.Name, pipe.Name)
	keys, err := r.Keys.Registry(ctx, pipe.Namespace, a.SecretRef, field)
	if err != nil {
		return name.Repository{}, nil, err
	}
	return repo, keys, nil
}

// Refused says which credentials the registry refused, and what to do.
func Refused(pipe *releasev1.ReleasePipeline, a *releasev1.PipelineArtifact, err error) string {
	if a.SecretRef == nil {
		return fmt.Sprintf("%s refused anonymous access (%v): give artifact %s a secretRef to a kubernetes.io/dockerconfigjson Secret", Location(a), err, a.Name)
	}
	return fmt.Sprintf("%s refused the credentials of Secret %q (spec.artifacts[%s].secretRef of pipeline %s): %v; fix the Secret's .dockerconfigjson", Location(a), a.SecretRef.Name, a.Name, pipe.Name, err)
}

// Stall says whether err needs a person, with the reason and the message of
// the Stalled condition: a credentials Secret that cannot be used,
// credentials the registry refused, a request it refuses as made. Every
// other failure (a tag missing, the registry unreachable or rate limited)
// is the caller's to wait on.
func Stall(pipe *releasev1.ReleasePipeline, a *releasev1.PipelineArtifact, err error) (reason, message string, stalled bool) {
	var ce *credentials.Error
	switch {
	case err == nil:
		return "", "", false
	case errors.As(err, &ce):
		return ce.Reason, ce.Message, true
	case registry.KindOf(err) == registry.KindRefused:
		return releasev1.ReasonRegistryCredentialsRefused, Refused(pipe, a, err), true
	case registry.KindOf(err) == registry.KindInvalid:
		return releasev1.ReasonInvalidSpec, fmt.Sprintf("artifact %s: %v: fix the pipeline's spec.artifacts", a.Name, err), true
	}
	return "", "", false
}
