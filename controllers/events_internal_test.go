package controllers

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFitNote(t *testing.T) {
	short := strings.Repeat("a", maxEventNote)
	if got := fitNote(short); got != short {
		t.Errorf("a note that fits was changed")
	}
	for _, long := range []string{
		strings.Repeat("b", maxEventNote+1),
		strings.Repeat("é", maxEventNote), // two bytes each: the cut falls inside one
		"blocked before prod: " + strings.Repeat("checks: failed on 4f2c0e0: qa (failure) → ", 60),
	} {
		got := fitNote(long)
		if len(got) > maxEventNote || !utf8.ValidString(got) || !strings.HasSuffix(got, cutNote) || !strings.HasPrefix(long, strings.TrimSuffix(got, cutNote)) {
			t.Errorf("fitNote of %d bytes: %d bytes, valid UTF-8 %v: %q…", len(long), len(got), utf8.ValidString(got), got[:40])
		}
	}
}
