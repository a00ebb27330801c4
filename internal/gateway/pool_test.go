package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeSession is a session that counts its closing.
type fakeSession struct {
	id     int
	closed atomic.Bool
}

func (f *fakeSession) Close() error { f.closed.Store(true); return nil }

type dialer struct {
	n   atomic.Int64
	err error
}

func (d *dialer) dial(context.Context) (*fakeSession, error) {
	if d.err != nil {
		return nil, d.err
	}
	return &fakeSession{id: int(d.n.Add(1))}, nil
}

// fakePool returns a pool of fakeSessions and the dialer that makes them; the pool is
// closed when the test (or its synctest bubble) ends.
func fakePool(t *testing.T, maxPerKey, maxIdle int, idleTimeout time.Duration, gauge func(idle, busy int)) (*pool[*fakeSession], *dialer) {
	p := newPool[*fakeSession](maxPerKey, maxIdle, idleTimeout, time.Now, gauge)
	t.Cleanup(p.close)
	return p, &dialer{}
}

// acquireLater acquires a session of key "k" in a goroutine of its own, a waiter, and
// sends it on the returned channel.
func acquireLater(ctx context.Context, p *pool[*fakeSession], d *dialer) <-chan *fakeSession {
	got := make(chan *fakeSession)
	go func() {
		s, _, _ := p.acquire(ctx, "k", nil, d.dial)
		got <- s
	}()
	return got
}

func TestPoolReuse(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var gIdle, gBusy int
		p, d := fakePool(t, 0, 2, time.Minute, func(i, b int) { gIdle, gBusy = i, b })
		ctx := context.Background()
		s1, reused, err := p.acquire(ctx, "k", nil, d.dial)
		if err != nil || reused || s1.id != 1 {
			t.Fatalf("first acquire = %v, %v, %v", s1, reused, err)
		}
		if gBusy != 1 || gIdle != 0 {
			t.Errorf("gauges idle, busy = %d, %d; want 0, 1", gIdle, gBusy)
		}
		p.release("k", s1, true, false)
		s2, reused, _ := p.acquire(ctx, "k", nil, d.dial)
		if s2 != s1 || !reused {
			t.Errorf("second acquire: session %d reused %v; want the first", s2.id, reused)
		}
		other, reused, _ := p.acquire(ctx, "other", nil, d.dial)
		if other == s1 || reused {
			t.Error("another key got the same session")
		}
		p.release("other", other, false, false)
		if !other.closed.Load() {
			t.Error("a session released as not reusable was not closed")
		}
		// More idle than MaxIdlePerKey: the surplus is closed.
		s3, _, _ := p.acquire(ctx, "k", nil, d.dial)
		s4, _, _ := p.acquire(ctx, "k", nil, d.dial)
		for _, s := range []*fakeSession{s2, s3, s4} {
			p.release("k", s, true, false)
		}
		if idle, busy := p.stats(); idle != 2 || busy != 0 || !s4.closed.Load() {
			t.Errorf("idle, busy = %d, %d; s4 closed %v; want 2, 0, true", idle, busy, s4.closed.Load())
		}
		// Idle timeout.
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if idle, _ := p.stats(); idle != 0 || !s2.closed.Load() || !s3.closed.Load() {
			t.Errorf("after the idle timeout: %d idle", idle)
		}
		if len(p.keys) != 0 {
			t.Errorf("%d keys left", len(p.keys))
		}
	})
}

func TestPoolCheckFails(t *testing.T) {
	t.Parallel()
	p, d := fakePool(t, 0, 4, time.Minute, nil)
	ctx := context.Background()
	a, _, _ := p.acquire(ctx, "k", nil, d.dial)
	b, _, _ := p.acquire(ctx, "k", nil, d.dial)
	p.release("k", a, true, false)
	p.release("k", b, true, false)
	stale := errors.New("stale")
	s, reused, err := p.acquire(ctx, "k", func(*fakeSession, time.Duration) error { return stale }, d.dial)
	if err != nil || reused || s.id != 3 {
		t.Fatalf("acquire = %d, %v, %v; want a new session 3", s.id, reused, err)
	}
	if !a.closed.Load() || !b.closed.Load() {
		t.Error("stale sessions not closed")
	}
	if idle, busy := p.stats(); idle != 0 || busy != 1 {
		t.Errorf("idle, busy = %d, %d", idle, busy)
	}
	d.err = errors.New("refused")
	p.release("k", s, false, false)
	if _, _, err := p.acquire(ctx, "k", nil, d.dial); !errors.Is(err, d.err) {
		t.Errorf("acquire = %v, want the dial error", err)
	}
	if idle, busy := p.stats(); idle != 0 || busy != 0 {
		t.Errorf("after a failed dial: idle, busy = %d, %d", idle, busy)
	}
}

func TestPoolMaxPerKey(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p, d := fakePool(t, 2, 2, time.Hour, nil)
		ctx := context.Background()
		a, _, _ := p.acquire(ctx, "k", nil, d.dial)
		p.acquire(ctx, "k", nil, d.dial)
		got := acquireLater(ctx, p, d)
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("acquire beyond MaxSessionsPerKey did not wait")
		default:
		}
		p.release("k", a, true, false)
		if s := <-got; s != a {
			t.Errorf("waiter got session %d, want the released one", s.id)
		}
		// A waiter gives up when its context ends.
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, _, err := p.acquire(tctx, "k", nil, d.dial); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("acquire = %v, want DeadlineExceeded", err)
		}
	})
}

func TestPoolReturning(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p, d := fakePool(t, 0, 2, time.Hour, nil)
		ctx := context.Background()
		a, _, _ := p.acquire(ctx, "k", nil, d.dial)
		p.returning("k")
		got := acquireLater(ctx, p, d)
		time.Sleep(time.Millisecond) // the reset takes a while
		p.release("k", a, true, true)
		if s := <-got; s != a || d.n.Load() != 1 {
			t.Errorf("got session %d after %d dials; want the returning one", s.id, d.n.Load())
		}
	})
}

func TestPoolClose(t *testing.T) {
	t.Parallel()
	p := newPool[*fakeSession](0, 2, time.Hour, time.Now, nil)
	d := &dialer{}
	ctx := context.Background()
	a, _, _ := p.acquire(ctx, "k", nil, d.dial)
	b, _, _ := p.acquire(ctx, "k", nil, d.dial)
	p.release("k", a, true, false)
	p.close()
	if !a.closed.Load() {
		t.Error("idle session not closed by close")
	}
	p.release("k", b, true, false)
	if !b.closed.Load() {
		t.Error("session released after close not closed")
	}
	if _, _, err := p.acquire(ctx, "k", nil, d.dial); !errors.Is(err, errPoolClosed) {
		t.Errorf("acquire after close = %v", err)
	}
	p.close()
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		if newLimiter(0, 0, time.Now) != nil {
			t.Fatal("rate 0 is not unlimited")
		}
		l := newLimiter(10, 5, time.Now)
		ctx := context.Background()
		start := time.Now()
		for range 25 {
			if err := l.wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
		// 5 at once, 20 more at 10/s.
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("25 dials took %v, want 2s", d)
		}
		tctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		defer cancel()
		if err := l.wait(tctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("wait = %v", err)
		}
		time.Sleep(time.Second)
		start = time.Now()
		for range 10 {
			l.wait(ctx)
		}
		if d := time.Since(start); d != 500*time.Millisecond { // a burst of 5, then 5 at 10/s
			t.Errorf("after a rest, 10 dials took %v, want 500ms", d)
		}
	})
}

func TestMembershipCache(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var queries atomic.Int64
		release := make(chan struct{})
		m := &membership{
			ttl: 5 * time.Second, now: time.Now, max: 2,
			query: func(_ context.Context, user string) (bool, error) {
				queries.Add(1)
				<-release
				if user == "down" {
					return false, errors.New("backend down")
				}
				return user == "iam", nil
			},
			cache: map[string]memberEntry{}, inflight: map[string]*memberCall{},
		}
		ctx := context.Background()
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if ok, err := m.isIAM(ctx, "iam"); !ok || err != nil {
					t.Errorf("isIAM = %v, %v", ok, err)
				}
			})
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		if n := queries.Load(); n != 1 {
			t.Errorf("%d queries for 10 concurrent lookups", n)
		}
		m.isIAM(ctx, "iam")
		if ok, _ := m.isIAM(ctx, "plain"); ok {
			t.Error("plain is IAM")
		}
		m.isIAM(ctx, "plain")
		if n := queries.Load(); n != 2 {
			t.Errorf("%d queries, want 2 (cached positive and negative)", n)
		}
		if _, err := m.isIAM(ctx, "down"); err == nil {
			t.Error("error not returned")
		}
		m.isIAM(ctx, "down")
		if n := queries.Load(); n != 4 {
			t.Errorf("%d queries, want 4 (errors are not cached)", n)
		}
		time.Sleep(6 * time.Second)
		m.isIAM(ctx, "iam")
		if n := queries.Load(); n != 5 {
			t.Errorf("%d queries, want 5 (expired)", n)
		}
		m.isIAM(ctx, "third")
		if len(m.cache) > 2 {
			t.Errorf("cache holds %d entries, max 2", len(m.cache))
		}
	})
}

func TestCancelMap(t *testing.T) {
	t.Parallel()
	var m cancelMap
	be := &pgBackend{pid: 77, key: []byte{1, 2, 3, 4}}
	pid, key := m.add(be)
	if pid == 0 || pid > 1<<31-1 {
		t.Errorf("pid %d", pid)
	}
	if p, k, ok := m.lookup(pid, key[:]); !ok || p != 77 || !bytes.Equal(k, be.key) {
		t.Errorf("lookup = %d, %v, %v", p, k, ok)
	}
	bad := key
	bad[0] ^= 1
	if _, _, ok := m.lookup(pid, bad[:]); ok {
		t.Error("lookup with a wrong key succeeded")
	}
	if _, _, ok := m.lookup(pid, key[:3]); ok {
		t.Error("lookup with a short key succeeded")
	}
	m.remove(pid)
	if _, _, ok := m.lookup(pid, key[:]); ok {
		t.Error("lookup after remove succeeded")
	}
}

func TestSessionKey(t *testing.T) {
	t.Parallel()
	a := sessionKey("u", "d", map[string]string{"application_name": "x", "options": "-c a=b", "DateStyle": "ISO"})
	b := sessionKey("u", "d", map[string]string{"DateStyle": "ISO", "options": "-c a=b", "application_name": "y"})
	if a != b {
		t.Errorf("keys differ by application_name: %q %q", a, b)
	}
	for _, k := range []string{
		sessionKey("u", "e", map[string]string{"DateStyle": "ISO", "options": "-c a=b"}),
		sessionKey("u", "d", map[string]string{"DateStyle": "ISO"}),
		sessionKey("u\x00d", "", map[string]string{"DateStyle": "ISO", "options": "-c a=b"}),
	} {
		if k == a {
			t.Errorf("key %q collides", k)
		}
	}
}

func TestRelayBody(t *testing.T) {
	in := bytes.Repeat([]byte("0123456789"), 10000)
	var out bytes.Buffer
	w := bufio.NewWriterSize(&out, 64)
	r := bufio.NewReaderSize(bytes.NewReader(append(in, "rest"...)), 16)
	if rerr, werr := relayBody(w, r, len(in)); rerr != nil || werr != nil {
		t.Fatal(rerr, werr)
	}
	w.Flush()
	if !bytes.Equal(out.Bytes(), in) {
		t.Error("body differs")
	}
	rest, _ := r.ReadString(0)
	if rest != "rest" {
		t.Errorf("reader left at %q", rest)
	}
	// A failing writer: the body is still consumed.
	r = bufio.NewReaderSize(bytes.NewReader(append(in, "rest"...)), 16)
	fw := bufio.NewWriterSize(failWriter{}, 16)
	if rerr, werr := relayBody(fw, r, len(in)); rerr != nil || werr == nil {
		t.Errorf("relayBody = %v, %v; want a write error only", rerr, werr)
	}
	if rest, _ := r.ReadString(0); rest != "rest" {
		t.Errorf("reader left at %q after a write error", rest)
	}
	if n := testing.AllocsPerRun(10, func() {
		r := bufio.NewReaderSize(bytes.NewReader(in), 4096)
		out.Reset()
		w := bufio.NewWriterSize(&out, 4096)
		relayBody(w, r, len(in))
	}); n > 4 {
		t.Errorf("relayBody allocates %v times", n)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken") }
