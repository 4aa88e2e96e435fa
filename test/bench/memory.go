package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

// memoryResult: the controller's memory once it holds and has worked
// through many finished Releases.
type memoryResult struct {
	Releases      int     `json:"releases"`
	Pipelines     int     `json:"pipelines"`
	CreateSecs    float64 `json:"createSeconds"`
	WorkSecs      float64 `json:"workThroughSeconds"`
	RSSMiB        float64 `json:"rssMiB"`
	PeakRSSMiB    float64 `json:"peakRSSMiB"`
	CPUSeconds    float64 `json:"cpuSeconds"`
	KiBPerRelease float64 `json:"rssKiBPerRelease"`
	Reconciles    float64 `json:"reconciles"`
	GitHubCounted int     `json:"githubCounted"`
	APIWrites     float64 `json:"apiWrites"`
	HeapProfile   string  `json:"heapProfile"`
}

func runMemory(ctx context.Context, w *world, o options) (*memoryResult, error) {
	n := o.memoryReleases
	pipelines := max(1, min(o.pipelines, n))
	progress("memory: %d released Releases over %d pipelines", n, pipelines)
	ns := "bench-memory"
	apps, err := w.setupApps(ctx, ns, "mm", pipelines, nil, prodTargets{})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := w.createReleases(ctx, apps, n, finishedStatus); err != nil {
		return nil, err
	}
	res := &memoryResult{Releases: n, Pipelines: pipelines, CreateSecs: time.Since(start).Seconds()}
	progress("memory: created in %.1fs; starting the controller", res.CreateSecs)

	w.sim.ResetStats()
	start = time.Now()
	c, err := w.startController(ctx, o, "memory", 0)
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.stopController(context.Background(), c) }()
	var m metrics
	for {
		if m, err = c.scrape(); err != nil {
			return nil, err
		}
		done := m.sum("controller_runtime_reconcile_total", map[string]string{"controller": "release"})
		depth := m.sum("workqueue_depth", map[string]string{"name": "release"})
		if done >= float64(n) && depth == 0 {
			res.Reconciles = done
			break
		}
		if time.Since(start) > o.timeout {
			w.failed = true
			return nil, fmt.Errorf("%.0f of %d releases reconciled after %s (queue depth %.0f)", done, n, o.timeout, depth)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	res.WorkSecs = time.Since(start).Seconds()
	st, err := c.stats()
	if err != nil {
		return nil, err
	}
	res.RSSMiB, res.PeakRSSMiB, res.CPUSeconds = st.RSSMiB, st.PeakRSSMiB, st.CPUSeconds
	res.KiBPerRelease = st.RSSMiB * 1024 / float64(n)
	res.GitHubCounted = w.sim.Requests().Counted
	_, res.APIWrites = apiWrites(nil, m)
	res.HeapProfile = strings.TrimSuffix(o.out, filepath.Ext(o.out)) + "-heap.pprof"
	if err := c.saveHeap(res.HeapProfile); err != nil {
		return nil, fmt.Errorf("heap profile: %w", err)
	}
	progress("memory: worked through in %.1fs; RSS %.0f MiB, peak %.0f MiB; heap profile in %s", res.WorkSecs, res.RSSMiB, res.PeakRSSMiB, res.HeapProfile)
	if err := w.stopController(ctx, c); err != nil {
		return nil, err
	}
	return res, w.clean(ctx, ns)
}

// finishedStatus is the status Liftoff leaves on a Release that went through
// the three stages: gates, promotion commits and deployments, conditions.
func finishedStatus(rel *releasev1.Release, k int) releasev1.ReleaseStatus {
	base := time.Now().Add(-time.Duration(1000-k) * time.Hour).Truncate(time.Second)
	at := func(d time.Duration) *metav1.Time { t := metav1.NewTime(base.Add(d)); return &t }
	sha := func(salt string) string {
		s := fmt.Sprintf("%x", []byte(fmt.Sprintf("%s/%s/%s", rel.Name, salt, strings.Repeat("0", 20))))
		return s[:40]
	}
	st := releasev1.ReleaseStatus{
		ObservedGeneration: 1, Phase: releasev1.PhaseReleased, CurrentStage: "prod",
		Commit: sha("release"), PipelineGeneration: 1,
	}
	for i, name := range stageNames {
		offset := time.Duration(i) * 10 * time.Minute
		st.Stages = append(st.Stages, releasev1.ReleaseStageStatus{
			Name: name, Phase: releasev1.StagePromoted,
			Message: fmt.Sprintf("%s is live in %s since commit %s", rel.Spec.Version, name, sha(name)[:7]),
			Gates: []releasev1.GateStatus{{
				Name: gates.NameChecks, Status: releasev1.GatePassed, Reason: "ChecksPassed",
				Message: "all required checks passed: qa (success)", URL: fmt.Sprintf("https://github.com/bench/%s/runs/%d", rel.Spec.Pipeline, 1000+k),
				LastChecked: at(offset),
			}},
			Promotion: &releasev1.PromotionStatus{
				Commit: sha(name), DeploymentID: int64(100000 + k*3 + i), PreviousVersion: version(k - 1),
				StartedAt: at(offset), CompletedAt: at(offset + 2*time.Second),
			},
		})
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Released",
		Message: fmt.Sprintf("%s is live in every stage", rel.Spec.Version), ObservedGeneration: 1, LastTransitionTime: *at(30 * time.Minute)})
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: "Progressing", Status: metav1.ConditionFalse, Reason: "Released",
		Message: "nothing left to promote", ObservedGeneration: 1, LastTransitionTime: *at(30 * time.Minute)})
	return st
}
