package agents

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// KubeConfigError says the deployment's kubeConfigSecretRef cannot be used. Its
// message says what to fix and never holds a credential.
type KubeConfigError struct{ msg string }

func (e *KubeConfigError) Error() string { return e.msg }

// kubeConfigTTL is how long a kubeconfig read from a Secret is used before
// the Secret is read again (the controller keeps no Secret watch).
const kubeConfigTTL = 30 * time.Second

// DefaultKubeConfigKey is the Secret key of the kubeconfig when
// kubeConfigSecretRef.key is not set (Cluster API's and Flux's).
const DefaultKubeConfigKey = "value"

// remote is a cluster read through a kubeconfig Secret.
type remote struct {
	cluster *cluster
	sum     [sha256.Size]byte
	readAt  time.Time
}

// clusterFor returns the cluster of a deployment: the local one, or the one
// in the kubeconfig Secret (read again after kubeConfigTTL; a changed
// kubeconfig replaces the cluster and its watches).
func (w *Watcher) clusterFor(ctx context.Context, namespace string, ref *releasev1.KubeConfigSecretReference) (*cluster, error) {
	if ref == nil {
		return w.local, nil
	}
	key := ref.Key
	if key == "" {
		key = DefaultKubeConfigKey
	}
	name := namespace + "/" + ref.Name
	w.mu.Lock()
	if r := w.remotes[name]; r != nil && w.now().Sub(r.readAt) < kubeConfigTTL {
		w.mu.Unlock()
		return r.cluster, nil
	}
	w.mu.Unlock()

	secret := &corev1.Secret{}
	if err := w.secrets.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &KubeConfigError{fmt.Sprintf("Secret %q (deployment.kubeConfigSecretRef) not found in namespace %s: create it with the agent cluster's kubeconfig under the key %q", ref.Name, namespace, key)}
		}
		return nil, err
	}
	data := secret.Data[key]
	if len(data) == 0 {
		return nil, &KubeConfigError{fmt.Sprintf("Secret %q has no key %q: put the agent cluster's kubeconfig there, or set deployment.kubeConfigSecretRef.key", ref.Name, key)}
	}
	sum := sha256.Sum256(data)
	w.mu.Lock()
	defer w.mu.Unlock()
	if r := w.remotes[name]; r != nil && r.sum == sum {
		r.readAt = w.now()
		return r.cluster, nil
	}
	cfg, err := restConfigFrom(data)
	if err != nil {
		return nil, &KubeConfigError{fmt.Sprintf("Secret %q key %q: %v", ref.Name, key, err)}
	}
	c, err := newCluster(w.ctx, name, cfg, w.dispatch)
	if err != nil {
		return nil, &KubeConfigError{fmt.Sprintf("Secret %q key %q: %v", ref.Name, key, err)}
	}
	if old := w.remotes[name]; old != nil {
		old.cluster.stop()
	}
	w.remotes[name] = &remote{cluster: c, sum: sum, readAt: w.now()}
	return c, nil
}

// restConfigFrom reads a kubeconfig whose credentials are inline. An exec
// plugin or auth provider would run a command or reach a token endpoint
// from the controller, and a file path would read the controller's own
// files (its service account token): all are refused.
func restConfigFrom(data []byte) (*rest.Config, error) {
	kc, err := clientcmd.Load(data)
	if err != nil {
		// The parser's message may quote the content: it is not repeated.
		return nil, fmt.Errorf("not a kubeconfig (YAML with clusters, users and contexts)")
	}
	name := kc.CurrentContext
	if name == "" && len(kc.Contexts) == 1 {
		for n := range kc.Contexts {
			name = n
		}
	}
	kctx := kc.Contexts[name]
	if kctx == nil {
		return nil, fmt.Errorf("the kubeconfig has no current context: set current-context")
	}
	cl, user := kc.Clusters[kctx.Cluster], kc.AuthInfos[kctx.AuthInfo]
	if cl == nil || cl.Server == "" {
		return nil, fmt.Errorf("context %q names no cluster with a server", name)
	}
	if cl.CertificateAuthority != "" {
		return nil, fmt.Errorf("certificate-authority is a file path: use certificate-authority-data")
	}
	if user != nil {
		switch {
		case user.Exec != nil:
			return nil, fmt.Errorf("user %q uses an exec plugin, which Liftoff does not run: use a token or a client certificate", kctx.AuthInfo)
		case user.AuthProvider != nil:
			return nil, fmt.Errorf("user %q uses an auth provider: use a token or a client certificate", kctx.AuthInfo)
		case user.TokenFile != "" || user.ClientCertificate != "" || user.ClientKey != "":
			return nil, fmt.Errorf("user %q reads a file (tokenFile, client-certificate or client-key): put the credential inline (token, client-certificate-data, client-key-data)", kctx.AuthInfo)
		}
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*kc, name, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("the kubeconfig cannot be used: check its cluster and user entries")
	}
	return cfg, nil
}
