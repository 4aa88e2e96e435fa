package updater

import (
	"errors"
	"fmt"
	"strings"
)

// NotFoundError: the image or path is not in the file. The message names what
// is there, so the user can fix the pipeline or the file.
type NotFoundError struct {
	// What is missing: "image" or "path".
	What string
	// Name is the image name or the path.
	Name string
	// Detail says where the search stopped.
	Detail string
	// Available lists what the file has instead (image names, keys).
	Available []string
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("%s %q not found", e.What, e.Name)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if len(e.Available) > 0 {
		msg += "; present: " + strings.Join(e.Available, ", ")
	}
	return msg
}

// InvalidError: the file or the path cannot be edited as asked (not YAML, not a
// scalar, an alias, a block scalar, bad path syntax).
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

// IsNotFound reports whether err is a NotFoundError.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}
