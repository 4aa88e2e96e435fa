package dashboard

import (
	"fmt"
	"os"
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

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
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
