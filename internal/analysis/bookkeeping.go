package analysis

import (
	"fmt"
	"time"
)

// Phase of a measurement, a metric or a whole analysis.
type Phase string

// Phases.
const (
	Running      Phase = "Running"
	Successful   Phase = "Successful" // one measurement
	Succeeded    Phase = "Succeeded"  // a metric or the analysis
	Failed       Phase = "Failed"
	Inconclusive Phase = "Inconclusive"
	Error        Phase = "Error"
)

// NoDataPolicy says what an empty result counts as.
type NoDataPolicy string

// No-data policies. Fail is the default: no data is never a silent pass.
const (
	NoDataFail         NoDataPolicy = "Fail"
	NoDataInconclusive NoDataPolicy = "Inconclusive"
	NoDataPass         NoDataPolicy = "Pass"
)

// DefaultConsecutiveErrorLimit is how many errors in a row a metric tolerates.
const DefaultConsecutiveErrorLimit = 4

// MaxMeasurements bounds the measurements kept per metric.
const MaxMeasurements = 10

// Metric is one metric of an analysis, compiled.
type Metric struct {
	Name             string
	Query            string
	SuccessCondition *Condition
	FailureCondition *Condition
	// FailureLimit is how many failed measurements are tolerated.
	FailureLimit int
	NoData       NoDataPolicy
}

// Spec is an analysis: every metric is measured Count times, Interval apart,
// starting InitialDelay after the start.
type Spec struct {
	InitialDelay          time.Duration
	Interval              time.Duration
	Count                 int
	ConsecutiveErrorLimit int
	Metrics               []Metric
}

// Measurement is one query's outcome.
type Measurement struct {
	At      time.Time
	Value   string
	Phase   Phase
	Message string
}

// MetricState is the running record of one metric; it lives in status so a
// restarted controller resumes counting where it was.
type MetricState struct {
	Name              string
	Phase             Phase
	Count             int
	Successes         int
	Failures          int
	Inconclusives     int
	Errors            int
	ConsecutiveErrors int
	Measurements      []Measurement
}

// State is the running record of an analysis.
type State struct {
	StartedAt time.Time
	Phase     Phase
	Message   string
	Metrics   []MetricState
}

// Start begins an analysis at now.
func Start(spec *Spec, now time.Time) *State {
	st := &State{StartedAt: now, Phase: Running}
	for _, m := range spec.Metrics {
		st.Metrics = append(st.Metrics, MetricState{Name: m.Name, Phase: Running})
	}
	return st
}

func (s *Spec) count() int {
	if s.Count < 1 {
		return 1
	}
	return s.Count
}

func (s *Spec) errorLimit() int {
	if s.ConsecutiveErrorLimit < 1 {
		return DefaultConsecutiveErrorLimit
	}
	return s.ConsecutiveErrorLimit
}

// Due reports which metrics are due for a measurement at now, and how long
// until the next one is due when none is.
func Due(spec *Spec, st *State, now time.Time) ([]int, time.Duration) {
	var due []int
	wait := time.Duration(-1)
	for i := range st.Metrics {
		m := &st.Metrics[i]
		if m.Phase != Running {
			continue
		}
		next := st.StartedAt.Add(spec.InitialDelay)
		if n := len(m.Measurements); n > 0 {
			next = m.Measurements[n-1].At.Add(spec.Interval)
		}
		if !now.Before(next) {
			due = append(due, i)
			continue
		}
		if w := next.Sub(now); wait < 0 || w < wait {
			wait = w
		}
	}
	if wait < 0 {
		wait = 0
	}
	return due, wait
}

// Record books one outcome of metric i at now: a value, or the error the
// query (or Prometheus) gave. It updates the metric's and the analysis's phase.
func Record(spec *Spec, st *State, i int, now time.Time, v Value, queryErr error) Measurement {
	metric, m := &spec.Metrics[i], &st.Metrics[i]
	meas := Measure(metric, v, queryErr)
	meas.At = now
	m.Count++
	switch meas.Phase {
	case Error:
		m.Errors++
		m.ConsecutiveErrors++
	case Successful:
		m.Successes++
		m.ConsecutiveErrors = 0
	case Failed:
		m.Failures++
		m.ConsecutiveErrors = 0
	case Inconclusive:
		m.Inconclusives++
		m.ConsecutiveErrors = 0
	}
	m.Measurements = append(m.Measurements, meas)
	if len(m.Measurements) > MaxMeasurements {
		m.Measurements = m.Measurements[len(m.Measurements)-MaxMeasurements:]
	}
	// Errors do not count toward Count: an analysis that never measured
	// must not end as if it had.
	measured := m.Successes + m.Failures + m.Inconclusives
	switch {
	case m.ConsecutiveErrors > spec.errorLimit():
		m.Phase = Error
	case m.Failures > metric.FailureLimit:
		m.Phase = Failed
	case m.Inconclusives > 0:
		m.Phase = Inconclusive
	case measured >= spec.count():
		m.Phase = Succeeded
	}
	st.Phase, st.Message = summarise(st)
	return meas
}

// Measure judges one outcome of a metric's query, without bookkeeping.
func Measure(metric *Metric, v Value, queryErr error) Measurement {
	if queryErr != nil {
		return Measurement{Phase: Error, Message: queryErr.Error()}
	}
	if v.NoData() {
		switch metric.NoData {
		case NoDataPass:
			return Measurement{Phase: Successful, Message: "no data (noData: Pass)"}
		case NoDataInconclusive:
			return Measurement{Phase: Inconclusive, Message: "no data (noData: Inconclusive)"}
		}
		return Measurement{Phase: Failed, Message: "no data (noData: Fail)"}
	}
	out := Measurement{Value: v.String()}
	if metric.FailureCondition != nil {
		bad, err := metric.FailureCondition.Eval(v)
		if err != nil {
			return Measurement{Value: out.Value, Phase: Error, Message: err.Error()}
		}
		if bad {
			out.Phase, out.Message = Failed, "failureCondition "+metric.FailureCondition.src+" is true"
			return out
		}
	}
	if metric.SuccessCondition != nil {
		good, err := metric.SuccessCondition.Eval(v)
		if err != nil {
			return Measurement{Value: out.Value, Phase: Error, Message: err.Error()}
		}
		if !good {
			out.Phase, out.Message = Failed, "successCondition "+metric.SuccessCondition.src+" is false"
			return out
		}
	}
	out.Phase = Successful
	return out
}

// summarise folds the metrics: Error, then Failed, then Inconclusive, then
// Running; Succeeded only when every metric succeeded.
func summarise(st *State) (Phase, string) {
	rank := map[Phase]int{Error: 4, Failed: 3, Inconclusive: 2, Running: 1, Succeeded: 0}
	worst, who := Succeeded, ""
	for _, m := range st.Metrics {
		if rank[m.Phase] > rank[worst] {
			worst, who = m.Phase, m.Name
		}
	}
	switch worst {
	case Succeeded:
		return Succeeded, fmt.Sprintf("%d metrics succeeded", len(st.Metrics))
	case Running:
		return Running, "measuring"
	}
	m := st.metric(who)
	last := ""
	if n := len(m.Measurements); n > 0 {
		last = ": " + m.Measurements[n-1].Message
		if v := m.Measurements[n-1].Value; v != "" {
			last += " (value " + v + ")"
		}
	}
	return worst, fmt.Sprintf("metric %s %s after %d measurements (%d failed, %d errors)%s", who, worst, m.Count, m.Failures, m.Errors, last)
}

func (st *State) metric(name string) *MetricState {
	for i := range st.Metrics {
		if st.Metrics[i].Name == name {
			return &st.Metrics[i]
		}
	}
	return nil
}
