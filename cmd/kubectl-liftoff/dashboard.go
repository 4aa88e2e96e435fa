package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/dashboard"
)

const dashboardUsage = `kubectl liftoff dashboard: the release dashboard in your browser, acting as you

It lists and watches Liftoff's objects with your kubeconfig and serves the
pages on 127.0.0.1: every approval, sign-off, pause and verdict is made as
you, so RBAC and the identity webhooks decide, exactly as with kubectl.

Flags:
`

// runDashboard serves the dashboard until interrupted.
func runDashboard(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("kubectl liftoff dashboard", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { fmt.Fprint(out, dashboardUsage); fs.PrintDefaults() }
	ns := fs.String("namespace", "", "watch only this namespace (default: every namespace you may list, else the context's)")
	fs.StringVar(ns, "n", "", "namespace (shorthand)")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file")
	kctx := fs.String("context", "", "kubeconfig context")
	port := fs.Int("port", 8787, "port to serve on (0: any free port)")
	address := fs.String("address", "127.0.0.1", "address to serve on; anything but loopback lets others act as you: only when you mean it")
	zone := fs.String("time-zone", "", "IANA time zone of every time on the pages, e.g. Europe/Berlin (default: this machine's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	loc, err := dashboard.Zone(*zone)
	if err != nil {
		return err
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if *kubeconfig != "" {
		rules.ExplicitPath = *kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: *kctx})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *ns == "" && !mayListEverywhere(ctx, cfg) {
		if *ns, _, err = cc.Namespace(); err != nil {
			return err
		}
		fmt.Fprintf(out, "You may not list releases in every namespace: watching namespace %s (-n to choose another).\n", *ns)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*address, strconv.Itoa(*port)))
	if err != nil {
		return fmt.Errorf("cannot listen on %s:%d (--port to choose another): %w", *address, *port, err)
	}
	fmt.Fprintln(out, "Reading releases, pipelines, calendars, milestones and checklists...")
	dashboard.PreferPagedLists()
	l, err := dashboard.StartLocal(ctx, cfg, dashboard.LocalOptions{Namespace: *ns, Listener: ln, Location: loc})
	if err != nil {
		_ = ln.Close()
		return err
	}
	who := l.User
	if who == "" {
		who = "you"
	}
	fmt.Fprintf(out, "Liftoff dashboard: %s  (acting as %s; Ctrl-C to stop)\n", l.URL, who)
	return l.Wait()
}

// mayListEverywhere asks the API server whether the user may list Releases
// in every namespace (a SelfSubjectAccessReview).
func mayListEverywhere(ctx context.Context, cfg *rest.Config) bool {
	scheme, err := dashboard.Scheme()
	if err != nil {
		return false
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return false
	}
	ssar := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Group: releasev1.GroupVersion.Group, Resource: "releases", Verb: "list"},
	}}
	if err := c.Create(ctx, ssar); err != nil {
		return true // cannot tell: try, and say so if the listing fails
	}
	return ssar.Status.Allowed
}
