package main

import (
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestParseWaves(t *testing.T) {
	got, err := parseWaves("1, 25%,100%")
	if err != nil {
		t.Fatal(err)
	}
	want := []intstr.IntOrString{intstr.FromInt32(1), intstr.FromString("25%"), intstr.FromString("100%")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseWaves = %v, want %v", got, want)
	}
	for _, bad := range []string{"", "1,x", "1,25 %", "half"} {
		if _, err := parseWaves(bad); err == nil {
			t.Errorf("parseWaves(%q) accepted", bad)
		}
	}
}

func TestProdTargets(t *testing.T) {
	w, _ := parseWaves("1,25%,100%")
	p := prodTargets{n: 20, waves: w}
	ends, err := p.waveEnds()
	if err != nil || !reflect.DeepEqual(ends, []int{1, 5, 20}) {
		t.Fatalf("waveEnds = %v, %v; want [1 5 20]", ends, err)
	}
	a := app{name: "svc", gitops: "bench/gitops", prod: p}
	if paths := a.paths("prod"); len(paths) != 20 || paths[19] != "envs/svc/prod-20/kustomization.yaml" {
		t.Fatalf("prod paths = %v", paths)
	}
	if paths := a.paths("dev"); !reflect.DeepEqual(paths, []string{"envs/svc/dev/kustomization.yaml"}) {
		t.Fatalf("dev paths = %v", paths)
	}
	pipe := a.pipeline("http://sim/")
	prod := pipe.Spec.Stages[2]
	if len(prod.Targets) != 20 || prod.Target.Repository != "" || len(prod.Waves) != 3 || pipe.Spec.Stages[0].Target.Repository != a.gitops {
		t.Fatalf("prod stage = %+v", prod)
	}
	if _, err := (prodTargets{n: 2, waves: w[:2]}).waveEnds(); err == nil {
		t.Error("waves short of every target accepted")
	}
}

func TestWaveFigures(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 23, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ends := []int{1, 3}
	committed := map[string]time.Time{
		"ns/a prod-01": at(0), "ns/a prod-02": at(1500), "ns/a prod-03": at(1500),
		"ns/b prod-01": at(10000), "ns/b prod-02": at(12000), "ns/b prod-03": at(12500),
	}
	deployed := map[string]time.Time{
		"ns/a prod-01": at(1000), "ns/a prod-02": at(2500), "ns/a prod-03": at(2600),
		"ns/b prod-01": at(11000), "ns/b prod-02": at(13000), "ns/b prod-03": at(13500),
	}
	commit := map[string]string{
		"ns/a prod-01": "c1", "ns/a prod-02": "c2", "ns/a prod-03": "c2",
		// b's second wave took two commits.
		"ns/b prod-01": "c3", "ns/b prod-02": "c4", "ns/b prod-03": "c5",
	}
	fig := waveFigures(ends, []string{"ns/a", "ns/b", "ns/c"}, committed, deployed, commit)
	if want := []int{2, 3}; !reflect.DeepEqual(fig.commits, want) {
		t.Errorf("commits per wave = %v, want %v", fig.commits, want)
	}
	if fig.missing != 3 {
		t.Errorf("targets in no commit = %d, want 3 (release c)", fig.missing)
	}
	if want := []float64{500, 1000}; !reflect.DeepEqual(fig.gapsMs, want) {
		t.Errorf("wave deployed -> next committed = %v ms, want %v", fig.gapsMs, want)
	}
}

func TestOverhead(t *testing.T) {
	if got := overhead(110, 100); got < 9.99 || got > 10.01 {
		t.Errorf("overhead(110, 100) = %v, want 10", got)
	}
	if got := overhead(90, 100); got > -9.99 || got < -10.01 {
		t.Errorf("overhead(90, 100) = %v, want -10", got)
	}
}
