package updater

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The fuzz tests check the promise made to users independently of the
// package's own self-check: an edit either fails with a typed error, or
// yields YAML that reads back the new value while every other scalar, key,
// anchor, tag and comment reads as before.

func FuzzSetYAMLPath(f *testing.F) {
	f.Add([]byte("app:\n  image:\n    tag: 1.0.0 # c\n"), "app.image.tag", "1.1.0")
	f.Add([]byte("a: &x 1\nb: *x\nl:\n  - 'q'\n  - \"d\"\n"), "l[1]", "it's")
	f.Add([]byte("a: &x 1\nb: *x\n"), "a", "2")
	f.Add([]byte("base: &b\n  tag: 1\napp:\n  <<: *b\n  x: 2\n"), "app.x", "3")
	f.Add([]byte("k: v\n---\nk: w\r\n...\n"), "k", "true")
	f.Add([]byte("m: {a: 1}\n"), "m.a", "2")
	f.Add([]byte("x:\n"), "x", "a: b")
	f.Add([]byte("x: # c\ny: !!str 1\n"), "x", "1.10")
	f.Add([]byte("x: !t &a\ny: 1\n"), "x", "#")
	f.Add([]byte("\ufeffl:\n- a\n-\n- 'b'\n"), "l[1]", "\n")
	f.Add([]byte("a:\r  b: \"x\\\"y\"\u2028c: 1\u0085d: 2"), "a.b", "é")
	f.Add([]byte("x:\n  \"k.y\": 1\n"), `x["k.y"]`, "")
	f.Add([]byte("# h\n\nspec:\n    template:\n        containers:\n        -   image: a:1  # c\n            name: a\n"), "spec.template.containers[0].image", "a:2")
	f.Add([]byte("v: |\n  x\nw: >\n  y\nz: \"multi\n  line\"\n"), "z", "1")
	f.Fuzz(func(t *testing.T, content []byte, path, value string) {
		out, _, changed, err := SetYAMLPath(content, path, value)
		if err != nil {
			checkTyped(t, content, err)
			return
		}
		if !changed && !bytes.Equal(out, content) {
			t.Fatalf("unchanged, but the bytes differ")
		}
		checkPathEdit(t, content, out, path, value)
	})
}

// checkPathEdit checks that out is content with path set to value.
func checkPathEdit(t *testing.T, content, out []byte, path, value string) {
	t.Helper()
	in, res := mustDocs(t, content, "input"), mustDocs(t, out, "output")
	if len(in) != len(res) {
		t.Fatalf("%d documents became %d", len(in), len(res))
	}
	if got, err := GetYAMLPath(out, path); err != nil || got != value {
		t.Fatalf("GetYAMLPath after setting %q = %q, %v\n%q\n->\n%q", value, got, err, content, out)
	}
	if want, got := commentLinesOf(in, nil), commentLinesOf(res, nil); !slices.Equal(want, got) {
		t.Fatalf("comments changed:\n%q\n->\n%q\nwant %q\ngot  %q", content, out, want, got)
	}
	segs, _ := ParsePath(path)
	for i := range in {
		target, after := walk(in[i], segs), walk(res[i], segs)
		if (target == nil) != (after == nil) {
			t.Fatalf("document %d: the path exists before or after the edit only", i)
		}
		if target != nil && scalarValue(target) != value && after.Style&yaml.TaggedStyle == 0 && after.ShortTag() != "!!str" {
			t.Fatalf("document %d: the new value reads as %s\n%q", i, after.ShortTag(), out)
		}
		skip := func(n *yaml.Node) bool { return n == target || n == after }
		if want, got := flatten(in[i], skip), flatten(res[i], skip); !slices.Equal(want, got) {
			t.Fatalf("document %d changed beyond %s=%q:\n%q\n->\n%q\nwant %q\ngot  %q", i, path, value, content, out, want, got)
		}
		if target != nil && scalarValue(after) != value {
			t.Fatalf("document %d: %s reads %q, want %q", i, path, after.Value, value)
		}
	}
}

func FuzzSetKustomizeImage(f *testing.F) {
	f.Add([]byte("images:\n  - name: app\n    newTag: \"1.0.0\" # c\n  - name: web\n    newTag: 2\n"), "app", "1.1.0", "sha256:abc")
	f.Add([]byte("images:\n- name: app\n  digest: sha256:x\n"), "app", "1.10", "")
	f.Add([]byte("images:\n- digest: sha256:x # d\n  name: app\n  newTag: v1\n"), "app", "v2", "")
	f.Add([]byte("images:\r\n  - name: app"), "app", "v2", "")
	f.Add([]byte("images:\n  - name: app\n    digest: sha256:x"), "app", "v2", "")
	f.Add([]byte("images:\n    - name: app\n      newName: reg/app\n      args:\n        - a\n    # c\n---\nx: 1\n"), "app", "true", "d")
	f.Add([]byte("images:\n- name: app\n  x: |\n    text\n\n  # c\n"), "app", "1", "")
	f.Add([]byte("a: &t 1\nimages:\n- name: 'app'\n  newTag: *t\n- {name: web}\n"), "web", "1", "")
	f.Fuzz(func(t *testing.T, content []byte, name, tag, digest string) {
		out, prev, changed, err := SetKustomizeImage(content, name, tag, digest)
		if err != nil {
			checkTyped(t, content, err)
			return
		}
		if !changed && !bytes.Equal(out, content) {
			t.Fatalf("unchanged, but the bytes differ")
		}
		checkImageEdit(t, content, out, name, tag, digest, prev)
	})
}

// checkImageEdit checks that out is content with the image entry set.
func checkImageEdit(t *testing.T, content, out []byte, name, tag, digest string, prev ImageRef) {
	t.Helper()
	in, res := mustDocs(t, content, "input"), mustDocs(t, out, "output")
	if len(in) != len(res) {
		t.Fatalf("%d documents became %d", len(in), len(res))
	}
	got, err := GetKustomizeImage(out, name)
	if err != nil || got != (ImageRef{NewName: prev.NewName, NewTag: tag, Digest: digest}) {
		t.Fatalf("read back %+v, %v; want tag %q digest %q\n%q\n->\n%q", got, err, tag, digest, content, out)
	}
	before, after := entry(in, name), entry(res, name)
	// Removing the digest line removes its comment.
	var digestLine []*yaml.Node
	if i := keyIndex(before, "digest"); i >= 0 && digest == "" {
		digestLine = before.Content[i : i+2]
	}
	drop := func(n *yaml.Node) bool { return slices.Contains(digestLine, n) }
	if want, got := commentLinesOf(in, drop), commentLinesOf(res, nil); !slices.Equal(want, got) {
		t.Fatalf("comments changed:\n%q\n->\n%q\nwant %q\ngot  %q", content, out, want, got)
	}
	skip := func(n *yaml.Node) bool { return n == before || n == after }
	var want, have []string
	for i := range in {
		want = append(want, flatten(in[i], skip)...)
		have = append(have, flatten(res[i], skip)...)
	}
	// The entry itself: all but newTag and digest as before.
	keep := func(m *yaml.Node) (list []string) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if k := m.Content[i].Value; k != "newTag" && k != "digest" {
				list = append(list, flatten(m.Content[i], nil)...)
				list = append(list, flatten(m.Content[i+1], nil)...)
			}
		}
		return list
	}
	want, have = append(want, keep(before)...), append(have, keep(after)...)
	slices.Sort(want)
	slices.Sort(have)
	if !slices.Equal(want, have) {
		t.Fatalf("changed beyond the image entry:\n%q\n->\n%q\nwant %q\ngot  %q", content, out, want, have)
	}
}

// tabLine matches a line whose indentation holds a tab: after such a line
// yaml.v3 reads a plain scalar but rejects a quoted one (see the seed
// quoted-value-before-tab-line), so quoting a value there is rightly refused.
var tabLine = regexp.MustCompile(`(^|[\r\n])[ ]*\t`)

func checkTyped(t *testing.T, content []byte, err error) {
	switch err.(type) {
	case *NotFoundError, *InvalidError:
	default:
		t.Fatalf("untyped error %T: %v", err, err)
	}
	// A refusal by the self-check is a safe outcome, but it may mean the
	// splice logic got a file wrong: UPDATER_FUZZ_STRICT=1 makes it a
	// failure, to find those.
	if strings.Contains(err.Error(), "Liftoff could not edit this file") && os.Getenv("UPDATER_FUZZ_STRICT") != "" &&
		(!strings.Contains(err.Error(), "would not parse") || !tabLine.Match(content)) {
		t.Fatalf("self-check refused the edit: %v", err)
	}
}

// mustDocs decodes every document with yaml.v3, as a reader of the file would.
func mustDocs(t *testing.T, content []byte, what string) []*yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(content))
	var docs []*yaml.Node
	for {
		var d yaml.Node
		err := dec.Decode(&d)
		if err == io.EOF {
			return docs
		}
		if err != nil {
			t.Fatalf("%s does not parse: %v\n%q", what, err, content)
		}
		docs = append(docs, &d)
	}
}

// walk follows segs without aliases or merges; nil when the path is absent.
func walk(n *yaml.Node, segs []Segment) *yaml.Node {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	for _, s := range segs {
		switch {
		case s.IsIndex && n.Kind == yaml.SequenceNode && s.Index < len(n.Content):
			n = n.Content[s.Index]
		case !s.IsIndex && n.Kind == yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == s.Key {
					next = n.Content[i+1]
					break
				}
			}
			if next == nil {
				return nil
			}
			n = next
		default:
			return nil
		}
	}
	return n
}

// entry finds the images[] entry named name the way kustomize does.
func entry(docs []*yaml.Node, name string) *yaml.Node {
	for _, d := range docs {
		images := walk(d, []Segment{{Key: "images"}})
		if images == nil {
			continue
		}
		for _, e := range resolve(images).Content {
			if e := resolve(e); e.Kind == yaml.MappingNode {
				if n := walk(e, []Segment{{Key: "name"}}); n != nil && resolve(n).Value == name {
					return e
				}
			}
		}
	}
	return nil
}

// flatten lists every node below n with its position, kind, tag, style,
// anchor and value, sorted, leaving out nodes for which skip is true and
// all they contain.
func flatten(n *yaml.Node, skip func(*yaml.Node) bool) []string {
	var list []string
	var rec func(n *yaml.Node, at string)
	rec = func(n *yaml.Node, at string) {
		skipped := skip != nil && skip(n)
		if !skipped {
			list = append(list, fmt.Sprintf("%s kind=%d tag=%s style=%d anchor=%q value=%q", at, n.Kind, n.Tag, n.Style, n.Anchor, n.Value))
		}
		if skipped {
			return
		}
		for i, c := range n.Content {
			switch n.Kind {
			case yaml.MappingNode:
				if i%2 == 0 {
					rec(c, at+"/key:"+c.Value)
				} else {
					rec(c, at+"/"+n.Content[i-1].Value)
				}
			default:
				rec(c, fmt.Sprintf("%s/[%d]", at, i))
			}
		}
	}
	rec(n, "")
	slices.Sort(list)
	return list
}

// commentLinesOf lists the comment lines of the documents, sorted: yaml.v3
// may attach a comment to another node after an edit, so only the text
// counts. Line comments of nodes for which drop is true are left out.
func commentLinesOf(docs []*yaml.Node, drop func(*yaml.Node) bool) []string {
	var list []string
	var rec func(n *yaml.Node)
	rec = func(n *yaml.Node) {
		cs := []string{n.HeadComment, n.LineComment, n.FootComment}
		if drop != nil && drop(n) {
			cs[1] = ""
		}
		for _, c := range cs {
			for _, l := range strings.Split(c, "\n") {
				if l = strings.TrimSpace(l); l != "" {
					list = append(list, l)
				}
			}
		}
		for _, c := range n.Content {
			rec(c)
		}
	}
	for _, d := range docs {
		rec(d)
	}
	slices.Sort(list)
	return list
}
