// Package analysis decides, measurement by measurement, whether a promoted
// version is healthy. It is pure bookkeeping over an injected time: the
// controller queries Prometheus and hands each outcome here; this package
// says what the measurement was, what each metric and the whole analysis
// became, and when to measure next.
package analysis

import (
	"bytes"
	"fmt"
	"math"
	"text/template"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
)

// Condition is a compiled CEL expression over `result`: a double for a
// scalar or single-sample query, a list of doubles for a vector.
type Condition struct {
	src string
	prg cel.Program
}

var env = func() *cel.Env {
	e, err := cel.NewEnv(cel.Variable("result", cel.DynType))
	if err != nil {
		panic(err)
	}
	return e
}()

// CompileCondition parses and type-checks a condition; the error says what is
// wrong, for admission and for Stalled conditions.
func CompileCondition(src string) (*Condition, error) {
	if src == "" {
		return nil, nil
	}
	ast, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("condition %q does not compile: %v", src, iss.Err())
	}
	if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
		return nil, fmt.Errorf("condition %q must be a boolean expression, it gives %s", src, t)
	}
	prg, err := env.Program(ast, cel.CostLimit(100000))
	if err != nil {
		return nil, fmt.Errorf("condition %q: %v", src, err)
	}
	return &Condition{src: src, prg: prg}, nil
}

// Eval evaluates the condition on a value.
func (c *Condition) Eval(v Value) (bool, error) {
	out, _, err := c.prg.Eval(map[string]any{"result": v.cel()})
	if err != nil {
		return false, fmt.Errorf("condition %q on %s: %v", c.src, v, err)
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("condition %q on %s gave %v, not a boolean", c.src, v, out)
	}
	return bool(b), nil
}

// Value is what one query returned.
type Value struct {
	// Scalar is set for a scalar, or a vector with exactly one sample.
	Scalar *float64
	// Vector holds every sample of a vector result.
	Vector []float64
}

// NoData reports an empty result: no series, or NaN.
func (v Value) NoData() bool {
	if v.Scalar != nil {
		return math.IsNaN(*v.Scalar)
	}
	return len(v.Vector) == 0
}

func (v Value) cel() any {
	if v.Scalar != nil {
		return *v.Scalar
	}
	out := make([]float64, len(v.Vector))
	copy(out, v.Vector)
	return out
}

// String is the value for people (FormatNumber), as status and messages show it.
func (v Value) String() string {
	if v.Scalar != nil {
		return FormatNumber(*v.Scalar)
	}
	return formatNumbers(v.Vector)
}

// Scalar is a Value holding one number.
func Scalar(f float64) Value { return Value{Scalar: &f, Vector: []float64{f}} }

// Vars are what a query template can use.
type Vars struct {
	Version, PreviousVersion, Stage, Release string
	// Targets names the targets of the wave being verified, as a regular
	// expression ("prod-eu-1|prod-eu-2") for a label matcher such as
	// cluster=~"{{ .Targets }}"; "" for a stage with one target.
	Targets string
}

// RenderQuery expands a query template ({{ .Version }}, ...). A reference to
// anything else is an error, never an empty string in a query.
func RenderQuery(query string, vars Vars) (string, error) {
	t, err := template.New("query").Option("missingkey=error").Parse(query)
	if err != nil {
		return "", fmt.Errorf("query template: %v", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, vars); err != nil {
		return "", fmt.Errorf("query template: %v", err)
	}
	return b.String(), nil
}
