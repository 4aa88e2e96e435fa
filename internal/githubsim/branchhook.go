package githubsim

import "net/http"

// BranchUpdate is a branch moved by an API request: a commit through the
// contents API, a ref created or updated, a pull request merged.
type BranchUpdate struct {
	// Repo is owner/name.
	Repo   string
	Branch string
	// SHA is the new head and Message its commit message.
	SHA, Message string
}

// WithBranchHook calls hook for every branch an API request moves, after the
// change is made and before the answer is sent. Tests use it to stop a
// client between a write GitHub made and the client learning of it: the
// answer waits until hook returns.
func WithBranchHook(hook func(BranchUpdate)) Option {
	return func(s *Server) { s.onBranch = hook }
}

// branchMoved queues the branch hook of a request; the caller holds s.mu, so
// the hook runs once the handler is done (see serve).
func (s *Server) branchMoved(w http.ResponseWriter, r *repo, branch, sha string) {
	rec, ok := w.(*recorder)
	if s.onBranch == nil || !ok {
		return
	}
	msg := ""
	if c, ok := r.commitAt(sha); ok {
		msg = c.message
	}
	rec.moved = append(rec.moved, BranchUpdate{Repo: r.owner + "/" + r.name, Branch: branch, SHA: sha, Message: msg})
}
