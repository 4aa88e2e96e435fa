package controllers

import (
	"fmt"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
)

// maxEventNote is the longest event message the API server accepts
// (events.k8s.io/v1 note, in bytes): a longer one is refused and the event
// lost.
const maxEventNote = 1024

// cutNote is what an event says of a note that does not fit.
const cutNote = "… (cut: the whole text is in the object's status)"

// shortEvents records every event with a message that fits the API
// server's limit, cut when longer: the whole text stays in the status of
// the object the event is about.
type shortEvents struct{ events.EventRecorder }

// Eventf records the event with its message cut to maxEventNote.
func (r shortEvents) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	r.EventRecorder.Eventf(regarding, related, eventtype, reason, action, "%s", fitNote(fmt.Sprintf(note, args...)))
}

// fitNote cuts msg to maxEventNote bytes, at a character boundary, saying so.
func fitNote(msg string) string {
	if len(msg) <= maxEventNote {
		return msg
	}
	end := maxEventNote - len(cutNote)
	for end > 0 && !utf8.RuneStart(msg[end]) {
		end--
	}
	return msg[:end] + cutNote
}
