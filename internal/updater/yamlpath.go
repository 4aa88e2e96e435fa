package updater

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// SetYAMLPath sets the scalar at path (see ParsePath) to value in every YAML
// document of content where the path exists, and returns the value the
// first such document held. A multi-document file often carries the same
// setting in several manifests, and they must move together. It is an error
// when no document has the path, or when any document has it at a value that
// cannot be rewritten in place (see InvalidError). When every document
// already holds value, out is content itself and changed is false.
func SetYAMLPath(content []byte, path, value string) (out []byte, prev string, changed bool, err error) {
	segs, err := ParsePath(path)
	if err != nil {
		return nil, "", false, err
	}
	if err := checkValue(value); err != nil {
		return nil, "", false, err
	}
	src, err := parse(content)
	if err != nil {
		return nil, "", false, err
	}
	if err := src.editable(); err != nil {
		return nil, "", false, err
	}
	want := expect(src)
	var edits []edit
	found := false
	for _, doc := range src.roots() {
		n, flow, err := lookup(doc, path, segs, true)
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, "", false, err
		}
		if n.Kind == yaml.ScalarNode && scalarValue(n) == value { // already reads as value: nothing to write
			if !found {
				prev, found = scalarValue(n), true
			}
			continue
		}
		if err := editableScalar(n, fmt.Sprintf("path %q", path), flow); err != nil {
			return nil, "", false, err
		}
		if !found {
			prev, found = scalarValue(n), true
		}
		e, err := src.replace(n, value, fmt.Sprintf("path %q", path))
		if err != nil {
			return nil, "", false, err
		}
		edits = append(edits, e)
		want.set(n, value)
	}
	if !found {
		return nil, "", false, notFound(src, path, segs)
	}
	if len(edits) == 0 {
		return content, prev, false, nil
	}
	out = apply(content, edits)
	if err := want.check(out); err != nil {
		return nil, "", false, err
	}
	return out, prev, true, nil
}

// GetYAMLPath reads the scalar at path from the first document that has it.
// Unlike SetYAMLPath it follows aliases and merge keys, as YAML readers do.
// A null value ("key:" or "key: ~") reads as "".
func GetYAMLPath(content []byte, path string) (string, error) {
	segs, err := ParsePath(path)
	if err != nil {
		return "", err
	}
	src, err := parse(content)
	if err != nil {
		return "", err
	}
	for _, doc := range src.roots() {
		n, _, err := lookup(doc, path, segs, false)
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return "", err
		}
		if n.Kind != yaml.ScalarNode {
			return "", notScalar(n, fmt.Sprintf("path %q", path))
		}
		return scalarValue(n), nil
	}
	return "", notFound(src, path, segs)
}

// notFound reports the path as missing, with where the search stopped in
// the first document: usually the one the user meant.
func notFound(src *source, path string, segs []Segment) error {
	roots := src.roots()
	if len(roots) == 0 {
		return &NotFoundError{What: "path", Name: path, Detail: "the file has no YAML document"}
	}
	_, _, err := lookup(roots[0], path, segs, false)
	nf, ok := err.(*NotFoundError)
	if !ok { // the first document has it when aliases are followed
		nf = &NotFoundError{What: "path", Name: path, Detail: "it is only reachable through an alias or merge key"}
	}
	if len(roots) > 1 {
		nf.Detail = fmt.Sprintf("none of the %d documents has it; in the first, %s", len(roots), nf.Detail)
	}
	return nf
}

// editableScalar refuses targets that cannot take a version by splicing.
// what names the target for the message, such as `path "image.tag"`.
func editableScalar(n *yaml.Node, what string, flow bool) error {
	if n.Kind != yaml.ScalarNode {
		return notScalar(n, what)
	}
	if flow {
		return invalidf(n.Line, "%s is inside a flow collection ({...} or [...]); Liftoff edits only block-style YAML, so write that collection one item per line", what)
	}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return invalidf(n.Line, "%s is a block scalar (| or >), which Liftoff does not rewrite; write it as a plain or quoted value on one line", what)
	}
	return checkTag(n, what)
}

func notScalar(n *yaml.Node, what string) error {
	msg := fmt.Sprintf("%s is %s, not a single value", what, describe(n))
	if n.Kind == yaml.MappingNode && len(n.Content) > 0 {
		msg += "; point the path at one of its keys: " + strings.Join(mappingKeys(n), ", ")
	} else if n.Kind == yaml.SequenceNode && len(n.Content) > 0 {
		msg += "; point the path at one of its items, such as [0]"
	}
	return invalidf(n.Line, "%s", msg)
}

// replace plans the edit that writes value over the scalar n, in n's style.
func (s *source) replace(n *yaml.Node, value, what string) (edit, error) {
	start, end, err := s.scalarSpan(n, what)
	if err != nil {
		return edit{}, err
	}
	text := render(n, value)
	if start == end { // an empty value ("key:"): keep it apart from what surrounds it
		if start == 0 || !isBlank(s.raw[start-1]) {
			text = " " + text
		}
		if start < len(s.raw) && s.raw[start] == '#' {
			text += " "
		}
	}
	return edit{start: start, end: end, text: text}, nil
}
