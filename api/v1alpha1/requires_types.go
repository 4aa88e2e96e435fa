package v1alpha1

// Requirement is another service's version that must run in a stage before
// a Release is promoted into it: the dependencies gate holds the stage until
// the required pipeline's agent deployed a matching version in the
// corresponding stage (status.stages[].live of that pipeline).
type Requirement struct {
	// Pipeline is the required ReleasePipeline, in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Pipeline string `json:"pipeline"`

	// Version is a semver range the required pipeline's live version must
	// be in, for example ">=1.8.0", "^2" or ">=1.8.0 <2.0.0".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Version string `json:"version"`

	// Stages maps this pipeline's stage names to the required pipeline's
	// ({prod: production}). A stage not named here corresponds to the
	// required pipeline's stage of the same name; a stage with no
	// counterpart there is not held by this requirement.
	// +optional
	// +kubebuilder:validation:MaxProperties=20
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 63 && size(self[k]) <= 63)",message="stage names are at most 63 characters"
	Stages map[string]string `json:"stages,omitempty"`
}

// StageFor is the required pipeline's stage that corresponds to stage, and
// whether the requirement names it in its stages mapping.
func (r *Requirement) StageFor(stage string) (string, bool) {
	if s, ok := r.Stages[stage]; ok {
		return s, true
	}
	return stage, false
}

// Requires is what rel requires: its pipeline's spec.requires, with the
// Release's own entries added, and replacing the pipeline's for the same
// required pipeline.
func Requires(pipe *ReleasePipeline, rel *Release) []Requirement {
	out := make([]Requirement, 0, len(pipe.Spec.Requires)+len(rel.Spec.Requires))
	for _, r := range pipe.Spec.Requires {
		if rel.RequirementOf(r.Pipeline) == nil {
			out = append(out, r)
		}
	}
	return append(out, rel.Spec.Requires...)
}

// RequirementOf is the Release's own requirement of pipeline, or nil.
func (r *Release) RequirementOf(pipeline string) *Requirement {
	for i := range r.Spec.Requires {
		if r.Spec.Requires[i].Pipeline == pipeline {
			return &r.Spec.Requires[i]
		}
	}
	return nil
}
