package updater

import (
	"strings"
	"testing"
)

func TestSetKustomizeImage(t *testing.T) {
	const head = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
	tests := []struct {
		name, in, image, tag, digest string
		want                         string // "" means unchanged
		prev                         ImageRef
	}{
		{name: "quoted tag and comments kept",
			in:    head + "# images\nimages:\n  - name: app # the app\n    newTag: \"1.0.0\" # pinned\n# after\nresources: [a.yaml]\n",
			image: "app", tag: "1.1.0",
			want: head + "# images\nimages:\n  - name: app # the app\n    newTag: \"1.1.0\" # pinned\n# after\nresources: [a.yaml]\n",
			prev: ImageRef{NewTag: "1.0.0"}},
		{name: "indent 4, other entries untouched, float-looking tag quoted",
			in:    "images:\n    -   name: web\n        newTag: 2.0.0\n    -   name: app\n        newName: reg/app\n        newTag: 1.0.0\n",
			image: "app", tag: "1.10",
			want: "images:\n    -   name: web\n        newTag: 2.0.0\n    -   name: app\n        newName: reg/app\n        newTag: \"1.10\"\n",
			prev: ImageRef{NewName: "reg/app", NewTag: "1.0.0"}},
		{name: "list not indented under images, name not the first key, single quotes kept",
			in:    "images:\n- newTag: '1.0.0'\n  name: app\n",
			image: "app", tag: "1.2.0",
			want: "images:\n- newTag: '1.2.0'\n  name: app\n",
			prev: ImageRef{NewTag: "1.0.0"}},
		{name: "missing newTag and digest inserted after the last key",
			in:    "images:\n  - name: app\n    newName: reg/app # mirror\n  # next\n  - name: web\n    newTag: x\n",
			image: "app", tag: "1.2.0", digest: "sha256:abc",
			want: "images:\n  - name: app\n    newName: reg/app # mirror\n    newTag: 1.2.0\n    digest: sha256:abc\n  # next\n  - name: web\n    newTag: x\n",
			prev: ImageRef{NewName: "reg/app"}},
		{name: "missing newTag inserted with 4-space indent before the next document",
			in:    "images:\n    - name: app\n---\nkind: Other\n",
			image: "app", tag: "1.2.0",
			want: "images:\n    - name: app\n      newTag: 1.2.0\n---\nkind: Other\n"},
		{name: "insert at the end of a file without trailing newline",
			in:    "images:\n  - name: app",
			image: "app", tag: "1.1.0",
			want: "images:\n  - name: app\n    newTag: 1.1.0"},
		{name: "insert with CRLF",
			in:    "images:\r\n  - name: app\r\nresources: []\r\n",
			image: "app", tag: "v1",
			want: "images:\r\n  - name: app\r\n    newTag: v1\r\nresources: []\r\n"},
		{name: "existing digest replaced",
			in:    "images:\n  - name: app\n    newTag: 1.0.0\n    digest: sha256:old\n",
			image: "app", tag: "1.1.0", digest: "sha256:new",
			want: "images:\n  - name: app\n    newTag: 1.1.0\n    digest: sha256:new\n",
			prev: ImageRef{NewTag: "1.0.0", Digest: "sha256:old"}},
		{name: "stale digest removed with its comment",
			in:    "images:\n  - name: app\n    # pinned by hand\n    digest: sha256:old # pin\n    newTag: 1.0.0\n",
			image: "app", tag: "1.1.0",
			want: "images:\n  - name: app\n    # pinned by hand\n    newTag: 1.1.0\n",
			prev: ImageRef{NewTag: "1.0.0", Digest: "sha256:old"}},
		{name: "digest on the dash line removed, next key moves up",
			in:    "images:\n  - digest: sha256:old\n    name: app\n    newTag: 1.0.0\n",
			image: "app", tag: "1.1.0",
			want: "images:\n  - name: app\n    newTag: 1.1.0\n",
			prev: ImageRef{NewTag: "1.0.0", Digest: "sha256:old"}},
		{name: "last-line digest removed and newTag added, no trailing newline",
			in:    "images:\n  - name: app\n    digest: sha256:old",
			image: "app", tag: "1.1.0",
			want: "images:\n  - name: app\n    newTag: 1.1.0",
			prev: ImageRef{Digest: "sha256:old"}},
		{name: "CRLF and no trailing newline",
			in:    "images:\r\n  - name: app\r\n    newTag: 1.0.0",
			image: "app", tag: "1.1.0",
			want: "images:\r\n  - name: app\r\n    newTag: 1.1.0",
			prev: ImageRef{NewTag: "1.0.0"}},
		{name: "anchor on the tag kept",
			in:    "images:\n  - name: app\n    newTag: &t 1.0.0\nlabels:\n  version: *t\n",
			image: "app", tag: "1.1.0",
			want: "images:\n  - name: app\n    newTag: &t 1.1.0\nlabels:\n  version: *t\n",
			prev: ImageRef{NewTag: "1.0.0"}},
		{name: "empty newTag at the end of the file set, digest added after it",
			in:    "images:\n-   name: app\n    newTag:",
			image: "app", tag: "1.1.0", digest: "sha256:new",
			want: "images:\n-   name: app\n    newTag: 1.1.0\n    digest: sha256:new"},
		{name: "insert after a list written at the keys' indentation",
			in:    "images:\n- name: app\n  args:\n  - a\n  # c\n  -   b\n- name: web\n",
			image: "app", tag: "v1",
			want: "images:\n- name: app\n  args:\n  - a\n  # c\n  -   b\n  newTag: v1\n- name: web\n"},
		{name: "unchanged",
			in:    "images:\n  - name: app\n    newTag: \"1.0.0\"\n    digest: sha256:x\n",
			image: "app", tag: "1.0.0", digest: "sha256:x",
			prev: ImageRef{NewTag: "1.0.0", Digest: "sha256:x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, prev, changed, err := SetKustomizeImage([]byte(tt.in), tt.image, tt.tag, tt.digest)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "" {
				want = tt.in
			}
			if string(out) != want || prev != tt.prev || changed != (tt.want != "") {
				t.Fatalf("got\n%q prev %+v changed %v\nwant\n%q prev %+v", out, prev, changed, want, tt.prev)
			}
			got, err := GetKustomizeImage(out, tt.image)
			if err != nil || got.NewTag != tt.tag || got.Digest != tt.digest {
				t.Fatalf("read back %+v, %v", got, err)
			}
		})
	}
}

func TestSetKustomizeImageErrors(t *testing.T) {
	tests := []struct {
		name, in, image string
		notFound        bool
		wantErr         string
	}{
		{name: "missing image lists the others", in: "images:\n  - name: api\n  - name: web\n", image: "checkout", notFound: true,
			wantErr: `image "checkout" not found in images[] of the kustomization; images present: api, web`},
		{name: "no images list", in: "resources: []\n", image: "app", notFound: true, wantErr: "the kustomization has no images list"},
		{name: "not YAML", in: "images: [\n", image: "app", wantErr: "not valid YAML"},
		{name: "images not a list", in: "images: app\n", image: "app", wantErr: "not a list"},
		{name: "flow entry", in: "images: [{name: app, newTag: 1.0.0}]\n", image: "app", wantErr: "flow collection"},
		{name: "flow entry missing newTag", in: "images: [{name: app}]\n", image: "app", wantErr: "flow style"},
		{name: "alias tag", in: "x: &t 1\nimages:\n  - name: app\n    newTag: *t\n", image: "app", wantErr: "set the value under the anchor &t (line 1)"},
		{name: "block scalar tag", in: "images:\n  - name: app\n    newTag: |\n      1\n", image: "app", wantErr: "block scalar"},
		{name: "digest sharing a line", in: "images:\n  - {name: app, digest: x}\n", image: "app", wantErr: "flow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := SetKustomizeImage([]byte(tt.in), tt.image, "2.0.0", "")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if IsNotFound(err) != tt.notFound || IsInvalid(err) == tt.notFound {
				t.Fatalf("error type %T, want not-found %v", err, tt.notFound)
			}
		})
	}
}

func TestGetKustomizeImage(t *testing.T) {
	in := "images:\n- name: app\n  newName: reg/app\n  newTag: \"1.0\"\n  digest: sha256:x\n- name: web\n"
	got, err := GetKustomizeImage([]byte(in), "app")
	if err != nil || got != (ImageRef{NewName: "reg/app", NewTag: "1.0", Digest: "sha256:x"}) {
		t.Fatalf("got %+v, %v", got, err)
	}
	if _, err := GetKustomizeImage([]byte(in), "db"); !IsNotFound(err) {
		t.Fatalf("missing image: %v", err)
	}
}
