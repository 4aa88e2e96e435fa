package gates

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// DependencyFacts is what one requirement (spec.requires) found of the
// required pipeline for one stage.
type DependencyFacts struct {
	// Pipeline required, and Version, the semver range as written.
	Pipeline, Version string
	// Stage is the required pipeline's stage that corresponds to the one
	// gated; Mapped when the requirement's stages mapping names it.
	Stage  string
	Mapped bool
	// Missing: the required pipeline does not exist.
	Missing bool
	// NoStage: the required pipeline has no stage named Stage.
	NoStage bool
	// Live is the version the required pipeline runs in Stage (deployed by
	// its agent), "" when none yet; Committed one committed there that the
	// agent has not deployed yet, "" when none.
	Live, Committed string
	// Releases are the required pipeline's Releases.
	Releases []DependencyRelease
}

// DependencyRelease is where one Release of a required pipeline stands.
type DependencyRelease struct {
	Name, Version string
	Phase         releasev1.ReleasePhase
	// Stage is its current stage.
	Stage string
}

// Dependencies holds the stage until every required pipeline runs a
// version in its range in the corresponding stage. A required pipeline
// without that stage does not hold it (unless the requirement's mapping
// named the stage: a mistake to fix). The message names what is missing,
// what runs there now and where the required pipeline's matching Release
// stands.
func Dependencies(facts []DependencyFacts) Result {
	r := Result{Name: NameDependencies, State: releasev1.GatePassed, Reason: releasev1.ReasonDependenciesMet}
	var holding, met []string
	for _, f := range facts {
		state, reason, msg := dependency(f)
		switch {
		case state == releasev1.GatePassed:
			met = append(met, msg)
			continue
		case state == releasev1.GateFailed:
			r.State, r.Reason = state, reason
		case r.State == releasev1.GatePassed:
			r.State, r.Reason = state, reason
		}
		holding = append(holding, msg)
	}
	if len(holding) > 0 {
		r.Message = strings.Join(holding, ". ")
	} else {
		r.Message = strings.Join(met, "; ")
	}
	return r
}

// dependency decides one requirement.
func dependency(f DependencyFacts) (releasev1.GateState, string, string) {
	if f.Missing {
		return releasev1.GateFailed, releasev1.ReasonDependencyNotFound,
			fmt.Sprintf("required pipeline %s does not exist: create it or remove the requirement from spec.requires", f.Pipeline)
	}
	c, err := semver.NewConstraint(f.Version)
	if err != nil {
		return releasev1.GateFailed, releasev1.ReasonDependencyInvalid,
			fmt.Sprintf("the requirement of %s: version %q is not a semver range (%v): fix spec.requires", f.Pipeline, f.Version, err)
	}
	if f.NoStage {
		if f.Mapped {
			return releasev1.GateFailed, releasev1.ReasonDependencyNotFound,
				fmt.Sprintf("%s has no stage %s, which the requirement's stages map this stage to: fix spec.requires", f.Pipeline, f.Stage)
		}
		return releasev1.GatePassed, releasev1.ReasonDependenciesMet,
			fmt.Sprintf("%s has no stage %s: not held here", f.Pipeline, f.Stage)
	}
	if matches(c, f.Live) {
		return releasev1.GatePassed, releasev1.ReasonDependenciesMet,
			fmt.Sprintf("%s %s runs in %s (needs %s)", f.Pipeline, f.Live, f.Stage, f.Version)
	}
	runs := f.Stage + " runs nothing yet"
	if f.Live != "" {
		runs = f.Stage + " runs " + f.Live
	}
	if f.Committed != "" && f.Committed != f.Live {
		runs += " (" + f.Committed + " committed, not deployed yet)"
	}
	return releasev1.GatePending, releasev1.ReasonDependencyPending,
		fmt.Sprintf("needs %s %s in %s: %s; %s", f.Pipeline, f.Version, f.Stage, runs, standing(f, c))
}

// standing says where the required pipeline's Release of a matching version
// stands: the lowest such version still on its way, else the newest that
// failed or was superseded, else that none matches.
func standing(f DependencyFacts, c *semver.Constraints) string {
	var moving, stopped *DependencyRelease
	var movingV, stoppedV *semver.Version
	for i := range f.Releases {
		rel := &f.Releases[i]
		v, err := semver.NewVersion(rel.Version)
		if err != nil || !c.Check(v) {
			continue
		}
		if rel.Phase == releasev1.PhaseFailed || rel.Phase == releasev1.PhaseSuperseded {
			if stoppedV == nil || v.GreaterThan(stoppedV) {
				stopped, stoppedV = rel, v
			}
			continue
		}
		if movingV == nil || v.LessThan(movingV) {
			moving, movingV = rel, v
		}
	}
	switch {
	case moving != nil:
		return f.Pipeline + " " + moving.Version + " " + phaseWords(moving)
	case stopped != nil:
		return f.Pipeline + " " + stopped.Version + " " + phaseWords(stopped)
	}
	return fmt.Sprintf("no %s release matches %s yet", f.Pipeline, f.Version)
}

// phaseWords says a Release's phase at its current stage.
func phaseWords(r *DependencyRelease) string {
	at := r.Stage
	if at == "" {
		at = "its first stage"
	}
	switch r.Phase {
	case releasev1.PhaseProgressing:
		return "is on its way to " + at
	case releasev1.PhaseDeploying:
		return "is deploying to " + at
	case releasev1.PhaseVerifying:
		return "is verifying in " + at
	case releasev1.PhaseBlocked:
		return "is blocked before " + at
	case releasev1.PhaseReleased:
		return "is released (up to " + at + ")"
	case releasev1.PhaseFailed:
		return "failed in " + at
	case releasev1.PhaseSuperseded:
		return "was superseded"
	}
	return "has not started"
}

// matches tells whether version is in c; an empty or unreadable version is not.
func matches(c *semver.Constraints, version string) bool {
	if version == "" {
		return false
	}
	v, err := semver.NewVersion(version)
	return err == nil && c.Check(v)
}

// dependenciesWords says which services a Release waits for: "waits for
// payments >=1.8.0 to run in staging (payments 1.8.0 is verifying in
// staging)", from the message Dependencies wrote.
func dependenciesWords(_ string, g releasev1.GateStatus, _ Clock) string {
	switch g.Reason {
	case releasev1.ReasonDependencyNotFound, releasev1.ReasonDependencyInvalid:
		return "depends on a service the operators must fix in spec.requires: " + g.Message
	case releasev1.ReasonDependencyPending:
	default:
		return ""
	}
	var out []string
	for _, need := range strings.Split(g.Message, ". ") {
		what, rest, ok := strings.Cut(strings.TrimPrefix(need, "needs "), ": ")
		if !ok {
			continue
		}
		_, where, _ := strings.Cut(rest, "; ")
		out = append(out, "waits for "+strings.Replace(what, " in ", " to run in ", 1)+" ("+where+")")
	}
	return strings.Join(out, "; ")
}
