package analysis

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func cond(t *testing.T, src string) *Condition {
	t.Helper()
	c, err := CompileCondition(src)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConditions(t *testing.T) {
	tests := []struct {
		src  string
		v    Value
		want bool
	}{
		{"result < 0.01", Scalar(0.005), true},
		{"result < 0.01", Scalar(0.2), false},
		{"result.all(x, x < 0.5)", Value{Vector: []float64{0.1, 0.4}}, true},
		{"result.exists(x, x > 0.5)", Value{Vector: []float64{0.1, 0.9}}, true},
		{"size(result) >= 2", Value{Vector: []float64{1, 2}}, true},
	}
	for _, tt := range tests {
		got, err := cond(t, tt.src).Eval(tt.v)
		if err != nil || got != tt.want {
			t.Errorf("%s on %s = %v, %v; want %v", tt.src, tt.v, got, err, tt.want)
		}
	}
	for _, bad := range []string{"result <", "result + 1", "unknown > 1"} {
		if _, err := CompileCondition(bad); err == nil {
			t.Errorf("%q compiled", bad)
		}
	}
	// A condition that does not fit the value is an error, never a pass.
	if _, err := cond(t, "result < 1").Eval(Value{Vector: []float64{1, 2}}); err == nil {
		t.Error("comparing a list with a number must fail")
	}
}

func TestRenderQuery(t *testing.T) {
	q, err := RenderQuery(`sum(rate(http_requests_total{version="{{ .Version }}",stage="{{ .Stage }}"}[1m]))`, Vars{Version: "1.4.2", Stage: "prod"})
	if err != nil || q != `sum(rate(http_requests_total{version="1.4.2",stage="prod"}[1m]))` {
		t.Fatalf("%q %v", q, err)
	}
	if _, err := RenderQuery(`up{v="{{ .Versoin }}"}`, Vars{}); err == nil { //nolint:misspell // the misspelling is the case
		t.Fatal("a misspelt variable must be an error")
	}
	if _, err := RenderQuery(`up{v="{{ .Version }"}`, Vars{}); err == nil {
		t.Fatal("a broken template must be an error")
	}
}

// step is one measurement outcome fed to the bookkeeping.
type step struct {
	value float64 // NaN: no data
	err   bool
}

func TestBookkeeping(t *testing.T) {
	errRatio := func(noData NoDataPolicy, failureLimit int) Metric {
		return Metric{Name: "errors", SuccessCondition: cond(t, "result < 0.05"), FailureLimit: failureLimit, NoData: noData}
	}
	nan := math.NaN()
	tests := []struct {
		name   string
		metric Metric
		count  int
		steps  []step
		want   Phase
		after  int // measurements after which want holds
	}{
		{"healthy", errRatio("", 0), 3, []step{{value: 0.01}, {value: 0.02}, {value: 0.0}}, Succeeded, 3},
		{"one bad sample fails at once", errRatio("", 0), 3, []step{{value: 0.01}, {value: 0.3}}, Failed, 2},
		{"failure limit tolerates one", errRatio("", 1), 3, []step{{value: 0.3}, {value: 0.01}, {value: 0.01}}, Succeeded, 3},
		{"failure limit exceeded", errRatio("", 1), 5, []step{{value: 0.3}, {value: 0.01}, {value: 0.4}}, Failed, 3},
		{"no data fails by default", errRatio("", 0), 3, []step{{value: nan}}, Failed, 1},
		{"no data inconclusive", errRatio(NoDataInconclusive, 0), 3, []step{{value: 0.01}, {value: nan}}, Inconclusive, 2},
		{"no data pass", errRatio(NoDataPass, 0), 2, []step{{value: nan}, {value: nan}}, Succeeded, 2},
		{"errors below the limit are retried, not counted", errRatio("", 0), 2, []step{{err: true}, {err: true}, {value: 0.01}, {err: true}, {value: 0.02}}, Succeeded, 5},
		{"too many consecutive errors", errRatio("", 0), 2, []step{{err: true}, {err: true}, {err: true}, {err: true}, {err: true}}, Error, 5},
		{"errors never end as success", errRatio("", 0), 1, []step{{err: true}, {err: true}, {err: true}, {err: true}}, Running, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
			spec := &Spec{InitialDelay: time.Minute, Interval: 30 * time.Second, Count: tt.count, Metrics: []Metric{tt.metric}}
			st := Start(spec, t0)
			now := t0
			if due, wait := Due(spec, st, now); len(due) != 0 || wait != time.Minute {
				t.Fatalf("before the initial delay: due %v, wait %s", due, wait)
			}
			now = now.Add(time.Minute)
			for i, s := range tt.steps {
				due, _ := Due(spec, st, now)
				if len(due) != 1 {
					t.Fatalf("step %d: nothing due at %s (phase %s)", i, now, st.Phase)
				}
				var qerr error
				if s.err {
					qerr = errors.New("prometheus: connection refused")
				}
				Record(spec, st, 0, now, Scalar(s.value), qerr)
				if i+1 < tt.after && st.Phase != Running {
					t.Fatalf("step %d: phase %s before the end (%s)", i, st.Phase, st.Message)
				}
				if _, wait := Due(spec, st, now); st.Phase == Running && wait != 30*time.Second {
					t.Fatalf("step %d: next measurement in %s, want the interval", i, wait)
				}
				now = now.Add(30 * time.Second)
			}
			if st.Phase != tt.want {
				t.Fatalf("phase %s (%s), want %s", st.Phase, st.Message, tt.want)
			}
			if st.Phase != Running && st.Phase != Succeeded && !strings.Contains(st.Message, "metric errors") {
				t.Fatalf("message %q does not name the metric", st.Message)
			}
		})
	}
}

func TestMeasurementsAreBoundedAndStateResumes(t *testing.T) {
	spec := &Spec{Interval: time.Second, Count: 50, Metrics: []Metric{{Name: "m", NoData: NoDataPass}}}
	t0 := time.Unix(0, 0)
	st := Start(spec, t0)
	for i := 0; i < 25; i++ {
		Record(spec, st, 0, t0.Add(time.Duration(i)*time.Second), Scalar(1), nil)
	}
	m := st.Metrics[0]
	if len(m.Measurements) != MaxMeasurements || m.Count != 25 || m.Successes != 25 {
		t.Fatalf("kept %d measurements, count %d", len(m.Measurements), m.Count)
	}
	// A restarted controller holding only the recorded state knows the next due time.
	if due, wait := Due(spec, st, t0.Add(24*time.Second+500*time.Millisecond)); len(due) != 0 || wait != 500*time.Millisecond {
		t.Fatalf("due %v wait %s", due, wait)
	}
}

func TestWorstMetricDecides(t *testing.T) {
	spec := &Spec{Count: 1, Metrics: []Metric{
		{Name: "latency", SuccessCondition: cond(t, "result < 300")},
		{Name: "errors", FailureCondition: cond(t, "result > 0.05")},
	}}
	st := Start(spec, time.Unix(0, 0))
	Record(spec, st, 0, time.Unix(1, 0), Scalar(120), nil)
	if st.Phase != Running {
		t.Fatalf("one metric left: %s", st.Phase)
	}
	Record(spec, st, 1, time.Unix(1, 0), Scalar(0.2), nil)
	if st.Phase != Failed || !strings.Contains(st.Message, "metric errors Failed") || !strings.Contains(st.Message, "failureCondition result > 0.05 is true (value 0.2)") {
		t.Fatalf("%s: %s", st.Phase, st.Message)
	}
}
