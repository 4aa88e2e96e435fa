package updater

import (
	"strings"
	"testing"
)

func TestSetKustomizeImage(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		image, tag string
		digest     string
		want       string
		prev       ImageRef
		changed    bool
		wantErr    string
	}{
		{
			name:  "quoted tag, comments kept",
			in:    "# env\nimages:\n  - name: app # the app\n    newTag: \"1.0.0\" # pinned\nresources: [a.yaml]\n",
			image: "app", tag: "1.1.0",
			want:    "# env\nimages:\n  - name: app # the app\n    newTag: \"1.1.0\" # pinned\nresources: [a.yaml]\n",
			prev:    ImageRef{NewTag: "1.0.0"},
			changed: true,
		},
		{
			name:  "plain tag, 4-space indent, other images untouched",
			in:    "images:\n    -   name: web\n        newTag: 2.0.0\n    -   name: app\n        newName: reg/app\n        newTag: 1.0.0\n",
			image: "app", tag: "1.10",
			want:    "images:\n    -   name: web\n        newTag: 2.0.0\n    -   name: app\n        newName: reg/app\n        newTag: \"1.10\"\n",
			prev:    ImageRef{NewName: "reg/app", NewTag: "1.0.0"},
			changed: true,
		},
		{
			name:  "name not the first key; single quotes kept",
			in:    "images:\n- newTag: '1.0.0'\n  name: app\n",
			image: "app", tag: "1.2.0",
			want:    "images:\n- newTag: '1.2.0'\n  name: app\n",
			prev:    ImageRef{NewTag: "1.0.0"},
			changed: true,
		},
		{
			name:  "missing newTag and digest inserted with the entry's indent",
			in:    "images:\n  - name: app\n  - name: web\n    newTag: x\n",
			image: "app", tag: "1.2.0", digest: "sha256:abc",
			want:    "images:\n  - name: app\n    newTag: 1.2.0\n    digest: sha256:abc\n  - name: web\n    newTag: x\n",
			changed: true,
		},
		{
			name:  "digest replaced",
			in:    "images:\n  - name: app\n    newTag: 1.0.0\n    digest: sha256:old\n",
			image: "app", tag: "1.1.0", digest: "sha256:new",
			want:    "images:\n  - name: app\n    newTag: 1.1.0\n    digest: sha256:new\n",
			prev:    ImageRef{NewTag: "1.0.0", Digest: "sha256:old"},
			changed: true,
		},
		{
			name:  "stale digest removed when the release has none",
			in:    "images:\n  - name: app\n    digest: sha256:old # pin\n    newTag: 1.0.0\n",
			image: "app", tag: "1.1.0",
			want:    "images:\n  - name: app\n    newTag: 1.1.0\n",
			prev:    ImageRef{NewTag: "1.0.0", Digest: "sha256:old"},
			changed: true,
		},
		{
			name:  "CRLF and no trailing newline",
			in:    "images:\r\n  - name: app\r\n    newTag: 1.0.0",
			image: "app", tag: "1.1.0",
			want:    "images:\r\n  - name: app\r\n    newTag: 1.1.0",
			prev:    ImageRef{NewTag: "1.0.0"},
			changed: true,
		},
		{
			name:  "insert at the end of a file without trailing newline",
			in:    "images:\n  - name: app",
			image: "app", tag: "1.1.0",
			want:    "images:\n  - name: app\n    newTag: 1.1.0",
			changed: true,
		},
		{
			name:  "unchanged",
			in:    "images:\n  - name: app\n    newTag: \"1.0.0\"\n",
			image: "app", tag: "1.0.0",
			want: "images:\n  - name: app\n    newTag: \"1.0.0\"\n",
			prev: ImageRef{NewTag: "1.0.0"},
		},
		{name: "missing image lists the others", in: "images:\n  - name: web\n  - name: api\n", image: "app", tag: "1", wantErr: `image "app" not found: no images[] entry has that name; present: web, api`},
		{name: "no images at all", in: "resources: []\n", image: "app", tag: "1", wantErr: "the kustomization has no images[] entries"},
		{name: "not YAML", in: "images: [\n", image: "app", tag: "1", wantErr: "not valid YAML"},
		{name: "flow entry", in: "images: [{name: app, newTag: 1.0.0}]\n", image: "app", tag: "1", wantErr: "flow mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, prev, changed, err := SetKustomizeImage([]byte(tt.in), tt.image, tt.tag, tt.digest)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want || prev != tt.prev || changed != tt.changed {
				t.Fatalf("got\n%q prev %+v changed %v\nwant\n%q prev %+v changed %v", out, prev, changed, tt.want, tt.prev, tt.changed)
			}
			got, err := GetKustomizeImage(out, tt.image)
			if err != nil || got.NewTag != tt.tag {
				t.Fatalf("read back %+v, %v", got, err)
			}
		})
	}
}

func TestSetYAMLPath(t *testing.T) {
	tests := []struct {
		name, in, path, value string
		want, prev            string
		wantErr               string
	}{
		{name: "nested, inline comment kept", in: "app:\n  image:\n    tag: 1.0.0 # current\n  replicas: 2\n", path: "app.image.tag", value: "1.1.0",
			want: "app:\n  image:\n    tag: 1.1.0 # current\n  replicas: 2\n", prev: "1.0.0"},
		{name: "list index", in: "containers:\n  - name: a\n    image: reg/a:1\n  - name: b\n    image: \"reg/b:1\"\n", path: "containers[1].image", value: "reg/b:2",
			want: "containers:\n  - name: a\n    image: reg/a:1\n  - name: b\n    image: \"reg/b:2\"\n", prev: "reg/b:1"},
		{name: "quoted key with dots", in: "annotations:\n  liftoff.dev/version: old\n", path: `annotations["liftoff.dev/version"]`, value: "new",
			want: "annotations:\n  liftoff.dev/version: new\n", prev: "old"},
		{name: "multi-document: only documents with the path change", in: "kind: A\nspec:\n  v: 1.0.0\n---\nkind: B\n---\nkind: C\nspec:\n  v: '1.0.0'\n", path: "spec.v", value: "2.0.0",
			want: "kind: A\nspec:\n  v: 2.0.0\n---\nkind: B\n---\nkind: C\nspec:\n  v: '2.0.0'\n", prev: "1.0.0"},
		{name: "anchor definition set, anchor kept", in: "base: &ver 1.0.0\nother: *ver\n", path: "base", value: "1.1.0",
			want: "base: &ver 1.1.0\nother: *ver\n", prev: "1.0.0"},
		{name: "value that needs quotes", in: "v: x\n", path: "v", value: "true", want: "v: \"true\"\n", prev: "x"},
		{name: "empty value", in: "v:\nw: 1\n", path: "v", value: "1.2.3", want: "v: 1.2.3\nw: 1\n", prev: ""},
		{name: "unchanged", in: "v: 1 # c\n", path: "v", value: "1", want: "v: 1 # c\n", prev: "1"},
		{name: "alias target refused", in: "base: &ver 1.0.0\nother: *ver\n", path: "other", value: "2", wantErr: "set the anchor &ver"},
		{name: "missing key names the keys present", in: "image:\n  repository: x\n", path: "image.tag", value: "1", wantErr: `path "image.tag" not found: key "tag" missing under "image"; present: repository`},
		{name: "not a scalar", in: "image:\n  tag: {a: 1}\n", path: "image.tag", value: "1", wantErr: "not a scalar"},
		{name: "block scalar", in: "v: |\n  text\n", path: "v", value: "1", wantErr: "block scalars"},
		{name: "bad path", in: "v: 1\n", path: "a..b", value: "1", wantErr: "empty key"},
		{name: "index out of range", in: "l: [a]\n", path: "l[3]", value: "1", wantErr: "has 1 items, no index 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, prev, changed, err := SetYAMLPath([]byte(tt.in), tt.path, tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want || prev != tt.prev || changed != (tt.in != tt.want) {
				t.Fatalf("got\n%q prev %q changed %v\nwant\n%q prev %q", out, prev, changed, tt.want, tt.prev)
			}
		})
	}
}

func TestParsePath(t *testing.T) {
	good := map[string]string{
		"a":                   "a",
		"a.b.c":               "a.b.c",
		"a[0].b":              "a[0].b",
		"[2]":                 "[2]",
		`a["x.y"].c`:          `a["x.y"].c`,
		`spec.containers[10]`: `spec.containers[10]`,
	}
	for in, want := range good {
		segs, err := ParsePath(in)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", in, err)
			continue
		}
		if got := joinPath(segs); got != want {
			t.Errorf("ParsePath(%q) = %q", in, got)
		}
	}
	for _, bad := range []string{"", ".a", "a.", "a..b", "a[", "a[x]", "a[-1]", "a]b", "a[0]b", `a["x`} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q) accepted", bad)
		}
	}
}
