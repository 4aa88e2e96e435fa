// Package updater writes a release's version into GitOps files. Edits change
// only the bytes of the value being set: comments, indentation, quoting,
// key order, anchors and line endings stay as they were, so a promotion
// commit's diff is one line per file.
package updater

import (
	"fmt"
	"strconv"
	"strings"
)

// Segment is one step of a path: a mapping key, or a list index.
type Segment struct {
	Key   string
	Index int
	// IsIndex is true for a list index.
	IsIndex bool
}

func (s Segment) String() string {
	if s.IsIndex {
		return fmt.Sprintf("[%d]", s.Index)
	}
	return s.Key
}

// ParsePath parses a YAML path:
//
//	path    = step { "." key | "[" index "]" | "[" quoted "]" }
//	step    = key | "[" index "]" | "[" quoted "]"
//	key     = one or more characters other than ".", "[" and "]"
//	index   = decimal number (list position, from 0)
//	quoted  = a double-quoted key, for keys that hold "." or brackets
//
// Examples: image.tag, spec.template.spec.containers[0].image, a["x.y"].b.
func ParsePath(path string) ([]Segment, error) {
	if path == "" {
		return nil, &InvalidError{Msg: "empty path"}
	}
	var out []Segment
	i := 0
	expectKey := true
	for i < len(path) {
		switch c := path[i]; {
		case c == '[':
			end := strings.IndexByte(path[i:], ']')
			if end < 0 {
				return nil, &InvalidError{Msg: fmt.Sprintf("path %q: unclosed '[' at %d", path, i)}
			}
			inner := path[i+1 : i+end]
			if strings.HasPrefix(inner, `"`) {
				// A quoted key may itself hold ']': find the closing quote first.
				q := strings.Index(path[i+2:], `"]`)
				if q < 0 {
					return nil, &InvalidError{Msg: fmt.Sprintf("path %q: unclosed quoted key at %d", path, i)}
				}
				out = append(out, Segment{Key: path[i+2 : i+2+q]})
				i += 2 + q + 2
			} else {
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 {
					return nil, &InvalidError{Msg: fmt.Sprintf("path %q: %q is not a list index", path, inner)}
				}
				out = append(out, Segment{Index: n, IsIndex: true})
				i += end + 1
			}
			expectKey = false
		case c == '.':
			if expectKey {
				return nil, &InvalidError{Msg: fmt.Sprintf("path %q: empty key at %d", path, i)}
			}
			expectKey = true
			i++
		case c == ']':
			return nil, &InvalidError{Msg: fmt.Sprintf("path %q: unexpected ']' at %d", path, i)}
		default:
			if !expectKey {
				return nil, &InvalidError{Msg: fmt.Sprintf("path %q: expected '.' or '[' at %d", path, i)}
			}
			end := strings.IndexAny(path[i:], ".[]")
			if end < 0 {
				end = len(path) - i
			}
			out = append(out, Segment{Key: path[i : i+end]})
			i += end
			expectKey = false
		}
	}
	if expectKey {
		return nil, &InvalidError{Msg: fmt.Sprintf("path %q ends with '.'", path)}
	}
	return out, nil
}
