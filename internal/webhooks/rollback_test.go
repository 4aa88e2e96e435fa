package webhooks

import (
	"context"
	"k8s.io/apimachinery/pkg/util/intstr"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// pipelineRan is checkout's pipeline whose prod ran 1.4.0, 1.4.1 and now
// 1.4.2, each promoted by Liftoff (dev: nothing yet), with the rollbacks
// and resumes given.
func pipelineRan(rollbacks []releasev1.RollbackRequest, resumes ...releasev1.ResumeRequest) *releasev1.ReleasePipeline {
	return &releasev1.ReleasePipeline{
		TypeMeta:   metav1.TypeMeta{APIVersion: releasev1.GroupVersion.String(), Kind: "ReleasePipeline"},
		ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "team"},
		Spec: releasev1.ReleasePipelineSpec{
			Stages:    []releasev1.Stage{{Name: "dev"}, {Name: "prod"}},
			Rollbacks: rollbacks,
			Resumes:   resumes,
		},
		Status: releasev1.ReleasePipelineStatus{Stages: []releasev1.PipelineStageStatus{
			{Name: "dev"},
			{Name: "prod", Version: "1.4.2", Release: "checkout-1-4-2", History: []releasev1.PromotionRecord{
				{Release: "checkout-1-4-2", Version: "1.4.2", Commit: "c3", PreviousVersion: "1.4.1"},
				{Release: "checkout-1-4-1", Version: "1.4.1", Commit: "c2", PreviousVersion: "1.4.0"},
			}},
		}},
	}
}

// stampedBy is a request as the mutating webhook leaves it.
func stampedBy(by string) (string, *metav1.Time) {
	at := metav1.NewTime(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
	return by, &at
}

func rollbackTo(stage, to, by string) releasev1.RollbackRequest {
	rb := releasev1.RollbackRequest{Stage: stage, To: to, Reason: "checkout errors"}
	rb.By, rb.At = stampedBy(by)
	return rb
}

func resumeOf(stage string, rollback int32, by string) releasev1.ResumeRequest {
	r := releasev1.ResumeRequest{Stage: stage, Rollback: &rollback}
	r.By, r.At = stampedBy(by)
	return r
}

// A rollback asked with only a stage and a reason is stamped with who and
// when, and goes back to the version the stage ran before; a resume ends
// the hold of the stage's latest rollback.
func TestMutatePipelineStampsRollbacksAndResumes(t *testing.T) {
	id := identityFor(t, nil)
	req := request(t, admissionv1.Update, ann, pipelineRan([]releasev1.RollbackRequest{{Stage: "prod", Reason: "checkout errors"}}), pipelineRan(nil))
	got := patchedTo(t, req, id.MutatePipeline(context.Background(), req), &releasev1.ReleasePipeline{})
	rb := got.Spec.Rollbacks[0]
	if rb.By != "ann" || rb.At == nil || !rb.At.Time.Equal(time.Date(2026, 12, 7, 10, 30, 15, 0, time.UTC)) {
		t.Errorf("the rollback is stamped %q at %v; want ann at 10:30:15 (the server's time, to the second)", rb.By, rb.At)
	}
	if rb.To != "1.4.1" {
		t.Errorf("the rollback goes to %q; want 1.4.1, what prod ran before 1.4.2", rb.To)
	}

	held := []releasev1.RollbackRequest{rollbackTo("prod", "1.4.1", "ann")}
	req = request(t, admissionv1.Update, bob, pipelineRan(held, releasev1.ResumeRequest{Stage: "prod"}), pipelineRan(held))
	got = patchedTo(t, req, id.MutatePipeline(context.Background(), req), &releasev1.ReleasePipeline{})
	r := got.Spec.Resumes[0]
	if r.By != "bob" || r.At == nil || r.Rollback == nil || *r.Rollback != 0 {
		t.Errorf("the resume is %q at %v of rollback %v; want bob, the server's time, rollback 0", r.By, r.At, r.Rollback)
	}
}

func TestValidatePipeline(t *testing.T) {
	id := identityFor(t, map[string][]string{"ann": {releasev1.VerbRollback}})
	eve := authenticationv1.UserInfo{Username: "eve"}
	first := []releasev1.RollbackRequest{rollbackTo("prod", "1.4.1", "ann")}
	running := pipelineRan(first)
	running.Status.Rollbacks = []releasev1.RollbackRecord{{Index: 0, Stage: "prod", Phase: releasev1.RollbackRunning}}
	done := pipelineRan(first)
	done.Status.Rollbacks = []releasev1.RollbackRecord{{Index: 0, Stage: "prod", Phase: releasev1.RollbackDone}}
	twice := append(first[:1:1], rollbackTo("prod", "1.4.0", "ann"))
	waves := func(w ...intstr.IntOrString) *releasev1.ReleasePipeline {
		p := pipelineRan(nil)
		p.Spec.Stages[1].Waves = w
		for _, name := range []string{"prod-eu", "prod-us", "prod-ap"} {
			p.Spec.Stages[1].Targets = append(p.Spec.Stages[1].Targets, releasev1.StageTarget{Name: name,
				Target: releasev1.Target{Repository: "acme/gitops", Files: []releasev1.TargetFile{{Path: "envs/" + name + "/kustomization.yaml"}}}})
		}
		return p
	}
	cases := []struct {
		name     string
		op       admissionv1.Operation
		user     authenticationv1.UserInfo
		obj, old *releasev1.ReleasePipeline
		refusal  string // empty: allowed
	}{
		{"a rollback to the version before", admissionv1.Update, ann, pipelineRan(first), pipelineRan(nil), ""},
		{"targets in waves", admissionv1.Create, ann, waves(intstr.FromInt32(1), intstr.FromString("100%")), nil, ""},
		{"waves that do not grow", admissionv1.Create, ann, waves(intstr.FromInt32(2), intstr.FromString("50%"), intstr.FromString("100%")), nil,
			"spec.stages[1].waves[1]: 50% (2 targets) does not grow past waves[0] (2 targets)"},
		{"a rollback on demand of a stage with targets", admissionv1.Update, ann, func() *releasev1.ReleasePipeline {
			p := waves()
			p.Spec.Rollbacks = first
			return p
		}(), pipelineRan(nil), ""},
		{"a stage with targets rolled back past the version before", admissionv1.Update, ann, func() *releasev1.ReleasePipeline {
			p := waves()
			p.Spec.Rollbacks = []releasev1.RollbackRequest{rollbackTo("prod", "1.4.0", "ann")}
			return p
		}(), pipelineRan(nil), "spec.rollbacks[0]: stage prod has targets: each goes back to what it ran before 1.4.2, 1.4.1: leave to out or name 1.4.1"},
		{"a wave past the targets", admissionv1.Update, ann, waves(intstr.FromInt32(1), intstr.FromInt32(5)), pipelineRan(nil),
			"spec.stages[1].waves[1]: 5 is more than the stage's 3 targets"},
		{"a rollback stamped with another name", admissionv1.Update, ann, pipelineRan([]releasev1.RollbackRequest{rollbackTo("prod", "1.4.1", "bob")}), pipelineRan(nil),
			`spec.rollbacks[0].by is "bob" but you are "ann"`},
		{"a rollback by someone without the verb", admissionv1.Update, eve, pipelineRan([]releasev1.RollbackRequest{rollbackTo("prod", "1.4.1", "eve")}), pipelineRan(nil),
			`eve may not rollback releasepipelines/checkout in namespace team: an admin must grant the verb "rollback"`},
		{"a stage the pipeline has not", admissionv1.Update, ann, pipelineRan([]releasev1.RollbackRequest{rollbackTo("qa", "", "ann")}), pipelineRan(nil),
			`spec.rollbacks[0]: no stage "qa" in this pipeline (stages: dev, prod)`},
		{"a stage Liftoff never promoted into", admissionv1.Update, ann, pipelineRan([]releasev1.RollbackRequest{rollbackTo("dev", "", "ann")}), pipelineRan(nil),
			"nothing to roll back: Liftoff has promoted nothing into dev yet"},
		{"a rollback in a new pipeline", admissionv1.Create, ann, pipelineRan(first), nil,
			"nothing to roll back: Liftoff has promoted nothing into prod yet"},
		{"the version the stage runs", admissionv1.Update, ann, pipelineRan([]releasev1.RollbackRequest{rollbackTo("prod", "1.4.2", "ann")}), pipelineRan(nil),
			"prod runs 1.4.2 already; name an earlier version (1.4.1, 1.4.0)"},
		{"a version the stage never ran", admissionv1.Update, ann, pipelineRan([]releasev1.RollbackRequest{rollbackTo("prod", "1.3.0", "ann")}), pipelineRan(nil),
			"prod never ran 1.3.0 per its promotion history: roll back to one of 1.4.1, 1.4.0"},
		{"a second rollback while the first runs", admissionv1.Update, ann, pipelineRan(twice), running,
			"spec.rollbacks[1]: rollback 0 of prod is still under way"},
		{"a second rollback once the first is done", admissionv1.Update, ann, pipelineRan(twice), done, ""},
		{"a recorded rollback edited", admissionv1.Update, ann, pipelineRan([]releasev1.RollbackRequest{rollbackTo("prod", "1.4.0", "ann")}), pipelineRan(first),
			"spec.rollbacks[0] was edited or removed: recorded entries are append-only"},
		{"a resume of the rollback that holds prod", admissionv1.Update, ann, pipelineRan(first, resumeOf("prod", 0, "ann")), done, ""},
		{"a resume by someone without the verb", admissionv1.Update, eve, pipelineRan(first, resumeOf("prod", 0, "eve")), done,
			`an admin must grant the verb "rollback"`},
		{"a resume of a stage nothing holds", admissionv1.Update, ann, pipelineRan(nil, resumeOf("prod", 0, "ann")), pipelineRan(nil),
			"spec.resumes[0]: stage prod is not held by a rollback: nothing to resume"},
		{"a resume of the earlier of two rollbacks", admissionv1.Update, ann, pipelineRan(twice, resumeOf("prod", 0, "ann")), pipelineRan(twice),
			"rollback 0 of prod is followed by rollback 1, which holds the stage: resume that one"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var old runtime.Object
			if tc.old != nil {
				old = tc.old
			}
			assertVerdict(t, id.ValidatePipeline(context.Background(), request(t, tc.op, tc.user, tc.obj, old)), tc.refusal)
		})
	}
}
