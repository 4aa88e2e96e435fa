package dashboard

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

func TestThresholdsAreReadFromTheCondition(t *testing.T) {
	for cond, want := range map[string][]float64{
		"success when result < 0.05":                           {0.05},
		"success when 0.9 <= result":                           {0.9},
		"success when result >= 10; failure when result > 1e3": {10, 1000},
		"success when result.all(x, x < 0.5)":                  nil,
	} {
		NewWithT(t).Expect(thresholds(cond)).To(Equal(want), cond)
	}
}

// The month and week are cut in the calendar's zone: a freeze from Friday
// 17:00 to Monday 08:00 Berlin time covers the weekend whole and the two
// ends by their hours, and a done promotion shows its outcome and slip.
func TestCalendarDaysAreInTheCalendarsTimeZone(t *testing.T) {
	g := NewWithT(t)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	rc := &releasev1.ReleaseCalendar{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "releases"},
		Spec: releasev1.ReleaseCalendarSpec{TimeZone: "Europe/Berlin", Windows: []releasev1.CalendarWindow{
			{Name: "weekend", Kind: releasev1.WindowDeny, Start: "2026-12-18T17:00:00", End: "2026-12-21T08:00:00", Reason: "weekend", Stages: []string{"prod"}},
		}},
		Status: releasev1.ReleaseCalendarStatus{Recent: []releasev1.CalendarEntry{{Type: releasev1.EntryPromotion, Title: "checkout 1.4.3 -> prod",
			Start: metav1.NewTime(time.Date(2026, 12, 16, 23, 30, 0, 0, time.UTC)), Outcome: "RolledBack", Slip: "2h0m0s"}}},
	}
	s := &memStore{calendars: []*releasev1.ReleaseCalendar{rc}}
	now := time.Date(2026, 12, 17, 12, 0, 0, 0, berlin)
	v, err := buildCalendar(context.Background(), s, types.NamespacedName{Namespace: "shop", Name: "releases"}, "week", "", now, berlin)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(v.Title).To(Equal("Week of Monday 14 December 2026"))
	g.Expect(v.Weeks).To(HaveLen(1))
	days := v.Weeks[0]
	g.Expect(days[3].Today).To(BeTrue())
	// 23:30 UTC on the 16th is 00:30 on the 17th in Berlin.
	g.Expect(days[3].Entries).To(ConsistOf(HaveField("Time", "00:30")))
	g.Expect(days[3].Entries[0].Class).To(Equal("outcome-rolledback"))
	g.Expect(days[3].Entries[0].Slip).To(Equal("2h0m0s"))
	timeOf := func(d Day) []string {
		var out []string
		for _, e := range d.Entries {
			if e.Type == "Freeze" {
				out = append(out, e.Time)
			}
		}
		return out
	}
	g.Expect(timeOf(days[4])).To(Equal([]string{"from 17:00"}))
	g.Expect(timeOf(days[5])).To(Equal([]string{"all day"}))
	g.Expect(timeOf(days[6])).To(Equal([]string{"all day"}))

	v, err = buildCalendar(context.Background(), s, types.NamespacedName{Namespace: "shop", Name: "releases"}, "month", "2026-12-21", now, berlin)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(v.Title).To(Equal("December 2026"))
	g.Expect(v.Weeks).To(HaveLen(5), "30 November to 3 January")
	g.Expect(timeOf(v.Weeks[3][0])).To(Equal([]string{"until 08:00"}), "Monday the 21st")
	g.Expect(v.Prev).To(Equal("2026-11-01"))
	g.Expect(v.Next).To(Equal("2027-01-01"))
}
