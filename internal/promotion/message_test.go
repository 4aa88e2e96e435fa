package promotion

import (
	"strings"
	"testing"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

func TestCommitMessageTrailersRoundTrip(t *testing.T) {
	req := &Request{Namespace: "shop", Release: "checkout-1-4-2", Application: "checkout", Stage: "prod", Version: "1.4.2"}
	msg := commitMessage(req, "1.4.1")
	got := Trailers(msg)
	want := map[string]string{TrailerRelease: "shop/checkout-1-4-2", TrailerStage: "prod", TrailerVersion: "1.4.2", TrailerPreviousVersion: "1.4.1"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q in\n%s", k, got[k], v, msg)
		}
	}
	if !isPromotionOf(msg, "shop/checkout-1-4-2", "prod") {
		t.Fatal("own commit not recognised")
	}
	for _, other := range [][2]string{{"shop/checkout-1-4-2", "staging"}, {"shop/checkout-1-4-3", "prod"}, {"other/checkout-1-4-2", "prod"}} {
		if isPromotionOf(msg, other[0], other[1]) {
			t.Errorf("commit taken for %v", other)
		}
	}
}

func TestTrailersOnlyFromTheLastParagraph(t *testing.T) {
	msg := "Promote\n\nLiftoff-Release: in/body\n\nLiftoff-Release: ns/r\nLiftoff-Stage: dev\r\n"
	got := Trailers(msg)
	if got[TrailerRelease] != "ns/r" || got[TrailerStage] != "dev" {
		t.Fatalf("trailers %v", got)
	}
	if isPromotionOf("Revert\n\nLiftoff-Release: ns/r\nLiftoff-Stage: dev\nLiftoff-Action: rollback\n", "ns/r", "dev") {
		t.Fatal("a rollback commit is not the promotion commit")
	}
}

func TestCoalescedMessageHoldsEachPromotionsTrailers(t *testing.T) {
	reqs := []planned{
		{req: &Request{Namespace: "shop", Release: "checkout-1-4-2", Application: "checkout", Stage: "prod", Version: "1.4.2"}, previous: "1.4.1"},
		{req: &Request{Namespace: "shop", Release: "cart-2-0-0", Application: "cart", Stage: "prod", Version: "2.0.0"}},
		{req: &Request{Namespace: "pay", Release: "ledger-0-9-1", Application: "ledger", Stage: "staging", Version: "0.9.1"}, previous: "0.9.0"},
	}
	msg := batchMessage(reqs)
	headline, body := splitMessage(msg)
	if headline != "Promote 3 releases to prod, staging" || !strings.Contains(body, "- cart 2.0.0 to prod (release shop/cart-2-0-0)\n") ||
		!strings.Contains(body, "- checkout 1.4.2 to prod (release shop/checkout-1-4-2), replacing 1.4.1\n") {
		t.Fatalf("message:\n%s", msg)
	}
	groups := TrailerGroups(msg)
	if len(groups) != 3 {
		t.Fatalf("%d trailer groups in\n%s", len(groups), msg)
	}
	for i, p := range reqs {
		own := groupOf(msg, p.req.ReleaseKey(), p.req.Stage, "", "")
		if own == nil || own[TrailerVersion] != p.req.Version || own[TrailerPreviousVersion] != p.previous || groups[i][TrailerRelease] != p.req.ReleaseKey() {
			t.Errorf("%s: own trailers %v", p.req.ReleaseKey(), own)
		}
	}
	if isPromotionOf(msg, "shop/cart-2-0-0", "staging") || isPromotionOf(msg, "pay/ledger-0-9-1", "prod") {
		t.Fatal("a release and another's stage matched")
	}
	if one := batchMessage(reqs[:1]); one != commitMessage(reqs[0].req, "1.4.1") {
		t.Fatalf("a batch of one is an ordinary promotion commit:\n%s", one)
	}
}

func TestPriorityOfARequest(t *testing.T) {
	for _, tc := range []struct {
		req  Request
		want github.Priority
	}{
		{Request{}, github.PriorityCommit},
		{Request{Target: releasev1.Target{Strategy: releasev1.StrategyPullRequest}}, github.PriorityMerge},
		{Request{Target: releasev1.Target{Strategy: releasev1.StrategyPullRequest}, Revert: &Revert{}}, github.PriorityRollback},
		{Request{Revert: &Revert{}}, github.PriorityRollback},
	} {
		if got := tc.req.Priority(); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.req, got, tc.want)
		}
	}
}
