package updater

import (
	"errors"
	"fmt"
	"strings"
)

// NotFoundError says the image or path is not in the file. The controller
// shows it to the user as is, so it names what the file has instead: most
// often the pipeline has a typo or the file was restructured.
type NotFoundError struct {
	// What is missing: "image" or "path".
	What string
	// Name is the image name or the path as the pipeline wrote it.
	Name string
	// Detail says where the search stopped, such as `key "tag" missing under "image"`.
	Detail string
	// Available lists what the file has where the search stopped: the
	// images[] names, or the keys of the mapping that lacks the key.
	Available []string
}

func (e *NotFoundError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q not found", e.What, e.Name)
	switch {
	case strings.HasPrefix(e.Detail, "in "): // "not found in images[] of ..."
		b.WriteString(" " + e.Detail)
	case e.Detail != "":
		b.WriteString(": " + e.Detail)
	}
	if len(e.Available) > 0 {
		label := "keys present"
		if e.What == "image" {
			label = "images present"
		}
		b.WriteString("; " + label + ": " + strings.Join(e.Available, ", "))
	}
	return b.String()
}

// InvalidError says the file or the request cannot be edited as asked: the
// file is not valid YAML, the path is malformed, or the value at the path is
// not one the updater may rewrite (a mapping, an alias, a block scalar, a
// value inside a flow collection). The message says what to change.
type InvalidError struct {
	// Msg is the full message, including the line when one is known.
	Msg string
	// Line is the 1-based line the problem is on, or 0.
	Line int
	// Err is the underlying parser error, if any.
	Err error
}

func (e *InvalidError) Error() string { return e.Msg }
func (e *InvalidError) Unwrap() error { return e.Err }

// invalidf builds an InvalidError about a line of the file.
func invalidf(line int, format string, args ...any) *InvalidError {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		msg = fmt.Sprintf("line %d: %s", line, msg)
	}
	return &InvalidError{Msg: msg, Line: line}
}

// IsNotFound reports whether err is, or wraps, a NotFoundError.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// IsInvalid reports whether err is, or wraps, an InvalidError.
func IsInvalid(err error) bool {
	var inv *InvalidError
	return errors.As(err, &inv)
}
