// Package v1alpha1 holds the release.liftoff.dev/v1alpha1 API: release pipelines,
// releases and the objects that gate them.
// +kubebuilder:object:generate=true
// +groupName=release.liftoff.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every Liftoff kind.
	GroupVersion = schema.GroupVersion{Group: "release.liftoff.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the Liftoff kinds with a runtime.Scheme.
	SchemeBuilder = &Builder{}

	// AddToScheme adds the Liftoff kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Builder collects the kinds of the group version, which each kind's file
// registers, and adds them to a scheme: what controller-runtime's deprecated
// scheme.Builder did, with only apimachinery, so the API package stays light
// to import.
// +kubebuilder:object:generate=false
type Builder struct{ objects []runtime.Object }

// Register adds kinds (each with its list) to the group version.
func (b *Builder) Register(objs ...runtime.Object) { b.objects = append(b.objects, objs...) }

// AddToScheme adds the registered kinds, and the group version's meta
// types, to s.
func (b *Builder) AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, b.objects...)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
