// Package serve runs the manager's plain HTTP endpoints (the GitHub webhook
// receiver and the iCalendar feeds) as a manager runnable on every replica:
// they read from the cache and only trigger reconciles, so they need no
// leadership.
package serve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Server serves Handler on Addr until the manager stops.
type Server struct {
	// Addr to listen on, for example :8082. "0" disables the server.
	Addr    string
	Handler http.Handler
	// Listener, when set, is used instead of Addr (tests bind a free port first).
	Listener net.Listener
	// listening is set once the server accepts connections.
	listening atomic.Bool
}

// Ready is a readiness check (healthz.Checker): an error until the server
// accepts connections, which is once the manager's cache has synced. A
// Service then sends a replica no request it would refuse.
func (s *Server) Ready(*http.Request) error {
	if (s.Addr == "0" && s.Listener == nil) || s.listening.Load() {
		return nil
	}
	return errors.New("not serving yet")
}

// NeedLeaderElection is false: every replica serves.
func (s *Server) NeedLeaderElection() bool { return false }

// Start serves until ctx is done, then shuts down gracefully.
func (s *Server) Start(ctx context.Context) error {
	if s.Addr == "0" && s.Listener == nil {
		return nil
	}
	ln := s.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.Addr); err != nil {
			return err
		}
	}
	s.listening.Store(true)
	srv := &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		MaxHeaderBytes:    64 << 10,
		// Requests end with the server: long streams (the dashboard's
		// events) do not hold a shutdown.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}
