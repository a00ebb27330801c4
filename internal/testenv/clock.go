package testenv

import (
	"sync"
	"time"
)

// A Clock is a fake clock safe for concurrent use. Its Now method is what components take
// as their Now func.
//
// The zero Clock runs: it reads real time plus an offset that Advance and Set move, for
// tests against real peers (databases, the AWS SDK) that need a moving clock. A Clock from
// NewClock stands still at its time until Advance or Set moves it, for tests that want
// exact instants.
type Clock struct {
	mu     sync.Mutex
	fixed  bool
	at     time.Time     // a fixed clock's time
	offset time.Duration // a running clock's distance from real time
}

// NewClock returns a Clock standing still at t.
func NewClock(t time.Time) *Clock { return &Clock{fixed: true, at: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fixed {
		return c.at
	}
	return time.Now().Add(c.offset)
}

// Advance moves the clock by d (backwards if d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
	c.offset += d
}

// Set moves the clock to t; a running clock keeps running from there.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = t
	c.offset = time.Until(t)
}
