package serve

import (
	"context"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// The readiness check fails until the server listens, and a disabled
// server is ready.
func TestReadyOnceListening(t *testing.T) {
	g := NewWithT(t)
	s := &Server{Addr: "127.0.0.1:0", Handler: http.NotFoundHandler()}
	g.Expect(s.Ready(nil)).To(MatchError("not serving yet"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	g.Eventually(func() error { return s.Ready(nil) }, 10*time.Second, 10*time.Millisecond).Should(Succeed())
	cancel()
	g.Expect(<-done).To(Succeed())
	g.Expect((&Server{Addr: "0"}).Ready(nil)).To(Succeed())
}
