package notify

import (
	"fmt"
	"time"
)

// FormatTime is a time for people: "Mon 23 Nov 09:00 CET".
func FormatTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2 Jan 15:04 MST")
}

// Duration is a duration for people, to the minute: "2d 3h", "5h 10m", "45m".
func Duration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0 && hours > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case hours > 0 && mins > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	case hours > 0:
		return fmt.Sprintf("%dh", hours)
	case mins > 0:
		return fmt.Sprintf("%dm", mins)
	}
	return "less than a minute"
}

// Since is how long ago from was, at now.
func Since(from, now time.Time) string { return Duration(now.Sub(from)) }

// Until is how long until to, from now.
func Until(now, to time.Time) string { return Duration(to.Sub(now)) }
