package checklist

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

func TestEvaluate(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	earlier := metav1.NewTime(now.Add(-time.Hour))
	manual := releasev1.ItemCheck{Manual: &releasev1.ManualCheck{}}
	issue := releasev1.ItemCheck{GitHubIssue: &releasev1.GitHubItemRef{Repository: "acme/checkout", Number: 7}}
	lc := &releasev1.LaunchChecklist{Spec: releasev1.LaunchChecklistSpec{Items: []releasev1.ChecklistItem{
		{Name: "security-review", Function: "Security", Owners: releasev1.Owners{Groups: []string{"security"}}, Check: manual},
		{Name: "legal-review", Function: "Legal", Owners: releasev1.Owners{Users: []string{"lee"}}, Check: manual},
		{Name: "docs", Function: "Support", Check: issue},
		{Name: "blog-post", Function: "Marketing", Required: ptr.To(false), Check: manual},
	}}}
	obs := map[string]Observation{"docs": {State: releasev1.ItemDone, Message: "issue #7 closed", URL: "https://x/7"}}

	for _, tc := range []struct {
		name     string
		signOffs []releasev1.SignOff
		obs      map[string]Observation
		ready    bool
		done     int32
		states   map[string]releasev1.ItemState
		open     string
	}{
		{name: "nothing signed", obs: obs, done: 1,
			states: map[string]releasev1.ItemState{"security-review": "Pending", "legal-review": "Pending", "docs": "Done", "blog-post": "Pending"},
			open:   "security-review (Security, pending; owners group security), legal-review (Legal, pending; owners lee)"},
		{name: "approved and waived make it ready; optional items do not hold", obs: obs, ready: true, done: 3,
			signOffs: []releasev1.SignOff{
				{Item: "security-review", Decision: "Approve", By: "sam", At: &earlier},
				{Item: "legal-review", Decision: "Waive", By: "lee", At: &earlier, Comment: "no new terms"},
			},
			states: map[string]releasev1.ItemState{"security-review": "Done", "legal-review": "Waived", "docs": "Done", "blog-post": "Pending"}},
		{name: "a later reject wins over an approve", obs: obs, done: 2,
			signOffs: []releasev1.SignOff{
				{Item: "security-review", Decision: "Approve", By: "sam", At: &earlier},
				{Item: "security-review", Decision: "Reject", By: "sue", At: &earlier, Comment: "CVE-2026-1234 open"},
				{Item: "legal-review", Decision: "Approve", By: "lee", At: &earlier},
			},
			states: map[string]releasev1.ItemState{"security-review": "Failed", "legal-review": "Done", "docs": "Done"},
			open:   "security-review (Security, failed: rejected by sue: CVE-2026-1234 open; owners group security)"},
		{name: "an automatic item says what it waits on", done: 0,
			obs:    map[string]Observation{"docs": {State: releasev1.ItemPending, Message: "issue #7 open: Write the FAQ"}},
			states: map[string]releasev1.ItemState{"docs": "Pending"},
			open: "security-review (Security, pending; owners group security), legal-review (Legal, pending; owners lee), " +
				"docs (Support, pending: issue #7 open: Write the FAQ)"},
		{name: "automatic item not observed yet is pending", obs: nil, done: 0,
			states: map[string]releasev1.ItemState{"docs": "Pending"},
			open: "security-review (Security, pending; owners group security), legal-review (Legal, pending; owners lee), " +
				"docs (Support, pending: not checked yet)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := lc.DeepCopy()
			l.Spec.SignOffs = tc.signOffs
			st := Evaluate(l, tc.obs, nil, now)
			if st.Ready != tc.ready || st.Done != tc.done || st.Total != 4 {
				t.Fatalf("ready %v done %d total %d", st.Ready, st.Done, st.Total)
			}
			for _, is := range st.Items {
				if want, ok := tc.states[is.Name]; ok && is.State != want {
					t.Errorf("%s: %s (%s), want %s", is.Name, is.State, is.Message, want)
				}
			}
			l.Status = st
			if got := Open(l); got != tc.open && tc.open != "" {
				t.Errorf("open: %q", got)
			}
		})
	}
	st := Evaluate(lc, obs, nil, now)
	if st.Functions[0] != (releasev1.FunctionProgress{Function: "Legal", Done: 0, Total: 1}) || len(st.Functions) != 4 {
		t.Errorf("functions: %+v", st.Functions)
	}
	// An item that keeps its state keeps the time it reached it.
	again := Evaluate(lc, obs, st.Items, now.Add(time.Hour))
	if !again.Items[2].At.Equal(st.Items[2].At) {
		t.Errorf("at moved: %v -> %v", st.Items[2].At, again.Items[2].At)
	}
}

// Who may sign an item off: its owners, by name or group; an item without
// owners has nobody. The identity webhook enforces it, the dashboard offers
// the button by it.
func TestMaySignOff(t *testing.T) {
	owners := releasev1.Owners{Users: []string{"lee"}, Groups: []string{"security"}}
	for _, c := range []struct {
		owners releasev1.Owners
		user   string
		groups []string
		may    bool
	}{
		{owners, "lee", nil, true},
		{owners, "sue", []string{"system:authenticated", "security"}, true},
		{owners, "mallory", []string{"system:authenticated"}, false},
		{releasev1.Owners{}, "lee", []string{"security"}, false},
		{releasev1.Owners{Users: []string{""}}, "", nil, false},
	} {
		if got := MaySignOff(c.owners, c.user, c.groups); got != c.may {
			t.Errorf("%s %v on %+v: %v, want %v", c.user, c.groups, c.owners, got, c.may)
		}
	}
}
