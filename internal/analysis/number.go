package analysis

import (
	"math"
	"strconv"
	"strings"
)

// significantDigits is how many digits of a measured value people read:
// enough to tell 0.0512 from 0.05, few enough that 0.1+0.2 reads 0.3.
const significantDigits = 4

// FormatNumber writes a measured value for people, everywhere one is
// printed (status, messages, notifications, postmortems): up to four
// significant digits without trailing zeros (0.3, 0.0512, 99.95), whole
// numbers from 10,000 on rounded to the unit (12346), an exponent only for
// the very small or very large (1.235e-07), and NaN, +Inf, -Inf as
// Prometheus writes them. strconv's shortest form ('g', -1) would print
// the binary rounding error of a sum or a ratio: 0.30000000000000004.
func FormatNumber(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case v == 0:
		return "0" // also -0
	}
	abs := math.Abs(v)
	if abs >= 1e4 && abs < 1e15 {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	if abs >= 1e-4 && abs < 1e4 {
		// Round to the significant digits, then print without exponent and
		// without the zeros that rounding leaves at the end.
		decimals := significantDigits - 1 - int(math.Floor(math.Log10(abs)))
		s := strconv.FormatFloat(v, 'f', max(decimals, 0), 64)
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		return s
	}
	return strconv.FormatFloat(v, 'g', significantDigits, 64)
}

// formatNumbers writes a vector's values as FormatNumber does, in brackets.
func formatNumbers(vs []float64) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = FormatNumber(v)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
