package v1alpha1

// AnnotationCreatedBy records who created a Release, stamped by the admission
// webhook from the request: that person may not approve it.
const AnnotationCreatedBy = "release.liftoff.dev/created-by"

// Custom RBAC verbs on Liftoff's kinds, checked with a SubjectAccessReview
// by the admission webhooks (and asked by the dashboard before it offers an
// action).
const (
	// VerbApprove lets a person approve a Release (spec.approvals).
	VerbApprove = "approve"
	// VerbSignOff lets a person sign off a LaunchChecklist's item
	// (spec.signOffs).
	VerbSignOff = "signoff"
	// VerbRollback lets a person roll a pipeline's stage back on demand
	// (spec.rollbacks) and let its later Releases go on (spec.resumes).
	VerbRollback = "rollback"
)
