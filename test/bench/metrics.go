package main

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// sample is one series of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// metrics is one scrape of a controller's metrics endpoint.
type metrics []sample

var scrapeClient = &http.Client{Timeout: 10 * time.Second}

func scrape(url string) (metrics, error) {
	resp, err := scrapeClient.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var out metrics
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if s, ok := parseSample(sc.Text()); ok {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}

// parseSample reads `name{k="v",...} value` (no timestamps: client_golang
// writes none).
func parseSample(line string) (sample, bool) {
	if line == "" || line[0] == '#' {
		return sample{}, false
	}
	sp := strings.LastIndexByte(line, ' ')
	if sp < 0 {
		return sample{}, false
	}
	v, err := strconv.ParseFloat(line[sp+1:], 64)
	if err != nil {
		return sample{}, false
	}
	series := line[:sp]
	s := sample{value: v, labels: map[string]string{}}
	brace := strings.IndexByte(series, '{')
	if brace < 0 {
		s.name = series
		return s, true
	}
	s.name = series[:brace]
	rest := strings.TrimSuffix(series[brace+1:], "}")
	for rest != "" {
		eq := strings.IndexByte(rest, '=')
		if eq < 0 || eq+1 >= len(rest) || rest[eq+1] != '"' {
			break
		}
		key := strings.TrimLeft(rest[:eq], ", ")
		var val strings.Builder
		i := eq + 2
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
			}
			val.WriteByte(rest[i])
		}
		s.labels[key] = val.String()
		if i+1 > len(rest) {
			break
		}
		rest = rest[i+1:]
	}
	return s, true
}

// sum adds the series of a metric whose labels include match.
func (m metrics) sum(name string, match map[string]string) float64 {
	total := 0.0
	for _, s := range m {
		if s.name != name {
			continue
		}
		ok := true
		for k, v := range match {
			ok = ok && s.labels[k] == v
		}
		if ok {
			total += s.value
		}
	}
	return total
}

// by sums a metric's series grouped by one label.
func (m metrics) by(name, label string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range m {
		if s.name == name {
			out[s.labels[label]] += s.value
		}
	}
	return out
}

// apiWrites is the difference of the controller's API-server requests by
// method between two scrapes, and the sum of the non-GET ones.
func apiWrites(before, after metrics) (map[string]float64, float64) {
	b, a := before.by("rest_client_requests_total", "method"), after.by("rest_client_requests_total", "method")
	diff := map[string]float64{}
	writes := 0.0
	for method, v := range a {
		d := v - b[method]
		if d == 0 {
			continue
		}
		diff[method] = d
		if method != "GET" {
			writes += d
		}
	}
	return diff, writes
}
