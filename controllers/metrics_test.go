package controllers_test

import (
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// counterValue reads the counter name whose labels include want from
// controller-runtime's registry, as the metrics endpoint serves it; 0 when
// no such series exists yet.
func counterValue(name string, want map[string]string) float64 {
	families, err := metrics.Registry.Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
