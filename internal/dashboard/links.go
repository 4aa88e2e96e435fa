package dashboard

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
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

// Moment is a time a page shows as "how long ago": Text is absolute, in
// the dashboard's zone with the zone named, and At is for the browser,
// which says how long ago it was and keeps saying it truly while the page
// stays open (a relative time written by the server goes stale).
type Moment struct {
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

func moment(t time.Time, loc *time.Location) *Moment {
	if t.IsZero() {
		return nil
	}
	return &Moment{At: t.UTC(), Text: stamp(t, loc)}
}

// rfc3339 finds the RFC 3339 times the controller writes into status messages.
var rfc3339 = regexp.MustCompile(`\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)`)

// inZone writes the RFC 3339 times of a status message as the page writes
// its times: in the page's zone, the zone named ("2026-12-14 09:20 CET").
func inZone(msg string, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return rfc3339.ReplaceAllStringFunc(msg, func(ts string) string {
		t, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			return ts
		}
		return stamp(t, loc)
	})
}

// zoneName names a time zone for a page: "Europe/Berlin"; the machine's
// own zone by the name the system gives it.
func zoneName(loc *time.Location) string {
	if loc.String() != "Local" {
		return loc.String()
	}
	if tz := os.Getenv("TZ"); tz != "" {
		return strings.TrimPrefix(tz, ":")
	}
	if link, err := os.Readlink("/etc/localtime"); err == nil {
		if _, name, ok := strings.Cut(link, "zoneinfo/"); ok {
			return name
		}
	}
	return time.Now().In(loc).Format("MST")
}

// stamp formats a time for people, in loc.
func stamp(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

func sortStrings(s []string) { sort.Strings(s) }
