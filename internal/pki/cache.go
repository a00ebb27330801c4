package pki

import (
	"crypto/tls"
	"errors"
	"sync"
	"time"
)

// CacheConfig configures a ClientCertCache.
type CacheConfig struct {
	// TTL is the validity of each minted client certificate. If zero, 1h.
	TTL time.Duration

	// Refresh is the margin before expiry at which a cached certificate is
	// replaced: a certificate is reused while more than Refresh of its
	// validity remains. If zero, TTL/6 (10m for the default TTL). It must be
	// less than TTL.
	Refresh time.Duration

	// MaxEntries bounds the number of users cached. If zero, 10000. When it
	// is reached, expired certificates are dropped first, then arbitrary
	// ones, an eighth of the cache at a time.
	MaxEntries int
}

// A ClientCertCache hands out client certificates minted by a CA, one per
// user, reusing each until Refresh before it expires. It is safe for
// concurrent use. Concurrent misses for one user mint once (single flight);
// while a user's certificate is being refreshed, callers keep getting the
// previous one. A hit takes a read lock and does not allocate.
//
// Time comes from the CA's Now.
type ClientCertCache struct {
	ca      *CA
	ttl     time.Duration
	refresh time.Duration
	max     int

	mu sync.RWMutex
	m  map[string]*certEntry
}

type certEntry struct {
	done chan struct{} // closed when minting has finished

	// Set before done is closed; read only after it is.
	cert      *tls.Certificate
	err       error
	notAfter  time.Time
	refreshAt time.Time

	// The certificate this entry replaces, still valid until staleNotAfter;
	// set before the entry is published.
	stale         *tls.Certificate
	staleNotAfter time.Time
}

func (e *certEntry) finished() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// NewClientCertCache returns a cache of client certificates minted by ca.
func NewClientCertCache(ca *CA, cfg CacheConfig) (*ClientCertCache, error) {
	if ca == nil {
		return nil, errors.New("pki: nil CA")
	}
	c := &ClientCertCache{ca: ca, ttl: cfg.TTL, refresh: cfg.Refresh, max: cfg.MaxEntries}
	if c.ttl == 0 {
		c.ttl = time.Hour
	}
	if c.refresh == 0 {
		c.refresh = c.ttl / 6
	}
	if c.max == 0 {
		c.max = 10000
	}
	switch {
	case c.ttl < 0:
		return nil, errors.New("pki: negative TTL")
	case c.refresh < 0 || c.refresh >= c.ttl:
		return nil, errors.New("pki: refresh margin must be between zero and TTL")
	case c.max < 0:
		return nil, errors.New("pki: negative MaxEntries")
	}
	c.m = make(map[string]*certEntry)
	return c, nil
}

// Get returns a client certificate for user (Subject CN = user), minting one
// if none is cached or the cached one is within Refresh of expiry. The
// returned certificate is shared: the caller must not modify it. Errors are
// those of CA.ClientCert and are not cached.
func (c *ClientCertCache) Get(user string) (*tls.Certificate, error) {
	now := c.ca.now()
	c.mu.RLock()
	e := c.m[user]
	c.mu.RUnlock()
	if e != nil {
		if e.finished() {
			if e.cert != nil && now.Before(e.refreshAt) {
				return e.cert, nil
			}
		} else if e.stale != nil && now.Before(e.staleNotAfter) {
			return e.stale, nil
		}
	}
	return c.mint(user, now)
}

func (c *ClientCertCache) mint(user string, now time.Time) (*tls.Certificate, error) {
	c.mu.Lock()
	e := c.m[user]
	if e != nil {
		if !e.finished() {
			c.mu.Unlock()
			if e.stale != nil && now.Before(e.staleNotAfter) {
				return e.stale, nil
			}
			<-e.done
			return e.cert, e.err
		}
		if e.cert != nil && now.Before(e.refreshAt) {
			c.mu.Unlock()
			return e.cert, nil
		}
	}
	ne := &certEntry{done: make(chan struct{})}
	if e != nil && e.cert != nil && now.Before(e.notAfter) {
		ne.stale, ne.staleNotAfter = e.cert, e.notAfter
	}
	if e == nil && len(c.m) >= c.max {
		c.evictLocked(now)
	}
	c.m[user] = ne
	c.mu.Unlock()

	cert, err := c.ca.ClientCert(user, c.ttl)
	if err != nil {
		ne.err = err
		c.mu.Lock()
		if c.m[user] == ne {
			delete(c.m, user)
		}
		c.mu.Unlock()
	} else {
		ne.cert = &cert
		ne.notAfter = cert.Leaf.NotAfter
		ne.refreshAt = ne.notAfter.Add(-c.refresh)
	}
	close(ne.done)
	return ne.cert, ne.err
}

// evictLocked drops expired entries and then arbitrary finished ones until
// the cache is an eighth below its bound. Entries being minted stay.
func (c *ClientCertCache) evictLocked(now time.Time) {
	target := c.max - c.max/8
	if target >= c.max {
		target = c.max - 1
	}
	for u, e := range c.m {
		if e.finished() && !now.Before(e.notAfter) {
			delete(c.m, u)
		}
	}
	for u, e := range c.m {
		if len(c.m) <= target {
			return
		}
		if e.finished() {
			delete(c.m, u)
		}
	}
}

// Len returns the number of users cached, including those being minted.
func (c *ClientCertCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
