package notes

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Default is the process's cache: one per controller, shared by every Release.
var Default = NewCache(256, time.Now)

// notFoundTTL is how long "no such tag" is remembered: a tag pushed later is
// seen after it, and a Release asking again meanwhile costs nothing.
const notFoundTTL = 10 * time.Minute

// Cache keeps the notes of the most recently asked version pairs, per
// credential (GitHub client), repository and pair. Two versions' notes never
// change, so an entry is good until evicted; concurrent asks of one pair
// share one fetch.
type Cache struct {
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[cacheKey]*list.Element
	order   *list.List // of *entry, most recent first
}

type cacheKey struct {
	gh             GitHub
	repo, from, to string
}

type entry struct {
	key   cacheKey
	done  chan struct{} // closed once notes or err is set
	notes *Notes
	err   error
	at    time.Time
}

// NewCache keeps up to max pairs.
func NewCache(max int, now func() time.Time) *Cache {
	return &Cache{max: max, now: now, entries: map[cacheKey]*list.Element{}, order: list.New()}
}

// For returns the notes of repo between from and to, from the cache or from
// GitHub. Errors are not kept, but that a version has no tag is, for a while.
// The Notes returned are shared: do not modify them.
func (c *Cache) For(ctx context.Context, gh GitHub, repo, from, to string) (*Notes, error) {
	key := cacheKey{gh: gh, repo: repo, from: from, to: to}
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*entry)
		select {
		case <-e.done:
			if e.err == nil || c.now().Sub(e.at) < notFoundTTL {
				c.order.MoveToFront(el)
				c.mu.Unlock()
				return e.notes, e.err
			}
			c.remove(el)
		default:
			c.mu.Unlock()
			select {
			case <-e.done:
				return e.notes, e.err
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	e := &entry{key: key, done: make(chan struct{})}
	el := c.order.PushFront(e)
	c.entries[key] = el
	for c.order.Len() > c.max {
		c.remove(c.order.Back())
	}
	c.mu.Unlock()

	e.notes, e.err = fetch(ctx, gh, repo, from, to)
	e.at = c.now()
	close(e.done)
	if e.err != nil && !IsNotFound(e.err) && e.err != ErrNoPreviousVersion {
		c.mu.Lock()
		if cur, ok := c.entries[key]; ok && cur == el {
			c.remove(el)
		}
		c.mu.Unlock()
	}
	return e.notes, e.err
}

// remove drops an element; the caller holds c.mu.
func (c *Cache) remove(el *list.Element) {
	c.order.Remove(el)
	delete(c.entries, el.Value.(*entry).key)
}

// Len is the number of pairs kept.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
