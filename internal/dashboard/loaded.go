package dashboard

import (
	"context"
	"errors"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	toolscache "k8s.io/client-go/tools/cache"
)

// Loading is the error of a read of a kind the dashboard has not listed yet.
// A fresh dashboard serves once the small kinds are listed; the Releases
// follow (the API server takes seconds to hand out thousands of them), and
// until then the pages say so instead of waiting.
type Loading struct {
	// Resource is what is not listed yet: "releases".
	Resource string `json:"resource"`
	// LastError is why the last attempt to list them failed, when it did
	// (the informer retries).
	LastError string `json:"lastError,omitempty"`
}

func (e *Loading) Error() string {
	msg := "the dashboard is still listing " + e.Resource + " from the API server"
	if e.LastError != "" {
		msg += "; the last attempt failed (" + e.LastError + ") and it retries"
	}
	return msg
}

// retryAfter is the Retry-After, in seconds, of an answer that Loading stopped.
const retryAfter = "2"

// loadingKind is the kind of the Change published when a kind's loading
// state changes: it is listed, or an attempt to list it failed.
const loadingKind = "loading"

// Loaded tells which kinds the dashboard's informers have listed. A
// controller-runtime cache's List or Get of a kind blocks until its
// informer has synced, so CacheStore asks the informer's HasSynced here
// first and returns a *Loading error instead. The informer fills its store
// in one go after its list, so a kind is loading or loaded, never partly
// there. Once the broker was handed every object of the first list too (the
// handler registration has synced), a loading change tells the open pages.
// The zero value is ready to use.
type Loaded struct {
	mu      sync.Mutex
	synced  map[string]func() bool
	done    map[string]<-chan struct{}
	lastErr map[string]string
	broker  *Broker
}

// track follows kind's informer (synced) and handler registration, and
// publishes a loading change once both have synced.
func (l *Loaded) track(ctx context.Context, kind string, synced func() bool, reg toolscache.ResourceEventHandlerRegistration, b *Broker) {
	done := reg.HasSyncedChecker().Done()
	l.mu.Lock()
	if l.done == nil {
		l.synced, l.done = map[string]func() bool{}, map[string]<-chan struct{}{}
	}
	l.synced[kind], l.done[kind], l.broker = synced, done, b
	l.mu.Unlock()
	go func() {
		select {
		case <-done:
			b.Publish(Change{Kind: loadingKind, Name: kind})
		case <-ctx.Done():
		}
	}()
}

// Done is closed once kind is listed and its first list handed to the
// broker; it is closed already for a kind that is not tracked.
func (l *Loaded) Done(kind string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ch, ok := l.done[kind]; ok {
		return ch
	}
	return closed
}

var closed = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

// wait returns once every kind is listed (true) or ctx ended (false).
func (l *Loaded) wait(ctx context.Context, kinds ...string) bool {
	for _, k := range kinds {
		select {
		case <-l.Done(k):
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// check returns a *Loading error while kind's informer has not synced; nil
// on a nil Loaded and for a kind that is not tracked.
func (l *Loaded) check(kind string) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if synced, ok := l.synced[kind]; !ok || synced() {
		return nil
	}
	return &Loading{Resource: resources[kind], LastError: l.lastErr[kind]}
}

// WatchError is a cache's watch error handler (cache.Options'
// DefaultWatchErrorHandler): it keeps why the last list of a kind failed,
// for the pages to say, and logs as client-go does.
func (l *Loaded) WatchError(ctx context.Context, r *toolscache.Reflector, err error) {
	for _, obj := range kinds {
		if r.TypeDescription() != fmt.Sprintf("%T", obj) {
			continue
		}
		kind := kindOf(obj)
		msg := err.Error() // "failed to list *v1alpha1.Release: ..."
		if st := apierrors.APIStatus(nil); errors.As(err, &st) && st.Status().Message != "" {
			msg = st.Status().Message // the API server's own words
		}
		l.mu.Lock()
		if l.lastErr == nil {
			l.lastErr = map[string]string{}
		}
		l.lastErr[kind] = msg
		b := l.broker
		l.mu.Unlock()
		if b != nil && l.check(kind) != nil {
			b.Publish(Change{Kind: loadingKind, Name: kind})
		}
	}
	toolscache.DefaultWatchErrorHandler(ctx, r, err)
}

// resources names each kind as the API server does.
var resources = map[string]string{
	"pipeline": "releasepipelines", "release": "releases", "calendar": "releasecalendars",
	"milestone": "milestones", "checklist": "launchchecklists", "launch": "launches",
}
