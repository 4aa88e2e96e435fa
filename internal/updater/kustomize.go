package updater

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// ImageRef is what a kustomization's images[] entry held for one image.
type ImageRef struct{ NewName, NewTag, Digest string }

// findImage returns the images[] entry named name in a kustomization.
func findImage(src *source, name string) (*yaml.Node, error) {
	var present []string
	for _, doc := range src.docs {
		if doc.Kind != yaml.MappingNode {
			continue
		}
		_, images := mappingValue(doc, "images")
		if images == nil {
			continue
		}
		if images.Kind != yaml.SequenceNode {
			return nil, &InvalidError{Msg: fmt.Sprintf("line %d: images is a %s, not a list", images.Line, kindName(images.Kind))}
		}
		for _, item := range images.Content {
			if item.Kind != yaml.MappingNode {
				continue
			}
			if _, n := mappingValue(item, "name"); n != nil {
				if n.Value == name {
					return item, nil
				}
				present = append(present, n.Value)
			}
		}
	}
	detail := "no images[] entry has that name"
	if len(present) == 0 {
		detail = "the kustomization has no images[] entries"
	}
	return nil, &NotFoundError{What: "image", Name: name, Detail: detail, Available: present}
}

func imageRef(item *yaml.Node) ImageRef {
	get := func(k string) string {
		if _, v := mappingValue(item, k); v != nil {
			return v.Value
		}
		return ""
	}
	return ImageRef{NewName: get("newName"), NewTag: get("newTag"), Digest: get("digest")}
}

// GetKustomizeImage reads the images[] entry for name.
func GetKustomizeImage(content []byte, name string) (ImageRef, error) {
	src, err := parse(content)
	if err != nil {
		return ImageRef{}, err
	}
	item, err := findImage(src, name)
	if err != nil {
		return ImageRef{}, err
	}
	return imageRef(item), nil
}

// SetKustomizeImage sets newTag (and digest when digest != "") of the images[]
// entry whose name is name. Missing keys are added after the entry's last key
// with its indentation. With digest == "", an existing digest line is removed:
// a digest pins the image and would override the new tag.
func SetKustomizeImage(content []byte, name, newTag, digest string) ([]byte, ImageRef, bool, error) {
	for _, v := range []string{newTag, digest} {
		if err := checkValue(v); err != nil {
			return nil, ImageRef{}, false, err
		}
	}
	src, err := parse(content)
	if err != nil {
		return nil, ImageRef{}, false, err
	}
	item, err := findImage(src, name)
	if err != nil {
		return nil, ImageRef{}, false, err
	}
	prev := imageRef(item)
	if item.Style&yaml.FlowStyle != 0 {
		return nil, prev, false, &InvalidError{Msg: fmt.Sprintf("line %d: the images entry for %q is a flow mapping ({...}); write it as a block mapping", item.Line, name)}
	}
	var edits []edit
	var inserts []string
	set := func(key, value string) error {
		_, v := mappingValue(item, key)
		if v == nil {
			inserts = append(inserts, key+": "+plainOrQuoted(value))
			return nil
		}
		if v.Value == value {
			return nil
		}
		start, end, err := src.scalarSpan(v)
		if err != nil {
			return err
		}
		text := render(v, value)
		if start == end && start > 0 && src.raw[start-1] == ':' { // "newTag:" with no value
			text = " " + text
		}
		edits = append(edits, edit{start: start, end: end, text: text})
		return nil
	}
	if err := set("newTag", newTag); err != nil {
		return nil, prev, false, err
	}
	if digest != "" {
		if err := set("digest", digest); err != nil {
			return nil, prev, false, err
		}
	} else if k, v := mappingValue(item, "digest"); k != nil {
		e, err := src.removeLine(k, v)
		if err != nil {
			return nil, prev, false, err
		}
		edits = append(edits, e)
	}
	if len(inserts) > 0 {
		e, err := src.insertAfterEntry(item, inserts)
		if err != nil {
			return nil, prev, false, err
		}
		edits = append(edits, e)
	}
	if len(edits) == 0 {
		return content, prev, false, nil
	}
	return apply(content, edits), prev, true, nil
}

// removeLine deletes the line that holds a key and its one-line value.
func (s *source) removeLine(k, v *yaml.Node) (edit, error) {
	if v.Line != k.Line || v.Kind != yaml.ScalarNode {
		return edit{}, &InvalidError{Msg: fmt.Sprintf("line %d: the digest value must sit on the key's line to be removed", k.Line)}
	}
	start := s.lines[k.Line-1]
	keyStart := s.offset(k.Line, k.Column)
	if strings.TrimSpace(string(s.raw[start:keyStart])) != "" {
		return edit{}, &InvalidError{Msg: fmt.Sprintf("line %d: the digest shares its line with another key; put it on its own line", k.Line)}
	}
	end := len(s.raw)
	if k.Line < len(s.lines) {
		end = s.lines[k.Line]
	}
	return edit{start: start, end: end}, nil
}

// insertAfterEntry adds "key: value" lines after the last line of a
// block-mapping list entry, indented like its keys.
func (s *source) insertAfterEntry(item *yaml.Node, lines []string) (edit, error) {
	last := item.Content[len(item.Content)-1]
	if last.Kind != yaml.ScalarNode || last.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return edit{}, &InvalidError{Msg: fmt.Sprintf("line %d: cannot add keys after a nested value; add newTag to the images entry by hand once", item.Line)}
	}
	indent := strings.Repeat(" ", item.Content[0].Column-1)
	nl := "\n"
	if s.crlf {
		nl = "\r\n"
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(indent + l + nl)
	}
	at := len(s.raw)
	if last.Line < len(s.lines) {
		at = s.lines[last.Line]
	} else {
		// The entry ends the file without a newline.
		b.Reset()
		for _, l := range lines {
			b.WriteString(nl + indent + l)
		}
	}
	return edit{start: at, end: at, text: b.String()}, nil
}
