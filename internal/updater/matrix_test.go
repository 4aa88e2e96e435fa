package updater

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// The matrix tests run realistic layouts through every combination of line
// ending, final newline, indentation, quoting and comment placement, and
// tricky values. Unlike the fuzz tests they require the edit to succeed:
// a refusal by the self-check on an ordinary file would be a bug too.

var trickyValues = []string{
	"1.1.0", "v2.0.0-rc.1+build.5", "1.10", "2", "true", "yes", "null", "~", "0x1F", "",
	"a: b", "x #y", "#x", "- x", "*x", "&x", "!x", "@x", "%x", "[x]", "{x}", "'q'", `"dq"`,
	"it's", `back\slash`, "é ü", "  lead", "trail ", "tab\there", "line\nbreak", "ls\u2028x", "reg:5000/app@sha256:abc",
}

func TestSetYAMLPathMatrix(t *testing.T) {
	olds := []string{"1.0.0", "'1.0.0'", `"1.0.0"`, "", "~", "&a 1.0.0", "!!str 1.0.0", "1.0"}
	comments := []string{"", " # c", "\t#c"}
	n := 0
	for _, nl := range []string{"\n", "\r\n"} {
		for _, final := range []bool{true, false} {
			for _, indent := range []string{"  ", "    "} {
				for _, old := range olds {
					for _, c := range comments {
						if old == "" && c == "\t#c" {
							c = " #c" // "tag:\t#c" is not valid YAML
						}
						pre := strings.ReplaceAll("# head\n\napp:\n{I}# inner\n{I}image: # the image\n{I}{I}repository: reg/app\n{I}{I}tag:", "{I}", indent)
						if old != "" {
							pre += " "
						}
						post := strings.ReplaceAll(c+"\n{I}list:\n{I}- a # item\n# foot\n---\nother: 1", "{I}", indent)
						if final {
							post += "\n"
						}
						pre, post = strings.ReplaceAll(pre, "\n", nl), strings.ReplaceAll(post, "\n", nl)
						in := []byte(pre + old + post)
						for _, v := range trickyValues {
							n++
							out, _, changed, err := SetYAMLPath(in, "app.image.tag", v)
							if err != nil {
								t.Fatalf("%q set to %q: %v", in, v, err)
							}
							if !bytes.HasPrefix(out, []byte(strings.TrimSuffix(pre, " "))) || !bytes.HasSuffix(out, []byte(post)) {
								t.Fatalf("%q set to %q: bytes around the value changed:\n%q", in, v, out)
							}
							if changed == bytes.Equal(in, out) {
								t.Fatalf("%q set to %q: changed=%v", in, v, changed)
							}
							checkPathEdit(t, in, out, "app.image.tag", v)
						}
					}
				}
			}
		}
	}
	t.Logf("%d edits", n)
}

func TestSetKustomizeImageMatrix(t *testing.T) {
	// Entry layouts for image "app"; {I} is the keys' indentation.
	entries := []string{
		"- name: app\n",
		"- name: app # the app\n{I}newName: reg/app\n",
		"- newName: reg/app\n{I}name: app\n{I}newTag: 1.0.0 # pinned\n",
		"- name: app\n{I}newTag: '1.0.0'\n{I}digest: sha256:old # pin\n",
		"- digest: \"sha256:old\"\n{I}name: app\n",
		"- name: app\n{I}# about the tag\n{I}newTag: \"1.0.0\"\n{I}args:\n{I}- a\n{I}-   b\n",
		"- name: \"app\"\n{I}newTag: &v 1.0.0\n",
		"-   name: app\n{J}newTag:\n",
	}
	n := 0
	for _, nl := range []string{"\n", "\r\n"} {
		for _, final := range []bool{true, false} {
			for _, listIndent := range []string{"", "  ", "    "} {
				for _, e := range entries {
					keys := listIndent + "  "
					e = strings.NewReplacer("{I}", "  ", "{J}", "    ").Replace(e)
					e = listIndent + strings.ReplaceAll(strings.TrimSuffix(e, "\n"), "\n", "\n"+listIndent)
					doc := "# kustomization\nresources:\n- deploy.yaml\nimages:\n" + listIndent + "- name: web # first\n" + keys + "newTag: 2.0.0\n" + e + "\n# after\n"
					if !final {
						doc = "resources: [a]\nimages:\n" + e
					}
					doc = strings.ReplaceAll(doc, "\n", nl)
					for _, digest := range []string{"", "sha256:new"} {
						for _, v := range trickyValues[:len(trickyValues)-3] {
							if v == "" {
								continue
							}
							n++
							out, prev, _, err := SetKustomizeImage([]byte(doc), "app", v, digest)
							if err != nil {
								t.Fatalf("%q set to %q: %v", doc, v, err)
							}
							checkImageEdit(t, []byte(doc), out, "app", v, digest, prev)
							if !final && bytes.HasSuffix(out, []byte(nl)) {
								t.Fatalf("%q set to %q: a final line break was added:\n%q", doc, v, out)
							}
							if nl == "\r\n" && bytes.Count(out, []byte("\n")) != bytes.Count(out, []byte("\r\n")) {
								t.Fatalf("%q set to %q: mixed line breaks:\n%q", doc, v, out)
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d edits", n)
}

// Example output for the reader: what an insertion looks like.
func ExampleSetKustomizeImage() {
	in := "images:\n  - name: app # the app\n    newName: reg/app\n  - name: web\n"
	out, prev, changed, err := SetKustomizeImage([]byte(in), "app", "1.10", "sha256:abc")
	fmt.Printf("%s%+v %v %v\n", out, prev, changed, err)
	// Output:
	// images:
	//   - name: app # the app
	//     newName: reg/app
	//     newTag: "1.10"
	//     digest: sha256:abc
	//   - name: web
	// {NewName:reg/app NewTag: Digest:} true <nil>
}
