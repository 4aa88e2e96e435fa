// Package v1alpha1 holds the release.liftoff.dev/v1alpha1 API: release pipelines,
// releases and the objects that gate them.
// +kubebuilder:object:generate=true
// +groupName=release.liftoff.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every Liftoff kind.
	GroupVersion = schema.GroupVersion{Group: "release.liftoff.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the Liftoff kinds with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the Liftoff kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
