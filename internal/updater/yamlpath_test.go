package updater

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestSetYAMLPath(t *testing.T) {
	tests := []struct {
		name, in, path, value string
		want, prev            string // want == "" means "unchanged"
	}{
		{name: "comments before, inline and after kept",
			in:   "# top\napp:\n  # the image\n  image:\n    tag: 1.0.0 # current\n    # after\n  replicas: 2\n# end\n",
			path: "app.image.tag", value: "1.1.0",
			want: "# top\napp:\n  # the image\n  image:\n    tag: 1.1.0 # current\n    # after\n  replicas: 2\n# end\n", prev: "1.0.0"},
		{name: "indentation 4 and blank lines kept",
			in:   "app:\n\n    image:\n        repository: reg/app\n\n        tag: v1\n",
			path: "app.image.tag", value: "v2",
			want: "app:\n\n    image:\n        repository: reg/app\n\n        tag: v2\n", prev: "v1"},
		{name: "list index, double quotes kept",
			in:   "containers:\n  - name: a\n    image: reg/a:1\n  - name: b\n    image: \"reg/b:1\"\n",
			path: "containers[1].image", value: "reg/b:2",
			want: "containers:\n  - name: a\n    image: reg/a:1\n  - name: b\n    image: \"reg/b:2\"\n", prev: "reg/b:1"},
		{name: "single quotes kept, quote doubled",
			in: "v: 'a' # c\n", path: "v", value: "it's",
			want: "v: 'it''s' # c\n", prev: "a"},
		{name: "top-level list",
			in: "- image: a\n- image: b\n", path: "[1].image", value: "c",
			want: "- image: a\n- image: c\n", prev: "b"},
		{name: "quoted key with dots",
			in:   "metadata:\n  annotations:\n    liftoff.dev/version: old\n",
			path: `metadata.annotations["liftoff.dev/version"]`, value: "new",
			want: "metadata:\n  annotations:\n    liftoff.dev/version: new\n", prev: "old"},
		{name: "multi-document: only documents with the path change",
			in:   "kind: A\nspec:\n  v: 1.0.0\n---\nkind: B\n---\n# c\nkind: C\nspec:\n  v: '1.0.0'\n...\n",
			path: "spec.v", value: "2.0.0",
			want: "kind: A\nspec:\n  v: 2.0.0\n---\nkind: B\n---\n# c\nkind: C\nspec:\n  v: '2.0.0'\n...\n", prev: "1.0.0"},
		{name: "anchor definition set, anchor and alias kept",
			in: "base: &ver 1.0.0\nother: *ver\n", path: "base", value: "1.1.0",
			want: "base: &ver 1.1.0\nother: *ver\n", prev: "1.0.0"},
		{name: "anchor and tag before the value",
			in: "a: !!str &v '1'\n", path: "a", value: "2",
			want: "a: !!str &v '2'\n", prev: "1"},
		{name: "CRLF kept", in: "a:\r\n  b: 1.0.0 # c\r\n  c: x\r\n", path: "a.b", value: "1.1.0",
			want: "a:\r\n  b: 1.1.0 # c\r\n  c: x\r\n", prev: "1.0.0"},
		{name: "no trailing newline", in: "a:\n  b: x", path: "a.b", value: "z",
			want: "a:\n  b: z", prev: "x"},
		{name: "BOM and non-ASCII before the value", in: "\ufeffé: ü\nñ: 1\n", path: "ñ", value: "v2",
			want: "\ufeffé: ü\nñ: v2\n", prev: "1"},
		{name: "empty value", in: "v:\nw: 1\n", path: "v", value: "1.2.3", want: "v: 1.2.3\nw: 1\n"},
		{name: "empty value with comment", in: "v: # set by Liftoff\n", path: "v", value: "x", want: "v: x # set by Liftoff\n"},
		{name: "empty list item", in: "l:\n- \n-\n", path: "l[1]", value: "x", want: "l:\n- \n- x\n"},
		{name: "null", in: "v: ~\n", path: "v", value: "x", want: "v: x\n"},
		{name: "unchanged", in: "v: 1 # c\n", path: "v", value: "1", prev: "1"},
		{name: "unchanged in one document, set in another", in: "v: a\n---\nv: b\n", path: "v", value: "a",
			want: "v: a\n---\nv: a\n", prev: "a"},
		{name: "float-looking version quoted", in: "tag: 1.9\n", path: "tag", value: "1.10", want: "tag: \"1.10\"\n", prev: "1.9"},
		{name: "bool quoted", in: "v: x\n", path: "v", value: "true", want: "v: \"true\"\n", prev: "x"},
		{name: "YAML 1.1 bool quoted", in: "v: x\n", path: "v", value: "yes", want: "v: \"yes\"\n", prev: "x"},
		{name: "null word quoted", in: "v: x\n", path: "v", value: "null", want: "v: \"null\"\n", prev: "x"},
		{name: "hex quoted", in: "v: x\n", path: "v", value: "0x1F", want: "v: \"0x1F\"\n", prev: "x"},
		{name: "colon-space quoted", in: "v: x\n", path: "v", value: "a: b", want: "v: \"a: b\"\n", prev: "x"},
		{name: "space-hash quoted", in: "v: x\n", path: "v", value: "a #b", want: "v: \"a #b\"\n", prev: "x"},
		{name: "leading indicator quoted", in: "v: x\n", path: "v", value: "*x", want: "v: \"*x\"\n", prev: "x"},
		{name: "leading dash quoted", in: "v: x\n", path: "v", value: "- x", want: "v: \"- x\"\n", prev: "x"},
		{name: "empty string quoted", in: "v: x\n", path: "v", value: "", want: "v: \"\"\n", prev: "x"},
		{name: "line break escaped", in: "v: 'x'\n", path: "v", value: "a\nb", want: "v: \"a\\nb\"\n", prev: "x"},
		{name: "semver stays plain", in: "v: \"x\"\n", path: "v", value: "1.2.3-rc.1+b5", want: "v: \"1.2.3-rc.1+b5\"\n", prev: "x"},
		{name: "plain version", in: "v: x\n", path: "v", value: "v1.2.3", want: "v: v1.2.3\n", prev: "x"},
		{name: "image reference with colon stays plain", in: "v: x\n", path: "v", value: "reg:5000/app:1.2", want: "v: reg:5000/app:1.2\n", prev: "x"},
		{name: "read through alias allowed on other branch", in: "a: &x {k: 1}\nb: *x\nc: 2\n", path: "c", value: "3", want: "a: &x {k: 1}\nb: *x\nc: \"3\"\n", prev: "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, prev, changed, err := SetYAMLPath([]byte(tt.in), tt.path, tt.value)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "" {
				want = tt.in
			}
			if string(out) != want || prev != tt.prev || changed != (tt.want != "") {
				t.Fatalf("got\n%q prev %q changed %v\nwant\n%q prev %q changed %v", out, prev, changed, want, tt.prev, tt.want != "")
			}
			if got, err := GetYAMLPath(out, tt.path); err != nil || got != tt.value {
				t.Fatalf("GetYAMLPath after the edit = %q, %v", got, err)
			}
		})
	}
}

func TestSetYAMLPathUnchangedReturnsSameBytes(t *testing.T) {
	in := []byte("a: 1\n")
	out, _, changed, err := SetYAMLPath(in, "a", "1")
	if err != nil || changed || !bytes.Equal(in, out) {
		t.Fatalf("got %q %v %v", out, changed, err)
	}
}

func TestSetYAMLPathErrors(t *testing.T) {
	tests := []struct {
		name, in, path string
		notFound       bool
		wantErr        string
	}{
		{name: "missing key names the keys present", in: "image:\n  repository: x\n  pullPolicy: y\n", path: "image.tag", notFound: true,
			wantErr: `path "image.tag" not found: key "tag" missing under "image"; keys present: repository, pullPolicy`},
		{name: "missing top-level key", in: "a: 1\nb: 2\n", path: "c", notFound: true,
			wantErr: `path "c" not found: key "c" missing at the top level; keys present: a, b`},
		{name: "missing in every document", in: "a: 1\n---\nb: 2\n", path: "c", notFound: true,
			wantErr: `path "c" not found: none of the 2 documents has it; in the first, key "c" missing at the top level; keys present: a`},
		{name: "index out of range", in: "l: [a]\n", path: "l[3]", notFound: true, wantErr: "has 1 items, so no [3]"},
		{name: "key under a scalar", in: "image: app:1\n", path: "image.tag", notFound: true, wantErr: `expected a mapping with key "tag" under "image", found the value "app:1"`},
		{name: "empty file", in: "", path: "a", notFound: true, wantErr: "no YAML document"},
		{name: "alias target names the anchor", in: "base: &ver 1.0.0\nother: *ver\n", path: "other",
			wantErr: `line 2: path "other" leads through the alias *ver, which has no value of its own; set the path "base" under the anchor &ver (line 1) instead`},
		{name: "path through an alias names the path under the anchor", in: "defaults: &d\n  image:\n    tag: 1\napp: *d\n", path: "app.image.tag",
			wantErr: `set the path "defaults.image.tag" under the anchor &d (line 1) instead`},
		{name: "merge key", in: "base: &b\n  tag: 1\napp:\n  <<: *b\n", path: "app.tag",
			wantErr: `key "tag" under "app" comes from the merge key <<; set it where it is defined (the path "base.tag" under the anchor &b (line 1)) instead`},
		{name: "not a scalar", in: "image:\n  tag:\n    a: 1\n", path: "image.tag", wantErr: `line 3: path "image.tag" is a mapping, not a single value; point the path at one of its keys: a`},
		{name: "flow collection", in: "image: {tag: 1}\n", path: "image.tag", wantErr: "inside a flow collection"},
		{name: "block scalar", in: "v: |\n  text\n", path: "v", wantErr: "block scalar"},
		{name: "folded scalar", in: "v: >-\n  text\n", path: "v", wantErr: "block scalar"},
		{name: "multi-line plain", in: "v: a\n  b\n", path: "v", wantErr: "spans several lines"},
		{name: "multi-line quoted", in: "v: \"a\n  b\"\n", path: "v", wantErr: "spans several lines"},
		{name: "explicit int tag", in: "v: !!int 3\n", path: "v", wantErr: "explicit tag !!int"},
		{name: "invalid YAML has the line", in: "a: [\nb: 1\n", path: "a", wantErr: "not valid YAML: line"},
		{name: "bad path", in: "v: 1\n", path: "a..b", wantErr: "invalid path"},
		// yaml.v3 reads a plain scalar followed by a " \t" line, but not a
		// quoted one: the self-check refuses instead of writing a broken file.
		{name: "result yaml.v3 cannot read is refused", in: "5: 00\n \t", path: "5", wantErr: "the file was left as it was"},
		{name: "UTF-16", in: "\xff\xfea\x00:\x00 \x001\x00\n\x00", path: "a", wantErr: "not UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := SetYAMLPath([]byte(tt.in), tt.path, "2")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			var nf *NotFoundError
			var inv *InvalidError
			if IsNotFound(err) != tt.notFound || errors.As(err, &nf) != tt.notFound || errors.As(err, &inv) == tt.notFound {
				t.Fatalf("error type %T, want not-found %v", err, tt.notFound)
			}
		})
	}
}

func TestGetYAMLPath(t *testing.T) {
	in := "base: &b\n  tag: 1.0\napp:\n  <<: *b\nalias: *b\nempty:\nq: \"~\"\n---\nlater: x\n"
	for path, want := range map[string]string{"base.tag": "1.0", "app.tag": "1.0", "alias.tag": "1.0", "empty": "", "q": "~", "later": "x"} {
		if got, err := GetYAMLPath([]byte(in), path); err != nil || got != want {
			t.Errorf("GetYAMLPath(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
	if _, err := GetYAMLPath([]byte(in), "base"); !IsInvalid(err) {
		t.Errorf("GetYAMLPath of a mapping: %v", err)
	}
	if _, err := GetYAMLPath([]byte(in), "nope"); !IsNotFound(err) {
		t.Errorf("GetYAMLPath of a missing key: %v", err)
	}
}
