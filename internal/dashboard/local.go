package dashboard

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientfeatures "k8s.io/client-go/features"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/serve"
)

// Local is a dashboard that acts as the user of a kubeconfig, with its own
// informer cache: `kubectl liftoff dashboard`, the playground and the tests.
type Local struct {
	// URL the dashboard answers on, with a trailing slash.
	URL    string
	User   string
	Server *Server
	Broker *Broker
	// Loaded tells which kinds are listed: the Releases may still be
	// loading when StartLocal returns.
	Loaded *Loaded
	done   chan error
}

// LocalOptions configure StartLocal.
type LocalOptions struct {
	// Namespace to watch; every namespace when empty.
	Namespace string
	// Listener to serve on. Its address decides the Host headers accepted
	// when it is a loopback address.
	Listener net.Listener
	// SyncTimeout bounds the first listing of the pipelines, calendars,
	// milestones and checklists; 1 minute when zero. The Releases are not
	// waited for: the pages say they are loading until they are listed.
	SyncTimeout time.Duration
	// Location is the time zone the pages show times in; the machine's
	// own (the viewer's, for the plugin) when nil.
	Location *time.Location
}

// Scheme is the scheme the dashboard reads and writes with.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, releasev1.AddToScheme(s)
}

// StartLocal lists and watches the Liftoff objects as the user of cfg and
// serves the dashboard on o.Listener until ctx ends. It returns once the
// first view can be rendered: the small kinds are listed, and the Releases,
// which can take the API server seconds, follow (Local.Loaded).
func StartLocal(ctx context.Context, cfg *rest.Config, o LocalOptions) (*Local, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	loaded := &Loaded{}
	cc, err := NewCache(cfg, scheme, o.Namespace, loaded.WatchError)
	if err != nil {
		return nil, err
	}
	b := NewBroker(0)
	if err := Watch(ctx, cc, b, loaded); err != nil {
		return nil, err
	}
	go func() { _ = cc.Start(ctx) }()
	timeout := o.SyncTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	syncCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !loaded.wait(syncCtx, "pipeline", "calendar", "milestone", "checklist") {
		where := "in every namespace"
		if o.Namespace != "" {
			where = "in namespace " + o.Namespace
		}
		return nil, fmt.Errorf("could not list Liftoff's objects %s within %s: check that you may list releasepipelines, releasecalendars, milestones, launchchecklists, launches and releases there (or name one namespace with -n)", where, timeout)
	}
	me := whoAmI(ctx, c)
	l := &Local{User: me.Username, Broker: b, Loaded: loaded, done: make(chan error, 1)}
	so := Options{Store: CacheStore{Reader: cc, Loaded: loaded}, Broker: b, Location: o.Location,
		Access: &LocalUser{Name: me.Username, Groups: me.Groups, Client: c}}
	if ip, ok := o.Listener.Addr().(*net.TCPAddr); ok && ip.IP.IsLoopback() {
		so.AllowedHosts = LoopbackHosts(o.Listener.Addr())
	}
	if l.Server, err = New(so); err != nil {
		return nil, err
	}
	l.URL = "http://" + o.Listener.Addr().String() + "/"
	go func() { l.done <- (&serve.Server{Listener: o.Listener, Handler: l.Server}).Start(ctx) }()
	return l, nil
}

// PreferPagedLists makes client-go list objects in pages rather than stream
// them as a watch (the WatchListClient feature), unless the environment sets
// KUBE_FEATURE_WatchListClient: 5,000 Releases took 3.1 s to list and watch
// paged and 6.6 s streamed (make bench BENCH_ARGS="-phases dashboard"). It
// is process-wide: the plugin calls it; the manager, whose dashboard shares
// the controller's cache, does not.
func PreferPagedLists() {
	if _, set := os.LookupEnv("KUBE_FEATURE_" + string(clientfeatures.WatchListClient)); set {
		return
	}
	if g, ok := clientfeatures.FeatureGates().(interface {
		Set(clientfeatures.Feature, bool) error
	}); ok {
		_ = g.Set(clientfeatures.WatchListClient, false)
	}
}

// Wait returns once the server stopped.
func (l *Local) Wait() error { return <-l.done }

// WhoAmI asks the API server who the client's credentials are (a
// SelfSubjectReview); "" when it cannot tell.
func WhoAmI(ctx context.Context, c client.Client) string { return whoAmI(ctx, c).Username }

// whoAmI is the client's user and groups; empty when the API server cannot tell.
func whoAmI(ctx context.Context, c client.Client) authenticationv1.UserInfo {
	ssr := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(ctx, ssr); err != nil {
		return authenticationv1.UserInfo{}
	}
	return ssr.Status.UserInfo
}
