package v1alpha1

import (
	"slices"
	"strings"
	"testing"
)

// graphSpec builds a spec from "name:after1,after2" entries; "name" alone
// leaves after out, "name:" makes it a root.
func graphSpec(entries ...string) *ReleasePipelineSpec {
	spec := &ReleasePipelineSpec{}
	for _, e := range entries {
		name, after, explicit := strings.Cut(e, ":")
		st := Stage{Name: name}
		if explicit {
			list := []string{}
			if after != "" {
				list = strings.Split(after, ",")
			}
			st.After = &list
		}
		spec.Stages = append(spec.Stages, st)
	}
	return spec
}

func TestGraphErrorSaysWhatToFix(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  *ReleasePipelineSpec
		error string
	}{
		{"a line", graphSpec("dev", "staging", "prod"), ""},
		{"fan-out and fan-in", graphSpec("dev", "staging", "prod-eu:staging", "prod-us:staging", "e2e:prod-eu,prod-us"), ""},
		{"several roots", graphSpec("dev-a:", "dev-b:", "e2e:dev-a,dev-b"), ""},
		{"unknown stage", graphSpec("dev", "staging", "prod", "canary:stagin"),
			`spec.stages[3].after[0]: "stagin" is not a stage of this pipeline (stages: dev, staging, prod, canary)`},
		{"after itself", graphSpec("dev", "e2e:dev,e2e"), "spec.stages[1].after[1]: stage e2e cannot come after itself"},
		{"named twice", graphSpec("dev", "e2e:dev,dev"), `spec.stages[1].after[1]: "dev" is named twice: name each stage once`},
		{"a cycle", graphSpec("dev", "e2e:dev,prod-eu", "prod-eu:e2e"),
			"spec.stages: the stages form a cycle: e2e -> prod-eu -> e2e: remove one of these from the after of the next"},
		{"a longer cycle through a default after", graphSpec("a:c", "b", "c"),
			"spec.stages: the stages form a cycle: a -> b -> c -> a: remove one of these from the after of the next"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.spec.GraphError(); got != tc.error {
				t.Errorf("GraphError() = %q, want %q", got, tc.error)
			}
		})
	}
}

func TestGraphShape(t *testing.T) {
	spec := graphSpec("dev-a:", "dev-b:", "e2e:dev-a,dev-b", "staging", "prod-eu:staging", "prod-us:staging")
	if got := spec.Depths(); !slices.Equal(got, []int{0, 0, 1, 2, 3, 3}) {
		t.Errorf("Depths() = %v", got)
	}
	if got := spec.AfterNames(3); !slices.Equal(got, []string{"e2e"}) {
		t.Errorf("staging comes after %v, want its stage before (e2e)", got)
	}
	if got := spec.Leaves(); !slices.Equal(got, []int{4, 5}) {
		t.Errorf("Leaves() = %v, want prod-eu and prod-us", got)
	}
	on := spec.OnTheWay(4)
	if want := []bool{true, true, true, true, true, false}; !slices.Equal(on, want) {
		t.Errorf("OnTheWay(prod-eu) = %v, want every stage but prod-us", on)
	}
	if got := graphSpec("dev", "staging").AfterIndexes(0); got != nil {
		t.Errorf("the first stage comes after %v, want none", got)
	}
}

func TestFirstCurrentStage(t *testing.T) {
	for in, want := range map[string]string{"prod": "prod", "prod-eu, prod-us": "prod-eu", "prod-eu +3": "prod-eu", "": ""} {
		if got := (&ReleaseStatus{CurrentStage: in}).FirstCurrentStage(); got != want {
			t.Errorf("FirstCurrentStage(%q) = %q, want %q", in, got, want)
		}
	}
}
