package shard

import (
	"testing"

	"k8s.io/apimachinery/pkg/labels"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

func TestShardOwnsWhatItsSelectorMatches(t *testing.T) {
	objects := map[string]map[string]string{
		"unlabelled":      nil,
		"other labels":    {"app": "checkout"},
		"shard a":         {Label: "a"},
		"shard b":         {Label: "b"},
		"empty shard tag": {Label: ""},
	}
	for _, tt := range []struct {
		shard Shard
		owns  []string
	}{
		{shard: "", owns: []string{"unlabelled", "other labels"}},
		{shard: "a", owns: []string{"shard a"}},
		{shard: "b", owns: []string{"shard b"}},
	} {
		t.Run(tt.shard.String(), func(t *testing.T) {
			want := map[string]bool{}
			for _, n := range tt.owns {
				want[n] = true
			}
			for name, l := range objects {
				rel := &releasev1.Release{}
				rel.Labels = l
				if got := tt.shard.Owns(rel); got != want[name] {
					t.Errorf("Owns(%s) = %v, want %v", name, got, want[name])
				}
				// The cache's selector and the reconcilers' check agree.
				if got := tt.shard.Selector().Matches(labels.Set(l)); got != want[name] {
					t.Errorf("Selector().Matches(%s) = %v, want %v", name, got, want[name])
				}
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, ok := range []string{"", "a", "team-payments", "s01"} {
		if _, err := Parse(ok); err != nil {
			t.Errorf("Parse(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"A", "team_payments", "-a", "a.b", "this-name-is-far-too-long-to-be-a-dns-label-because-it-exceeds-63"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if a, b := Shard("").LeaderElectionID(), Shard("a").LeaderElectionID(); a == b {
		t.Errorf("the default shard and shard a share the lease %s", a)
	}
}
