package dashboard

import (
	"fmt"
	"sort"
	"time"
)

func repoURL(web, repo string) string {
	if repo == "" {
		return ""
	}
	return web + "/" + repo
}

func commitURL(web, repo, sha string) string {
	if repo == "" || sha == "" {
		return ""
	}
	return fmt.Sprintf("%s/%s/commit/%s", web, repo, sha)
}

// ago says how long before now t was, coarsely: "3m ago", "2h ago", "5d ago".
func ago(now, t time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh", int(d.Hours()))
	default:
		s = fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// stamp formats a time for people, in loc.
func stamp(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

func sortStrings(s []string) { sort.Strings(s) }
