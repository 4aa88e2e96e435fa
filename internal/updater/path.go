// Package updater writes a release's version into GitOps files.
//
// A promotion is reviewed as a Git diff, so an edit must change only the bytes
// of the value being set: comments, indentation, quoting, key order, blank
// lines, anchors, document separators and line endings stay byte for byte.
// Re-encoding a yaml.v3 tree would reformat the file, so the package parses
// with yaml.v3 only to find where the target scalar sits (line and column)
// and splices the new text into the original bytes. Every edit is then
// checked by parsing the result again: if anything but the target would read
// differently, the edit is refused instead of committed.
package updater

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Segment is one step of a path: a mapping key, or a list index.
type Segment struct {
	// Key is the mapping key (when IsIndex is false).
	Key string
	// Index is the list position, from 0 (when IsIndex is true).
	Index int
	// IsIndex is true for a list index.
	IsIndex bool
}

func (s Segment) String() string { return formatPath([]Segment{s}) }

// ParsePath parses a path into the scalar to set. Grammar:
//
//	path    = first { "." key | bracket }
//	first   = key | bracket
//	bracket = "[" index "]" | "[" quoted "]"
//	key     = one or more characters other than ".", "[", "]" and '"'
//	index   = 1 to 9 decimal digits: a list position, from 0
//	quoted  = '"' { any character but '"' and '\' | '\"' | '\\' } '"'
//
// A quoted key holds keys with dots or brackets, such as annotation names.
// Examples: image.tag, spec.template.spec.containers[0].image,
// metadata.annotations["liftoff.dev/version"], [0].image (a file whose top
// level is a list). Spaces are part of keys; nothing is trimmed.
func ParsePath(path string) ([]Segment, error) {
	bad := func(at int, format string, args ...any) error {
		col := utf8.RuneCountInString(path[:at]) + 1
		return &InvalidError{Msg: fmt.Sprintf("invalid path %q at character %d: %s", path, col, fmt.Sprintf(format, args...))}
	}
	if path == "" {
		return nil, &InvalidError{Msg: "invalid path: it is empty; write keys separated by dots, such as image.tag"}
	}
	var segs []Segment
	for i := 0; i < len(path); {
		switch c := path[i]; c {
		case '.':
			if len(segs) == 0 || i+1 == len(path) || strings.IndexByte(".[]\"", path[i+1]) >= 0 {
				return nil, bad(i, "a '.' must sit between two keys")
			}
			i++
		case '[':
			seg, n, err := parseBracket(path[i:])
			if err != nil {
				return nil, bad(i, "%s", err.Error())
			}
			segs = append(segs, seg)
			i += n
			continue
		case ']', '"':
			return nil, bad(i, "unexpected %q", c)
		}
		if len(segs) > 0 && path[i-1] != '.' {
			return nil, bad(i, "expected '.' or '[' after %q", formatPath(segs))
		}
		end := strings.IndexAny(path[i:], ".[]\"")
		if end < 0 {
			end = len(path) - i
		}
		if end == 0 {
			return nil, bad(i, "unexpected %q", path[i])
		}
		segs = append(segs, Segment{Key: path[i : i+end]})
		i += end
	}
	return segs, nil
}

// parseBracket parses "[2]" or `["x.y"]` at the start of s and returns the
// segment and how many bytes it took.
func parseBracket(s string) (Segment, int, error) {
	if len(s) > 1 && s[1] == '"' {
		var key strings.Builder
		for i := 2; i < len(s); i++ {
			switch s[i] {
			case '\\':
				if i+1 == len(s) || (s[i+1] != '"' && s[i+1] != '\\') {
					return Segment{}, 0, fmt.Errorf(`only \" and \\ may follow '\' in a quoted key`)
				}
				i++
				key.WriteByte(s[i])
			case '"':
				if i+1 == len(s) || s[i+1] != ']' {
					return Segment{}, 0, fmt.Errorf(`a quoted key must end with "]`)
				}
				return Segment{Key: key.String()}, i + 2, nil
			default:
				key.WriteByte(s[i])
			}
		}
		return Segment{}, 0, fmt.Errorf("unclosed quoted key")
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return Segment{}, 0, fmt.Errorf("unclosed '['")
	}
	digits := s[1:end]
	if digits == "" || strings.Trim(digits, "0123456789") != "" || len(digits) > 9 {
		return Segment{}, 0, fmt.Errorf("%q is not a list index; use a number such as [0], or a quoted key such as [\"a.b\"]", digits)
	}
	n := 0
	for _, d := range digits {
		n = n*10 + int(d-'0')
	}
	return Segment{Index: n, IsIndex: true}, end + 1, nil
}

// formatPath writes segments back in ParsePath's syntax, quoting keys that
// need it, so messages show paths the user can paste into a pipeline.
func formatPath(segs []Segment) string {
	var b strings.Builder
	for i, s := range segs {
		switch {
		case s.IsIndex:
			fmt.Fprintf(&b, "[%d]", s.Index)
		case s.Key == "" || strings.ContainsAny(s.Key, `.[]"\`):
			b.WriteString(`["` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s.Key) + `"]`)
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Key)
		}
	}
	return b.String()
}
