package promotion

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// coalescedCommits counts the commits the coalescers made by how many
// promotions each holds: how much coalescing saves.
var coalescedCommits = prometheus.NewHistogram(prometheus.HistogramOpts{
	Name:    "liftoff_coalesced_commit_promotions",
	Help:    "Promotions per commit the coalescers made (one content-generating request each).",
	Buckets: []float64{1, 2, 3, 5, 10, 20, 50, 100},
})

func init() { metrics.Registry.MustRegister(coalescedCommits) }
