package gates

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// Clock is how Words says times: in Loc (UTC when nil) with the zone named,
// and, when Relative, how far Now is from them ("in 2 days"). A page that
// stays open leaves Relative off: its browser says how long ago.
type Clock struct {
	Now      time.Time
	Loc      *time.Location
	Relative bool
}

// wordsLayout is a time in Words: "Wed 9 Dec 18:05 CET".
const wordsLayout = "Mon 2 Jan 15:04 MST"

// Words says what a gate holds a Release for, in the
// words of the people who read a report or the dashboard: who or what holds
// it ("waits for 1 approval for prod", "planned for prod on Wed 9 Dec 18:05
// CET (in 2 days)", "QA check e2e is still running"). The gate's Message
// stays in status for those who fix things with kubectl; this is its one
// translation, used by the release report and the dashboard.
func Words(stage string, g releasev1.GateStatus, c Clock) string {
	if c.Loc == nil {
		c.Loc = time.UTC
	}
	if g.Status == releasev1.GatePassed {
		if at, ok := timeAfter(g.Message, "planned for "); ok && g.Name == NameNotBefore {
			return "planned for " + stage + " on " + c.at(at) + ": the time has come"
		}
		return g.Message // what passed, as the gate says it
	}
	if say, ok := sayers[g.Name]; ok {
		if w := say(stage, g, c); w != "" {
			return w
		}
	}
	return g.Message
}

// sayers say a gate that has not passed; "" leaves it to the gate's message.
var sayers = map[string]func(stage string, g releasev1.GateStatus, c Clock) string{
	NamePaused: func(string, releasev1.GateStatus, Clock) string {
		return "paused by a person: it goes on once someone resumes it"
	},
	NameNotBefore: func(stage string, g releasev1.GateStatus, c Clock) string {
		if at, ok := timeAfter(g.Message, "planned for "); ok {
			return "planned for " + stage + " on " + c.at(at)
		}
		return ""
	},
	NameSoak: soakWords,
	NameApprovals: func(stage string, g releasev1.GateStatus, _ Clock) string {
		var got, want int
		if _, err := fmt.Sscanf(g.Message, "%d of %d approvals", &got, &want); err == nil && want > got {
			return fmt.Sprintf("waits for %s for %s", count(want-got, "approval"), stage)
		}
		return ""
	},
	NameChecks:          func(_ string, g releasev1.GateStatus, _ Clock) string { return checksWords(g) },
	NameBlockers:        func(_ string, g releasev1.GateStatus, _ Clock) string { return blockersWords(g) },
	NameLaunchChecklist: checklistWords,
	NameCalendar:        calendarWords,
	NameMetrics:         metricsWords,
	NameDependencies:    dependenciesWords,
	NameGroup:           groupWords,
	NameStage: func(stage string, g releasev1.GateStatus, _ Clock) string {
		if g.Reason == releasev1.ReasonStageBusy {
			return "waits until another release is through " + stage
		}
		return ""
	},
	NameTarget: func(stage string, g releasev1.GateStatus, _ Clock) string {
		if g.Reason == releasev1.ReasonTargetInvalid {
			return "cannot be written into the files of " + stage + ": the operators must fix them"
		}
		return ""
	},
}

func soakWords(stage string, g releasev1.GateStatus, c Clock) string {
	if g.Reason == releasev1.ReasonNotLanded {
		return "waits to be live in the stage before " + stage
	}
	if at, ok := timeAfter(g.Message, "until "); ok {
		where, _, _ := strings.Cut(strings.TrimPrefix(g.Message, "soaking in "), ":")
		return fmt.Sprintf("soaks in %s until %s before %s", where, c.at(at), stage)
	}
	return ""
}

func checklistWords(_ string, g releasev1.GateStatus, _ Clock) string {
	switch {
	case g.Reason == releasev1.ReasonNoChecklist || g.Reason == releasev1.ReasonChecklistNotFound:
		return "needs a launch checklist: the operators must name one"
	case strings.HasPrefix(g.Message, "checklist "):
		return "waits for the launch " + g.Message
	}
	return ""
}

func calendarWords(stage string, g releasev1.GateStatus, _ Clock) string {
	switch {
	case g.Reason == releasev1.ReasonCalendarInvalid:
		return "the release calendar cannot be read: the operators must fix it"
	case g.Reason == releasev1.ReasonWindowClosed && strings.HasPrefix(g.Message, "calendar "):
		_, why, _ := strings.Cut(g.Message, ": ")
		return "the release calendar keeps " + stage + " closed: " + why
	}
	return ""
}

func metricsWords(stage string, g releasev1.GateStatus, _ Clock) string {
	switch g.Reason {
	case releasev1.ReasonMetricsFailed:
		return "a service metric is outside what " + stage + " asks for: " + strings.TrimPrefix(g.Message, "precondition not met: ")
	case releasev1.ReasonMetricsPending:
		return "the service metrics " + stage + " asks for cannot be measured yet"
	}
	return ""
}

// at is a time for Words, with how far it is when the clock says so.
func (c Clock) at(t time.Time) string {
	s := t.In(c.Loc).Format(wordsLayout)
	if !c.Relative || c.Now.IsZero() {
		return s
	}
	d := t.Sub(c.Now)
	if d < 0 {
		return s + " (" + roughly(-d) + " ago)"
	}
	return s + " (in " + roughly(d) + ")"
}

// roughly is a duration as people say it ahead of time: "2 days", "5 hours".
func roughly(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return count(int(d/(24*time.Hour)), "day")
	case d >= 2*time.Hour:
		return count(int(d/time.Hour), "hour")
	case d >= 2*time.Minute:
		return count(int(d/time.Minute), "minute")
	}
	return "a moment"
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// timeAfter reads the RFC 3339 time that follows marker in a gate's message
// (the gates of this package write it so).
func timeAfter(msg, marker string) (time.Time, bool) {
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return time.Time{}, false
	}
	rest := msg[i+len(marker):]
	if j := strings.IndexAny(rest, " ;"); j >= 0 {
		rest = rest[:j]
	}
	t, err := time.Parse(time.RFC3339, rest)
	return t, err == nil
}

// checksWords names the QA checks that hold, from the message Checks wrote.
func checksWords(g releasev1.GateStatus) string {
	switch g.Reason {
	case releasev1.ReasonChecksNotReported:
		return "no QA check has reported on the release commit yet"
	case releasev1.ReasonChecksFailed:
		_, list, _ := strings.Cut(g.Message, ": ")
		if g.URL != "" {
			list = strings.TrimSuffix(list, " "+g.URL)
		}
		names := checkNames(list)
		return fmt.Sprintf("QA %s %s failed", plural(len(names), "check"), strings.Join(names, ", "))
	case releasev1.ReasonChecksPending:
		_, parts, _ := strings.Cut(g.Message, ": ")
		var out []string
		for _, p := range strings.Split(parts, "; ") {
			if list, ok := strings.CutPrefix(p, "running: "); ok {
				names := checkNames(list)
				verb := "is"
				if len(names) > 1 {
					verb = "are"
				}
				out = append(out, fmt.Sprintf("QA %s %s %s still running", plural(len(names), "check"), strings.Join(names, ", "), verb))
			} else if list, ok := strings.CutPrefix(p, "not reported yet: "); ok {
				names := strings.Split(list, ", ")
				out = append(out, fmt.Sprintf("QA %s %s not reported yet", plural(len(names), "check"), strings.Join(names, ", ")))
			}
		}
		return strings.Join(out, "; ")
	}
	return ""
}

// checkNames reads "e2e (in_progress), lint (queued)" as its names.
func checkNames(list string) []string {
	var names []string
	for _, part := range strings.Split(list, "), ") {
		name, _, _ := strings.Cut(part, " (")
		if name = strings.TrimSpace(name); name != "" {
			names = append(names, name)
		}
	}
	return names
}

func plural(n int, what string) string {
	if n == 1 {
		return what
	}
	return what + "s"
}

// openCount reads the totals Blockers wrote: "3 open issue(s) match",
// "has 2 open blocker(s)".
var openCount = regexp.MustCompile(`(\d+) open (?:issue|blocker)\(s\)`)

// blockersWords counts the open blockers; the issues themselves are in
// g.Issues, for each to be linked: "waits for 2 blocker issues to be closed".
func blockersWords(g releasev1.GateStatus) string {
	switch g.Reason {
	case releasev1.ReasonBlockersQueryInvalid, releasev1.ReasonMilestoneNotFound:
		return "the blocker issues cannot be looked up: the operators must fix the pipeline or the milestone"
	case releasev1.ReasonBlockersOpen:
	default:
		return ""
	}
	total := 0
	for _, m := range openCount.FindAllStringSubmatch(g.Message, -1) {
		n, _ := strconv.Atoi(m[1])
		total += n
	}
	if total == 0 {
		total = len(g.Issues)
	}
	if total == 0 {
		return "waits for open blocker issues to be closed"
	}
	return fmt.Sprintf("waits for %s to be closed", count(total, "blocker issue"))
}
