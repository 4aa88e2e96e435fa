package version

import (
	"context"
	"os"
	"strings"
	"time"

	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// What the record of the running build looks like: a ConfigMap the elected
// manager of each shard keeps in its own namespace, found by this label.
const (
	// LabelComponent marks the record; `kubectl liftoff version` lists by it.
	LabelComponent = "app.kubernetes.io/component"
	// ComponentValue is LabelComponent's value on the record.
	ComponentValue = "liftoff-version"
	// KeyShard is the record's key of the shard's name ("" for the default).
	KeyShard = "shard"
	// KeyReplica is the key of the leading replica's name.
	KeyReplica = "replica"
	// KeySince is the key of when it recorded itself (RFC 3339).
	KeySince = "since"
)

// Recorder writes the build of the replica that leads into a ConfigMap once
// it is elected, so a user reads what runs through the API server
// (`kubectl liftoff version`) without reaching the pod.
type Recorder struct {
	Client    client.Client
	Namespace string
	// Shard is the shard's name, "" for the default one.
	Shard string
	// Replica is the pod's name (the hostname).
	Replica string
	Info    Info
	// Retry is the wait after a failed write; a minute when zero.
	Retry time.Duration
}

// RecordName is the ConfigMap of a shard.
func RecordName(shard string) string {
	if shard == "" {
		return "liftoff-version"
	}
	return "liftoff-version-" + shard
}

// NeedLeaderElection is true: the leader's build is the one that acts.
func (r *Recorder) NeedLeaderElection() bool { return true }

// Start writes the record, trying again until it is written or the manager
// stops. A failed write only leaves the server's version unknown.
func (r *Recorder) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("version")
	retry := r.Retry
	if retry == 0 {
		retry = time.Minute
	}
	for {
		err := r.write(ctx)
		if err == nil {
			log.Info("Recorded the running build", "configMap", r.Namespace+"/"+RecordName(r.Shard), "version", r.Info.Version, "commit", r.Info.Commit)
			return nil
		}
		log.Error(err, "Recording the running build", "configMap", r.Namespace+"/"+RecordName(r.Shard), "fix", "let the manager's service account get, create and patch ConfigMaps in its namespace")
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retry):
		}
	}
}

func (r *Recorder) write(ctx context.Context) error {
	cm := corev1ac.ConfigMap(RecordName(r.Shard), r.Namespace).
		WithLabels(map[string]string{LabelComponent: ComponentValue, "app.kubernetes.io/name": "liftoff"}).
		WithData(map[string]string{
			"version": r.Info.Version, "commit": r.Info.Commit, "goVersion": r.Info.GoVersion,
			KeyShard: r.Shard, KeyReplica: r.Replica, KeySince: time.Now().UTC().Format(time.RFC3339),
		})
	return r.Client.Apply(ctx, cm, client.FieldOwner("liftoff-manager"), client.ForceOwnership)
}

// PodNamespace is the namespace the manager runs in: the service account's
// when in a cluster, else POD_NAMESPACE; "" when neither says.
func PodNamespace() string {
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		return strings.TrimSpace(string(b))
	}
	return os.Getenv("POD_NAMESPACE")
}
