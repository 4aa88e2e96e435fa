package main

import (
	"context"
	"fmt"
)

// The group phase measures a Launch: -group-services services (a pipeline
// each) sharing one GitOps repository go dev -> staging -> prod as the
// members of one Launch, then, the same services again, as independent
// Releases. Both are trains (see train.go): a fresh simulator enforcing
// GitHub's secondary limits and a fresh controller as shipped (coalesced
// commits, the write budget), no gates, no GitHub deployment records (the
// train phase measures what those cost). It reports the commits holding
// each stage's promotions (the goal: one per repository, so one) and the
// Launch's wall time over the independent Releases'. The two alternate,
// -group-rounds times each: the wall times are a few seconds, so a round
// alone says little on a shared machine.

type groupResult struct {
	Services int `json:"services"`
	Stages   int `json:"stages"`
	// Runs alternate: independent Releases, then the Launch, -group-rounds
	// times.
	Runs []*trainRun `json:"runs"`
	// IndependentSeconds and LaunchSeconds are the medians of the runs'
	// wall times (until every Release is released).
	IndependentSeconds float64 `json:"independentSeconds"`
	LaunchSeconds      float64 `json:"launchSeconds"`
	// OverheadPercent is the Launch's median wall time over the
	// independent Releases', minus 100%.
	OverheadPercent float64 `json:"overheadPercent"`
}

func runGroup(ctx context.Context, w *world, o options) (*groupResult, error) {
	res := &groupResult{Services: o.groupServices, Stages: len(stageNames)}
	var independent, launched []float64
	for k := range 2 * o.groupRounds {
		launch := k%2 == 1
		t := &train{w: w, o: o, ns: fmt.Sprintf("bench-group-%d", k+1), phase: "group", services: o.groupServices,
			liftoff: true, group: true, launch: launch}
		r, err := t.run(ctx, "")
		if err != nil {
			return nil, err
		}
		res.Runs = append(res.Runs, r)
		if launch {
			launched = append(launched, r.TrainSeconds)
		} else {
			independent = append(independent, r.TrainSeconds)
		}
	}
	res.IndependentSeconds, res.LaunchSeconds = quantile(independent, 0.5), quantile(launched, 0.5)
	res.OverheadPercent = overhead(res.LaunchSeconds, res.IndependentSeconds)
	progress("group: the launch took %.1f s, the independent releases %.1f s (medians of %d): %+.1f%%", res.LaunchSeconds, res.IndependentSeconds, o.groupRounds, res.OverheadPercent)
	return res, nil
}

// overhead is how much longer took than base, in percent.
func overhead(took, base float64) float64 {
	if base <= 0 {
		return 0
	}
	return 100 * (took/base - 1)
}
