package githubsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

type deployment struct {
	id                          int64
	sha, ref, task, environment string
	description                 string
	payload                     json.RawMessage
	transient, production       bool
	createdAt                   time.Time
	statuses                    []DeploymentStatus
}

// DeploymentStatus is one status of a deployment.
type DeploymentStatus struct {
	ID          int64
	State       string
	Description string
	LogURL      string
}

// Deployment is a deployment as the test helpers see it.
type Deployment struct {
	ID          int64
	SHA, Ref    string
	Environment string
	Description string
	Payload     json.RawMessage
	// Statuses, oldest first.
	Statuses []DeploymentStatus
}

// Deployments lists the repository's deployments, oldest first.
func (s *Server) Deployments(fullName string) []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return nil
	}
	var out []Deployment
	for _, d := range r.deployments {
		out = append(out, Deployment{ID: d.id, SHA: d.sha, Ref: d.ref, Environment: d.environment, Description: d.description,
			Payload: d.payload, Statuses: append([]DeploymentStatus(nil), d.statuses...)})
	}
	return out
}

func (s *Server) deploymentJSON(req *http.Request, r *repo, d *deployment) map[string]any {
	payload := d.payload
	if len(payload) == 0 {
		payload = json.RawMessage(`{}`)
	}
	return map[string]any{
		"id": d.id, "sha": d.sha, "ref": d.ref, "task": d.task, "environment": d.environment, "description": d.description,
		"payload": payload, "transient_environment": d.transient, "production_environment": d.production,
		"created_at": ts(d.createdAt), "updated_at": ts(d.createdAt),
		"url":          fmt.Sprintf("%s/repos/%s/deployments/%d", s.baseURL(req), r.fullName(), d.id),
		"statuses_url": fmt.Sprintf("%s/repos/%s/deployments/%d/statuses", s.baseURL(req), r.fullName(), d.id),
	}
}

// GET /repos/{owner}/{repo}/deployments (newest first)
func (s *Server) handleListDeployments(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	q := req.URL.Query()
	var items []any
	for i := len(r.deployments) - 1; i >= 0; i-- {
		d := r.deployments[i]
		if (q.Get("sha") != "" && d.sha != q.Get("sha")) || (q.Get("ref") != "" && d.ref != q.Get("ref")) ||
			(q.Get("task") != "" && d.task != q.Get("task")) || (q.Get("environment") != "" && d.environment != q.Get("environment")) {
			continue
		}
		items = append(items, s.deploymentJSON(req, r, d))
	}
	writePage(w, req, items)
}

// POST /repos/{owner}/{repo}/deployments
func (s *Server) handleCreateDeployment(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Ref, Task, Environment, Description string
		Payload                             json.RawMessage
		Transient                           bool  `json:"transient_environment"`
		Production                          *bool `json:"production_environment"`
	}
	if !decode(w, req, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	sha, ok := r.resolve(body.Ref)
	if !ok {
		writeValidation(w, "No ref found for: "+body.Ref, "Deployment", "ref", "invalid")
		return
	}
	if body.Task == "" {
		body.Task = "deploy"
	}
	if body.Environment == "" {
		body.Environment = "production"
	}
	prod := body.Environment == "production"
	if body.Production != nil {
		prod = *body.Production
	}
	d := &deployment{id: s.id(), sha: sha, ref: body.Ref, task: body.Task, environment: body.Environment, description: body.Description,
		payload: body.Payload, transient: body.Transient, production: prod, createdAt: s.now()}
	r.deployments = append(r.deployments, d)
	writeJSON(w, http.StatusCreated, s.deploymentJSON(req, r, d))
}

func (s *Server) findDeployment(w http.ResponseWriter, req *http.Request) (*repo, *deployment) {
	return findIn(s, w, req, "id", func(r *repo) []*deployment { return r.deployments }, func(d *deployment) int64 { return d.id })
}

// GET /repos/{owner}/{repo}/deployments/{id}
func (s *Server) handleGetDeployment(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, d := s.findDeployment(w, req); d != nil {
		writeJSON(w, http.StatusOK, s.deploymentJSON(req, r, d))
	}
}

func deploymentStatusJSON(d *deployment, st DeploymentStatus) map[string]any {
	return map[string]any{"id": st.ID, "state": st.State, "description": st.Description, "log_url": st.LogURL, "environment": d.environment}
}

// GET /repos/{owner}/{repo}/deployments/{id}/statuses (newest first)
func (s *Server) handleListDeploymentStatuses(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, d := s.findDeployment(w, req)
	if d == nil {
		return
	}
	var items []any
	for i := len(d.statuses) - 1; i >= 0; i-- {
		items = append(items, deploymentStatusJSON(d, d.statuses[i]))
	}
	writePage(w, req, items)
}

// POST /repos/{owner}/{repo}/deployments/{id}/statuses
func (s *Server) handleCreateDeploymentStatus(w http.ResponseWriter, req *http.Request) {
	var body struct {
		State, Description string
		LogURL             string `json:"log_url"`
		AutoInactive       *bool  `json:"auto_inactive"`
	}
	if !decode(w, req, &body) {
		return
	}
	switch body.State {
	case "error", "failure", "inactive", "in_progress", "queued", "pending", "success":
	default:
		writeValidation(w, "Validation Failed", "DeploymentStatus", "state", "invalid")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, d := s.findDeployment(w, req)
	if d == nil {
		return
	}
	st := DeploymentStatus{ID: s.id(), State: body.State, Description: body.Description, LogURL: body.LogURL}
	d.statuses = append(d.statuses, st)
	if body.State == "success" && (body.AutoInactive == nil || *body.AutoInactive) {
		// GitHub marks the earlier non-transient deployments of the
		// environment inactive.
		for _, other := range r.deployments {
			if other == d || other.environment != d.environment || other.transient || len(other.statuses) == 0 {
				continue
			}
			if other.statuses[len(other.statuses)-1].State == "success" {
				other.statuses = append(other.statuses, DeploymentStatus{ID: s.id(), State: "inactive", Description: "superseded by a newer deployment"})
			}
		}
	}
	writeJSON(w, http.StatusCreated, deploymentStatusJSON(d, st))
}
