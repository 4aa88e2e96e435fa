package version

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestResolve(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "1a2b3c"}, {Key: "vcs.modified", Value: "false"}}}
	dirty := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "1a2b3c"}, {Key: "vcs.modified", Value: "true"}}}
	installed := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.3.0"}}
	for _, tc := range []struct {
		name            string
		version, commit string
		bi              *debug.BuildInfo
		want            Info
	}{
		{"linked by the Makefile", "v0.3.0", "ffff", stamped, Info{"v0.3.0", "ffff", "go1.26.8"}},
		{"go build in a checkout", "", "", stamped, Info{"devel", "1a2b3c", "go1.26.8"}},
		{"uncommitted changes", "", "", dirty, Info{"devel", "1a2b3c-dirty", "go1.26.8"}},
		{"go install of a tag", "", "", installed, Info{"v0.3.0", "unknown", "go1.26.8"}},
		{"nothing recorded", "", "", nil, Info{"devel", "unknown", Get().GoVersion}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := resolve(tc.version, tc.commit, tc.bi); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestBuildInfoMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(Collector(Info{"v0.3.0", "1a2b3c", "go1.26.8"}))
	want := `# HELP liftoff_build_info The running build of Liftoff: always 1, labelled with its version, commit and Go version.
# TYPE liftoff_build_info gauge
liftoff_build_info{commit="1a2b3c",goversion="go1.26.8",version="v0.3.0"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "liftoff_build_info"); err != nil {
		t.Fatal(err)
	}
}
