package updater

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// maxMergeDepth bounds how deep merge keys ("<<") are followed.
const maxMergeDepth = 16

// lookup follows segs from root and returns the node they lead to and
// whether it sits inside a flow collection ({...} or [...]).
//
// Reading (edit == false) follows aliases and merge keys as YAML readers do.
// Editing refuses them with an InvalidError that names the anchor to set
// instead: rewriting the anchor changes every place that uses it, which the
// user must decide, and the alias itself has no value to splice.
// A path that does not exist gives a NotFoundError saying where it stops.
func lookup(root *yaml.Node, path string, segs []Segment, edit bool) (*yaml.Node, bool, error) {
	n, flow := root, false
	for i, seg := range segs {
		where := "at the top level"
		if i > 0 {
			where = fmt.Sprintf("under %q", formatPath(segs[:i]))
		}
		if n.Kind == yaml.AliasNode {
			if edit {
				return nil, false, aliasError(root, n, path, segs[i:])
			}
			n = n.Alias
		}
		flow = flow || n.Style&yaml.FlowStyle != 0
		missing := func(detail string, available []string) error {
			return &NotFoundError{What: "path", Name: path, Detail: detail, Available: available}
		}
		if seg.IsIndex {
			if n.Kind != yaml.SequenceNode {
				return nil, false, missing(fmt.Sprintf("expected a list %s, found %s", where, describe(n)), nil)
			}
			if seg.Index >= len(n.Content) {
				return nil, false, missing(fmt.Sprintf("the list %s has %d items, so no [%d]", where, len(n.Content), seg.Index), nil)
			}
			n = n.Content[seg.Index]
			continue
		}
		if n.Kind != yaml.MappingNode {
			return nil, false, missing(fmt.Sprintf("expected a mapping with key %q %s, found %s", seg.Key, where, describe(n)), nil)
		}
		v, merge := mapGet(n, seg.Key, 0)
		if v == nil {
			return nil, false, missing(fmt.Sprintf("key %q missing %s", seg.Key, where), mappingKeys(n))
		}
		if merge != nil && edit {
			return nil, false, invalidf(merge.Line, "path %q: key %q %s comes from the merge key <<; set it where it is defined (%s) instead",
				path, seg.Key, where, anchorHint(root, merge, segs[i:]))
		}
		n = v
	}
	if n.Kind == yaml.AliasNode && edit {
		return nil, false, aliasError(root, n, path, nil)
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n, flow, nil
}

// mapGet returns the value of key in mapping m: from m's own keys first,
// then from the mappings merged into m with "<<". merge is the node that
// was merged when the value came from one.
func mapGet(m *yaml.Node, key string, depth int) (v, merge *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return m.Content[i+1], nil
		}
	}
	if depth >= maxMergeDepth {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].ShortTag() != "!!merge" {
			continue
		}
		sources := []*yaml.Node{m.Content[i+1]}
		if src := m.Content[i+1]; src.Kind == yaml.SequenceNode {
			sources = src.Content
		}
		for _, src := range sources {
			if target := resolve(src); target.Kind == yaml.MappingNode {
				if v, _ := mapGet(target, key, depth+1); v != nil {
					return v, src
				}
			}
		}
	}
	return nil, nil
}

// aliasError explains that the path leads through or to an alias, and which
// path under the anchor to set instead.
func aliasError(root, alias *yaml.Node, path string, rest []Segment) error {
	return invalidf(alias.Line, "path %q leads through the alias *%s, which has no value of its own; set %s instead, which also changes every alias of it",
		path, alias.Value, anchorHint(root, alias, rest))
}

// anchorHint names what to edit instead of an alias or merged value: the
// path of the anchor's definition, plus the rest of the path.
func anchorHint(root, n *yaml.Node, rest []Segment) string {
	target := resolve(n)
	if at := pathTo(root, target, nil); at != nil {
		full := append(append([]Segment(nil), at...), rest...)
		if len(full) > 0 {
			hint := fmt.Sprintf("the path %q", formatPath(full))
			if target.Anchor != "" {
				hint += fmt.Sprintf(" under the anchor &%s (line %d)", target.Anchor, target.Line)
			}
			return hint
		}
	}
	return fmt.Sprintf("the value under the anchor &%s (line %d)", target.Anchor, target.Line)
}

// pathTo returns the path from n to target, or nil when target is not
// below n. Aliases are not followed: the answer is where target is written.
func pathTo(n, target *yaml.Node, prefix []Segment) []Segment {
	if n == target {
		return append([]Segment{}, prefix...)
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if p := pathTo(n.Content[i+1], target, append(prefix, Segment{Key: n.Content[i].Value})); p != nil {
				return p
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if p := pathTo(c, target, append(prefix, Segment{Index: i, IsIndex: true})); p != nil {
				return p
			}
		}
	}
	return nil
}

// resolve follows an alias to its anchor's node.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < maxMergeDepth; i++ {
		n = n.Alias
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "the alias *" + n.Value
	}
	if n.ShortTag() == "!!null" {
		return "an empty value"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

func mappingKeys(m *yaml.Node) []string {
	var keys []string
	for i := 0; i+1 < len(m.Content); i += 2 {
		keys = append(keys, m.Content[i].Value)
	}
	return keys
}

// scalarValue is what a scalar holds as a string: "" for null ("key:", "~").
func scalarValue(n *yaml.Node) string {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || (n.ShortTag() == "!!null" && n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) == 0) {
		return ""
	}
	return n.Value
}
