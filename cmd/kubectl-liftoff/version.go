package main

import (
	"context"
	"fmt"
	"io"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/liftoff-dev/liftoff/internal/version"
)

// printVersion prints the plugin's build, then the build each shard's
// elected manager recorded (internal/version.Recorder): in namespace ns when
// set, else in every namespace the user may list ConfigMaps of.
func printVersion(ctx context.Context, cl *cli, ns string, out io.Writer) error {
	fmt.Fprintf(out, "Client: %s\n", version.Get())
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
