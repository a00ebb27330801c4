package gateway

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errPoolClosed is returned by acquire after close.
var errPoolClosed = errors.New("gateway: pool closed")

// session is what a pool holds: a backend connection of some engine.
type session interface {
	Close() error
}

// pool keeps idle backend sessions per key (user, database, options) with limits on
// sessions per key, idle sessions per key and idle time. It is engine-neutral and safe
// for concurrent use. Sessions are handed out newest first, so that surplus ones age out.
type pool[S session] struct {
	maxPerKey   int
	maxIdle     int
	idleTimeout time.Duration
	now         func() time.Time
	gauge       func(idle, busy int) // called with the totals after each change, under mu

	mu         sync.Mutex
	keys       map[string]*poolKey[S]
	idle, busy int
	closed     bool
	stop       chan struct{}
	done       chan struct{}
}

type poolKey[S session] struct {
	idle      []idleSession[S] // oldest first
	busy      int              // handed out or being dialled
	returning int              // busy ones being reset to come back (see returning)
	changed   chan struct{}    // closed and replaced when busy or idle shrink
}

type idleSession[S session] struct {
	s     S
	since time.Time
}

func newPool[S session](maxPerKey, maxIdle int, idleTimeout time.Duration, now func() time.Time, gauge func(idle, busy int)) *pool[S] {
	if gauge == nil {
		gauge = func(int, int) {}
	}
	p := &pool[S]{
		maxPerKey: maxPerKey, maxIdle: maxIdle, idleTimeout: idleTimeout, now: now, gauge: gauge,
		keys: make(map[string]*poolKey[S]), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go p.reaper()
	return p
}

// acquire returns an idle session of key that passes check (given how long the session
// was idle), or one made by dial. A session failing check is closed and the next is
// tried: the caller never sees it.
// reused says which. When the key is at maxPerKey, acquire waits for a release until ctx
// ends. The caller hands the session back with release.
func (p *pool[S]) acquire(ctx context.Context, key string, check func(S, time.Duration) error, dial func(context.Context) (S, error)) (s S, reused bool, err error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return s, false, errPoolClosed
		}
		k := p.keys[key]
		if k == nil {
			k = &poolKey[S]{changed: make(chan struct{})}
			p.keys[key] = k
		}
		if n := len(k.idle); n > 0 {
			is := k.idle[n-1]
			k.idle[n-1] = idleSession[S]{}
			k.idle = k.idle[:n-1]
			k.busy++
			p.idle--
			p.busy++
			p.gauge(p.idle, p.busy)
			p.mu.Unlock()
			if check == nil || check(is.s, p.now().Sub(is.since)) == nil {
				return is.s, true, nil
			}
			is.s.Close()
			p.done1(key, k)
			continue
		}
		if k.returning == 0 && (p.maxPerKey <= 0 || k.busy < p.maxPerKey) {
			k.busy++
			p.busy++
			p.gauge(p.idle, p.busy)
			p.mu.Unlock()
			s, err := dial(ctx)
			if err != nil {
				p.done1(key, k)
				return s, false, err
			}
			return s, false, nil
		}
		ch := k.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return s, false, ctx.Err()
		}
	}
}

// done1 forgets one busy session of k that is gone, and wakes waiters.
func (p *pool[S]) done1(key string, k *poolKey[S]) {
	p.mu.Lock()
	k.busy--
	p.busy--
	p.gauge(p.idle, p.busy)
	p.wake(key, k)
	p.mu.Unlock()
}

// wake signals a change of k and drops it when empty. Called with mu held.
func (p *pool[S]) wake(key string, k *poolKey[S]) {
	close(k.changed)
	k.changed = make(chan struct{})
	if k.busy == 0 && len(k.idle) == 0 && p.keys[key] == k {
		delete(p.keys, key)
	}
}

// returning announces that a busy session of key is being reset and will most likely
// be released as reusable soon: until then acquire waits for it rather than dialling
// (a client that reconnects at once gets the same session). The caller must then
// release with wasReturning true.
func (p *pool[S]) returning(key string) {
	p.mu.Lock()
	if k := p.keys[key]; k != nil {
		k.returning++
	}
	p.mu.Unlock()
}

// release hands back a session acquired for key. If reusable and there is room, it
// becomes idle; otherwise it is closed. wasReturning says whether returning was called
// for it.
func (p *pool[S]) release(key string, s S, reusable, wasReturning bool) {
	p.mu.Lock()
	k := p.keys[key]
	if k == nil { // cannot happen: a busy session keeps its key
		p.mu.Unlock()
		s.Close()
		return
	}
	if wasReturning {
		k.returning--
	}
	k.busy--
	p.busy--
	keep := reusable && !p.closed && len(k.idle) < p.maxIdle
	if keep {
		k.idle = append(k.idle, idleSession[S]{s: s, since: p.now()})
		p.idle++
	}
	p.gauge(p.idle, p.busy)
	p.wake(key, k)
	p.mu.Unlock()
	if !keep {
		s.Close()
	}
}

// reaper closes sessions idle for longer than idleTimeout.
func (p *pool[S]) reaper() {
	defer close(p.done)
	every := p.idleTimeout / 2
	if every < 10*time.Millisecond {
		every = 10 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.reap()
		}
	}
}

// reap closes the sessions idle since before now - idleTimeout.
func (p *pool[S]) reap() {
	var old []S
	p.mu.Lock()
	cutoff := p.now().Add(-p.idleTimeout)
	for key, k := range p.keys {
		i := 0
		for i < len(k.idle) && !k.idle[i].since.After(cutoff) {
			old = append(old, k.idle[i].s)
			i++
		}
		if i > 0 {
			k.idle = append(k.idle[:0], k.idle[i:]...)
			p.idle -= i
			p.wake(key, k)
		}
	}
	if len(old) > 0 {
		p.gauge(p.idle, p.busy)
	}
	p.mu.Unlock()
	for _, s := range old {
		s.Close()
	}
}

// stats returns the idle and busy totals.
func (p *pool[S]) stats() (idle, busy int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.idle, p.busy
}

// close closes the idle sessions and stops the reaper; sessions released later are
// closed. Later calls do nothing.
func (p *pool[S]) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	var all []S
	for key, k := range p.keys {
		for _, is := range k.idle {
			all = append(all, is.s)
		}
		p.idle -= len(k.idle)
		k.idle = nil
		p.wake(key, k)
	}
	p.gauge(p.idle, p.busy)
	p.mu.Unlock()
	close(p.stop)
	<-p.done
	for _, s := range all {
		s.Close()
	}
}

// limiter is a token bucket: rate tokens per second, at most burst saved.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// newLimiter returns nil (no limit) for rate 0.
func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	if rate <= 0 {
		return nil
	}
	return &limiter{rate: rate, burst: float64(burst), now: now, tokens: float64(burst), last: now()}
}

// wait takes a token, waiting for one until ctx ends. A nil limiter never waits.
func (l *limiter) wait(ctx context.Context) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	now := l.now()
	l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	l.tokens-- // reserve, possibly going negative: later callers queue behind
	need := -l.tokens
	l.mu.Unlock()
	if need <= 0 {
		return nil
	}
	d := time.Duration(need / l.rate * float64(time.Second))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		l.tokens++ // give the reservation back
		l.mu.Unlock()
		return ctx.Err()
	}
}
