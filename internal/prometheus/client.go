// Package prometheus queries a Prometheus server for analysis. Every answer
// that is not a clean number is an error (unreachable, 4xx/5xx, a query that
// does not compile, a warning, a range vector): an analysis counts errors
// against its limit and never takes one for success.
package prometheus

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/liftoff-dev/liftoff/internal/analysis"
)

var queriesTotal = prom.NewCounterVec(prom.CounterOpts{
	Name: "liftoff_prometheus_queries_total",
	Help: "Prometheus queries by outcome: ok, no_data, error, warning.",
}, []string{"outcome"})

func init() { metrics.Registry.MustRegister(queriesTotal) }

// Client queries one Prometheus server.
type Client struct {
	api     v1.API
	timeout time.Duration
}

// New returns a client for the server at address (http://host:9090).
// headers are added to every request (for example Authorization).
func New(address string, headers map[string]string, timeout time.Duration) (*Client, error) {
	if !strings.HasPrefix(address, "http://") && !strings.HasPrefix(address, "https://") {
		return nil, fmt.Errorf("prometheus address %q is not an http(s) URL", address)
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	rt := http.DefaultTransport
	if len(headers) > 0 {
		rt = headerTransport{next: rt, headers: headers}
	}
	c, err := api.NewClient(api.Config{Address: address, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %s: %w", address, err)
	}
	return &Client{api: v1.NewAPI(c), timeout: timeout}, nil
}

type headerTransport struct {
	next    http.RoundTripper
	headers map[string]string
}

func (h headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, v := range h.headers {
		req.Header.Set(k, v)
	}
	return h.next.RoundTrip(req)
}

// Query runs an instant query at the given time.
func (c *Client) Query(ctx context.Context, query string, at time.Time) (v analysis.Value, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	defer func() {
		outcome := "ok"
		switch {
		case err != nil && strings.Contains(err.Error(), " warned: "):
			outcome = "warning"
		case err != nil:
			outcome = "error"
		case v.NoData():
			outcome = "no_data"
		}
		queriesTotal.WithLabelValues(outcome).Inc()
	}()
	res, warnings, _, err := c.api.Query(ctx, query, at)
	if err != nil {
		return analysis.Value{}, fmt.Errorf("prometheus query %q: %w", query, err)
	}
	if len(warnings) > 0 {
		return analysis.Value{}, fmt.Errorf("prometheus query %q warned: %s", query, strings.Join(warnings, "; "))
	}
	switch v := res.(type) {
	case *model.Scalar:
		return analysis.Scalar(float64(v.Value)), nil
	case model.Vector:
		if len(v) == 1 {
			return analysis.Scalar(float64(v[0].Value)), nil
		}
		out := analysis.Value{Vector: make([]float64, 0, len(v))}
		for _, s := range v {
			out.Vector = append(out.Vector, float64(s.Value))
		}
		return out, nil
	case model.Matrix:
		return analysis.Value{}, fmt.Errorf("prometheus query %q returned a range vector: use an instant query", query)
	}
	return analysis.Value{}, fmt.Errorf("prometheus query %q returned %s, not a number", query, res.Type())
}
