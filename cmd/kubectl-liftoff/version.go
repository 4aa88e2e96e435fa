package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/liftoff-dev/liftoff/internal/version"
)

// runVersion is `kubectl liftoff version [-n NAMESPACE]`. Without -n it
// looks in every namespace: the manager's is seldom the user's.
func runVersion(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("kubectl liftoff version", flag.ContinueOnError)
	ns := fs.String("namespace", "", "the namespace Liftoff runs in (default: every namespace you may list ConfigMaps of)")
	fs.StringVar(ns, "n", "", "namespace (shorthand)")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file")
	kctx := fs.String("context", "", "kubeconfig context")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The client's build is known without a cluster.
	fmt.Fprintf(out, "Client: %s\n", version.Get())
	cl, err := connect(*kubeconfig, *kctx, *ns)
	if err != nil {
		return err
	}
	return printServerVersion(ctx, cl, *ns, out)
}

// printServerVersion prints the plugin's build, then the build each shard's
// elected manager recorded (internal/version.Recorder): in namespace ns when
// set, else in every namespace the user may list ConfigMaps of.
func printServerVersion(ctx context.Context, cl *cli, ns string, out io.Writer) error {
	var list corev1.ConfigMapList
	err := cl.c.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{version.LabelComponent: version.ComponentValue})
	if apierrors.IsForbidden(err) && ns == "" {
		return fmt.Errorf("listing ConfigMaps in every namespace is forbidden: name the namespace Liftoff runs in, e.g. -n liftoff-system (%w)", err)
	}
	if err != nil {
		return fmt.Errorf("reading the server's version: %w", err)
	}
	if len(list.Items) == 0 {
		where := "in any namespace"
		if ns != "" {
			where = "in namespace " + ns
		}
		fmt.Fprintf(out, "Server: unknown: no elected manager recorded its build %s (is Liftoff running, and may it write the ConfigMap %s?)\n", where, version.RecordName(""))
		return nil
	}
	sort.Slice(list.Items, func(i, j int) bool {
		a, b := list.Items[i], list.Items[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	for _, cm := range list.Items {
		d := cm.Data
		shard := d[version.KeyShard]
		if shard == "" {
			shard = "default"
		}
		info := version.Info{Version: d["version"], Commit: d["commit"], GoVersion: d["goVersion"]}
		fmt.Fprintf(out, "Server: %s (namespace %s, shard %s, leader %s since %s)\n", info, cm.Namespace, shard, d[version.KeyReplica], d[version.KeySince])
	}
	return nil
}
