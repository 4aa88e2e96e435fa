package analysis

import (
	"math"
	"testing"
)

// A measured value reads as people write it, whatever binary rounding the
// query's arithmetic left in it.
func TestFormatNumber(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{
		{0.1 + 0.2, "0.3"},
		{0.30000000000000004, "0.3"},
		{1 - 0.9, "0.1"},
		{0.05, "0.05"},
		{0.0512345, "0.05123"},
		{0.050001, "0.05"},
		{99.95, "99.95"},
		{99.99999999999999, "100"},
		{1, "1"},
		{-2.5, "-2.5"},
		{1234.5678, "1235"},
		{9999.6, "10000"},
		{12345.678, "12346"},
		{-98765.4, "-98765"},
		{1e15, "1e+15"},
		{0.00012346, "0.0001235"},
		{0.000012345, "1.234e-05"},
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "+Inf"},
		{math.Inf(-1), "-Inf"},
	} {
		if got := FormatNumber(tt.v); got != tt.want {
			t.Errorf("FormatNumber(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

// Status, messages and notifications show a measurement's value through
// Value.String: the same human precision for a scalar and for a vector.
func TestValueReadsAsPeopleWriteIt(t *testing.T) {
	for _, tt := range []struct {
		v    Value
		want string
	}{
		{Scalar(0.1 + 0.2), "0.3"},
		{Value{Vector: []float64{0.1 + 0.2, 1.0 / 3, 12}}, "[0.3 0.3333 12]"},
		{Value{Vector: []float64{}}, "[]"},
	} {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.v.Vector, got, tt.want)
		}
	}
	// The message of a failed measurement, which rollbacks and notifications quote.
	m := Measure(&Metric{Name: "errors", FailureCondition: cond(t, "result > 0.25")}, Scalar(0.1+0.2), nil)
	if m.Value != "0.3" || m.Phase != Failed {
		t.Errorf("measurement %+v, want value 0.3, Failed", m)
	}
}
