// Package webhooktest serves Liftoff's admission webhooks to an envtest API
// server, for test suites that need the identity webhooks to be real.
package webhooktest

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/liftoff-dev/liftoff/internal/webhooks"
)

// Serve serves the webhooks where envtest pointed the API server (o is the
// started Environment's WebhookInstallOptions), waits until they answer,
// and returns the function that stops them.
func Serve(o *envtest.WebhookInstallOptions, scheme *runtime.Scheme, c client.Client) (func(), error) {
	srv := webhook.NewServer(webhook.Options{Host: o.LocalServingHost, Port: o.LocalServingPort, CertDir: o.LocalServingCertDir})
	webhooks.Register(srv, scheme, c, c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Start(ctx)
	}()
	for deadline := time.Now().Add(30 * time.Second); srv.StartedChecker()(nil) != nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			cancel()
			<-done
			return nil, fmt.Errorf("admission webhooks not serving on %s:%d after 30s", o.LocalServingHost, o.LocalServingPort)
		}
	}
	return func() { cancel(); <-done }, nil
}
