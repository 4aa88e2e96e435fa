package githubsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	gh "github.com/google/go-github/v60/github"
)

func TestReleasesCreateTagsAndPaginate(t *testing.T) {
	s, c, sha := seeded(t)
	// Through the API: a published release creates its tag at target_commitish.
	rel, _, err := c.Repositories.CreateRelease(ctx, "acme", "gitops", &gh.RepositoryRelease{TagName: gh.String("v1.0.0"), TargetCommitish: gh.String("main")})
	if err != nil {
		t.Fatal(err)
	}
	if rel.GetDraft() || rel.GetPublishedAt().IsZero() {
		t.Fatalf("release %+v is not published", rel)
	}
	if _, _, err := c.Repositories.CreateRelease(ctx, "acme", "gitops", &gh.RepositoryRelease{TagName: gh.String("v1.0.0")}); statusOf(err) != http.StatusUnprocessableEntity {
		t.Fatalf("a second release of a tag: %v, want 422", err)
	}
	// A draft creates no tag until it is published.
	draftID, err := s.CreateRelease("acme/gitops", "v1.1.0", sha, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 4; i++ {
		if _, err := s.CreateRelease("acme/gitops", "v1."+string(rune('0'+i))+".0", sha, false); err != nil {
			t.Fatal(err)
		}
	}
	tagNames := func() []string {
		var names []string
		opts := &gh.ListOptions{PerPage: 2}
		for {
			tags, resp, err := c.Repositories.ListTags(ctx, "acme", "gitops", opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, tg := range tags {
				if tg.GetCommit().GetSHA() != sha {
					t.Errorf("tag %s at %s, want %s", tg.GetName(), tg.GetCommit().GetSHA(), sha)
				}
				names = append(names, tg.GetName())
			}
			if resp.NextPage == 0 {
				return names
			}
			opts.Page = resp.NextPage
		}
	}
	if got := tagNames(); len(got) != 4 || got[0] != "v1.4.0" || got[3] != "v1.0.0" {
		t.Fatalf("tags %v, want v1.4.0 v1.3.0 v1.2.0 v1.0.0 (no tag for the draft)", got)
	}
	rels, resp, err := c.Repositories.ListReleases(ctx, "acme", "gitops", &gh.ListOptions{PerPage: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 3 || resp.NextPage != 2 || rels[0].GetTagName() != "v1.4.0" {
		t.Fatalf("first page %d releases, next %d", len(rels), resp.NextPage)
	}
	// Publishing the draft creates the tag.
	if _, _, err := c.Repositories.EditRelease(ctx, "acme", "gitops", draftID, &gh.RepositoryRelease{Draft: gh.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if got := tagNames(); len(got) != 5 {
		t.Fatalf("tags after publishing the draft: %v", got)
	}
}

func TestTagsAnswer304WhenUnchanged(t *testing.T) {
	s, _, sha := seeded(t)
	if err := s.CreateTag("acme/gitops", "v1.0.0", sha); err != nil {
		t.Fatal(err)
	}
	get := func(etag string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+"/repos/acme/gitops/tags", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("ETag")
	}
	code, etag := get("")
	if code != http.StatusOK || etag == "" {
		t.Fatalf("%d %q", code, etag)
	}
	if code, _ := get(etag); code != http.StatusNotModified {
		t.Fatalf("unchanged: %d, want 304", code)
	}
	if err := s.CreateTag("acme/gitops", "v1.0.1", sha); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(etag); code != http.StatusOK {
		t.Fatalf("changed: %d, want 200", code)
	}
}

type received struct {
	event, id, sig string
	body           []byte
}

func TestWebhookDeliveriesSignedAndRedelivered(t *testing.T) {
	s, c, sha := seeded(t)
	secret := []byte("hook-secret")
	var mu sync.Mutex
	var got []received
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with %q", r.Method, r.Header.Get("Content-Type"))
		}
		mu.Lock()
		got = append(got, received{r.Header.Get("X-GitHub-Event"), r.Header.Get("X-GitHub-Delivery"), r.Header.Get("X-Hub-Signature-256"), b})
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer hook.Close()
	s.AddWebhook(hook.URL, secret, "release", "create", "check_run", "status")

	if _, err := s.CreateRelease("acme/gitops", "v2.0.0", sha, false); err != nil {
		t.Fatal(err)
	}
	id := s.SetCheckRun("acme/gitops", sha, "test", "in_progress", "")
	s.SetCheckRun("acme/gitops", sha, "test", "completed", "success")
	if _, _, err := c.Repositories.CreateStatus(ctx, "acme", "gitops", sha, &gh.RepoStatus{State: gh.String("success"), Context: gh.String("ci")}); err != nil {
		t.Fatal(err)
	}
	s.WaitDeliveries()

	mu.Lock()
	defer mu.Unlock()
	seen := map[string]bool{}
	events := map[string]int{}
	for _, r := range got {
		mac := hmac.New(sha256.New, secret)
		mac.Write(r.body)
		if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); r.sig != want {
			t.Errorf("%s: signature %q, want %q", r.event, r.sig, want)
		}
		if seen[r.id] || r.id == "" {
			t.Errorf("delivery id %q repeated or empty", r.id)
		}
		seen[r.id] = true
		var p struct {
			Action     string
			Ref        string
			RefType    string `json:"ref_type"`
			SHA        string
			State      string
			Repository struct {
				FullName string `json:"full_name"`
			}
			Release struct {
				TagName string `json:"tag_name"`
			}
			CheckRun struct {
				ID         int64
				HeadSHA    string `json:"head_sha"`
				Status     string
				Conclusion *string
			} `json:"check_run"`
		}
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		key := r.event + "/" + p.Action
		events[key]++
		if r.event != "ping" && p.Repository.FullName != "acme/gitops" {
			t.Errorf("%s: repository %q", key, p.Repository.FullName)
		}
		switch r.event {
		case "release":
			if p.Release.TagName != "v2.0.0" {
				t.Errorf("%s: tag %q", key, p.Release.TagName)
			}
		case "create":
			if p.Ref != "v2.0.0" || p.RefType != "tag" {
				t.Errorf("create: %q %q", p.Ref, p.RefType)
			}
		case "check_run":
			if p.CheckRun.HeadSHA != sha || p.CheckRun.ID != id {
				t.Errorf("check_run: %+v", p.CheckRun)
			}
			if p.Action == "completed" && (p.CheckRun.Status != "completed" || p.CheckRun.Conclusion == nil || *p.CheckRun.Conclusion != "success") {
				t.Errorf("check_run completed: %+v", p.CheckRun)
			}
		case "status":
			if p.SHA != sha || p.State != "success" {
				t.Errorf("status: %q %q", p.SHA, p.State)
			}
		}
	}
	want := map[string]int{"ping/": 1, "release/created": 1, "release/published": 1, "release/released": 1, "create/": 1,
		"check_run/created": 1, "check_run/completed": 1, "status/": 1}
	for k, n := range want {
		if events[k] != n {
			t.Errorf("%s: %d deliveries, want %d (all: %v)", k, events[k], n, events)
		}
	}
	if len(events) != len(want) {
		t.Errorf("unexpected deliveries (push is not subscribed): %v", events)
	}

	// The list shows the answers; a redelivery is byte for byte the same.
	ds := s.Deliveries()
	if len(ds) != len(got) {
		t.Fatalf("%d deliveries listed, %d received", len(ds), len(got))
	}
	first := ds[1]
	if !first.Done || first.StatusCode != http.StatusAccepted {
		t.Fatalf("delivery %+v", first)
	}
	mu.Unlock()
	again, err := s.Redeliver(first.ID)
	mu.Lock()
	if err != nil {
		t.Fatal(err)
	}
	last := got[len(got)-1]
	if !again.Redelivery || again.StatusCode != http.StatusAccepted || last.id != first.ID || string(last.body) != string(first.Body) {
		t.Fatalf("redelivery %+v, received id %s", again, last.id)
	}
	if _, err := s.Redeliver("nope"); err == nil {
		t.Fatal("redelivering an unknown id succeeded")
	}
}
