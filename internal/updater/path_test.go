package updater

import (
	"reflect"
	"testing"
)

func TestParsePath(t *testing.T) {
	key := func(k string) Segment { return Segment{Key: k} }
	idx := func(i int) Segment { return Segment{Index: i, IsIndex: true} }
	good := []struct {
		in   string
		want []Segment
	}{
		{"a", []Segment{key("a")}},
		{"a.b.c", []Segment{key("a"), key("b"), key("c")}},
		{"a[0].b", []Segment{key("a"), idx(0), key("b")}},
		{"[2]", []Segment{idx(2)}},
		{"a[1][2]", []Segment{key("a"), idx(1), idx(2)}},
		{`a["x.y"].c`, []Segment{key("a"), key("x.y"), key("c")}},
		{`["a]b"]`, []Segment{key("a]b")}},
		{`a["q\"\\"]`, []Segment{key("a"), key(`q"\`)}},
		{`a[""]`, []Segment{key("a"), key("")}},
		{"my key.x-y", []Segment{key("my key"), key("x-y")}},
	}
	for _, tt := range good {
		got, err := ParsePath(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParsePath(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			continue
		}
		// formatPath writes what ParsePath reads.
		again, err := ParsePath(formatPath(got))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("ParsePath(formatPath(%q)) = %v, %v", tt.in, again, err)
		}
	}
	for _, bad := range []string{"", ".a", "a.", "a..b", "a.[0]", "a[", "a[x]", "a[-1]", "a[+1]", "a[]", "a]b", "a[0]b", `a["x`, `a["x"`, `a"b`, `a["\n"]`, "a[9999999999]"} {
		if _, err := ParsePath(bad); !IsInvalid(err) {
			t.Errorf("ParsePath(%q) = %v, want an InvalidError", bad, err)
		}
	}
}

func TestPlainSafe(t *testing.T) {
	for v, want := range map[string]bool{
		"1.2.3": true, "v1.2": true, "sha256:abc": true, "reg/app:1": true, "a b": true, "1.2.3-rc1": true,
		"": false, "1.10": false, "1": false, "010": false, "1_000": false, "1:20": false, ".5": false, "1e3": false,
		"true": false, "False": false, "yes": false, "off": false, "y": false, "N": false, "null": false, "~": false,
		"0x1F": false, "0o17": false, ".inf": false, "-.inf": false, "-.nan": true, "2024-01-02": false,
		"a: b": false, "a #b": false, "a:": false, " a": false, "a ": false, "a\tb": false,
		"-": false, "- a": false, "*a": false, "&a": false, "!a": false, "%a": false, "@a": false, "`a": false,
		"[a": false, "{a": false, "'a'": false, `"a"`: false, "|": false, ">": false, "#a": false, "? a": false,
		"---": false, "...": false, "a\u2028b": false, "\ufeffa": false,
	} {
		if got := plainSafe(v); got != want {
			t.Errorf("plainSafe(%q) = %v, want %v", v, got, want)
		}
	}
}
