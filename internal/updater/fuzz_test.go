package updater

import (
	"bytes"
	"testing"

	"gopkg.in/yaml.v3"
)

// sameExcept reports whether two node trees are equal but for the value of
// target (a node of a), which must read want in b.
func sameExcept(a, b, target *yaml.Node, want string) bool {
	if a.Kind != b.Kind || len(a.Content) != len(b.Content) {
		return false
	}
	if a == target {
		return b.Value == want
	}
	if a.Value != b.Value || a.Tag != b.Tag || a.Anchor != b.Anchor {
		return false
	}
	for i := range a.Content {
		if !sameExcept(a.Content[i], b.Content[i], target, want) {
			return false
		}
	}
	return true
}

func FuzzSetYAMLPath(f *testing.F) {
	f.Add([]byte("app:\n  image:\n    tag: 1.0.0 # c\n"), "app.image.tag", "1.1.0")
	f.Add([]byte("a: &x 1\nb: *x\nl:\n  - 'q'\n  - \"d\"\n"), "l[1]", "it's")
	f.Add([]byte("k: v\n---\nk: w\r\n"), "k", "true")
	f.Add([]byte("m: {a: 1}\n"), "m.a", "2")
	f.Add([]byte("x:\n"), "x", "a: b")
	f.Fuzz(func(t *testing.T, content []byte, path, value string) {
		out, _, changed, err := SetYAMLPath(content, path, value)
		if err != nil {
			return
		}
		if !changed && !bytes.Equal(out, content) {
			t.Fatalf("unchanged but different bytes")
		}
		in, err := parse(content)
		if err != nil {
			t.Fatalf("accepted input that does not parse: %v", err)
		}
		res, err := parse(out)
		if err != nil {
			t.Fatalf("output does not parse: %v\n%q", err, out)
		}
		if len(in.docs) != len(res.docs) {
			t.Fatalf("documents: %d before, %d after", len(in.docs), len(res.docs))
		}
		segs, _ := ParsePath(path)
		for i := range in.docs {
			target, err := lookup(in.docs[i], path, segs)
			if err != nil {
				target = nil
			}
			wantValue := value
			if target == nil {
				wantValue = ""
			}
			if !sameExcept(in.docs[i], res.docs[i], target, wantValue) {
				t.Fatalf("document %d changed beyond %s=%q:\n%q\n->\n%q", i, path, value, content, out)
			}
		}
	})
}

func FuzzSetKustomizeImage(f *testing.F) {
	f.Add([]byte("images:\n  - name: app\n    newTag: \"1.0.0\" # c\n  - name: web\n    newTag: 2\n"), "app", "1.1.0", "sha256:abc")
	f.Add([]byte("images:\n- name: app\n  digest: sha256:x\n"), "app", "1.10", "")
	f.Add([]byte("images:\r\n  - name: app"), "app", "v2", "")
	f.Fuzz(func(t *testing.T, content []byte, name, tag, digest string) {
		out, _, _, err := SetKustomizeImage(content, name, tag, digest)
		if err != nil {
			return
		}
		got, err := GetKustomizeImage(out, name)
		if err != nil {
			t.Fatalf("output lost the image: %v\n%q\n->\n%q", err, content, out)
		}
		if got.NewTag != tag || got.Digest != digest {
			t.Fatalf("read back %+v, want tag %q digest %q\n%q\n->\n%q", got, tag, digest, content, out)
		}
	})
}
