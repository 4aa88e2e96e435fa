// Command bench measures Liftoff on one machine: a real kube-apiserver and
// etcd (envtest), the GitHub API simulator in-process, and the controller as
// a separate process, built from ./cmd/manager. It prints one table and
// writes the figures as JSON. Run it from the repository root: `make bench`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// options are the command-line flags.
type options struct {
	pipelines, releases int
	shardReleases       int
	idleReleases        int
	idle                time.Duration
	memoryReleases      int
	latency             time.Duration
	concurrency         int
	pollInterval        time.Duration
	phases              map[string]bool
	out                 string
	timeout             time.Duration
	cpuProfile          string
	qaDelay             time.Duration
	deployments         string
	dashboardReleases   int
	dashboardPipelines  int
	trainPipelines      int
	registryRepos       int
	registryTags        int
	registryInterval    time.Duration
	registryWatch       time.Duration
	wavesTargets        int
	waves               string
	wavesReleases       int
	agentDelay          time.Duration
	fleetPipelines      int
	fleetTargets        int
	fleetReleases       int
	groupServices       int
	groupRounds         int
	prodWaves           []intstr.IntOrString
}

var allPhases = []string{"throughput", "raw", "shards", "idle", "memory", "dashboard", "train", "registry", "waves", "waves-throughput", "group"}

func main() {
	var o options
	var phases string
	flag.StringVar(&o.deployments, "deployments", "Enabled", "The pipelines' spec.github.deployments: Enabled records each promotion as a GitHub deployment (two requests), Disabled does not.")
	flag.IntVar(&o.trainPipelines, "train-pipelines", 50, "Services of the train phase, sharing one GitOps repository, that go dev -> staging -> prod together under GitHub's secondary limits.")
	flag.IntVar(&o.registryRepos, "registry-repos", 200, "Pipelines of the registry phase, each discovering from its own OCI repository.")
	flag.IntVar(&o.registryTags, "registry-tags", 500, "Tags of each repository in the registry phase.")
	flag.DurationVar(&o.registryInterval, "registry-interval", time.Minute, "Discovery interval of the registry phase.")
	flag.DurationVar(&o.registryWatch, "registry-watch", 3*time.Minute, "How long the registry phase watches discovery once every version is found.")
	flag.IntVar(&o.wavesTargets, "waves-targets", 50, "Production targets of the waves phase's pipeline, sharing one GitOps repository, each deployed by its own Argo CD Application.")
	flag.StringVar(&o.waves, "waves", "1,25%,100%", "The waves of prod in the waves and waves-throughput phases (spec.stages[].waves), comma-separated.")
	flag.IntVar(&o.wavesReleases, "waves-releases", 3, "Releases of the waves phase, one after another.")
	flag.DurationVar(&o.agentDelay, "waves-agent-delay", time.Second, "How long the waves phase's Argo CD takes from a commit to the Application Healthy (Progressing meanwhile).")
	flag.IntVar(&o.fleetPipelines, "waves-throughput-pipelines", 100, "Pipelines of the waves-throughput phase, each with its prod in waves over -waves-throughput-targets targets.")
	flag.IntVar(&o.fleetTargets, "waves-throughput-targets", 10, "Production targets of each pipeline in the waves-throughput phase.")
	flag.IntVar(&o.fleetReleases, "waves-throughput-releases", 3, "Releases per pipeline in the waves-throughput phase, one after another.")
	flag.IntVar(&o.groupServices, "group-services", 20, "Services of the group phase (a pipeline each, one GitOps repository) released as one Launch, then as independent Releases.")
	flag.IntVar(&o.groupRounds, "group-rounds", 3, "Rounds of the group phase, each the independent Releases then the Launch.")
	flag.IntVar(&o.pipelines, "pipelines", 100, "Pipelines of the throughput phase (each with its own source repository).")
	flag.IntVar(&o.releases, "releases", 10, "Releases per pipeline in the throughput phase, created one after the other.")
	flag.IntVar(&o.shardReleases, "shard-releases", 3, "Releases per pipeline in the shards phase.")
	flag.IntVar(&o.idleReleases, "idle-releases", 1000, "Releases waiting on a running QA check in the idle phase.")
	flag.DurationVar(&o.idle, "idle", 10*time.Minute, "How long the idle phase watches the waiting Releases.")
	flag.IntVar(&o.dashboardReleases, "dashboard-releases", 5000, "Releases the dashboard phase shows.")
	flag.IntVar(&o.dashboardPipelines, "dashboard-pipelines", 200, "Pipelines of the dashboard phase.")
	flag.IntVar(&o.memoryReleases, "memory-releases", 10000, "Released Releases the controller loads in the memory phase.")
	flag.DurationVar(&o.latency, "latency", 0, "Simulated GitHub latency per request.")
	flag.IntVar(&o.concurrency, "concurrency", 8, "The controller's --concurrency (Releases reconciled in parallel); also the raw baseline's parallelism.")
	flag.DurationVar(&o.pollInterval, "gate-poll-interval", 30*time.Second, "The controller's --gate-poll-interval.")
	flag.StringVar(&phases, "phases", strings.Join(allPhases, ","), "Phases to run, comma-separated: "+strings.Join(allPhases, ", ")+". raw needs throughput.")
	flag.StringVar(&o.out, "out", "bench-results.json", "Where the JSON results go; the heap profile goes next to it.")
	flag.DurationVar(&o.timeout, "wait-timeout", 10*time.Minute, "How long to wait for one Release to move before giving up.")
	flag.DurationVar(&o.qaDelay, "qa-delay", 0, "How long QA stays running after a Release shows it waits on it (0: turn it green at once).")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "Write a CPU profile of the benchmark process (the GitHub simulator runs in it) to this file.")
	flag.Parse()

	o.phases = map[string]bool{}
	for _, p := range strings.Split(phases, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		known := false
		for _, k := range allPhases {
			known = known || k == p
		}
		if !known {
			fmt.Fprintf(os.Stderr, "bench: unknown phase %q (known: %s)\n", p, strings.Join(allPhases, ", "))
			os.Exit(2)
		}
		o.phases[p] = true
	}
	if o.phases["raw"] && !o.phases["throughput"] {
		fmt.Fprintln(os.Stderr, "bench: phase raw replays what the throughput phase measured: add throughput to -phases")
		os.Exit(2)
	}

	var err error
	if o.prodWaves, err = parseWaves(o.waves); err != nil {
		fmt.Fprintf(os.Stderr, "bench: -waves %q: %v\n", o.waves, err)
		os.Exit(2)
	}

	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		if errors.Is(ctx.Err(), context.Canceled) {
			os.Exit(130)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	rep := newReport(o)
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
	}
	if o.deployments != string(releasev1.DeploymentsEnabled) && o.deployments != string(releasev1.DeploymentsDisabled) {
		fmt.Fprintf(os.Stderr, "-deployments %q: use Enabled or Disabled\n", o.deployments)
		os.Exit(2)
	}
	w, err := startWorld(ctx, o)
	if err != nil {
		return err
	}
	defer w.stop()
	if o.phases["waves"] {
		if err := checkWaves(ctx, w, o); err != nil {
			return fmt.Errorf("waves: %w", err)
		}
	}

	var tp *throughputResult
	if o.phases["throughput"] {
		if tp, err = runThroughput(ctx, w, o, throughputSpec{phase: "throughput", ns: "bench-throughput", pipelines: o.pipelines, releases: o.releases}); err != nil {
			return fmt.Errorf("throughput: %w", err)
		}
		rep.throughput(tp)
	}
	if o.phases["raw"] {
		r, err := runRaw(ctx, w, o, tp, rawSpec{phase: "raw", ns: "bench-raw", prefix: "rw"})
		if err != nil {
			return fmt.Errorf("raw: %w", err)
		}
		rep.raw(r, tp)
	}
	if o.phases["shards"] {
		r, err := runThroughput(ctx, w, o, throughputSpec{phase: "shards", ns: "bench-shards", pipelines: o.pipelines, releases: o.shardReleases, shards: true})
		if err != nil {
			return fmt.Errorf("shards: %w", err)
		}
		rep.shards(r)
	}
	if o.phases["idle"] {
		r, err := runIdle(ctx, w, o)
		if err != nil {
			return fmt.Errorf("idle: %w", err)
		}
		rep.idle(r)
	}
	if o.phases["memory"] {
		r, err := runMemory(ctx, w, o)
		if err != nil {
			return fmt.Errorf("memory: %w", err)
		}
		rep.memory(r)
	}
	if o.phases["dashboard"] {
		r, err := runDashboard(ctx, w, o)
		if err != nil {
			return fmt.Errorf("dashboard: %w", err)
		}
		rep.dashboard(r)
	}
	if o.phases["train"] {
		r, err := runTrain(ctx, w, o)
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		rep.train(r)
	}
	if o.phases["registry"] {
		r, err := runRegistry(ctx, w, o)
		if err != nil {
			return fmt.Errorf("registry: %w", err)
		}
		rep.registry(r)
	}
	if err := runWavesAndGroup(ctx, w, o, rep); err != nil {
		return err
	}
	rep.print(os.Stdout)
	if err := rep.write(o.out); err != nil {
		return err
	}
	progress("results written to %s", o.out)
	return nil
}

// runWavesAndGroup runs the phases of stages rolled out in waves and of a
// Launch.
func runWavesAndGroup(ctx context.Context, w *world, o options, rep *report) error {
	if o.phases["waves"] {
		r, err := runWaves(ctx, w, o)
		if err != nil {
			return fmt.Errorf("waves: %w", err)
		}
		rep.waves(r)
	}
	if o.phases["waves-throughput"] {
		prod := prodTargets{n: o.fleetTargets, waves: o.prodWaves}
		t, err := runThroughput(ctx, w, o, throughputSpec{phase: "waves-throughput", ns: "bench-waves-throughput", pipelines: o.fleetPipelines, releases: o.fleetReleases, prod: prod})
		if err != nil {
			return fmt.Errorf("waves-throughput: %w", err)
		}
		r, err := runRaw(ctx, w, o, t, rawSpec{phase: "waves-throughput raw", ns: "bench-waves-raw", prefix: "wr", prod: prod})
		if err != nil {
			return fmt.Errorf("waves-throughput raw: %w", err)
		}
		rep.wavesThroughput(t, r)
	}
	if o.phases["group"] {
		r, err := runGroup(ctx, w, o)
		if err != nil {
			return fmt.Errorf("group: %w", err)
		}
		rep.group(r)
	}
	return nil
}

// parseWaves reads waves as spec.stages[].waves has them: counts and
// percentages, comma-separated.
func parseWaves(s string) ([]intstr.IntOrString, error) {
	var out []intstr.IntOrString
	for _, f := range strings.Split(s, ",") {
		v := intstr.Parse(strings.TrimSpace(f))
		if v.Type == intstr.String {
			p, ok := strings.CutSuffix(v.StrVal, "%")
			if _, err := strconv.Atoi(p); !ok || err != nil {
				return nil, fmt.Errorf("%q is neither a count nor a percentage", v.StrVal)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// progress prints a line to stderr, stamped with the time.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
