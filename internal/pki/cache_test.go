package pki

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/testenv"
)

func newCache(t testing.TB, cfg CacheConfig) (*ClientCertCache, *testenv.Clock) {
	t.Helper()
	ca := newCA(t)
	clk := testenv.NewClock(t0)
	ca.Now = clk.Now
	c, err := NewClientCertCache(ca, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

func TestCacheConfig(t *testing.T) {
	ca := newCA(t)
	c, err := NewClientCertCache(ca, CacheConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if c.ttl != time.Hour || c.refresh != 10*time.Minute || c.max != 10000 {
		t.Errorf("defaults = %v, %v, %d; want 1h, 10m, 10000", c.ttl, c.refresh, c.max)
	}
	for _, cfg := range []CacheConfig{
		{TTL: -time.Hour},
		{TTL: time.Hour, Refresh: time.Hour},
		{TTL: time.Hour, Refresh: -time.Minute},
		{MaxEntries: -1},
	} {
		if _, err := NewClientCertCache(ca, cfg); err == nil {
			t.Errorf("NewClientCertCache(%+v) = nil error, want error", cfg)
		}
	}
	if _, err := NewClientCertCache(nil, CacheConfig{}); err == nil {
		t.Errorf("NewClientCertCache(nil CA) = nil error, want error")
	}
}

func TestCacheReuseAndRefresh(t *testing.T) {
	c, clk := newCache(t, CacheConfig{TTL: time.Hour, Refresh: 10 * time.Minute})
	first, err := c.Get("jane")
	if err != nil {
		t.Fatal(err)
	}
	if cn := first.Leaf.Subject.CommonName; cn != "jane" {
		t.Fatalf("CN = %q", cn)
	}
	if !first.Leaf.NotAfter.Equal(t0.Add(time.Hour)) {
		t.Errorf("NotAfter = %v, want %v", first.Leaf.NotAfter, t0.Add(time.Hour))
	}

	clk.Advance(49 * time.Minute) // 11 minutes left: reuse
	if got, _ := c.Get("jane"); got != first {
		t.Errorf("Get with 11m left minted a new certificate, want reuse")
	}
	other, _ := c.Get("bob")
	if other == first || other.Leaf.Subject.CommonName != "bob" {
		t.Errorf("Get(bob) = CN %q, want a certificate of its own", other.Leaf.Subject.CommonName)
	}

	clk.Advance(2 * time.Minute) // 9 minutes left: refresh
	second, err := c.Get("jane")
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Fatalf("Get with 9m left reused the old certificate, want a new one")
	}
	if want := clk.Now().Add(time.Hour); !second.Leaf.NotAfter.Equal(want) {
		t.Errorf("refreshed NotAfter = %v, want %v", second.Leaf.NotAfter, want)
	}
	if got, _ := c.Get("jane"); got != second {
		t.Errorf("Get after refresh = new certificate, want the refreshed one")
	}

	clk.Advance(3 * time.Hour) // long expired: a fresh one
	third, _ := c.Get("jane")
	if third == second || !third.Leaf.NotAfter.After(clk.Now()) {
		t.Errorf("Get after expiry returned an expired certificate")
	}
	if n := c.Len(); n != 2 {
		t.Errorf("Len = %d, want 2", n)
	}
}

func TestCacheErrorsNotCached(t *testing.T) {
	c, _ := newCache(t, CacheConfig{})
	for range 2 {
		if _, err := c.Get("a\x00b"); !errors.Is(err, ErrBadName) {
			t.Errorf("Get(NUL) = %v, want ErrBadName", err)
		}
	}
	if n := c.Len(); n != 0 {
		t.Errorf("Len after errors = %d, want 0", n)
	}
}

func TestCacheBounded(t *testing.T) {
	c, clk := newCache(t, CacheConfig{MaxEntries: 16})
	for i := range 100 {
		if _, err := c.Get(fmt.Sprintf("user%d", i)); err != nil {
			t.Fatal(err)
		}
		if n := c.Len(); n > 16 {
			t.Fatalf("Len = %d after %d users, want <= 16", n, i+1)
		}
	}
	// Expired entries go first.
	clk.Advance(2 * time.Hour)
	if _, err := c.Get("late"); err != nil {
		t.Fatal(err)
	}
	if n := c.Len(); n != 1 {
		t.Errorf("Len = %d after all others expired, want 1", n)
	}
}

// TestCacheSingleFlight: concurrent misses for one user mint once.
func TestCacheSingleFlight(t *testing.T) {
	c, _ := newCache(t, CacheConfig{})
	const n = 64
	var wg sync.WaitGroup
	got := make([]any, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			cert, err := c.Get("jane")
			if err != nil {
				t.Error(err)
			}
			got[i] = cert
		})
	}
	close(start)
	wg.Wait()
	for i := range got {
		if got[i] != got[0] {
			t.Fatalf("Get %d returned a different certificate: minted more than once", i)
		}
	}
}

// gate is a random source that can be made to block, to hold a mint in
// flight.
type gate struct {
	closed  atomic.Bool
	entered chan struct{}
	open    chan struct{}
}

func (g *gate) Read(p []byte) (int, error) {
	if g.closed.Load() {
		g.entered <- struct{}{}
		<-g.open
	}
	return rand.Read(p)
}

// TestCacheStaleWhileRefreshing: while one caller refreshes a user's
// certificate, others keep getting the previous one without waiting.
func TestCacheStaleWhileRefreshing(t *testing.T) {
	c, clk := newCache(t, CacheConfig{TTL: time.Hour, Refresh: 10 * time.Minute})
	g := &gate{entered: make(chan struct{}), open: make(chan struct{})}
	c.ca.Rand = g
	old, err := c.Get("jane")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(55 * time.Minute)
	g.closed.Store(true)
	done := make(chan any)
	go func() {
		cert, err := c.Get("jane")
		if err != nil {
			t.Error(err)
		}
		done <- cert
	}()
	<-g.entered // the refresh is in flight
	g.closed.Store(false)
	for range 3 {
		if got, err := c.Get("jane"); err != nil || got != old {
			t.Fatalf("Get during refresh = %p, %v; want the previous certificate %p", got, err, old)
		}
	}
	close(g.open)
	fresh := <-done
	if fresh == any(old) {
		t.Fatalf("refresh returned the old certificate")
	}
	if got, _ := c.Get("jane"); any(got) != fresh {
		t.Errorf("Get after refresh = old certificate, want the fresh one")
	}
}

func TestCacheConcurrent(t *testing.T) {
	c, clk := newCache(t, CacheConfig{TTL: time.Hour, Refresh: 10 * time.Minute, MaxEntries: 8})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				u := fmt.Sprintf("u%d", (w+i)%12)
				cert, err := c.Get(u)
				if err != nil {
					t.Error(err)
					return
				}
				if cn := cert.Leaf.Subject.CommonName; cn != u {
					t.Errorf("Get(%q) = CN %q", u, cn)
					return
				}
				if !clk.Now().Before(cert.Leaf.NotAfter) {
					t.Errorf("Get(%q) returned an expired certificate", u)
					return
				}
				if i%50 == 0 {
					clk.Advance(7 * time.Minute)
				}
			}
		})
	}
	wg.Wait()
}

func TestCacheHitAllocs(t *testing.T) {
	c, _ := newCache(t, CacheConfig{})
	if _, err := c.Get("jane"); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { c.Get("jane") }); n != 0 {
		t.Errorf("Get (hit) allocates %v times, want 0", n)
	}
}

// benchCache returns a cache on the real clock holding one user.
func benchCache(b *testing.B, cfg CacheConfig) *ClientCertCache {
	b.Helper()
	ca, err := NewCA("bench", 24*time.Hour, nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewClientCertCache(ca, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Get("jane.doe+ops@corp"); err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkCacheHit(b *testing.B) {
	c := benchCache(b, CacheConfig{})
	b.ReportAllocs()
	for b.Loop() {
		c.Get("jane.doe+ops@corp")
	}
}

func BenchmarkCacheHitParallel(b *testing.B) {
	c := benchCache(b, CacheConfig{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Get("jane.doe+ops@corp")
		}
	})
}

// BenchmarkCacheMint is the miss path: key generation plus signing.
func BenchmarkCacheMint(b *testing.B) {
	c := benchCache(b, CacheConfig{MaxEntries: 1 << 30})
	users := make([]string, b.N)
	for i := range users {
		users[i] = fmt.Sprintf("user%d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := c.Get(users[i]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClientCert(b *testing.B) {
	ca, err := NewCA("bench", 24*time.Hour, nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ca.ClientCert("jane.doe+ops@corp", time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
