package updater

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// source is a YAML file: its bytes, where each line starts, and its documents.
type source struct {
	raw   []byte
	lines []int // byte offset of the start of each line (line 1 at index 0)
	docs  []*yaml.Node
	crlf  bool
}

func parse(content []byte) (*source, error) {
	s := &source{raw: content, lines: []int{0}, crlf: bytes.Contains(content, []byte("\r\n"))}
	for i, b := range content {
		if b == '\n' {
			s.lines = append(s.lines, i+1)
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(content))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &InvalidError{Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
		}
		if len(n.Content) > 0 {
			s.docs = append(s.docs, n.Content[0])
		}
	}
	return s, nil
}

// offset turns a 1-based line and character column into a byte offset.
func (s *source) offset(line, column int) int {
	if line < 1 || line > len(s.lines) {
		return len(s.raw)
	}
	off := s.lines[line-1]
	for c := 1; c < column && off < len(s.raw); c++ {
		_, w := utf8.DecodeRune(s.raw[off:])
		off += w
	}
	return off
}

// lineEnd is the offset of the end of the line holding off (before "\r\n" or "\n").
func (s *source) lineEnd(off int) int {
	end := bytes.IndexByte(s.raw[off:], '\n')
	if end < 0 {
		end = len(s.raw)
	} else {
		end += off
	}
	if end > off && s.raw[end-1] == '\r' {
		end--
	}
	return end
}

// scalarSpan returns the byte range of a scalar node's text in the source,
// without its anchor or tag.
func (s *source) scalarSpan(n *yaml.Node) (int, int, error) {
	if n.Kind == yaml.AliasNode {
		return 0, 0, &InvalidError{Msg: fmt.Sprintf("line %d: the value is the alias *%s: set the anchor &%s (line %d) instead", n.Line, n.Value, n.Value, n.Alias.Line)}
	}
	if n.Kind != yaml.ScalarNode {
		return 0, 0, &InvalidError{Msg: fmt.Sprintf("line %d: the value is a %s, not a scalar", n.Line, kindName(n.Kind))}
	}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return 0, 0, &InvalidError{Msg: fmt.Sprintf("line %d: block scalars (| or >) cannot be set; use a plain or quoted value", n.Line)}
	}
	start := s.offset(n.Line, n.Column)
	end := s.lineEnd(start)
	// Skip the node's properties: &anchor and !tag.
	for start < end && (s.raw[start] == '&' || s.raw[start] == '!') {
		sp := bytes.IndexAny(s.raw[start:end], " \t")
		if sp < 0 {
			return 0, 0, &InvalidError{Msg: fmt.Sprintf("line %d: cannot find the value after its anchor or tag", n.Line)}
		}
		start += sp
		for start < end && (s.raw[start] == ' ' || s.raw[start] == '\t') {
			start++
		}
	}
	line := s.raw[start:end]
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		for i := 1; i < len(line); i++ {
			switch line[i] {
			case '\\':
				i++
			case '"':
				return start, start + i + 1, nil
			}
		}
	case n.Style&yaml.SingleQuotedStyle != 0:
		for i := 1; i < len(line); i++ {
			if line[i] == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					i++
					continue
				}
				return start, start + i + 1, nil
			}
		}
	default:
		text := line
		if i := bytes.Index(text, []byte(" #")); i >= 0 {
			text = text[:i]
		}
		if i := bytes.Index(text, []byte("\t#")); i >= 0 {
			text = text[:i]
		}
		text = bytes.TrimRight(text, " \t")
		if string(text) == n.Value {
			return start, start + len(text), nil
		}
		if n.Value == "" && len(text) == 0 { // "key:" with no value
			return start, start, nil
		}
	}
	return 0, 0, &InvalidError{Msg: fmt.Sprintf("line %d: the value spans several lines or sits in a flow collection; write it as a plain or quoted scalar on one line", n.Line)}
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.DocumentNode:
		return "document"
	}
	return "scalar"
}

// checkValue refuses values YAML cannot hold as written.
func checkValue(v string) error {
	if !utf8.ValidString(v) {
		return &InvalidError{Msg: fmt.Sprintf("value %q is not valid UTF-8", v)}
	}
	return nil
}

// render writes value in the style of the scalar it replaces.
func render(old *yaml.Node, value string) string {
	switch {
	case old.Style&yaml.DoubleQuotedStyle != 0:
		return doubleQuote(value)
	case old.Style&yaml.SingleQuotedStyle != 0 && !strings.ContainsAny(value, "\n\r"):
		return "'" + strings.ReplaceAll(value, "'", "''") + "'"
	}
	return plainOrQuoted(value)
}

// plainOrQuoted writes value plain when YAML reads it back as the same
// string, and double-quoted otherwise (1.10, true, null, "a: b", ...).
func plainOrQuoted(value string) string {
	var back any
	if value != "" && !strings.ContainsAny(value, "\n\r\t") && yaml.Unmarshal([]byte(value), &back) == nil {
		if str, ok := back.(string); ok && str == value {
			return value
		}
	}
	return doubleQuote(value)
}

func doubleQuote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			switch {
			case unicode.IsPrint(r) || r == ' ':
				b.WriteRune(r)
			case r <= 0xFFFF:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// edit replaces raw[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// apply performs edits from the end of the file backwards so offsets hold.
func apply(raw []byte, edits []edit) []byte {
	sort.Slice(edits, func(i, j int) bool { return edits[i].start > edits[j].start })
	out := append([]byte(nil), raw...)
	for _, e := range edits {
		out = append(out[:e.start], append([]byte(e.text), out[e.end:]...)...)
	}
	return out
}

// mappingValue returns the value node of key in a mapping, and its key node.
func mappingValue(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func mappingKeys(m *yaml.Node) []string {
	var keys []string
	for i := 0; i+1 < len(m.Content); i += 2 {
		keys = append(keys, m.Content[i].Value)
	}
	return keys
}
