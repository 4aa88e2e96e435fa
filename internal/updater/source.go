package updater

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// source is a YAML file: its bytes, where each line starts, and its documents.
type source struct {
	raw []byte
	// lines[i] is the byte offset where line i+1 starts. Lines are counted
	// as yaml.v3 counts them (CRLF, CR, LF, NEL, LS and PS each end a line),
	// so a node's Line and Column map to the right bytes.
	lines []int
	docs  []*yaml.Node // document nodes, comments about the whole document included
}

// roots returns the top node of each non-empty document.
func (s *source) roots() []*yaml.Node {
	var roots []*yaml.Node
	for _, d := range s.docs {
		if len(d.Content) > 0 {
			roots = append(roots, d.Content[0])
		}
	}
	return roots
}

var (
	utf8BOM     = []byte("\xEF\xBB\xBF")
	yamlErrLine = regexp.MustCompile(`^line (\d+):`)
)

// parse reads every document of content. yaml.v3 is not known to panic on
// v3.0.1, but a panic on a user's file must not take the controller down.
func parse(content []byte) (s *source, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, &InvalidError{Msg: fmt.Sprintf("not valid YAML: the parser failed: %v", r)}
		}
	}()
	s = &source{raw: content}
	dec := yaml.NewDecoder(bytes.NewReader(content))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "yaml: ")
			line := 0
			if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
			}
			return nil, &InvalidError{Msg: "not valid YAML: " + msg, Line: line, Err: err}
		}
		s.docs = append(s.docs, &doc)
	}
	s.lines = lineStarts(content)
	return s, nil
}

// editable refuses files whose bytes do not match yaml.v3's columns: only
// UTF-8 files are spliced (yaml.v3 also reads UTF-16, converting it first).
func (s *source) editable() error {
	if bytes.HasPrefix(s.raw, []byte{0xFE, 0xFF}) || bytes.HasPrefix(s.raw, []byte{0xFF, 0xFE}) || !utf8.Valid(s.raw) {
		return &InvalidError{Msg: "the file is not UTF-8 (UTF-16?); save it as UTF-8 to let Liftoff edit it"}
	}
	return nil
}

func lineStarts(raw []byte) []int {
	first := 0
	if bytes.HasPrefix(raw, utf8BOM) {
		first = len(utf8BOM) // yaml.v3 drops a leading BOM before counting columns
	}
	lines := []int{first}
	for i := first; i < len(raw); {
		if n := breakLen(raw[i:]); n > 0 {
			i += n
			lines = append(lines, i)
			continue
		}
		i++
	}
	return lines
}

// breakLen is the length of the line break at the start of b, or 0.
func breakLen(b []byte) int {
	switch {
	case bytes.HasPrefix(b, []byte("\r\n")):
		return 2
	case len(b) > 0 && (b[0] == '\r' || b[0] == '\n'):
		return 1
	case bytes.HasPrefix(b, []byte("\u0085")):
		return 2
	case bytes.HasPrefix(b, []byte("\u2028")), bytes.HasPrefix(b, []byte("\u2029")):
		return 3
	}
	return 0
}

// offset turns a node's 1-based line and column (counted in characters)
// into a byte offset, or -1 when the position is not on that line.
func (s *source) offset(line, column int) int {
	if line < 1 || line > len(s.lines) {
		return -1
	}
	off := s.lines[line-1]
	for c := 1; c < column; c++ {
		if off >= len(s.raw) || breakLen(s.raw[off:]) > 0 {
			return -1
		}
		_, w := utf8.DecodeRune(s.raw[off:])
		off += w
	}
	return off
}

// lineEnd is the offset of the line break ending the line that holds off.
func (s *source) lineEnd(off int) int {
	for ; off < len(s.raw); off++ {
		if breakLen(s.raw[off:]) > 0 {
			return off
		}
	}
	return len(s.raw)
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// restIsComment reports whether only blanks and an optional comment follow
// off on its line.
func (s *source) restIsComment(off int) bool {
	rest := s.raw[off:s.lineEnd(off)]
	trimmed := bytes.TrimLeft(rest, " \t")
	return len(trimmed) == 0 || (trimmed[0] == '#' && (len(trimmed) < len(rest) || off == 0 || isBlank(s.raw[off-1])))
}

// scalarSpan returns the byte range of a scalar's text, without its anchor
// or tag, for a scalar written on one line. An empty plain scalar ("key:")
// has an empty range right after its indicator.
func (s *source) scalarSpan(n *yaml.Node, what string) (start, end int, err error) {
	start = s.offset(n.Line, n.Column)
	if start < 0 {
		return 0, 0, invalidf(n.Line, "%s: cannot find the value in the file's bytes", what)
	}
	// Skip the node's properties: &anchor and !tag, in either order.
	for start < len(s.raw) && (s.raw[start] == '&' || s.raw[start] == '!') {
		for start < len(s.raw) && !isBlank(s.raw[start]) && breakLen(s.raw[start:]) == 0 {
			start++
		}
		for start < len(s.raw) && isBlank(s.raw[start]) {
			start++
		}
	}
	lineEnd := s.lineEnd(start)
	text := s.raw[start:lineEnd]
	end = -1
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return 0, 0, invalidf(n.Line, "%s is a block scalar (| or >), which Liftoff does not rewrite; write it as a plain or quoted value on one line", what)
	case n.Style&yaml.DoubleQuotedStyle != 0:
		for i := 1; i < len(text) && text[0] == '"'; i++ {
			if text[i] == '\\' {
				i++
			} else if text[i] == '"' {
				end = start + i + 1
				break
			}
		}
	case n.Style&yaml.SingleQuotedStyle != 0:
		for i := 1; i < len(text) && text[0] == '\''; i++ {
			if text[i] == '\'' {
				if i+1 < len(text) && text[i+1] == '\'' {
					i++
					continue
				}
				end = start + i + 1
				break
			}
		}
	case n.Value == "":
		// An empty value: yaml.v3 puts it right after "key:" or "-".
		if len(bytes.TrimLeft(text, " \t")) == 0 || bytes.TrimLeft(text, " \t")[0] == '#' {
			end = start
		}
	case bytes.HasPrefix(text, []byte(n.Value)):
		end = start + len(n.Value)
		if end < lineEnd && !isBlank(s.raw[end]) {
			end = -1
		}
	}
	if end < 0 || !s.restIsComment(end) {
		return 0, 0, invalidf(n.Line, "%s spans several lines; write it as a plain or quoted value on one line", what)
	}
	return start, end, nil
}

// edit replaces raw[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// apply performs non-overlapping edits, from the end of the file backwards
// so that earlier offsets stay valid. Edits at the same offset land in the
// order they were planned (a value set at the end of the file, then lines
// inserted after it).
func apply(raw []byte, edits []edit) []byte {
	edits = slices.Clone(edits)
	slices.Reverse(edits)
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].start > edits[j].start })
	out := append([]byte(nil), raw...)
	for _, e := range edits {
		out = append(out[:e.start], append([]byte(e.text), out[e.end:]...)...)
	}
	return out
}
