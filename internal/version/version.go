// Package version says which build of Liftoff is running: the version and
// commit the Makefile injects with -ldflags, or else what the Go toolchain
// recorded in the binary (the module's version, vcs.revision).
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Set at link time by the Makefile:
//
//	-X github.com/liftoff-dev/liftoff/internal/version.version=v0.3.0
//	-X github.com/liftoff-dev/liftoff/internal/version.commit=<sha>
var version, commit string

// Info is one build's identity.
type Info struct {
	// Version is a release's tag, or the module version Go recorded, or
	// "devel".
	Version string `json:"version"`
	// Commit is the Git commit built from, "-dirty" appended when the
	// working tree had changes; "unknown" when nobody recorded it.
	Commit string `json:"commit"`
	// GoVersion is the Go toolchain that built it.
	GoVersion string `json:"goVersion"`
}

// Get returns the running binary's Info.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(version, commit, bi)
}

// resolve prefers what the linker was told, then what Go recorded.
func resolve(v, c string, bi *debug.BuildInfo) Info {
	info := Info{Version: v, Commit: c, GoVersion: runtime.Version()}
	if bi != nil {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		if info.Commit == "" {
			var modified bool
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					info.Commit = s.Value
				case "vcs.modified":
					modified = s.Value == "true"
				}
			}
			if info.Commit != "" && modified {
				info.Commit += "-dirty"
			}
		}
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

// String is one line: "v0.3.0 (commit 1a2b3c4, go1.26.8)".
func (i Info) String() string {
	return fmt.Sprintf("%s (commit %s, %s)", i.Version, i.Commit, i.GoVersion)
}

// Collector is the liftoff_build_info gauge: 1, labelled with the build.
func Collector(i Info) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "liftoff_build_info",
		Help:        "The running build of Liftoff: always 1, labelled with its version, commit and Go version.",
		ConstLabels: prometheus.Labels{"version": i.Version, "commit": i.Commit, "goversion": i.GoVersion},
	})
	g.Set(1)
	return g
}
