package controllers

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// A reconcile that wrote a Release twice (a step that goes on from what it
// wrote) leaves a cache that may lag behind both writes: a copy at either
// replaced version is stale, so the next reconcile does not redo the steps
// (and their GitHub writes) the writes recorded. A newer copy, the
// controller's own or someone else's, is acted on.
func TestCopiesOlderThanAnyOfTheControllersWritesAreStale(t *testing.T) {
	r := types.NamespacedName{Namespace: "shop", Name: "checkout-1.4.2"}
	other := types.NamespacedName{Namespace: "shop", Name: "checkout-1.4.3"}
	var w writtenOver
	if w.stale(r, "100") {
		t.Fatal("nothing written: not stale")
	}
	// One reconcile: 100 -> 101 (the stage deployed), 101 -> 102 (released).
	w.wrote(r, "100")
	w.wrote(r, "101")
	for _, rv := range []string{"100", "101"} {
		if !w.stale(r, rv) {
			t.Errorf("a copy at %s, written over, is not stale", rv)
		}
	}
	if w.stale(other, "100") {
		t.Error("another Release's copy is stale")
	}
	if w.stale(r, "102") {
		t.Error("the copy the last write made is stale")
	}
	// The cache caught up: what was written over is forgotten.
	if w.stale(r, "100") {
		t.Error("written-over versions remembered after the cache caught up")
	}
	w.wrote(r, "102")
	if w.stale(r, "105") {
		t.Error("someone else's later write is stale")
	}
	w.wrote(r, "105")
	w.forget(r)
	if w.stale(r, "105") {
		t.Error("a deleted Release's versions are remembered")
	}
}
