package githubsim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"
	. "github.com/onsi/gomega"
)

// fakeNow is a settable clock for the simulator's windows.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeNow() *fakeNow { return &fakeNow{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

func (f *fakeNow) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeNow) add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

// answer is what a client sees of one request.
type answer struct {
	status     int
	retryAfter string
	message    string
	docURL     string
}

func do(t *testing.T, ctx context.Context, s *Server, method, path, body string) answer {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, method, s.URL()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return answer{}
		}
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Message          string `json:"message"`
		DocumentationURL string `json:"documentation_url"`
	}
	_ = json.Unmarshal(b, &e)
	return answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), message: e.Message, docURL: e.DocumentationURL}
}

// A commit status: a cheap content-generating request.
func status(t *testing.T, s *Server, sha string) answer {
	t.Helper()
	return do(t, ctx, s, "POST", "/repos/acme/gitops/statuses/"+sha, `{"state":"success","context":"qa"}`)
}

func wantSecondary(t *testing.T, got answer, code int, message, retryAfter string) {
	t.Helper()
	if got.status != code || !strings.HasPrefix(got.message, message) || got.retryAfter != retryAfter ||
		!strings.HasSuffix(got.docURL, "#about-secondary-rate-limits") {
		t.Fatalf("got %+v, want %d %q with Retry-After %s and the secondary limits' documentation", got, code, message, retryAfter)
	}
}

const blockedFromContent = "You have exceeded a secondary rate limit and have been temporarily blocked from content creation."

func TestContentGeneratingRequestsPerMinute(t *testing.T) {
	clk := newFakeNow()
	s, _, sha := seeded(t, WithClock(clk.now), WithSecondaryLimits(GitHubSecondaryLimits))
	for i := range 80 {
		if got := status(t, s, sha); got.status != http.StatusCreated {
			t.Fatalf("write %d: %+v", i+1, got)
		}
		clk.add(100 * time.Millisecond)
	}
	// The 81st write within a minute is refused until the first leaves it.
	wantSecondary(t, status(t, s, sha), http.StatusForbidden, blockedFromContent, "52")
	if got := do(t, ctx, s, "GET", "/repos/acme/gitops/commits/main/statuses", ""); got.status != http.StatusOK {
		t.Fatalf("reads are not content: %+v", got)
	}
	clk.add(30 * time.Second)
	wantSecondary(t, status(t, s, sha), http.StatusForbidden, blockedFromContent, "22")
	clk.add(22 * time.Second)
	if got := status(t, s, sha); got.status != http.StatusCreated {
		t.Fatalf("the window slid past the first write: %+v", got)
	}
	wantSecondary(t, status(t, s, sha), http.StatusForbidden, blockedFromContent, "1")
	if st := s.Requests(); st.ContentGenerating != 81 || st.SecondaryRefusals != 3 {
		t.Fatalf("stats: %d content-generating, %d refused; want 81 and 3", st.ContentGenerating, st.SecondaryRefusals)
	}

	// go-github sees GitHub's answer: an abuse rate-limit error with its wait.
	var abuse *gh.AbuseRateLimitError
	_, _, err := client(t, s).Repositories.CreateStatus(ctx, "acme", "gitops", sha, &gh.RepoStatus{State: gh.String("success")})
	if !errors.As(err, &abuse) || abuse.GetRetryAfter() != time.Second {
		t.Fatalf("go-github: %v", err)
	}
}

func TestContentGeneratingRequestsPerHour(t *testing.T) {
	clk := newFakeNow()
	s, _, sha := seeded(t, WithClock(clk.now), WithSecondaryLimits(GitHubSecondaryLimits))
	start := clk.now()
	for i := range 500 {
		if got := status(t, s, sha); got.status != http.StatusCreated {
			t.Fatalf("write %d: %+v", i+1, got)
		}
		if (i+1)%80 == 0 {
			clk.add(time.Minute)
		}
	}
	// 500 in 6 minutes: the hour is full until the first write is an hour old.
	wait := start.Add(time.Hour).Sub(clk.now())
	wantSecondary(t, status(t, s, sha), http.StatusForbidden, blockedFromContent, "3240")
	if u := s.Usage(tok); u.ContentLastHour != 500 || u.ContentLastMinute != 20 {
		t.Fatalf("usage %+v", u)
	}
	clk.add(wait)
	if got := status(t, s, sha); got.status != http.StatusCreated {
		t.Fatalf("an hour after the first write: %+v", got)
	}
}

func TestPointsPerEndpointPerMinute(t *testing.T) {
	for _, tc := range []struct {
		name, method, path, body string
		fits                     int
	}{
		{"a read costs 1", "GET", "/repos/acme/gitops", "", 900},
		{"a write costs 5", "POST", "/repos/acme/gitops/statuses/SHA", `{"state":"success"}`, 180},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newFakeNow()
			s, _, sha := seeded(t, WithClock(clk.now), WithSecondaryLimits(SecondaryLimits{PointsPerMinute: 900}))
			path := strings.Replace(tc.path, "SHA", sha, 1)
			for i := range tc.fits {
				if got := do(t, ctx, s, tc.method, path, tc.body); got.status >= 300 {
					t.Fatalf("request %d: %+v", i+1, got)
				}
			}
			clk.add(59 * time.Second)
			wantSecondary(t, do(t, ctx, s, tc.method, path, tc.body), http.StatusForbidden, "You have exceeded a secondary rate limit.", "1")
			if got := do(t, ctx, s, "GET", "/repos/acme/gitops/git/ref/heads/main", ""); got.status != http.StatusOK {
				t.Fatalf("another endpoint has its own points: %+v", got)
			}
			clk.add(time.Second)
			if got := do(t, ctx, s, tc.method, path, tc.body); got.status >= 300 {
				t.Fatalf("a minute later: %+v", got)
			}
		})
	}
}

func TestConcurrentRequests(t *testing.T) {
	s, _, _ := seeded(t, WithSecondaryLimits(GitHubSecondaryLimits))
	// Requests to this path hang until their client gives up.
	s.Inject(Fault{Method: "GET", Path: "/git/ref/", Delay: time.Hour})
	hung, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() { do(t, hung, s, "GET", "/repos/acme/gitops/git/ref/heads/main", "") })
	}
	// Once the hundred are in flight, the next request is refused.
	g := NewWithT(t)
	var got answer
	read := func() int {
		got = do(t, ctx, s, "GET", "/repos/acme/gitops", "")
		return got.status
	}
	g.Eventually(read, 10*time.Second, 10*time.Millisecond).ShouldNot(Equal(http.StatusOK))
	wantSecondary(t, got, http.StatusForbidden, "You have exceeded a secondary rate limit.", "60")
	cancel()
	wg.Wait()
	g.Eventually(read, 10*time.Second, 10*time.Millisecond).Should(Equal(http.StatusOK), "still refused once the requests ended")
}

func TestSecondaryLimitAs429(t *testing.T) {
	l := GitHubSecondaryLimits
	l.ContentPerMinute, l.Status = 1, http.StatusTooManyRequests
	s, _, sha := seeded(t, WithSecondaryLimits(l))
	if got := status(t, s, sha); got.status != http.StatusCreated {
		t.Fatalf("first write: %+v", got)
	}
	wantSecondary(t, status(t, s, sha), http.StatusTooManyRequests, blockedFromContent, "60")
}

func TestNoSecondaryLimitsByDefault(t *testing.T) {
	s, _, sha := seeded(t)
	for i := range 200 {
		if got := status(t, s, sha); got.status != http.StatusCreated {
			t.Fatalf("write %d: %+v", i+1, got)
		}
	}
	if st := s.Requests(); st.ContentGenerating != 200 || st.SecondaryRefusals != 0 {
		t.Fatalf("stats %+v", st)
	}
}
