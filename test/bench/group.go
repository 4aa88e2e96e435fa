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
// Launch's wall time over the independent Releases'.

type groupResult struct {
	Services    int       `json:"services"`
	Stages      int       `json:"stages"`
	Independent *trainRun `json:"independent"`
	Launch      *trainRun `json:"launch"`
	// OverheadPercent is the Launch's wall time (until every member is
	// released) over the independent Releases', minus 100%.
	OverheadPercent float64 `json:"overheadPercent"`
}

func runGroup(ctx context.Context, w *world, o options) (*groupResult, error) {
	res := &groupResult{Services: o.groupServices, Stages: len(stageNames)}
	for k, launch := range []bool{false, true} {
		t := &train{w: w, o: o, ns: fmt.Sprintf("bench-group-%d", k+1), phase: "group", services: o.groupServices,
			liftoff: true, group: true, launch: launch}
		r, err := t.run(ctx, "")
		if err != nil {
			return nil, err
		}
		if launch {
			res.Launch = r
		} else {
			res.Independent = r
		}
	}
	res.OverheadPercent = overhead(res.Launch.TrainSeconds, res.Independent.TrainSeconds)
	progress("group: the launch took %.1f s, the independent releases %.1f s: %+.1f%%", res.Launch.TrainSeconds, res.Independent.TrainSeconds, res.OverheadPercent)
	return res, nil
}

// overhead is how much longer took than base, in percent.
func overhead(took, base float64) float64 {
	if base <= 0 {
		return 0
	}
	return 100 * (took/base - 1)
}
