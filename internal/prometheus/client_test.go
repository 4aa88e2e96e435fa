package prometheus

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/liftoff-dev/liftoff/internal/analysis"
	"github.com/liftoff-dev/liftoff/internal/prometheus/promtest"
)

// Against a real Prometheus scraping a real target.
func TestQueryAgainstPrometheus(t *testing.T) {
	target := promtest.NewTarget("1.4.2")
	defer target.Close()
	target.Set("1.4.2", 0.02)
	prom := promtest.Start(t, 200*time.Millisecond, target.Addr())
	c, err := New(prom.URL, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	query, err := analysis.RenderQuery(`demo_error_ratio{version="{{ .Version }}"}`, analysis.Vars{Version: "1.4.2"})
	if err != nil {
		t.Fatal(err)
	}
	// Wait for the first scrape.
	deadline := time.Now().Add(30 * time.Second)
	var v analysis.Value
	for {
		if v, err = c.Query(ctx, query, time.Now()); err == nil && !v.NoData() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sample after 30s: %v %v", v, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v.Scalar == nil || *v.Scalar != 0.02 {
		t.Fatalf("value %s", v)
	}
	ok, _ := analysis.CompileCondition("result < 0.05")
	if good, err := ok.Eval(v); err != nil || !good {
		t.Fatalf("condition: %v %v", good, err)
	}

	t.Run("vector", func(t *testing.T) {
		v, err := c.Query(ctx, "demo_latency_seconds", time.Now())
		if err != nil || len(v.Vector) != 2 || v.Scalar != nil {
			t.Fatalf("%+v %v", v, err)
		}
	})
	t.Run("scalar", func(t *testing.T) {
		v, err := c.Query(ctx, "scalar(demo_error_ratio) * 100", time.Now())
		if err != nil || v.Scalar == nil || *v.Scalar != 2 {
			t.Fatalf("%+v %v", v, err)
		}
	})
	t.Run("no data", func(t *testing.T) {
		v, err := c.Query(ctx, `demo_error_ratio{version="9.9.9"}`, time.Now())
		if err != nil || !v.NoData() {
			t.Fatalf("%+v %v", v, err)
		}
	})
	t.Run("query that does not compile", func(t *testing.T) {
		if _, err := c.Query(ctx, "sum(demo_error_ratio", time.Now()); err == nil || !strings.Contains(err.Error(), "parse error") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("range vector", func(t *testing.T) {
		if _, err := c.Query(ctx, "demo_error_ratio[1m]", time.Now()); err == nil || !strings.Contains(err.Error(), "range vector") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("prometheus down", func(t *testing.T) {
		prom.Stop()
		if _, err := c.Query(ctx, query, time.Now()); err == nil {
			t.Fatal("a stopped Prometheus must be an error")
		}
	})
}

func TestNewRefusesBadAddress(t *testing.T) {
	if _, err := New("prometheus:9090", nil, 0); err == nil {
		t.Fatal("address without scheme accepted")
	}
}
