// Package shard splits Liftoff's objects between controllers: each serves the
// objects labelled with its shard, and elects its own leader.
package shard

import (
	"fmt"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// Label puts a Liftoff object into a shard. Objects without it belong
// to the default shard, served by controllers started without --shard.
const Label = "release.liftoff.dev/shard"

// Shard names the objects one controller serves: those labelled with its
// name, or the unlabelled ones when the name is empty (the default shard).
type Shard string

// Parse checks a --shard value: empty, or a DNS label (a valid label
// value that can also name the shard's lease).
func Parse(name string) (Shard, error) {
	if name == "" {
		return "", nil
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return "", fmt.Errorf("--shard %q: %s", name, errs[0])
	}
	return Shard(name), nil
}

// String is the shard's name for logs and lease names.
func (s Shard) String() string {
	if s == "" {
		return "default"
	}
	return string(s)
}

// Selector matches the objects of the shard.
func (s Shard) Selector() labels.Selector {
	op, vals := selection.Equals, []string{string(s)}
	if s == "" {
		op, vals = selection.DoesNotExist, nil
	}
	req, err := labels.NewRequirement(Label, op, vals)
	if err != nil {
		// Parse validated the name; an error here is a programming error.
		panic(err)
	}
	return labels.NewSelector().Add(*req)
}

// Owns tells whether an object belongs to the shard.
func (s Shard) Owns(o client.Object) bool {
	v, ok := o.GetLabels()[Label]
	if s == "" {
		return !ok
	}
	return ok && v == string(s)
}

// Predicate keeps the events of the shard's objects.
func (s Shard) Predicate() predicate.Predicate {
	return predicate.NewPredicateFuncs(s.Owns)
}

// CacheByObject limits the manager's cache of Releases and ReleasePipelines,
// the kinds that grow with the number of applications and versions, to the
// shard: a controller keeps only its share in memory. Calendars, milestones
// and checklists stay cached whole, since the Releases of every shard read
// them, but each is reconciled by its own shard only.
func (s Shard) CacheByObject() map[client.Object]cache.ByObject {
	sel := s.Selector()
	return map[client.Object]cache.ByObject{
		&releasev1.Release{}:         {Label: sel},
		&releasev1.ReleasePipeline{}: {Label: sel},
	}
}

// LeaderElectionID is the name of the shard's lease: each shard elects its
// own leader, so several Deployments split the work.
func (s Shard) LeaderElectionID() string {
	if s == "" {
		return "liftoff.release.liftoff.dev"
	}
	return "liftoff-" + string(s) + ".release.liftoff.dev"
}
