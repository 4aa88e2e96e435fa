package githubsim

import (
	"maps"
	"strings"
)

// Stats counts the requests the simulator answered.
type Stats struct {
	// Total requests.
	Total int
	// NotModified is the number of 304 answers (free for the client).
	NotModified int
	// Counted is every request but the 304s: what GitHub charges.
	Counted int
	// ByOperation counts requests by "METHOD /route/{pattern}".
	ByOperation map[string]int
	// ByRepository counts the requests to each repository ("owner/name") by
	// operation, to tell apart the same route on two repositories.
	ByRepository map[string]map[string]int
	// ByStatus counts requests by status code.
	ByStatus map[int]int
	// ContentGenerating counts the content-generating requests GitHub's
	// secondary limits charge (see SecondaryLimits), whatever their answer.
	ContentGenerating int
	// SecondaryRefusals counts the requests refused by a secondary limit.
	SecondaryRefusals int
}

func (st *Stats) init() {
	st.ByOperation = map[string]int{}
	st.ByRepository = map[string]map[string]int{}
	st.ByStatus = map[int]int{}
}

func (st *Stats) record(op, repo string, status int, content, secondary bool) {
	st.Total++
	if repo != "" {
		if st.ByRepository[repo] == nil {
			st.ByRepository[repo] = map[string]int{}
		}
		st.ByRepository[repo][op]++
	}
	if content {
		st.ContentGenerating++
	}
	if secondary {
		st.SecondaryRefusals++
	}
	if status == 304 {
		st.NotModified++
	} else {
		st.Counted++
	}
	st.ByOperation[op]++
	st.ByStatus[status]++
}

// Requests returns a copy of the counters.
func (s *Server) Requests() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	out := Stats{Total: s.stats.Total, NotModified: s.stats.NotModified, Counted: s.stats.Counted,
		ContentGenerating: s.stats.ContentGenerating, SecondaryRefusals: s.stats.SecondaryRefusals}
	out.init()
	for k, v := range s.stats.ByOperation {
		out.ByOperation[k] = v
	}
	for k, v := range s.stats.ByStatus {
		out.ByStatus[k] = v
	}
	for repo, ops := range s.stats.ByRepository {
		out.ByRepository[repo] = maps.Clone(ops)
	}
	return out
}

// ResetStats sets every counter to zero.
func (s *Server) ResetStats() {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.stats.Total, s.stats.NotModified, s.stats.Counted = 0, 0, 0
	s.stats.ContentGenerating, s.stats.SecondaryRefusals = 0, 0
	s.stats.init()
}

// repositoryOf is "owner/name" of a /repos/{owner}/{name}/... path, else "".
func repositoryOf(path string) string {
	rest, ok := strings.CutPrefix(path, "/repos/")
	if !ok {
		return ""
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "/" + parts[1]
}
