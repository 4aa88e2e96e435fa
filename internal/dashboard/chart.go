package dashboard

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"

	"github.com/liftoff-dev/liftoff/internal/analysis"
)

// Chart is one analysis metric: its measurements against its condition.
type Chart struct {
	Metric       string        `json:"metric"`
	Phase        string        `json:"phase"`
	Condition    string        `json:"condition,omitempty"`
	Summary      string        `json:"summary"`
	SVG          template.HTML `json:"-"`
	Measurements []Measurement `json:"measurements"`
}

// Measurement is one row of a chart's table (the chart's text alternative).
type Measurement struct {
	At      string `json:"at"`
	Phase   string `json:"phase"`
	Value   string `json:"value,omitempty"`
	Message string `json:"message,omitempty"`
}

func measurementRows(m releasev1.MetricStatus, loc *time.Location) []Measurement {
	out := make([]Measurement, 0, len(m.Measurements))
	for _, ms := range m.Measurements {
		out = append(out, Measurement{At: stamp(ms.At.Time, loc), Phase: ms.Phase, Value: ms.Value, Message: ms.Message})
	}
	return out
}

func conditionText(m releasev1.AnalysisMetric) string {
	var parts []string
	if m.SuccessCondition != "" {
		parts = append(parts, "success when "+m.SuccessCondition)
	}
	if m.FailureCondition != "" {
		parts = append(parts, "failure when "+m.FailureCondition)
	}
	return strings.Join(parts, "; ")
}

var (
	thresholdRight = regexp.MustCompile(`result\s*(<=|>=|<|>|==)\s*(-?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)`)
	thresholdLeft  = regexp.MustCompile(`(-?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(<=|>=|<|>|==)\s*result`)
)

// thresholds finds the numbers a condition compares result with
// ("result < 0.05", "0.9 <= result"); a condition of another shape draws no line.
func thresholds(cond string) []float64 {
	var out []float64
	for _, m := range thresholdRight.FindAllStringSubmatch(cond, -1) {
		if f, err := strconv.ParseFloat(m[2], 64); err == nil {
			out = append(out, f)
		}
	}
	for _, m := range thresholdLeft.FindAllStringSubmatch(cond, -1) {
		if f, err := strconv.ParseFloat(m[1], 64); err == nil {
			out = append(out, f)
		}
	}
	return out
}

const (
	chartW, chartH         = 480, 180
	padL, padR, padT, padB = 56, 16, 14, 30
)

// chartSVG draws the measurements (newest right) as points coloured by
// their phase, joined by a line, with each threshold of the condition as a
// dashed line. Values that are not a number (a vector) are left out of the
// drawing; the table next to it lists every measurement.
func chartSVG(m releasev1.MetricStatus, cond string, loc *time.Location) string {
	type pt struct {
		v     float64
		phase string
		at    time.Time
	}
	var pts []pt
	for _, ms := range m.Measurements {
		f, err := strconv.ParseFloat(strings.TrimSpace(ms.Value), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		pts = append(pts, pt{f, ms.Phase, ms.At.Time})
	}
	lines := thresholds(cond)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		lo, hi = math.Min(lo, p.v), math.Max(hi, p.v)
	}
	for _, t := range lines {
		lo, hi = math.Min(lo, t), math.Max(hi, t)
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	if lo > 0 && lo < (hi-lo) {
		lo = 0 // ratios and counts read best from zero
	}
	if hi == lo {
		hi = lo + 1
	}
	span := hi - lo
	hi += span * 0.1
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	y := func(v float64) float64 { return padT + plotH*(1-(v-lo)/(hi-lo)) }
	x := func(i int) float64 {
		if len(pts) <= 1 {
			return padL + plotW/2
		}
		return padL + plotW*float64(i)/float64(len(pts)-1)
	}
	var b strings.Builder
	title := fmt.Sprintf("%s: %d measurements", m.Name, len(m.Measurements))
	if cond != "" {
		title += ", " + cond
	}
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		chartW, chartH, chartW, chartH, html.EscapeString(title))
	fmt.Fprintf(&b, `<title>%s</title>`, html.EscapeString(title))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" class="plot"/>`, padL, padT, plotW, plotH)
	for _, v := range []float64{lo, (lo + hi) / 2, hi} {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" class="axis" text-anchor="end">%s</text>`, padL-6, y(v)+4, formatValue(v))
	}
	for _, t := range lines {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="threshold"/>`, padL, chartW-padR, y(t), y(t))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" class="threshold-label" text-anchor="end">%s</text>`, chartW-padR-4, y(t)-4, html.EscapeString(formatValue(t)))
	}
	if len(pts) > 1 {
		b.WriteString(`<polyline class="series" points="`)
		for i, p := range pts {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(i), y(p.v))
		}
		b.WriteString(`"/>`)
	}
	for i, p := range pts {
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="5" class="m-%s"><title>%s %s: %s</title></circle>`,
			x(i), y(p.v), strings.ToLower(html.EscapeString(p.phase)), stamp(p.at, loc), html.EscapeString(p.phase), formatValue(p.v))
	}
	if len(pts) > 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="axis">%s</text>`, padL, chartH-8, stamp(pts[0].at, loc))
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<text x="%d" y="%d" class="axis" text-anchor="end">%s</text>`, chartW-padR, chartH-8, stamp(pts[len(pts)-1].at, loc))
		}
	} else {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="axis" text-anchor="middle">no numeric measurement yet</text>`, chartW/2, chartH/2)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func formatValue(v float64) string {
	return analysis.FormatNumber(v)
}
