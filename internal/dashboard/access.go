package dashboard

import (
	"context"
	"errors"
	"net/http"

	"sigs.k8s.io/controller-runtime/pkg/client"
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
	// without authentication.
	User string
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
// kubeconfig (the dashboard listens on loopback only, for that user).
type LocalUser struct {
	Name   string
	Client client.Client
}

// Session acts as the kubeconfig's user, whoever sent the request.
func (l LocalUser) Session(*http.Request) (*Session, error) {
	return &Session{User: l.Name, Client: l.Client}, nil
}

// ReadOnly serves the pages to anyone who reaches them and refuses every action.
type ReadOnly struct{}

// Session has no user and no client: pages only.
func (ReadOnly) Session(*http.Request) (*Session, error) { return &Session{}, nil }
