package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// report collects the rows of the table and the figures of the JSON.
type report struct {
	Machine   machine   `json:"machine"`
	GoVersion string    `json:"goVersion"`
	Date      time.Time `json:"date"`
	// Command is how the benchmark was started (`make bench` runs it with
	// go run); Executable is the binary that ran.
	Command    string   `json:"command"`
	Executable string   `json:"executable"`
	Settings   settings `json:"settings"`
	Phases     phases   `json:"phases"`
	Rows       []row    `json:"rows"`
}

type machine struct {
	NProc    int     `json:"nproc"`
	CPUModel string  `json:"cpuModel"`
	MemGiB   float64 `json:"memGiB"`
}

type settings struct {
	LatencyMs        float64 `json:"latencyMs"`
	Concurrency      int     `json:"concurrency"`
	GatePollInterval string  `json:"gatePollInterval"`
	QADelayMs        float64 `json:"qaDelayMs"`
}

type phases struct {
	Throughput *throughputResult `json:"throughput,omitempty"`
	Raw        *rawResult        `json:"raw,omitempty"`
	Shards     *throughputResult `json:"shards,omitempty"`
	Idle       *idleResult       `json:"idle,omitempty"`
	Registry   *registryResult   `json:"registry,omitempty"`
	Memory     *memoryResult     `json:"memory,omitempty"`
	Dashboard  *dashboardResult  `json:"dashboard,omitempty"`
	Train      *trainResult      `json:"train,omitempty"`
	Waves      *wavesResult      `json:"waves,omitempty"`
	// WavesThroughput and WavesRaw: the waves-throughput phase, Liftoff
	// and the raw baseline.
	WavesThroughput *throughputResult `json:"wavesThroughput,omitempty"`
	WavesRaw        *rawResult        `json:"wavesRaw,omitempty"`
	Group           *groupResult      `json:"group,omitempty"`
}

type row struct {
	Phase  string `json:"phase"`
	Metric string `json:"metric"`
	Value  string `json:"value"`
}

func newReport(o options) *report {
	return &report{
		Machine:    readMachine(),
		GoVersion:  runtime.Version(),
		Date:       time.Now().UTC(),
		Command:    strings.Join(append([]string{"go", "run", "./test/bench"}, os.Args[1:]...), " "),
		Executable: os.Args[0],
		Settings: settings{LatencyMs: float64(o.latency) / float64(time.Millisecond), Concurrency: o.concurrency,
			GatePollInterval: o.pollInterval.String(), QADelayMs: float64(o.qaDelay) / float64(time.Millisecond)},
	}
}

func (r *report) add(phase, metric, format string, args ...any) {
	r.Rows = append(r.Rows, row{Phase: phase, Metric: metric, Value: fmt.Sprintf(format, args...)})
}

func (r *report) throughput(t *throughputResult) {
	r.Phases.Throughput = t
	r.addThroughput("throughput", t)
}

func (r *report) addThroughput(phase string, t *throughputResult) {
	r.add(phase, "promotions", "%d (%d pipelines x %d releases x 3 stages)", t.Promotions, t.Pipelines, t.ReleasesPerPipeline)
	if t.ProdTargets > 0 {
		r.add(phase, "targets written", "%d (prod: %d targets in waves %s)", t.TargetWrites, t.ProdTargets, strings.Join(t.Waves, ", "))
	}
	r.add(phase, "wall time until all Released", "%.1f s", t.WallSeconds)
	r.add(phase, "promotions/s", "%.2f", t.PromotionsPerSecond)
	r.add(phase, "GitHub requests per promotion", "%.2f counted (+%.2f 304s)", t.GitHubRequestsPerPromotion, float64(t.GitHubNotModified)/float64(t.Promotions))
	r.add(phase, "API-server writes per promotion", "%.2f (%s)", t.APIWritesPerPromotion, methods(t.APIRequestsByMethod))
	r.add(phase, "QA green -> dev commit", "p50 %.0f ms, p99 %.0f ms, max %.0f ms; %d of %d over 1 s",
		t.GateToCommitP50Ms, t.GateToCommitP99Ms, t.GateToCommitMaxMs, t.GateToCommitOver1s, t.Pipelines*t.ReleasesPerPipeline)
	names := make([]string, 0, len(t.Controllers))
	for n := range t.Controllers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := t.Controllers[n]
		r.add(phase, "controller "+n, "peak RSS %.0f MiB, CPU %.1f s (%d pipelines)", c.PeakRSSMiB, c.CPUSeconds, c.Pipelines)
	}
}

func (r *report) shards(t *throughputResult) {
	r.Phases.Shards = t
	r.addThroughput("shards", t)
}

// methods lists the request counts by method, GET first.
func methods(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func (r *report) print(out io.Writer) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PHASE\tMETRIC\tVALUE")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", row.Phase, row.Metric, row.Value)
	}
	_ = tw.Flush()
}

func (r *report) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func readMachine() machine {
	m := machine{NProc: runtime.NumCPU()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		_ = f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				m.MemGiB = kb / (1 << 20)
			}
		}
	}
	return m
}

func (r *report) raw(x *rawResult, t *throughputResult) {
	r.Phases.Raw = x
	r.addRaw("raw", x, t)
}

func (r *report) addRaw(phase string, x *rawResult, t *throughputResult) {
	r.add(phase, "promotions", "%d, %d workers, no controller", x.Promotions, x.Workers)
	r.add(phase, "wall time", "%.1f s", x.WallSeconds)
	r.add(phase, "promotions/s", "%.2f", x.PromotionsPerSecond)
	r.add(phase, "GitHub requests per promotion", "%.2f counted (Liftoff: %.2f counted + %.2f 304s, replayed as plain GETs)", x.GitHubRequestsPerPromotion, t.GitHubRequestsPerPromotion, float64(t.GitHubNotModified)/float64(t.Promotions))
	r.add(phase, "API-server writes per promotion", "%.2f", x.APIWritesPerPromotion)
	r.add(phase, "Liftoff rate / raw rate", "%.2f", x.LiftoffRatio)
	if len(x.NotReplayed) > 0 {
		r.add(phase, "not replayed", "%s", strings.Join(sortedKeys(x.NotReplayed), "; "))
	}
}

func (r *report) wavesThroughput(t *throughputResult, x *rawResult) {
	r.Phases.WavesThroughput, r.Phases.WavesRaw = t, x
	r.addThroughput("waves-throughput", t)
	r.addRaw("waves-throughput raw", x, t)
}

func (r *report) waves(x *wavesResult) {
	r.Phases.Waves = x
	r.add("waves", "pipeline", "prod of %d targets in waves %s (%s targets), one GitOps repository, an Argo CD Application each (Healthy %s after its commit), GitHub's secondary limits enforced",
		x.Targets, strings.Join(x.Waves, ", "), joinInts(x.WaveSizes, "+"), time.Duration(x.AgentDelayMs*float64(time.Millisecond)))
	perRelease := make([]string, len(x.CommitsPerWave))
	for j, n := range x.CommitsPerWave {
		perRelease[j] = strconv.FormatFloat(float64(n)/float64(max(1, x.Releases)), 'f', -1, 64)
	}
	r.add("waves", "commits per wave and release", "%s (goal: 1, one repository); targets in no commit %d, in several %d",
		strings.Join(perRelease, ", "), x.TargetsInNoCommit, x.TargetsInSeveralCommits)
	r.add("waves", "wave deployed -> next wave committed", "p50 %.0f ms, max %.0f ms over %d waves (no soak, no verify)", x.DeployedToNextP50Ms, x.DeployedToNextMaxMs, len(x.DeployedToNextCommitMs))
	r.add("waves", "release created -> Released", "%s s", joinFloats(x.ReleaseSeconds))
	r.add("waves", "GitHub", "%d content-generating requests, %d secondary-limit refusals (%s)", x.ContentGenerating, x.SecondaryRefusals, counts(intCounts(x.WritesByOperation)))
	r.add("waves", "controller", "CPU %.1f s, peak RSS %.0f MiB", x.Controller.CPUSeconds, x.Controller.PeakRSSMiB)
}

func (r *report) group(x *groupResult) {
	r.Phases.Group = x
	r.add("group", "services", "%d x %d stages, one GitOps repository, GitHub's secondary limits enforced, no deployment records", x.Services, x.Stages)
	for i, run := range x.Runs {
		name := fmt.Sprintf("%s, round %d", run.Mode, i/2+1)
		landed := make([]string, len(run.Timeline))
		for j, c := range run.Timeline {
			landed[j] = c.String()
		}
		r.add("group", name, "%d promotions in %d commits (per stage: %s), all Released in %.1f s",
			run.Promotions, run.Commits, counts(intCounts(run.CommitsPerStage)), run.TrainSeconds)
		r.add("group", name, "controller CPU %.1f s, %.0f API-server writes, reconciles: %s",
			run.Controller.CPUSeconds, run.APIWrites, methods(nonZero(run.Reconciles)))
		r.add("group", name, "commits at %s", strings.Join(landed, "; "))
		if run.LaunchSeconds > 0 {
			r.add("group", name, "the Launch Released after %.1f s", run.LaunchSeconds)
		}
	}
	r.add("group", "launch over independent", "%.1f s over %.1f s (medians): %+.1f%% wall time (goal: under 10%%)", x.LaunchSeconds, x.IndependentSeconds, x.OverheadPercent)
}

// nonZero are the entries of m that are not 0.
func nonZero(m map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

func joinInts(v []int, sep string) string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, sep)
}

func joinFloats(v []float64) string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = strconv.FormatFloat(f, 'f', 1, 64)
	}
	return strings.Join(parts, ", ")
}

func intCounts(m map[string]int) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = int64(v)
	}
	return out
}

func (r *report) registry(x *registryResult) {
	r.Phases.Registry = x
	r.add("registry", "repositories discovering", "%d of %d tags each, every %s, watched %.0f s", x.Repositories, x.Tags, x.Interval, x.WatchedSeconds)
	r.add("registry", "push, then until every Release", "%.1f s, %.1f s", x.SetupSeconds, x.FirstSeconds)
	r.add("registry", "registry requests per poll", "%.2f (%d not modified of %.0f polls; %s)", x.RequestsPerPoll, x.NotModified, x.Polls, counts(x.Requests))
	r.add("registry", "controller", "CPU %.1f s while watched, RSS %.0f MiB, peak %.0f MiB", x.CPUSeconds, x.Controller.RSSMiB, x.Controller.PeakRSSMiB)
}

// counts renders requests by kind, sorted.
func counts(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func (r *report) idle(x *idleResult) {
	r.Phases.Idle = x
	r.add("idle", "releases waiting on QA", "%d, polled every %s, watched %.0f s", x.Releases, x.PollInterval, x.WatchedSeconds)
	r.add("idle", "until all waiting (first fetch)", "%.1f s", x.FirstFetchSecs)
	r.add("idle", "GitHub counted, whole phase", "%d", x.CountedWhole)
	r.add("idle", "GitHub counted after first fetch", "%d (+%d 304s)", x.CountedAfter, x.NotModifiedAfter)
	r.add("idle", "API-server writes after first fetch", "%.0f (%s)", x.APIWritesAfter, methods(x.APIByMethodAfter))
	r.add("idle", "controller", "CPU %.1f s while idle, RSS %.0f MiB, peak %.0f MiB", x.CPUSecondsAfter, x.Controller.RSSMiB, x.Controller.PeakRSSMiB)
}

func (r *report) memory(x *memoryResult) {
	r.Phases.Memory = x
	r.add("memory", "released Releases", "%d over %d pipelines (created in %.1f s)", x.Releases, x.Pipelines, x.CreateSecs)
	r.add("memory", "start to worked through", "%.1f s (%.0f reconciles, CPU %.1f s)", x.WorkSecs, x.Reconciles, x.CPUSeconds)
	r.add("memory", "controller RSS", "%.0f MiB (%.1f KiB per Release), peak %.0f MiB", x.RSSMiB, x.KiBPerRelease, x.PeakRSSMiB)
	r.add("memory", "GitHub counted / API writes", "%d / %.0f", x.GitHubCounted, x.APIWrites)
	r.add("memory", "heap profile", "%s", x.HeapProfile)
}

func (r *report) train(x *trainResult) {
	r.Phases.Train = x
	r.add("train", "services", "%d x %d stages, one GitOps repository, the controller as a process, GitHub's secondary limits enforced", x.Pipelines, x.Stages)
	byKey := map[string]*trainRun{}
	for _, run := range x.Runs {
		deployments := "deployments Disabled"
		if run.Deployments {
			deployments = "deployments Enabled"
		}
		byKey[run.Mode+" "+deployments] = run
		name := deployments + ", " + run.Mode
		r.add("train", name, "%d promotions in %d commits (%.1f per commit), all landed in %.1f s (%.0f an hour)", run.Promotions, run.Commits, run.PromotionsPerCommit, run.TrainSeconds, run.MeasuredPerHour)
		r.add("train", name, "%d content-generating requests, %.2f per promotion (%.1f promotions per request): %.0f promotions an hour per token",
			run.ContentGenerating, run.ContentPerPromotion, run.PromotionsPerContent, run.PromotionsPerHourPerToken)
		r.add("train", name, "%d secondary-limit refusals, %d after the first minute", run.SecondaryRefusals, run.RefusalsAfterFirstMinute)
		if run.Deployments {
			r.add("train", name, "rollback: analysis turned bad -> revert commit %.2f s (the token's minute at %d of 80)", run.RollbackSeconds, run.RollbackMinuteUse)
			r.add("train", name, "deployments %d of %d, %d with wrong statuses; at most %d records owed; all written after %.1f s",
				run.DeploymentsWritten, run.DeploymentsExpected, run.DeploymentsWrong, run.RecordsOwedMax, run.WallSeconds)
		}
		r.add("train", name, "promotions in no commit %d, in several %d; controller CPU %.1f s, peak RSS %.0f MiB",
			run.PromotionsInNoCommit, run.PromotionsInSeveralCommits, run.Controller.CPUSeconds, run.Controller.PeakRSSMiB)
	}
	for _, d := range []string{"deployments Disabled", "deployments Enabled"} {
		l, b := byKey["liftoff "+d], byKey["baseline "+d]
		if l != nil && b != nil {
			r.add("train", d+", liftoff / baseline", "%.1fx promotions an hour per token, %.1fx faster train", l.PromotionsPerHourPerToken/b.PromotionsPerHourPerToken, b.TrainSeconds/l.TrainSeconds)
		}
	}
}
