package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Leader election timings of every replica: short, so a failover takes
// seconds. pollInterval is the resync of pending gates and promotions.
const (
	leaseDuration = 4 * time.Second
	renewDeadline = 3 * time.Second
	retryPeriod   = 500 * time.Millisecond
	pollInterval  = 4 * time.Second
)

// replica is one manager process.
type replica struct {
	name string
	cmd  *exec.Cmd
	// exited is closed once the process is gone and its output read.
	exited chan struct{}
	log    *lockedBuffer
}

// startReplica runs the manager with leader election, its lease in ns, and
// extra flags (--shard). Its log is printed when the test fails, or always
// with LIFTOFF_E2E_LOG set. The process is killed at the end of the test.
func startReplica(t *testing.T, name, ns string, extra ...string) *replica {
	t.Helper()
	return startBinary(t, managerBin, name, ns, extra...)
}

// startBinary is startReplica with the manager binary bin (an earlier build
// in the upgrade test).
func startBinary(t *testing.T, bin, name, ns string, extra ...string) *replica {
	t.Helper()
	args := append([]string{
		"--kubeconfig", kubeconfig,
		"--enable-webhooks=false",
		"--metrics-bind-address=0", "--health-probe-bind-address=0", "--http-bind-address=0",
		"--leader-elect", "--leader-elect-namespace=" + ns,
		"--leader-elect-lease-duration=" + leaseDuration.String(),
		"--leader-elect-renew-deadline=" + renewDeadline.String(),
		"--leader-elect-retry-period=" + retryPeriod.String(),
		"--gate-poll-interval=" + pollInterval.String(),
	}, extra...)
	r := &replica{name: name, cmd: exec.Command(bin, args...), exited: make(chan struct{}), log: &lockedBuffer{}}
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting replica %s: %v", name, err)
	}
	go func() {
		_ = r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		r.kill()
		if t.Failed() || os.Getenv("LIFTOFF_E2E_LOG") != "" {
			t.Logf("replica %s (%s), log:\n%s", name, r.cmd.ProcessState, r.log.String())
		}
	})
	return r
}

// kill sends SIGKILL, as a node failure or the OOM killer would, and waits
// until the process is gone.
func (r *replica) kill() {
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.exited
}

// dead reports whether the process has exited.
func (r *replica) dead() bool {
	select {
	case <-r.exited:
		return true
	default:
		return false
	}
}

// logged reports whether the replica logged msg with key=value (its log is
// zap's JSON, one entry a line).
func (r *replica) logged(msg, key, value string) bool {
	for _, line := range strings.Split(r.log.String(), "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) == nil && entry["msg"] == msg && entry[key] == value {
			return true
		}
	}
	return false
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// leaseHolder returns the holderIdentity of the Lease ns/name ("" while
// there is none).
func leaseHolder(ns, name string) func() string {
	return func() string {
		l := &coordinationv1.Lease{}
		if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, l); err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
}
