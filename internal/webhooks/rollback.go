package webhooks

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// +kubebuilder:webhook:path=/mutate-release-liftoff-dev-v1alpha1-releasepipeline,mutating=true,failurePolicy=fail,sideEffects=None,groups=release.liftoff.dev,resources=releasepipelines,verbs=create;update,versions=v1alpha1,name=mreleasepipeline.liftoff.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-release-liftoff-dev-v1alpha1-releasepipeline,mutating=false,failurePolicy=fail,sideEffects=None,groups=release.liftoff.dev,resources=releasepipelines,verbs=create;update,versions=v1alpha1,name=vreleasepipeline.liftoff.dev,admissionReviewVersions=v1

// MutatePipeline stamps by/at of appended rollbacks and resumes, the version
// a rollback goes back to when it names none (the one the stage ran before,
// as the pipeline's status says now), and the rollback a resume ends.
func (id *Identity) MutatePipeline(_ context.Context, req admission.Request) admission.Response {
	pipe, old := &releasev1.ReleasePipeline{}, &releasev1.ReleasePipeline{}
	if err := decodePair(id.Decoder, req, pipe, old); err != nil {
		// Mutation comes before the API server's schema validation: a
		// pipeline that does not decode (a soak that is not a duration) is
		// left for it to refuse with its own words.
		return admission.Allowed("")
	}
	if len(pipe.Spec.Rollbacks) <= len(old.Spec.Rollbacks) && len(pipe.Spec.Resumes) <= len(old.Spec.Resumes) {
		return admission.Allowed("")
	}
	now := id.now()
	for i := len(old.Spec.Rollbacks); i < len(pipe.Spec.Rollbacks); i++ {
		rb := &pipe.Spec.Rollbacks[i]
		stamp(&rb.By, &rb.At, req.UserInfo.Username, now)
		if rb.To == "" {
			// The stored status: what the person saw running.
			if t, ok := old.RollbackTargetFor(rb.Stage, ""); ok {
				rb.To = t.Version
			}
		}
	}
	for i := len(old.Spec.Resumes); i < len(pipe.Spec.Resumes); i++ {
		r := &pipe.Spec.Resumes[i]
		stamp(&r.By, &r.At, req.UserInfo.Username, now)
		if held := pipe.HeldBy(r.Stage); r.Rollback == nil && held >= 0 {
			n := int32(held)
			r.Rollback = &n
		}
	}
	return patched(req, pipe)
}

// ValidatePipeline refuses stages that do not form a graph (an after that
// names no stage, the stage itself or a stage twice, a cycle), targets and
// waves that do not split (TargetsError), requirements
// that cannot be met (PipelineRequiresRefusal), edits of recorded rollbacks
// and resumes, forged names, users without the verb rollback, and rollbacks
// the stage's history cannot make: an unknown stage or version, nothing to
// roll back to, a rollback of the stage still under way.
func (id *Identity) ValidatePipeline(ctx context.Context, req admission.Request) admission.Response {
	pipe, old := &releasev1.ReleasePipeline{}, &releasev1.ReleasePipeline{}
	if err := decodePair(id.Decoder, req, pipe, old); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if msg := pipe.Spec.GraphError(); msg != "" {
		return admission.Denied(msg)
	}
	if msg := pipe.Spec.TargetsError(); msg != "" {
		return admission.Denied(msg)
	}
	if msg, err := PipelineRequiresRefusal(ctx, id.reader(), pipe, old); err != nil || msg != "" {
		return refused(msg, err)
	}
	if msg := appendOnly("spec.rollbacks", len(old.Spec.Rollbacks), func(i int) bool {
		return i < len(pipe.Spec.Rollbacks) && equality.Semantic.DeepEqual(old.Spec.Rollbacks[i], pipe.Spec.Rollbacks[i])
	}); msg != "" {
		return admission.Denied(msg)
	}
	if msg := appendOnly("spec.resumes", len(old.Spec.Resumes), func(i int) bool {
		return i < len(pipe.Spec.Resumes) && equality.Semantic.DeepEqual(old.Spec.Resumes[i], pipe.Spec.Resumes[i])
	}); msg != "" {
		return admission.Denied(msg)
	}
	user := req.UserInfo
	checked := false
	mayRollBack := func() error {
		if checked {
			return nil
		}
		checked = true
		return id.allowed(ctx, user, releasev1.VerbRollback, "releasepipelines", pipe.Namespace, pipe.Name)
	}
	for i := len(old.Spec.Rollbacks); i < len(pipe.Spec.Rollbacks); i++ {
		rb := pipe.Spec.Rollbacks[i]
		if rb.By != user.Username {
			return admission.Denied(fmt.Sprintf("spec.rollbacks[%d].by is %q but you are %q: leave by and at out, they are stamped", i, rb.By, user.Username))
		}
		if err := mayRollBack(); err != nil {
			return admission.Denied(err.Error())
		}
		if msg := rollbackRefusal(old, pipe, i, req.Operation); msg != "" {
			return admission.Denied(fmt.Sprintf("spec.rollbacks[%d]: %s", i, msg))
		}
	}
	for i := len(old.Spec.Resumes); i < len(pipe.Spec.Resumes); i++ {
		r := pipe.Spec.Resumes[i]
		if r.By != user.Username {
			return admission.Denied(fmt.Sprintf("spec.resumes[%d].by is %q but you are %q: leave by and at out, they are stamped", i, r.By, user.Username))
		}
		if err := mayRollBack(); err != nil {
			return admission.Denied(err.Error())
		}
		if msg := resumeRefusal(old, r); msg != "" {
			return admission.Denied(fmt.Sprintf("spec.resumes[%d]: %s", i, msg))
		}
	}
	return admission.Allowed("")
}

// rollbackRefusal says why spec.rollbacks[i] of pipe cannot be made, from
// the stored pipeline old (its status: what each stage ran), or "".
func rollbackRefusal(old, pipe *releasev1.ReleasePipeline, i int, op admissionv1.Operation) string {
	rb := pipe.Spec.Rollbacks[i]
	if pipe.StageIndex(rb.Stage) < 0 {
		return fmt.Sprintf("no stage %q in this pipeline (stages: %s)", rb.Stage, pipe.StageNames())
	}
	ps := old.Status.StageStatus(rb.Stage)
	if op == admissionv1.Create || ps == nil || ps.Version == "" {
		return fmt.Sprintf("nothing to roll back: Liftoff has promoted nothing into %s yet", rb.Stage)
	}
	if ps.Release == "" {
		return fmt.Sprintf("nothing to roll back: %s runs %s, which no Release of this pipeline promoted", rb.Stage, ps.Version)
	}
	for j := 0; j < i; j++ {
		if pipe.Spec.Rollbacks[j].Stage != rb.Stage {
			continue
		}
		if rec := old.Status.RollbackRecordOf(j); rec == nil || rec.Phase == releasev1.RollbackRunning {
			return fmt.Sprintf("rollback %d of %s is still under way: wait until status.rollbacks says it is done", j, rb.Stage)
		}
	}
	targets := old.RollbackTargets(rb.Stage)
	if len(targets) == 0 {
		return fmt.Sprintf("nothing to roll back to: %s has run only %s since Liftoff promoted into it", rb.Stage, ps.Version)
	}
	if rb.To == ps.Version {
		return fmt.Sprintf("%s runs %s already; name an earlier version (%s)", rb.Stage, ps.Version, versionList(targets))
	}
	if pipe.Spec.Stages[pipe.StageIndex(rb.Stage)].HasTargets() && rb.To != targets[0].Version {
		// Each target gets back what its files held before the version.
		return fmt.Sprintf("stage %s has targets: each goes back to what it ran before %s, %s: leave to out or name %s", rb.Stage, ps.Version, targets[0].Version, targets[0].Version)
	}
	if _, ok := old.RollbackTargetFor(rb.Stage, rb.To); !ok {
		return fmt.Sprintf("%s never ran %s per its promotion history: roll back to one of %s", rb.Stage, rb.To, versionList(targets))
	}
	return ""
}

// resumeRefusal says why resume r cannot end a hold of old, or "".
func resumeRefusal(old *releasev1.ReleasePipeline, r releasev1.ResumeRequest) string {
	if old.StageIndex(r.Stage) < 0 {
		return fmt.Sprintf("no stage %q in this pipeline (stages: %s)", r.Stage, old.StageNames())
	}
	held := old.HeldBy(r.Stage)
	if held < 0 || r.Rollback == nil {
		return fmt.Sprintf("stage %s is not held by a rollback: nothing to resume", r.Stage)
	}
	if n := int(*r.Rollback); n >= len(old.Spec.Rollbacks) || old.Spec.Rollbacks[n].Stage != r.Stage {
		return fmt.Sprintf("rollback %d is not a rollback of %s; leave rollback out to end the hold of rollback %d", n, r.Stage, held)
	}
	if int(*r.Rollback) < held {
		return fmt.Sprintf("rollback %d of %s is followed by rollback %d, which holds the stage: resume that one", *r.Rollback, r.Stage, held)
	}
	return ""
}

func versionList(ts []releasev1.RollbackTarget) string {
	vs := make([]string, 0, len(ts))
	for _, t := range ts {
		vs = append(vs, t.Version)
	}
	return strings.Join(vs, ", ")
}
