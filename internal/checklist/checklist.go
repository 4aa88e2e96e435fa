// Package checklist decides, from what was observed of each item's check and
// the sign-offs people recorded, where a launch checklist stands. It is pure:
// the controller observes GitHub, Prometheus and Releases; this package says
// Done, Pending, Failed or Waived, and why.
package checklist

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// Observation is what the controller saw of an automatic item's check.
type Observation struct {
	State   releasev1.ItemState
	Message string
	URL     string
}

// Evaluate computes the checklist's status. obs holds the observation of
// each automatic item by name; since carries the previous status, so an
// item's `at` stays the time it reached its state.
func Evaluate(lc *releasev1.LaunchChecklist, obs map[string]Observation, previous []releasev1.ChecklistItemStatus, now time.Time) releasev1.LaunchChecklistStatus {
	last := map[string]releasev1.SignOff{}
	for _, so := range lc.Spec.SignOffs {
		last[so.Item] = so // later entries win
	}
	prev := map[string]releasev1.ChecklistItemStatus{}
	for _, p := range previous {
		prev[p.Name] = p
	}
	st := releasev1.LaunchChecklistStatus{Ready: true}
	progress := map[string]*releasev1.FunctionProgress{}
	var functions []string
	for _, it := range lc.Spec.Items {
		is := item(it, obs[it.Name], last)
		if p, ok := prev[it.Name]; ok && p.State == is.State && p.At != nil && is.At == nil {
			is.At = p.At
		}
		if is.At == nil {
			t := metav1.NewTime(now.Truncate(time.Second))
			is.At = &t
		}
		st.Items = append(st.Items, is)
		fp, ok := progress[it.Function]
		if !ok {
			fp = &releasev1.FunctionProgress{Function: it.Function}
			progress[it.Function] = fp
			functions = append(functions, it.Function)
		}
		fp.Total++
		st.Total++
		if is.State == releasev1.ItemDone || is.State == releasev1.ItemWaived {
			fp.Done++
			st.Done++
		} else if is.Required {
			st.Ready = false
		}
	}
	sort.Strings(functions)
	for _, f := range functions {
		st.Functions = append(st.Functions, *progress[f])
	}
	return st
}

func item(it releasev1.ChecklistItem, o Observation, last map[string]releasev1.SignOff) releasev1.ChecklistItemStatus {
	is := releasev1.ChecklistItemStatus{Name: it.Name, Function: it.Function, Required: it.Required == nil || *it.Required}
	if so, ok := last[it.Name]; ok {
		is.By, is.At = so.By, so.At
		switch so.Decision {
		case releasev1.DecisionWaive:
			is.State, is.Message = releasev1.ItemWaived, signed("waived", so)
			return is
		case releasev1.DecisionReject:
			is.State, is.Message = releasev1.ItemFailed, signed("rejected", so)
			return is
		case releasev1.DecisionApprove:
			if it.Check.Manual != nil {
				is.State, is.Message = releasev1.ItemDone, signed("approved", so)
				return is
			}
		}
		is.By, is.At = "", nil
	}
	if it.Check.Manual != nil {
		is.State, is.Message = releasev1.ItemPending, "waiting for a sign-off by "+OwnersText(it.Owners)
		return is
	}
	if o.State == "" {
		o = Observation{State: releasev1.ItemPending, Message: "not checked yet"}
	}
	is.State, is.Message, is.URL = o.State, o.Message, o.URL
	return is
}

func signed(verb string, so releasev1.SignOff) string {
	msg := verb + " by " + so.By
	if so.Comment != "" {
		msg += ": " + so.Comment
	}
	return msg
}

// OwnersText renders an item's owners for people.
func OwnersText(o releasev1.Owners) string {
	var parts []string
	if len(o.Users) > 0 {
		parts = append(parts, strings.Join(o.Users, ", "))
	}
	if len(o.Groups) > 0 {
		parts = append(parts, "group "+strings.Join(o.Groups, ", group "))
	}
	if len(parts) == 0 {
		return "nobody (set the item's owners)"
	}
	return strings.Join(parts, ", ")
}

// MaySignOff tells whether a person (user, in groups) is among an item's
// owners, who alone may sign it off: an item without owners has nobody.
// The identity webhook refuses the others; the dashboard offers the
// sign-off to owners only.
func MaySignOff(o releasev1.Owners, user string, groups []string) bool {
	if user == "" {
		return false
	}
	if slices.Contains(o.Users, user) {
		return true
	}
	for _, g := range groups {
		if slices.Contains(o.Groups, g) {
			return true
		}
	}
	return false
}

// Open describes the required items still open for the Release's
// launchChecklist gate: what each waits on (the observation of an automatic
// item, such as the issue that is still open) and who can move it (its
// owners; a manual item without owners cannot be signed off at all).
func Open(lc *releasev1.LaunchChecklist) string {
	var open []string
	for _, it := range OpenItems(lc) {
		open = append(open, fmt.Sprintf("%s (%s)", it.Name, openDetail(it.Item, it.ChecklistItemStatus)))
	}
	return strings.Join(open, ", ")
}

// OpenItem is a required item neither done nor waived: its status and spec.
type OpenItem struct {
	releasev1.ChecklistItemStatus
	Item releasev1.ChecklistItem
}

// OpenItems lists the required items neither done nor waived, in order.
func OpenItems(lc *releasev1.LaunchChecklist) []OpenItem {
	items := map[string]releasev1.ChecklistItem{}
	for _, it := range lc.Spec.Items {
		items[it.Name] = it
	}
	var out []OpenItem
	for _, is := range lc.Status.Items {
		if !is.Required || is.State == releasev1.ItemDone || is.State == releasev1.ItemWaived {
			continue
		}
		out = append(out, OpenItem{ChecklistItemStatus: is, Item: items[is.Name]})
	}
	return out
}

func openDetail(it releasev1.ChecklistItem, is releasev1.ChecklistItemStatus) string {
	d := is.Function + ", " + strings.ToLower(string(is.State))
	owned := len(it.Owners.Users)+len(it.Owners.Groups) > 0
	if it.Check.Manual == nil || is.State == releasev1.ItemFailed {
		if is.Message != "" {
			d += ": " + is.Message
		}
		if !owned {
			return d
		}
	}
	return d + "; owners " + OwnersText(it.Owners)
}
