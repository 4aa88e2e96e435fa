package notes

import (
	"container/list"
	"context"
	"errors"
	"math"
	"sync"
	"time"
)

// Default is the cache of For (the kubectl plugin's). The controller keeps
// one of its own on its clock, shared by every Release (controllers.Setup).
var Default = NewCache(256, time.Now)

// How long an answer is kept: notes until evicted (two versions' changes
// never change); "no such tag" a while, so a tag pushed later is seen after
// it while a Release asking again meanwhile costs nothing; a failure (an
// outage, a rate limit, a timeout) a minute, so the places that ask for one
// promotion's notes do not each wait for GitHub again.
const (
	notFoundTTL = 10 * time.Minute
	failedTTL   = time.Minute
)

// ttl is how long an answer with err is kept.
func ttl(err error) time.Duration {
	switch {
	case err == nil:
		return math.MaxInt64
	case IsNotFound(err) || errors.Is(err, ErrNoPreviousVersion):
		return notFoundTTL
	}
	return failedTTL
}

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
	// at is when the answer came; it is kept for ttl.
	at  time.Time
	ttl time.Duration
}

// NewCache keeps up to size pairs.
func NewCache(size int, now func() time.Time) *Cache {
	return &Cache{max: size, now: now, entries: map[cacheKey]*list.Element{}, order: list.New()}
}

// For returns the notes of repo between from and to, from the cache or from
// GitHub. Notes are kept until evicted, errors for a while (ttl). The Notes
// returned are shared: do not modify them.
func (c *Cache) For(ctx context.Context, gh GitHub, repo, from, to string) (*Notes, error) {
	key := cacheKey{gh: gh, repo: repo, from: from, to: to}
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*entry)
		select {
		case <-e.done:
			if c.now().Sub(e.at) < e.ttl {
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
	e.at, e.ttl = c.now(), ttl(e.err)
	close(e.done)
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
