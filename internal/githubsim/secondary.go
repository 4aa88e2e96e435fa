package githubsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SecondaryLimits are GitHub's secondary rate limits per caller ("Rate
// limits for the REST API", "About secondary rate limits"): a token, or a
// GitHub App installation, whose tokens share them as they share its primary
// limit (a new token every hour does not reset them). A zero field is a limit
// not enforced.
type SecondaryLimits struct {
	// ContentPerMinute and ContentPerHour bound the content-generating
	// requests: every POST, PUT, PATCH or DELETE of a repository's resources
	// (a commit through the contents API, blobs, trees, commits and refs of
	// the git data API, pull requests and their merges, issues, comments,
	// deployments and their statuses, releases, check runs, commit statuses)
	// and every GraphQL mutation. Reads never count.
	ContentPerMinute, ContentPerHour int
	// Concurrent bounds the requests in flight, REST and GraphQL together.
	Concurrent int
	// PointsPerMinute bounds the points spent on one REST endpoint (a route
	// and its method) in a minute: a GET, HEAD or OPTIONS costs 1, a POST,
	// PATCH, PUT or DELETE 5. A conditional request answered 304 costs its
	// point as well: GitHub documents no exemption for it.
	PointsPerMinute int
	// GraphQLPointsPerMinute bounds the points spent on the GraphQL
	// endpoint: a query costs 1, a mutation 5.
	GraphQLPointsPerMinute int
	// Status of a refusal: 403 (the default) or 429, both of which GitHub
	// documents for secondary limits.
	Status int
}

// GitHubSecondaryLimits are the limits GitHub documents for api.github.com.
var GitHubSecondaryLimits = SecondaryLimits{
	ContentPerMinute: 80, ContentPerHour: 500, Concurrent: 100,
	PointsPerMinute: 900, GraphQLPointsPerMinute: 2000, Status: http.StatusForbidden,
}

// WithSecondaryLimits enforces secondary rate limits; the simulator enforces
// none without it. Windows slide: a request counts against the minute (or
// the hour) that follows it, so the Retry-After of a refusal is the time
// until the oldest request of the full window leaves it.
func WithSecondaryLimits(l SecondaryLimits) Option {
	return func(s *Server) {
		if l.Status == 0 {
			l.Status = http.StatusForbidden
		}
		s.secondary = l
	}
}

// Messages of GitHub's secondary-limit refusals.
const (
	msgSecondary        = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
	msgSecondaryContent = "You have exceeded a secondary rate limit and have been temporarily blocked from content creation. Please retry your request again later."
	docSecondary        = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)

// secondaryState is one caller's use of the secondary limits.
type secondaryState struct {
	inFlight int
	// content holds the times of admitted content-generating requests
	// within the last hour, oldest first.
	content []time.Time
	// points holds the points spent per endpoint within the last minute.
	points map[string][]spent
}

type spent struct {
	at     time.Time
	points int
}

// refusal is a request the secondary limits turn away.
type refusal struct {
	message    string
	retryAfter time.Duration
}

// secondaryOf returns the state of the caller key names (caller.rateKey);
// the caller holds s.mu.
func (s *Server) secondaryOf(key string) *secondaryState {
	st := s.secondaryUse[key]
	if st == nil {
		st = &secondaryState{points: map[string][]spent{}}
		s.secondaryUse[key] = st
	}
	return st
}

// enter counts a request in flight for the caller key names, or refuses it
// when the caller has Concurrent requests in flight already. leave undoes it.
func (s *Server) enter(key string) (leave func(), refused *refusal) {
	if s.secondary.Concurrent <= 0 {
		return func() {}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.secondaryOf(key)
	if st.inFlight >= s.secondary.Concurrent {
		// GitHub says nothing of when: clients wait a minute.
		return nil, &refusal{message: msgSecondary, retryAfter: time.Minute}
	}
	st.inFlight++
	return func() {
		s.mu.Lock()
		st.inFlight--
		s.mu.Unlock()
	}, nil
}

// writeMethod reports whether method changes something.
func writeMethod(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// graphQLMutation reports whether a GraphQL request body is a mutation. It
// leaves req.Body readable again.
func graphQLMutation(req *http.Request) bool {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 10<<20))
	req.Body = io.NopCloser(bytes.NewReader(body))
	var q struct{ Query string }
	if json.Unmarshal(body, &q) != nil {
		return false
	}
	return strings.HasPrefix(strings.TrimSpace(q.Query), "mutation")
}

// graphQLEndpoint is the GraphQL API's route.
const graphQLEndpoint = "POST /graphql"

// contentGenerating reports whether a request to endpoint (the route and its
// method) creates content: a write of a repository's resources or a GraphQL
// mutation.
func contentGenerating(endpoint string, req *http.Request) bool {
	if endpoint == graphQLEndpoint {
		return graphQLMutation(req)
	}
	return writeMethod(req.Method) && strings.Contains(endpoint, " /repos/")
}

// admit checks the points and content limits of the caller key names for a
// request to endpoint and, when it passes, charges it.
func (s *Server) admit(key, endpoint string, req *http.Request, content bool) *refusal {
	l := s.secondary
	if l.PointsPerMinute <= 0 && l.GraphQLPointsPerMinute <= 0 && l.ContentPerMinute <= 0 && l.ContentPerHour <= 0 {
		return nil
	}
	cost, limit := 1, l.PointsPerMinute
	switch {
	case endpoint == graphQLEndpoint:
		limit = l.GraphQLPointsPerMinute
		if content {
			cost = 5
		}
	case writeMethod(req.Method):
		cost = 5
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	st := s.secondaryOf(key)
	st.content = since(st.content, now.Add(-time.Hour))
	spentHere := st.points[endpoint]
	for len(spentHere) > 0 && !spentHere[0].at.After(now.Add(-time.Minute)) {
		spentHere = spentHere[1:]
	}
	st.points[endpoint] = spentHere
	if limit > 0 {
		if wait, ok := pointsWait(spentHere, cost, limit, now); !ok {
			return &refusal{message: msgSecondary, retryAfter: wait}
		}
	}
	if content {
		if l.ContentPerMinute > 0 {
			inMinute := since(st.content, now.Add(-time.Minute))
			if len(inMinute) >= l.ContentPerMinute {
				return &refusal{message: msgSecondaryContent, retryAfter: inMinute[len(inMinute)-l.ContentPerMinute].Add(time.Minute).Sub(now)}
			}
		}
		if l.ContentPerHour > 0 && len(st.content) >= l.ContentPerHour {
			return &refusal{message: msgSecondaryContent, retryAfter: st.content[len(st.content)-l.ContentPerHour].Add(time.Hour).Sub(now)}
		}
		st.content = append(st.content, now)
	}
	st.points[endpoint] = append(spentHere, spent{at: now, points: cost})
	return nil
}

// since returns the tail of times (ascending) after from.
func since(times []time.Time, from time.Time) []time.Time {
	i := 0
	for i < len(times) && !times[i].After(from) {
		i++
	}
	return times[i:]
}

// pointsWait says whether cost more points fit in the minute, and if not,
// how long until enough of the spent points leave it.
func pointsWait(spentHere []spent, cost, limit int, now time.Time) (time.Duration, bool) {
	total := 0
	for _, p := range spentHere {
		total += p.points
	}
	if total+cost <= limit {
		return 0, true
	}
	for _, p := range spentHere {
		total -= p.points
		if total+cost <= limit {
			return p.at.Add(time.Minute).Sub(now), false
		}
	}
	return time.Minute, false
}

// refuse answers as GitHub does when a secondary limit is exceeded: 403 (or
// 429) with the secondary-limit message, its documentation URL and
// Retry-After in whole seconds, at least one.
func (s *Server) refuse(w http.ResponseWriter, status int, r *refusal) {
	secs := int((r.retryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(1, secs)))
	writeErrorDoc(w, status, r.message, docSecondary)
}

// SecondaryUsage is what a caller spent of the content limits: the
// content-generating requests admitted within the last minute and hour.
type SecondaryUsage struct {
	ContentLastMinute, ContentLastHour int
}

// Usage returns token's use of the content limits now: for an installation
// token, its installation's (see InstallationUsage).
func (s *Server) Usage(token string) SecondaryUsage {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := token
	if it := s.apps.tokens[token]; it != nil {
		key = installationKey(it.inst.id)
	}
	return s.usage(key)
}

// InstallationUsage returns the use of the content limits by every token of
// the App installation id.
func (s *Server) InstallationUsage(id int64) SecondaryUsage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usage(installationKey(id))
}

// usage is the caller key's use; the caller holds s.mu.
func (s *Server) usage(key string) SecondaryUsage {
	st := s.secondaryUse[key]
	if st == nil {
		return SecondaryUsage{}
	}
	now := s.now()
	return SecondaryUsage{
		ContentLastMinute: len(since(st.content, now.Add(-time.Minute))),
		ContentLastHour:   len(since(st.content, now.Add(-time.Hour))),
	}
}
