package github

import (
	"context"
	"encoding/json"
	"strings"

	gh "github.com/google/go-github/v60/github"
)

// Deployment states Liftoff reports.
const (
	DeploymentInProgress = "in_progress"
	DeploymentSuccess    = "success"
	DeploymentFailure    = "failure"
)

// FindDeployment returns the id of the deployment of sha to environment whose
// payload names key (Liftoff's "namespace/release"), or 0.
func (c *Client) FindDeployment(ctx context.Context, repo, sha, environment, key string) (int64, error) {
	op := "list deployments"
	if err := c.guard(op); err != nil {
		return 0, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return 0, err
	}
	deps, _, err := c.gh.Repositories.ListDeployments(ctx, owner, name, &gh.DeploymentsListOptions{
		SHA: sha, Environment: environment, ListOptions: gh.ListOptions{PerPage: 100},
	})
	if err != nil {
		return 0, c.done(op, err)
	}
	for _, d := range deps {
		var payload map[string]any
		if json.Unmarshal(d.Payload, &payload) == nil && payload["liftoffRelease"] == key {
			return d.GetID(), nil
		}
	}
	return 0, nil
}

// CreateDeployment records a deployment of ref (the release commit) to
// environment, with key in its payload so a retry finds it, and the pinned
// artifacts (name@digest) the promotion wrote.
func (c *Client) CreateDeployment(ctx context.Context, repo, ref, environment, key, version, description string, production bool, artifacts ...string) (int64, error) {
	op := "create deployment"
	if err := c.guard(op); err != nil {
		return 0, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return 0, err
	}
	payload := map[string]string{"liftoffRelease": key, "version": version}
	if len(artifacts) > 0 {
		payload["artifacts"] = strings.Join(artifacts, " ")
	}
	d, _, err := c.gh.Repositories.CreateDeployment(ctx, owner, name, &gh.DeploymentRequest{
		Ref: gh.String(ref), Task: gh.String("deploy"), Environment: gh.String(environment),
		Description: gh.String(description), AutoMerge: gh.Bool(false), RequiredContexts: &[]string{},
		Payload:               payload,
		ProductionEnvironment: gh.Bool(production),
	})
	if err != nil {
		return 0, c.done(op, err)
	}
	return d.GetID(), nil
}

// SetDeploymentStatus adds a status to a deployment.
func (c *Client) SetDeploymentStatus(ctx context.Context, repo string, id int64, state, description, logURL string) error {
	op := "set deployment status"
	if err := c.guard(op); err != nil {
		return err
	}
	owner, name, err := split(repo)
	if err != nil {
		return err
	}
	req := &gh.DeploymentStatusRequest{State: gh.String(state), Description: gh.String(description), AutoInactive: gh.Bool(true)}
	if logURL != "" {
		req.LogURL = gh.String(logURL)
	}
	_, _, err = c.gh.Repositories.CreateDeploymentStatus(ctx, owner, name, id, req)
	return c.done(op, err)
}

// DeploymentState returns the state of a deployment's latest status, "" when
// it has none. A status retried after its answer was lost reads it first, so
// that it is written once.
func (c *Client) DeploymentState(ctx context.Context, repo string, id int64) (string, error) {
	op := "list deployment statuses"
	if err := c.guard(op); err != nil {
		return "", err
	}
	owner, name, err := split(repo)
	if err != nil {
		return "", err
	}
	statuses, _, err := c.gh.Repositories.ListDeploymentStatuses(ctx, owner, name, id, &gh.ListOptions{PerPage: 1})
	if err != nil {
		return "", c.done(op, err)
	}
	if len(statuses) == 0 {
		return "", nil
	}
	return statuses[0].GetState(), nil
}
