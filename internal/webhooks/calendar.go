// Package webhooks holds Liftoff's admission webhooks: what the API server's
// OpenAPI and CEL rules cannot check is checked here, with a message that
// says what to fix.
package webhooks

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/calendar"
)

// Paths of the webhooks, as the markers and config/webhook name them.
const (
	CalendarValidatePath  = "/validate-release-liftoff-dev-v1alpha1-releasecalendar"
	ReleaseMutatePath     = "/mutate-release-liftoff-dev-v1alpha1-release"
	ReleaseValidatePath   = "/validate-release-liftoff-dev-v1alpha1-release"
	ChecklistMutatePath   = "/mutate-release-liftoff-dev-v1alpha1-launchchecklist"
	ChecklistValidatePath = "/validate-release-liftoff-dev-v1alpha1-launchchecklist"
	PipelineMutatePath    = "/mutate-release-liftoff-dev-v1alpha1-releasepipeline"
	PipelineValidatePath  = "/validate-release-liftoff-dev-v1alpha1-releasepipeline"
	LaunchValidatePath    = "/validate-release-liftoff-dev-v1alpha1-launch"
	LaunchMutatePath      = "/mutate-release-liftoff-dev-v1alpha1-launch"
)

// Register adds every Liftoff webhook to the server. c creates
// SubjectAccessReviews (the manager's client); reader reads the pipelines
// spec.requires names from the API server (the manager's API reader: its
// cache holds only its shard's pipelines), and a launch's members.
func Register(srv webhook.Server, scheme *runtime.Scheme, c client.Client, reader client.Reader) {
	srv.Register(CalendarValidatePath, admission.WithValidator[*releasev1.ReleaseCalendar](scheme, CalendarValidator{}))
	id := &Identity{Client: c, Reader: reader, Decoder: admission.NewDecoder(scheme)}
	srv.Register(ReleaseMutatePath, &admission.Webhook{Handler: admission.HandlerFunc(id.MutateRelease)})
	srv.Register(ReleaseValidatePath, &admission.Webhook{Handler: admission.HandlerFunc(id.ValidateRelease)})
	srv.Register(ChecklistMutatePath, &admission.Webhook{Handler: admission.HandlerFunc(id.MutateChecklist)})
	srv.Register(ChecklistValidatePath, &admission.Webhook{Handler: admission.HandlerFunc(id.ValidateChecklist)})
	srv.Register(PipelineMutatePath, &admission.Webhook{Handler: admission.HandlerFunc(id.MutatePipeline)})
	srv.Register(PipelineValidatePath, &admission.Webhook{Handler: admission.HandlerFunc(id.ValidatePipeline)})
	srv.Register(LaunchMutatePath, &admission.Webhook{Handler: admission.HandlerFunc(id.MutateLaunch)})
	srv.Register(LaunchValidatePath, admission.WithValidator[*releasev1.Launch](scheme, LaunchValidator{Reader: reader, Identity: id}))
}

// +kubebuilder:webhook:path=/validate-release-liftoff-dev-v1alpha1-releasecalendar,mutating=false,failurePolicy=fail,sideEffects=None,groups=release.liftoff.dev,resources=releasecalendars,verbs=create;update,versions=v1alpha1,name=vreleasecalendar.liftoff.dev,admissionReviewVersions=v1

// CalendarValidator refuses a ReleaseCalendar whose time zone or windows
// cannot be evaluated: an unknown zone, an rrule that does not parse, a start
// that is not a time, an end before its start. The controller would only be
// able to block every promotion with it.
type CalendarValidator struct{}

// ValidateCreate checks a new calendar.
func (CalendarValidator) ValidateCreate(_ context.Context, rc *releasev1.ReleaseCalendar) (admission.Warnings, error) {
	return nil, validateCalendar(rc)
}

// ValidateUpdate checks a changed calendar.
func (CalendarValidator) ValidateUpdate(_ context.Context, _, rc *releasev1.ReleaseCalendar) (admission.Warnings, error) {
	return nil, validateCalendar(rc)
}

// ValidateDelete allows every deletion.
func (CalendarValidator) ValidateDelete(context.Context, *releasev1.ReleaseCalendar) (admission.Warnings, error) {
	return nil, nil
}

func validateCalendar(rc *releasev1.ReleaseCalendar) error {
	if _, err := calendar.Of(rc); err != nil {
		return fmt.Errorf("ReleaseCalendar %s: %v", rc.Name, err)
	}
	return nil
}
