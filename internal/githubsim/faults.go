package githubsim

import (
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// Fault makes matching requests fail (or slow) instead of being served.
type Fault struct {
	// Method to match; empty matches any.
	Method string
	// Path is a regular expression matched against the URL path.
	Path string
	// Status of the answer. 0 with Delay: answer late but do the work.
	Status int
	// Message of the error body; GitHub's for the status when empty.
	Message string
	// RetryAfter sets the Retry-After header.
	RetryAfter time.Duration
	// RateLimitReset, with Status 403: a primary rate limit exhausted until then.
	RateLimitReset time.Time
	// Secondary, with Status 403: a secondary rate limit (abuse detection).
	Secondary bool
	// Delay before answering.
	Delay time.Duration
	// Times is how many matching requests it applies to; 0 means until cleared.
	Times int
}

type faultState struct {
	Fault
	re   *regexp.Regexp
	left int
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{Fault: f, re: regexp.MustCompile(f.Path), left: f.Times})
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Server) matchFault(req *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method != "" && f.Method != req.Method) || !f.re.MatchString(req.URL.Path) {
			continue
		}
		out := f.Fault
		if f.Times > 0 {
			f.left--
			if f.left <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return &out
	}
	return nil
}

func (s *Server) answerFault(w http.ResponseWriter, f *Fault) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Round(time.Second)/time.Second)))
	}
	msg := f.Message
	switch {
	case f.Status == http.StatusForbidden && !f.RateLimitReset.IsZero():
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(s.limit))
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Used", strconv.Itoa(s.limit))
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(f.RateLimitReset.Unix(), 10))
		w.Header().Set("X-RateLimit-Resource", "core")
		if msg == "" {
			msg = "API rate limit exceeded for user ID 1."
		}
		writeErrorDoc(w, f.Status, msg, "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting")
	case f.Status == http.StatusForbidden && f.Secondary:
		if msg == "" {
			msg = msgSecondary
		}
		writeErrorDoc(w, f.Status, msg, docSecondary)
	default:
		if msg == "" {
			msg = http.StatusText(f.Status)
			if f.Status >= 500 {
				msg = "Server Error"
			}
		}
		writeError(w, f.Status, msg)
	}
}
