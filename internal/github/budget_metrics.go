package github

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	budgetWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "liftoff_github_write_budget_writes_total",
		Help: "Content-generating GitHub requests the write budget let through, per credential and priority.",
	}, []string{"credential", "priority"})
	budgetRefusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "liftoff_github_write_budget_refusals_total",
		Help: "Writes sent away, per credential and priority: by=budget, told to come back at the next slot without calling GitHub; by=github, refused by a GitHub secondary rate limit.",
	}, []string{"credential", "priority", "by"})
	budgetWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "liftoff_github_write_budget_wait_seconds",
		Help:    "How long writes waited for their slot in the write budget, per priority.",
		Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60},
	}, []string{"priority"})

	budgetAvailableDesc = prometheus.NewDesc("liftoff_github_write_budget_available",
		"Content-generating requests left in the write budget's sliding window (minute, hour), per credential.", []string{"credential", "window"}, nil)
	budgetWaitingDesc = prometheus.NewDesc("liftoff_github_write_budget_waiting",
		"Writes waiting for a slot in the write budget, per credential and priority.", []string{"credential", "priority"}, nil)
	budgets = &budgetCollector{byCredential: map[string]*Budget{}}
)

func init() {
	metrics.Registry.MustRegister(budgetWrites, budgetRefusals, budgetWait, budgets)
}

// budgetCollector reports every credential's budget as it is when scraped:
// its windows slide without any write happening.
type budgetCollector struct {
	mu           sync.Mutex
	byCredential map[string]*Budget
}

// registerBudget makes b the budget reported for its credential.
func registerBudget(b *Budget) {
	budgets.mu.Lock()
	defer budgets.mu.Unlock()
	budgets.byCredential[b.credential] = b
}

func (c *budgetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- budgetAvailableDesc
	ch <- budgetWaitingDesc
}

func (c *budgetCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	list := make([]*Budget, 0, len(c.byCredential))
	for _, b := range c.byCredential {
		list = append(list, b)
	}
	c.mu.Unlock()
	for _, b := range list {
		available, waiting := b.snapshot()
		for window, n := range available {
			ch <- prometheus.MustNewConstMetric(budgetAvailableDesc, prometheus.GaugeValue, float64(n), b.credential, window)
		}
		for p, n := range waiting {
			ch <- prometheus.MustNewConstMetric(budgetWaitingDesc, prometheus.GaugeValue, float64(n), b.credential, Priority(p).String())
		}
	}
}
