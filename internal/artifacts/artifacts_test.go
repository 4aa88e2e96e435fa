package artifacts

import (
	"strings"
	"testing"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

func TestTagsAndVersions(t *testing.T) {
	image := &releasev1.PipelineArtifact{Name: "app", Image: "ghcr.io/acme/app", TagTemplate: "v{{.Version}}-alpine"}
	chart := &releasev1.PipelineArtifact{Name: "chart", Chart: "oci://ghcr.io/acme/charts/app"}
	cases := []struct {
		a       *releasev1.PipelineArtifact
		version string
		tag     string
	}{
		{image, "1.4.2", "v1.4.2-alpine"},
		{image, "v1.4.2", "v1.4.2-alpine"},
		{chart, "1.4.2+build.7", "1.4.2_build.7"},
		{&releasev1.PipelineArtifact{Image: "app"}, "2.0.0-rc.1", "2.0.0-rc.1"},
	}
	for _, c := range cases {
		if got := Tag(c.a, c.version); got != c.tag {
			t.Errorf("Tag(%s, %s) = %s, want %s", c.a.Name, c.version, got, c.tag)
		}
		if v, ok := Version(c.a, c.tag); !ok || v != strings.TrimPrefix(c.version, "v") {
			t.Errorf("Version(%s, %s) = %s, %v", c.a.Name, c.tag, v, ok)
		}
	}
	for _, tag := range []string{"latest", "v-alpine", "1.4.2-alpine", "v1.4.2"} {
		if v, ok := Version(image, tag); ok {
			t.Errorf("Version(%s) = %s: the template does not make it", tag, v)
		}
	}
	if got := Reference(chart, "1.4.2"); got != "oci://ghcr.io/acme/charts/app:1.4.2" {
		t.Errorf("Reference = %s", got)
	}
}
