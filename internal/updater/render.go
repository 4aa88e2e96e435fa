package updater

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// checkValue refuses values no YAML file can hold.
func checkValue(v string) error {
	if !utf8.ValidString(v) {
		return &InvalidError{Msg: fmt.Sprintf("the value %q is not valid UTF-8", v)}
	}
	return nil
}

// checkTag refuses to put a version under an explicit standard tag other
// than !!str (as in "replicas: !!int 3"): the file would then hold
// "!!int 1.2.3", which every consumer rejects.
func checkTag(n *yaml.Node, what string) error {
	if n.Style&yaml.TaggedStyle == 0 {
		return nil
	}
	switch tag := n.ShortTag(); tag {
	case "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!binary", "!!merge":
		return invalidf(n.Line, "%s has the explicit tag %s; remove the tag (or make it !!str) so it can hold a version", what, tag)
	}
	return nil
}

// render writes value for the scalar n in n's style: double quotes stay
// double, single stay single (unless the value holds characters only double
// quotes can escape), and plain stays plain unless YAML would read the plain
// text as something other than this string.
func render(n *yaml.Node, value string) string {
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		return doubleQuote(value)
	case n.Style&yaml.SingleQuotedStyle != 0 && singleQuotable(value):
		return "'" + strings.ReplaceAll(value, "'", "''") + "'"
	case n.Style&yaml.SingleQuotedStyle != 0:
		return doubleQuote(value)
	}
	return plainOrQuoted(value)
}

// plainOrQuoted writes value plain when every YAML reader reads that text
// back as the same string, and double-quoted otherwise: 1.10 would become
// the float 1.1, true a boolean, "a: b" a mapping, "x #y" the string "x".
func plainOrQuoted(value string) string {
	if plainSafe(value) {
		return value
	}
	return doubleQuote(value)
}

// yaml11 matches plain scalars that YAML 1.1 readers (go-yaml v2, used by
// Helm and sigs.k8s.io/yaml) take for booleans or numbers although yaml.v3
// reads them as strings: yes/no/on/off, 0777, 1_000, 1:20 (base 60).
var yaml11 = regexp.MustCompile(`^(?:[yYnN]|[yY]es|YES|[nN]o|NO|[oO]n|ON|[oO]ff|OFF|[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?))$`)

func plainSafe(value string) bool {
	if value == "" || yaml11.MatchString(value) {
		return false
	}
	for _, r := range value {
		if !unicode.IsPrint(r) || r == 0xFEFF {
			return false // tabs, line breaks, controls, BOM: quote and escape
		}
	}
	var doc yaml.Node
	if yaml.Unmarshal([]byte(value), &doc) != nil || len(doc.Content) != 1 {
		return false
	}
	n := doc.Content[0]
	return n.Kind == yaml.ScalarNode && n.Style == 0 && n.Value == value && n.ShortTag() == "!!str" &&
		n.HeadComment == "" && n.LineComment == "" && n.FootComment == ""
}

// singleQuotable: single quotes cannot escape anything but the quote, so
// line breaks and non-printing characters need double quotes.
func singleQuotable(value string) bool {
	for _, r := range value {
		if (!unicode.IsPrint(r) && r != '\t') || r == 0xFEFF {
			return false
		}
	}
	return true
}

// doubleQuote writes value as a YAML double-quoted scalar.
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
			case unicode.IsPrint(r) && r != 0xFEFF:
				b.WriteRune(r)
			case r <= 0xFFFF:
				fmt.Fprintf(&b, `\u%04X`, r)
			default:
				fmt.Fprintf(&b, `\U%08X`, r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
