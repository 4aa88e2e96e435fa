package simulator

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
	st.ByStatus = map[int]int{}
}

func (st *Stats) record(op string, status int, content, secondary bool) {
	st.Total++
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
