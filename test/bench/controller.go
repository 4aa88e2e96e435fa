package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// controller is one running manager process.
type controller struct {
	name       string
	cmd        *exec.Cmd
	log        *os.File
	metricsURL string
	pprofURL   string
	done       chan struct{}
	// last is the process's accounting read just before it was stopped.
	last    procStats
	stopped bool
}

// startController runs the manager binary against the control plane. slot
// picks the webhook receiver's port (one per controller running at once);
// extra are further flags, such as --shard.
func (w *world) startController(ctx context.Context, o options, name string, slot int, extra ...string) (*controller, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	hookPort, subscribed := w.hookPorts[slot]
	if !subscribed {
		p, err := freePorts(1)
		if err != nil {
			return nil, err
		}
		hookPort = p[0]
		w.hookPorts[slot] = hookPort
	}
	c := &controller{
		name:       name,
		metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[0]),
		pprofURL:   fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/", ports[2]),
		done:       make(chan struct{}),
	}
	if c.log, err = os.Create(filepath.Join(w.dir, name+".log")); err != nil {
		return nil, err
	}
	args := append([]string{
		"--kubeconfig=" + w.kubeconfig,
		"--enable-webhooks=false",
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", ports[0]), "--metrics-secure=false",
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", ports[1]),
		fmt.Sprintf("--pprof-bind-address=127.0.0.1:%d", ports[2]),
		fmt.Sprintf("--http-bind-address=127.0.0.1:%d", hookPort),
		"--github-webhook-secret-file=" + w.secretFile,
		"--gate-poll-interval=" + o.pollInterval.String(),
		"--concurrency=" + strconv.Itoa(o.concurrency),
		// These phases measure the machine: their simulator enforces no
		// secondary limits, so writes go unpaced (the train phase paces).
		"--github-writes-per-minute=0", "--github-writes-per-hour=0",
		"--leader-elect", "--leader-elect-namespace=default",
	}, extra...)
	c.cmd = exec.Command(w.manager, args...)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	// Dies with the benchmark, whatever kills it.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	w.mu.Lock()
	w.running = append(w.running, c)
	w.mu.Unlock()
	if !subscribed {
		w.sim.AddWebhook(fmt.Sprintf("http://127.0.0.1:%d/hooks/github", hookPort), []byte(webhookSecret), "*")
	}

	// Ready once it leads: the leader election metric turns 1.
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-c.done:
			w.failed = true
			return nil, fmt.Errorf("controller %s exited: %s (log in %s)", name, c.cmd.ProcessState, c.log.Name())
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if m, err := c.scrape(); err == nil && m.sum("leader_election_master_status", nil) >= 1 {
			break
		}
		if time.Now().After(deadline) {
			w.failed = true
			return nil, fmt.Errorf("controller %s does not lead after 60s (log in %s)", name, c.log.Name())
		}
	}
	progress("controller %s (pid %d) leads", name, c.cmd.Process.Pid)
	return c, nil
}

// stopController reads the process's accounting, stops it and drops the
// leases it held.
func (w *world) stopController(ctx context.Context, c *controller) error {
	if c.stopped {
		return nil
	}
	c.stopped = true
	if st, err := readProc(c.cmd.Process.Pid); err == nil {
		c.last = st
	}
	c.kill()
	w.mu.Lock()
	for i, r := range w.running {
		if r == c {
			w.running = append(w.running[:i], w.running[i+1:]...)
			break
		}
	}
	w.mu.Unlock()
	return w.dropLeases(ctx)
}

// kill asks the process to stop (SIGTERM), then kills it after 20s.
func (c *controller) kill() {
	select {
	case <-c.done:
	default:
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(20 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
	_ = c.log.Close()
}

// stats reads the live process's accounting.
func (c *controller) stats() (procStats, error) { return readProc(c.cmd.Process.Pid) }

func (c *controller) scrape() (metrics, error) { return scrape(c.metricsURL) }

// saveHeap writes a heap profile (after a GC) to path.
func (c *controller) saveHeap(path string) error {
	resp, err := http.Get(c.pprofURL + "heap?gc=1")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET heap profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func freePorts(n int) ([]int, error) {
	var out []int
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// procStats is a process's memory and CPU accounting from /proc.
type procStats struct {
	RSSMiB     float64 `json:"rssMiB"`
	PeakRSSMiB float64 `json:"peakRSSMiB"`
	CPUSeconds float64 `json:"cpuSeconds"`
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

func readProc(pid int) (procStats, error) {
	var st procStats
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		switch k {
		case "VmRSS":
			st.RSSMiB = kb / 1024
		case "VmHWM":
			st.PeakRSSMiB = kb / 1024
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	// Fields after the command name, which is in parentheses: state is
	// field 3, utime 14 and stime 15.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return st, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	st.CPUSeconds = (utime + stime) / clockTicks
	return st, nil
}
