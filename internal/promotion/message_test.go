package promotion

import "testing"

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
