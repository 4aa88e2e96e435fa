package release

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
	"github.com/liftoff-dev/liftoff/internal/analysis"
	"github.com/liftoff-dev/liftoff/internal/calendar"
	"github.com/liftoff-dev/liftoff/internal/credentials"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/notes"
	"github.com/liftoff-dev/liftoff/internal/promotion"
	"github.com/liftoff-dev/liftoff/internal/shard"
)

// GitHub is the part of the GitHub API the engine uses: the promotion's
// calls, the release notes', and those of the gates, the deployment records
// and the postmortem.
type GitHub interface {
	promotion.GitHub
	promotion.CommitGitHub
	notes.GitHub
	ResolveCommit(ctx context.Context, repo, ref string) (string, error)
	Checks(ctx context.Context, repo, sha string, required []string) ([]github.CheckResult, error)
	SearchIssues(ctx context.Context, query string) (int, []github.IssueInfo, error)
	FindDeployment(ctx context.Context, repo, sha, environment, key string) (int64, error)
	CreateDeployment(ctx context.Context, repo, ref, environment, key, version, description string, production bool, artifacts ...string) (int64, error)
	SetDeploymentStatus(ctx context.Context, repo string, id int64, state, description, logURL string) error
	DeploymentState(ctx context.Context, repo string, id int64) (string, error)
	FindIssue(ctx context.Context, repo, marker string, labels []string) (*github.Issue, error)
	CreateIssue(ctx context.Context, repo, title, body string, labels []string) (*github.Issue, error)
	// Contains places a revision a GitOps agent reports that Liftoff did
	// not write (agents.Comparer).
	Contains(ctx context.Context, repo, base, head string) (bool, error)
}

// Agents reads what the stages' GitOps agents (spec.stages[].deployment)
// say of a commit; *agents.Watcher is one. Tests give the engine their own.
type Agents interface {
	// Observe reads the stage's agent; an error is transient.
	Observe(ctx context.Context, req agents.Request) (agents.Observation, error)
	// Forget stops waking release on its agent's changes: it no longer
	// waits on a deployment.
	Forget(release types.NamespacedName)
}

// Prometheus is the part of a Prometheus client the engine uses.
type Prometheus interface {
	Query(ctx context.Context, query string, at time.Time) (analysis.Value, error)
}

// Credentials hands out the clients of a pipeline's credentials.
type Credentials interface {
	// GitHub returns the client of the pipeline's GitHub credential; a
	// *credentials.Error says what to fix.
	GitHub(ctx context.Context, pipe *releasev1.ReleasePipeline) (GitHub, error)
	// Refused forgets the pipeline's GitHub credential after GitHub refused
	// it, so that a rotated token is read at the next step.
	Refused(pipe *releasev1.ReleasePipeline)
	// Prometheus returns a client of the Prometheus spec names, whose
	// Secret (headers) lives in namespace.
	Prometheus(ctx context.Context, namespace string, spec *releasev1.PrometheusSpec) (Prometheus, error)
}

// Deps is everything the engine uses outside itself. Nothing of it is
// global: the controller builds it once, tests build it around a fake
// client and the GitHub simulator.
type Deps struct {
	// Client reads from the manager's cache: pipelines, calendars,
	// milestones, checklists.
	Client client.Reader
	// APIReader reads from the API server: a pipeline the cache does not
	// show (it may be in another shard).
	APIReader client.Reader
	// Ledger is the pipeline's record of its stages (status.stages): the
	// stage locks, what was committed and what is live in each, the history.
	Ledger *StageLedger
	// Coalescers put the Commit-strategy promotions ready together into one
	// repository and branch into one commit; one for the whole process, so
	// every worker's promotions meet. Nil: each promotion is its own commit.
	Coalescers *promotion.Coalescers
	// Credentials gives the pipeline's GitHub and Prometheus clients.
	Credentials Credentials
	// Calendar compiles a ReleaseCalendar (the controller keeps them
	// compiled once per generation).
	Calendar func(*releasev1.ReleaseCalendar) (*calendar.Calendar, error)
	// Clock gives the time of every step.
	Clock clock.PassiveClock
	// Recorder announces what a step did outside its status (a GitHub
	// deployment not recorded); nil records nothing.
	Recorder events.EventRecorder
	// Shard is the shard the controller serves.
	Shard shard.Shard
	// PollInterval is how often pending QA checks and pull requests are
	// read again, and the longest wait between two looks at a GitOps agent
	// (a change of its object wakes the Release sooner).
	PollInterval time.Duration
	// Agents reads the GitOps agents of stages with a deployment. Without
	// it such a stage is blocked (AgentNotFound), never counted as live.
	Agents Agents
	// Artifacts resolves the pipelines' artifacts in their registries. A
	// pipeline with spec.artifacts stalls without it.
	Artifacts Artifacts
	// Notes keeps the release notes of the version pairs asked lately, so
	// each pair is read from GitHub once; notes.Default when nil.
	Notes *notes.Cache
}

// StoreCredentials serves Credentials from a credentials.Store.
type StoreCredentials struct{ *credentials.Store }

// GitHub returns the client of the pipeline's credential.
func (s StoreCredentials) GitHub(ctx context.Context, pipe *releasev1.ReleasePipeline) (GitHub, error) {
	c, err := s.ForPipeline(ctx, pipe)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Refused forgets the pipeline's token.
func (s StoreCredentials) Refused(pipe *releasev1.ReleasePipeline) {
	s.Forget(pipe.Namespace, pipe.Spec.GitHub.SecretRef)
}

// Prometheus returns a client of spec.
func (s StoreCredentials) Prometheus(ctx context.Context, namespace string, spec *releasev1.PrometheusSpec) (Prometheus, error) {
	c, err := s.Store.Prometheus(ctx, namespace, spec)
	if err != nil {
		return nil, err
	}
	return c, nil
}
