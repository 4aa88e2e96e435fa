package discovery

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func tags(names ...string) []Candidate {
	out := make([]Candidate, 0, len(names))
	for _, n := range names {
		out = append(out, Candidate{Tag: n, Commit: "sha-" + n})
	}
	return out
}

func foundTags(fs []Found) string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Tag)
	}
	return strings.Join(out, " ")
}

func TestInRange(t *testing.T) {
	for _, tc := range []struct {
		name, constraint string
		tags             []string
		want             string
	}{
		{"empty range is every stable version, ascending", "", []string{"v1.10.0", "v1.2.0", "v1.9.1", "v2.0.0-rc.1"}, "v1.2.0 v1.9.1 v1.10.0"},
		{"v prefix or not", ">=1.0.0", []string{"1.4.3", "v1.4.4"}, "1.4.3 v1.4.4"},
		{"not versions are ignored", "", []string{"latest", "v1.4", "release-2", "v1.4.3.1", "1.4.3"}, "1.4.3"},
		{"range excludes", ">=1.4.0 <2.0.0", []string{"v1.3.9", "v1.4.0", "v1.99.0", "v2.0.0"}, "v1.4.0 v1.99.0"},
		{"tilde", "~1.4", []string{"v1.4.0", "v1.4.9", "v1.5.0"}, "v1.4.0 v1.4.9"},
		{"caret", "^2", []string{"v1.9.0", "v2.0.0", "v2.7.1", "v3.0.0"}, "v2.0.0 v2.7.1"},
		{"pre-release excluded by a range without one", ">=1.0.0", []string{"v1.5.0-rc.1", "v1.4.0"}, "v1.4.0"},
		{"pre-release allowed by a range that names one", ">=1.5.0-0", []string{"v1.5.0-rc.1", "v1.5.0-rc.2", "v1.5.0", "v1.4.0"}, "v1.5.0-rc.1 v1.5.0-rc.2 v1.5.0"},
		{"same version twice: one, stable choice", "", []string{"v1.4.3", "1.4.3"}, "1.4.3"},
		{"nothing", "", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Constraint(tc.constraint)
			if err != nil {
				t.Fatal(err)
			}
			if got := foundTags(InRange(tags(tc.tags...), c)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestConstraintErrorSaysWhatToFix(t *testing.T) {
	for _, bad := range []string{">=banana", "1.2.3 ||| 4", "~>"} {
		_, err := Constraint(bad)
		if err == nil {
			t.Fatalf("%q: no error", bad)
		}
		if !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "write one like") {
			t.Errorf("%q: message %q does not name the range and a fix", bad, err)
		}
	}
}

func TestNew(t *testing.T) {
	c, _ := Constraint(">=1.0.0-0")
	found := InRange(tags("v1.0.0", "v1.1.0", "v1.2.0-rc.1", "v1.2.0", "v1.3.0"), c)
	for _, tc := range []struct {
		name, latest string
		known        []string
		want         string
	}{
		{"first discovery creates only the newest", "", nil, "v1.3.0"},
		{"later polls create every newer version, ascending", "1.1.0", nil, "v1.2.0-rc.1 v1.2.0 v1.3.0"},
		{"latest with a v prefix", "v1.2.0", nil, "v1.3.0"},
		{"nothing newer", "1.3.0", nil, ""},
		{"latest newer than everything (a tag was deleted)", "9.0.0", nil, ""},
		{"known versions are not created again", "1.1.0", []string{"1.2.0", "1.3.0"}, "v1.2.0-rc.1"},
		{"first discovery of a version made by hand", "", []string{"1.3.0"}, ""},
		{"unparsable latest starts over", "garbage", nil, "v1.3.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			known := map[string]bool{}
			for _, k := range tc.known {
				known[k] = true
			}
			if got := foundTags(New(found, tc.latest, known)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if got := New(nil, "", nil); len(got) != 0 {
		t.Errorf("nothing found: got %v", got)
	}
}

func TestLatest(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"1.2.0", "v1.10.0", "1.9.0"}, "v1.10.0"},
		{[]string{"", "junk"}, ""},
		{[]string{"2.0.0-rc.1", "1.9.0"}, "2.0.0-rc.1"},
		{nil, ""},
	} {
		if got := Latest(tc.in...); got != tc.want {
			t.Errorf("Latest(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestName(t *testing.T) {
	long := strings.Repeat("a", 60)
	for _, tc := range []struct {
		pipeline, version, want string
	}{
		{"checkout", "1.4.3", "checkout-1-4-3"},
		{"Checkout", "2.0.0-RC.1+build.7", "checkout-2-0-0-rc-1-build-7"},
		{"checkout", "1.4.3+meta_data", "checkout-1-4-3-meta-data"},
	} {
		if got := Name(tc.pipeline, tc.version); got != tc.want {
			t.Errorf("Name(%q, %q) = %q, want %q", tc.pipeline, tc.version, got, tc.want)
		}
	}
	a, b := Name(long, "1.0.0-alpha.1"), Name(long, "1.0.0-alpha.2")
	for _, n := range []string{a, b, Name(long+"-", "1.0.0")} {
		if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
			t.Errorf("%q is not a DNS-1123 label: %v", n, errs)
		}
	}
	if a == b {
		t.Errorf("long names collide: %q", a)
	}
	if a != Name(long, "1.0.0-alpha.1") {
		t.Error("Name is not deterministic")
	}
}

func TestWaitingMessage(t *testing.T) {
	chart := func(v string) []string { return []string{"oci://r/charts/app:" + v} }
	for _, tc := range []struct {
		name   string
		waits  []Waiting
		latest string
		want   string
	}{
		{"nothing waits", nil, "1.4.2", ""},
		{"the newest waits", []Waiting{{"1.5.0", chart("1.5.0")}}, "1.4.2",
			"1.5.0 waits for its artifacts: oci://r/charts/app:1.5.0 not in the registry yet"},
		{"two wait, neither holds the other", []Waiting{{"1.5.0", chart("1.5.0")}, {"1.5.1", []string{"r/app:v1.5.1", "oci://r/charts/app:1.5.1"}}}, "1.4.2",
			"1.5.0 waits for its artifacts: oci://r/charts/app:1.5.0 not in the registry yet; " +
				"1.5.1 waits for its artifacts: r/app:v1.5.1, oci://r/charts/app:1.5.1 not in the registry yet"},
		{"a later version was created: the earlier is passed over", []Waiting{{"1.5.0", chart("1.5.0")}}, "1.5.1",
			"1.5.0 passed over for 1.5.1: oci://r/charts/app:1.5.0 never arrived"},
		{"first discovery, nothing created", []Waiting{{"1.5.0", chart("1.5.0")}}, "",
			"1.5.0 waits for its artifacts: oci://r/charts/app:1.5.0 not in the registry yet"},
	} {
		if got := WaitingMessage(tc.waits, tc.latest); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
