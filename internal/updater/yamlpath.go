package updater

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// lookup follows segs from root. It returns the node, or a NotFoundError that
// says where the path stops, or an InvalidError for an alias on the way.
func lookup(root *yaml.Node, path string, segs []Segment) (*yaml.Node, error) {
	n := root
	for i, seg := range segs {
		where := "the document root"
		if i > 0 {
			where = fmt.Sprintf("%q", joinPath(segs[:i]))
		}
		if n.Kind == yaml.AliasNode {
			return nil, &InvalidError{Msg: fmt.Sprintf("path %q goes through the alias *%s at line %d: set the value under the anchor &%s instead", path, n.Value, n.Line, n.Value)}
		}
		if seg.IsIndex {
			if n.Kind != yaml.SequenceNode {
				return nil, &NotFoundError{What: "path", Name: path, Detail: fmt.Sprintf("%s is a %s, not a list", where, kindName(n.Kind))}
			}
			if seg.Index >= len(n.Content) {
				return nil, &NotFoundError{What: "path", Name: path, Detail: fmt.Sprintf("%s has %d items, no index %d", where, len(n.Content), seg.Index)}
			}
			n = n.Content[seg.Index]
			continue
		}
		if n.Kind != yaml.MappingNode {
			return nil, &NotFoundError{What: "path", Name: path, Detail: fmt.Sprintf("%s is a %s, not a mapping", where, kindName(n.Kind))}
		}
		_, v := mappingValue(n, seg.Key)
		if v == nil {
			return nil, &NotFoundError{What: "path", Name: path, Detail: fmt.Sprintf("key %q missing under %s", seg.Key, where), Available: mappingKeys(n)}
		}
		n = v
	}
	return n, nil
}

func joinPath(segs []Segment) string {
	var b strings.Builder
	for i, s := range segs {
		switch {
		case s.IsIndex:
			fmt.Fprintf(&b, "[%d]", s.Index)
		case strings.ContainsAny(s.Key, ".[]"):
			fmt.Fprintf(&b, "[%q]", s.Key)
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Key)
		}
	}
	return b.String()
}

// SetYAMLPath sets the scalar at path to value in every document of content
// that has the path, and returns the value the first such document held.
func SetYAMLPath(content []byte, path, value string) ([]byte, string, bool, error) {
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
	var edits []edit
	prev, found := "", false
	var firstMiss error
	for _, doc := range src.docs {
		n, err := lookup(doc, path, segs)
		if err != nil {
			if IsNotFound(err) {
				if firstMiss == nil {
					firstMiss = err
				}
				continue
			}
			return nil, "", false, err
		}
		start, end, err := src.scalarSpan(n)
		if err != nil {
			return nil, "", false, err
		}
		if !found {
			prev, found = n.Value, true
		}
		if n.Value == value {
			continue
		}
		text := render(n, value)
		if start == end && start > 0 && content[start-1] == ':' { // "key:" with no value
			text = " " + text
		}
		edits = append(edits, edit{start: start, end: end, text: text})
	}
	if !found {
		if firstMiss == nil {
			firstMiss = &NotFoundError{What: "path", Name: path, Detail: "the file has no YAML document"}
		}
		return nil, "", false, firstMiss
	}
	if len(edits) == 0 {
		return content, prev, false, nil
	}
	return apply(content, edits), prev, true, nil
}

// GetYAMLPath reads the scalar at path from the first document that has it.
func GetYAMLPath(content []byte, path string) (string, error) {
	segs, err := ParsePath(path)
	if err != nil {
		return "", err
	}
	src, err := parse(content)
	if err != nil {
		return "", err
	}
	var firstMiss error = &NotFoundError{What: "path", Name: path, Detail: "the file has no YAML document"}
	for i, doc := range src.docs {
		n, err := lookup(doc, path, segs)
		if err != nil {
			if IsNotFound(err) {
				if i == 0 {
					firstMiss = err
				}
				continue
			}
			return "", err
		}
		if n.Kind != yaml.ScalarNode {
			return "", &InvalidError{Msg: fmt.Sprintf("line %d: the value at %q is a %s, not a scalar", n.Line, path, kindName(n.Kind))}
		}
		return n.Value, nil
	}
	return "", firstMiss
}
