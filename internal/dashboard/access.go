package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// Access decides who a request is and what it may do.
type Access interface {
	// Session returns the requester, or an error to answer with (see
	// HTTPError for its status).
	Session(r *http.Request) (*Session, error)
}

// Session is one requester.
type Session struct {
	// User is who the requests act as; empty on a read-only dashboard
	// without authentication. Groups are the user's, as the API server
	// knows them (checklist items are owned by groups).
	User   string
	Groups []string
	// Client acts as User: the API server authorizes each write as theirs
	// and the identity webhooks stamp their name. Nil: read-only.
	Client client.Client
	// Authorize, when set, checks an action before it is made (verb on
	// resource in namespace, a SubjectAccessReview), so a refusal names
	// what is missing.
	Authorize func(ctx context.Context, verb, resource, ns, name string) error
	// CanRead tells whether the user may see a namespace; nil: all.
	CanRead func(ctx context.Context, ns string) bool
}

// May tells whether the session may do verb on resource (ns, name; name ""
// for any object of the namespace), as the API server answers for this
// user: a page offers only the actions its viewer may take. A read-only
// session may do nothing; an answer that cannot be had counts as no.
func (s *Session) May(ctx context.Context, verb, resource, ns, name string) bool {
	if s == nil || s.Client == nil {
		return false
	}
	return s.Authorize == nil || s.Authorize(ctx, verb, resource, ns, name) == nil
}

// HTTPError is an error with the status to answer.
type HTTPError struct {
	Code int
	Msg  string
}

func (e *HTTPError) Error() string { return e.Msg }

func statusOf(err error) int {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Code
	}
	return http.StatusInternalServerError
}

// LocalUser is the plugin's access: every request acts as the user of the
// kubeconfig (the dashboard listens on loopback only, for that user), and
// what the user may do is asked of the API server with
// SelfSubjectAccessReviews, each answer kept for a minute.
type LocalUser struct {
	Name   string
	Groups []string
	Client client.Client

	decisions decisions
}

// Session acts as the kubeconfig's user, whoever sent the request.
func (l *LocalUser) Session(*http.Request) (*Session, error) {
	return &Session{User: l.Name, Groups: l.Groups, Client: l.Client, Authorize: l.authorize}, nil
}

func (l *LocalUser) authorize(ctx context.Context, verb, resource, ns, name string) error {
	return l.decisions.decide(strings.Join([]string{verb, resource, ns, name}, "\x00"), time.Minute, func() error {
		ssar := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Group: releasev1.GroupVersion.Group, Resource: resource,
				Verb: verb, Namespace: ns, Name: name}}}
		if err := l.Client.Create(ctx, ssar); err != nil {
			return &HTTPError{http.StatusServiceUnavailable, "checking access failed; try again: " + err.Error()}
		}
		if !ssar.Status.Allowed {
			return refusal(l.Name, verb, resource, ns)
		}
		return nil
	})
}

// refusal says what RBAC lacks.
func refusal(user, verb, resource, ns string) error {
	where := "in namespace " + ns
	if ns == "" {
		where = "in every namespace"
	}
	return &HTTPError{http.StatusForbidden, fmt.Sprintf("%s may not %s %s.%s %s: an admin must grant it (RBAC)", user, verb, resource, releasev1.GroupVersion.Group, where)}
}

// decisions keeps the API server's access answers for a while, so a page
// that asks what its viewer may do at every live update asks once a minute.
type decisions struct {
	mu sync.Mutex
	m  map[string]accessEntry
}

type accessEntry struct {
	err error
	exp time.Time
}

// decide answers from the kept decision of key, or asks and keeps the
// answer for ttl (an unavailable API server's error is not kept).
func (d *decisions) decide(key string, ttl time.Duration, ask func() error) error {
	now := time.Now()
	d.mu.Lock()
	if e, ok := d.m[key]; ok && now.Before(e.exp) {
		d.mu.Unlock()
		return e.err
	}
	d.mu.Unlock()
	err := ask()
	if statusOf(err) == http.StatusServiceUnavailable {
		return err
	}
	d.mu.Lock()
	if d.m == nil || len(d.m) > 10000 {
		d.m = map[string]accessEntry{}
	}
	d.m[key] = accessEntry{err: err, exp: now.Add(ttl)}
	d.mu.Unlock()
	return err
}

// ReadOnly serves the pages to anyone who reaches them and refuses every action.
type ReadOnly struct{}

// Session has no user and no client: pages only.
func (ReadOnly) Session(*http.Request) (*Session, error) { return &Session{}, nil }
