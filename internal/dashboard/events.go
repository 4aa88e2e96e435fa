package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Change names an object that changed in the cache.
type Change struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// Broker fans the cache's changes out to the browsers' event streams. Changes
// are coalesced for a short interval, so a burst (a controller writing many
// statuses) is one message, and a slow browser never holds up the others: a
// full subscriber gets a "resync" instead of the changes it missed.
type Broker struct {
	// Interval between two messages to a browser; 250ms when zero.
	Interval time.Duration

	mu      sync.Mutex
	pending map[Change]struct{}
	subs    map[chan []Change]struct{}
	timer   *time.Timer
}

// NewBroker returns a Broker that flushes every interval (250ms when zero).
func NewBroker(interval time.Duration) *Broker {
	if interval <= 0 {
		interval = 250 * time.Millisecond
	}
	return &Broker{Interval: interval, pending: map[Change]struct{}{}, subs: map[chan []Change]struct{}{}}
}

// Publish records a change; subscribers receive it with the next flush.
func (b *Broker) Publish(c Change) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending[c] = struct{}{}
	if b.timer == nil && len(b.subs) > 0 {
		b.timer = time.AfterFunc(b.Interval, b.flush)
	}
}

// resync is sent to a subscriber that fell behind: reload what you show.
var resync = []Change{{Kind: "*"}}

func (b *Broker) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timer = nil
	if len(b.pending) == 0 {
		return
	}
	batch := make([]Change, 0, len(b.pending))
	for c := range b.pending {
		batch = append(batch, c)
	}
	clear(b.pending)
	sort.Slice(batch, func(i, j int) bool {
		return fmt.Sprint(batch[i]) < fmt.Sprint(batch[j])
	})
	if len(batch) > 200 {
		batch = resync // a browser reloads rather than read a list that long
	}
	for ch := range b.subs {
		select {
		case ch <- batch:
		default:
			select { // full: replace what waits with a resync
			case <-ch:
			default:
			}
			select {
			case ch <- resync:
			default:
			}
		}
	}
}

// Subscribe returns a channel of batches and a function that ends the subscription.
func (b *Broker) Subscribe() (<-chan []Change, func()) {
	ch := make(chan []Change, 4)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

// Subscribers counts the open event streams.
func (b *Broker) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// heartbeat keeps proxies from closing an idle stream.
const heartbeat = 20 * time.Second

// serveEvents streams changes as server-sent events ("change", JSON list of
// Change) until the browser goes away.
func (b *Broker) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives any write timeout
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	ch, cancel := b.Subscribe()
	defer cancel()
	// The retry hint makes a browser reconnect soon after a restart.
	if _, err := fmt.Fprint(w, "retry: 2000\n: connected\n\n"); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return
			}
		case batch := <-ch:
			data, _ := json.Marshal(batch)
			if _, err := fmt.Fprintf(w, "event: change\ndata: %s\n\n", data); err != nil {
				return
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
