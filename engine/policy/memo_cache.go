package policy

import (
	"sync"
	"sync/atomic"
)

// memoCache is a group's results by footprint key, bounded. Look-ups of settled entries take no
// lock and write no shared memory (both cores read it at once); new entries wait in a locked map
// until enough of them are there to publish a new read-only map with them, which amortises the
// copying to a few map inserts per entry.
type memoCache struct {
	read atomic.Pointer[map[string]*memoEntry]

	mu    sync.Mutex
	dirty map[string]*memoEntry // entries not yet in read
	size  int                   // entries in read and dirty
	// pending is len(dirty), read without the lock.
	pending atomic.Int64
}

// load returns the entry for key.
func (c *memoCache) load(key []byte) (*memoEntry, bool) {
	if r := c.read.Load(); r != nil {
		if e, ok := (*r)[string(key)]; ok {
			return e, true
		}
	}
	if c.pending.Load() == 0 {
		return nil, false
	}
	c.mu.Lock()
	e, ok := c.dirty[string(key)]
	c.mu.Unlock()
	return e, ok
}

// store adds an entry unless the cache holds max entries already (or has the key).
func (c *memoCache) store(key []byte, e *memoEntry, max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.size >= max {
		return
	}
	r := c.read.Load()
	if r != nil {
		if _, ok := (*r)[string(key)]; ok {
			return
		}
	}
	if _, ok := c.dirty[string(key)]; ok {
		return
	}
	if c.dirty == nil {
		c.dirty = map[string]*memoEntry{}
	}
	c.dirty[string(key)] = e
	c.size++
	c.pending.Store(int64(len(c.dirty)))
	n := 0
	if r != nil {
		n = len(*r)
	}
	if len(c.dirty) >= 8+n/4 {
		next := make(map[string]*memoEntry, n+len(c.dirty))
		if r != nil {
			for k, v := range *r {
				next[k] = v
			}
		}
		for k, v := range c.dirty {
			next[k] = v
		}
		c.read.Store(&next)
		c.dirty = nil
		c.pending.Store(0)
	}
}

// clear drops every entry.
func (c *memoCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read.Store(nil)
	c.dirty, c.size = nil, 0
	c.pending.Store(0)
}

// len is the number of entries.
func (c *memoCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}
