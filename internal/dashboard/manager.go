package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Auth modes of the manager's dashboard (--dashboard-auth).
const (
	AuthNone       = "none"
	AuthKubernetes = "kubernetes"
)

// The manager's dashboard reads the kinds it watches from the manager's cache.
// +kubebuilder:rbac:groups=release.liftoff.dev,resources=releasepipelines;releases;releasecalendars;milestones;launchchecklists;launches,verbs=get;list;watch

// ForManager is the dashboard the manager serves in the cluster: it reads
// the manager's own informer cache (no second watch) and is read-only, or
// with AuthKubernetes authenticates every request and acts as its user.
//
// Every time on its pages is in zone (an IANA name, "" for UTC).
func ForManager(ctx context.Context, mgr manager.Manager, auth, zone string) (http.Handler, error) {
	if zone == "" {
		zone = "UTC"
	}
	loc, err := Zone(zone)
	if err != nil {
		return nil, err
	}
	b := NewBroker(0)
	loaded := &Loaded{}
	if err := Watch(ctx, mgr.GetCache(), b, loaded); err != nil {
		return nil, err
	}
	// The manager serves once its cache has synced, so every kind is
	// listed; Loaded keeps a page from blocking if it is asked earlier.
	o := Options{Store: CacheStore{Reader: mgr.GetCache(), Loaded: loaded}, Broker: b, Location: loc}
	switch auth {
	case AuthNone, "":
		o.Access = ReadOnly{}
	case AuthKubernetes:
		o.Access = &KubernetesAuth{Config: mgr.GetConfig(), Scheme: mgr.GetScheme(), Reviewer: mgr.GetClient()}
	default:
		return nil, fmt.Errorf("--dashboard-auth %q: use %s (read-only) or %s (TokenReview, SubjectAccessReview, impersonation)", auth, AuthNone, AuthKubernetes)
	}
	return New(o)
}

// Zone reads the time zone of the pages: an IANA name, or "" for the
// machine's own (the plugin's: the viewer's).
func Zone(name string) (*time.Location, error) {
	if name == "" {
		return time.Local, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: use an IANA name such as Europe/Berlin or UTC: %w", name, err)
	}
	return loc, nil
}
