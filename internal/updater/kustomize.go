package updater

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// ImageRef is what a kustomization's images[] entry held for one image.
type ImageRef struct{ NewName, NewTag, Digest string }

// GetKustomizeImage reads the images[] entry for name.
func GetKustomizeImage(content []byte, name string) (ImageRef, error) {
	src, err := parse(content)
	if err != nil {
		return ImageRef{}, err
	}
	item, _, err := findImage(src, name)
	if err != nil {
		return ImageRef{}, err
	}
	return imageRef(item), nil
}

// SetKustomizeImage sets newTag (and digest when digest != "", removing
// nothing else) of the images[] entry whose name is name in a
// kustomization.yaml. It returns the new content, what the entry held before
// (for rollback), and whether anything changed. Missing newTag or digest
// keys are inserted right after the entry's last key, with the entry's
// indentation. When digest == "" an existing digest line is removed: a digest
// pins the image and kustomize would ignore the new tag.
//
// Only the first entry with that name is edited (kustomize uses the first
// too). newTag must not be empty. Values are written like SetYAMLPath writes
// them: in the existing quoting style, and quoted when plain text would not
// read as a string ("1.10"). Entries in flow style ({name: app}) are refused.
func SetKustomizeImage(content []byte, name, newTag, digest string) (out []byte, prev ImageRef, changed bool, err error) {
	if newTag == "" {
		return nil, prev, false, &InvalidError{Msg: fmt.Sprintf("image %q: the new tag is empty", name)}
	}
	for _, v := range []string{newTag, digest} {
		if err := checkValue(v); err != nil {
			return nil, prev, false, err
		}
	}
	src, err := parse(content)
	if err != nil {
		return nil, prev, false, err
	}
	if err := src.editable(); err != nil {
		return nil, prev, false, err
	}
	item, flow, err := findImage(src, name)
	if err != nil {
		return nil, prev, false, err
	}
	prev = imageRef(item)
	want := expect(src)
	var edits []edit
	var inserts []string
	set := func(key, value string) error {
		i := keyIndex(item, key)
		if i < 0 {
			inserts = append(inserts, key+": "+plainOrQuoted(value))
			want.add(item, key, value)
			return nil
		}
		v := item.Content[i+1]
		if r := resolve(v); r.Kind == yaml.ScalarNode && scalarValue(r) == value {
			return nil // already reads as value
		}
		what := fmt.Sprintf("%s of image %q", key, name)
		if v.Kind == yaml.AliasNode {
			return invalidf(v.Line, "%s is the alias *%s; set the value under the anchor &%s (line %d) instead", what, v.Value, v.Value, resolve(v).Line)
		}
		if err := editableScalar(v, what, flow); err != nil {
			return err
		}
		e, err := src.replace(v, value, what)
		if err != nil {
			return err
		}
		edits = append(edits, e)
		want.set(v, value)
		return nil
	}
	if err := set("newTag", newTag); err != nil {
		return nil, prev, false, err
	}
	if digest != "" {
		err = set("digest", digest)
	} else if i := keyIndex(item, "digest"); i >= 0 {
		var e edit
		if e, err = src.removePair(item, i, flow); err == nil {
			edits = append(edits, e)
			want.remove(item, i)
		}
	}
	if err != nil {
		return nil, prev, false, err
	}
	if len(inserts) > 0 {
		if flow {
			return nil, prev, false, invalidf(item.Line, "the images[] entry for %q is in flow style ({...}); write it as a block mapping, one key per line", name)
		}
		edits = append(edits, src.insertAfter(item, inserts))
	}
	if len(edits) == 0 {
		return content, prev, false, nil
	}
	out = apply(content, edits)
	if err := want.check(out); err != nil {
		return nil, prev, false, err
	}
	return out, prev, true, nil
}

// findImage returns the images[] entry named name, and whether it is
// written in flow style.
func findImage(src *source, name string) (item *yaml.Node, flow bool, err error) {
	var present []string
	lists := 0
	for _, root := range src.roots() {
		if root.Kind != yaml.MappingNode {
			continue
		}
		i := keyIndex(root, "images")
		if i < 0 {
			continue
		}
		images := resolve(root.Content[i+1])
		if images.Kind != yaml.SequenceNode {
			if images.ShortTag() == "!!null" {
				continue
			}
			return nil, false, invalidf(images.Line, "images is %s, not a list of entries with name, newName, newTag", describe(images))
		}
		lists++
		for _, entry := range images.Content {
			entry := resolve(entry)
			if entry.Kind != yaml.MappingNode {
				continue
			}
			if j := keyIndex(entry, "name"); j >= 0 {
				n := scalarValue(entry.Content[j+1])
				if n == name {
					return entry, (images.Style|entry.Style)&yaml.FlowStyle != 0, nil
				}
				present = append(present, n)
			}
		}
	}
	nf := &NotFoundError{What: "image", Name: name, Detail: "in images[] of the kustomization", Available: present}
	switch {
	case lists == 0:
		nf.Detail = fmt.Sprintf("the kustomization has no images list; add one with an entry \"- name: %s\"", name)
	case len(present) == 0:
		nf.Detail = "images[] of the kustomization has no named entries"
	}
	return nil, false, nf
}

func imageRef(item *yaml.Node) ImageRef {
	get := func(k string) string {
		if i := keyIndex(item, k); i >= 0 {
			return scalarValue(item.Content[i+1])
		}
		return ""
	}
	return ImageRef{NewName: get("newName"), NewTag: get("newTag"), Digest: get("digest")}
}

// keyIndex is the index in m.Content of key's key node, or -1.
func keyIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return i
		}
	}
	return -1
}

// dashPrefix matches what may precede the first key of a list entry.
var dashPrefix = regexp.MustCompile(`^[ ]*-[ \t]+$`)

// removePair deletes the pair at index i of the block mapping m, which must
// be written "key: value" on one line. The line goes, with its comment. When
// the key follows the entry's "- ", the next key moves up to take its place.
func (s *source) removePair(m *yaml.Node, i int, flow bool) (edit, error) {
	k, v := m.Content[i], m.Content[i+1]
	what := fmt.Sprintf("the %s line", k.Value)
	if flow {
		return edit{}, invalidf(k.Line, "%s is in a flow collection ({...}); write the entry as a block mapping, one key per line", what)
	}
	if v.Kind != yaml.ScalarNode || v.Line != k.Line || v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return edit{}, invalidf(k.Line, "%s must be \"%s: value\" on one line to be removed", what, k.Value)
	}
	if _, _, err := s.scalarSpan(v, what); err != nil {
		return edit{}, err
	}
	lineStart := s.lines[k.Line-1]
	keyStart := s.offset(k.Line, k.Column)
	if keyStart < 0 {
		return edit{}, invalidf(k.Line, "cannot find %s in the file's bytes", what)
	}
	prefix := s.raw[lineStart:keyStart]
	switch {
	case len(bytes.Trim(prefix, " ")) == 0:
		if k.Line < len(s.lines) {
			return edit{start: lineStart, end: s.lines[k.Line]}, nil
		}
		if k.Line == 1 {
			return edit{start: lineStart, end: len(s.raw)}, nil
		}
		// The last line, without a line break: take the previous line's break.
		return edit{start: s.lineEnd(s.lines[k.Line-2]), end: len(s.raw)}, nil
	case dashPrefix.Match(prefix) && i+2 < len(m.Content) && m.Content[i+2].Line == k.Line+1:
		next := s.offset(m.Content[i+2].Line, m.Content[i+2].Column)
		if next >= 0 {
			return edit{start: keyStart, end: next}, nil
		}
	}
	return edit{}, invalidf(k.Line, "%s shares its line with other keys; put it on a line of its own", what)
}

// insertAfter adds lines after the last line of the block mapping m (a list
// entry), indented like m's keys, with the file's line breaks.
func (s *source) insertAfter(m *yaml.Node, lines []string) edit {
	indent := m.Content[0].Column - 1
	value := m.Content[len(m.Content)-1]
	last := max(m.Content[len(m.Content)-2].Line, value.Line)
	// A list may sit at its key's indentation ("args:\n- a").
	dashes := value.Kind == yaml.SequenceNode && value.Style&yaml.FlowStyle == 0 && value.Column-1 == indent
	// Lines indented deeper than the keys still belong to the last value
	// (a nested list, a block scalar); blank and comment lines at the keys'
	// indentation or less belong to what follows.
	for l := last + 1; l <= len(s.lines); l++ {
		text := s.raw[s.lines[l-1]:s.lineEnd(s.lines[l-1])]
		rest := bytes.TrimLeft(text, " ")
		deeper := len(text)-len(rest) > indent ||
			(dashes && len(text)-len(rest) == indent && len(rest) > 0 && rest[0] == '-' && (len(rest) == 1 || isBlank(rest[1])))
		rest = bytes.TrimLeft(rest, " \t")
		if len(rest) == 0 || (rest[0] == '#' && !deeper) {
			continue
		}
		if !deeper {
			break
		}
		last = l
	}
	nl := s.lineBreak(last)
	var b strings.Builder
	at := s.lineEnd(s.lines[last-1])
	if at == len(s.raw) { // the entry ends the file, without a final line break
		for _, l := range lines {
			b.WriteString(nl + strings.Repeat(" ", indent) + l)
		}
		return edit{start: at, end: at, text: b.String()}
	}
	for _, l := range lines {
		b.WriteString(strings.Repeat(" ", indent) + l + nl)
	}
	at = s.lines[last]
	return edit{start: at, end: at, text: b.String()}
}

// lineBreak is the line break ending line l, or the file's first one, or "\n".
func (s *source) lineBreak(l int) string {
	for _, off := range []int{s.lineEnd(s.lines[l-1]), s.lineEnd(s.lines[0])} {
		if n := breakLen(s.raw[off:]); n > 0 {
			return string(s.raw[off : off+n])
		}
	}
	return "\n"
}
