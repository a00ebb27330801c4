package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/jwt"
	"github.com/iamdb/iamdb/internal/testenv"
)

// testIssuer serves an Issuer on a loopback server whose handler can be swapped.
type testIssuer struct {
	*Issuer
	srv     *httptest.Server
	fetches atomic.Int64
	mu      sync.Mutex
	h       http.Handler
}

func newTestIssuer(t *testing.T, path string) *testIssuer {
	t.Helper()
	ti := &testIssuer{}
	ti.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ti.fetches.Add(1)
		ti.mu.Lock()
		h := ti.h
		ti.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ti.srv.Close)
	dir := t.TempDir()
	is, err := OpenIssuer(dir, ti.srv.URL+path)
	if err != nil {
		t.Fatal(err)
	}
	ti.Issuer = is
	ti.h = is.Handler()
	return ti
}

func (ti *testIssuer) set(h http.Handler) {
	ti.mu.Lock()
	ti.h = h
	ti.mu.Unlock()
}

func TestIssuerTokensVerify(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"", "/id/EXAMPLE"} {
		t.Run("path="+path, func(t *testing.T) {
			t.Parallel()
			ti := newTestIssuer(t, path)
			kc := NewKeyCache(KeyCacheConfig{AllowInsecureLoopback: true})
			s, err := ti.Token(TokenSpec{Subject: "system:serviceaccount:prod:app", Tags: map[string]string{"team": "db", "env": "prod"}, TransitiveTagKeys: []string{"team"}})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jwt.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			ks, err := kc.Keys(context.Background(), tok.Claims.Issuer, false)
			if err != nil {
				t.Fatalf("Keys(%s) = %v", tok.Claims.Issuer, err)
			}
			if err := tok.Verify(ks); err != nil {
				t.Errorf("Verify = %v", err)
			}
			if err := tok.Claims.Validate(jwt.Validation{Now: time.Now(), Issuer: ti.URL(), Audiences: []string{"sts.amazonaws.com"}}); err != nil {
				t.Errorf("Validate = %v", err)
			}
			if tok.Header.Kid != ti.KeyID() || tok.Header.Alg != jwt.ES256 {
				t.Errorf("header = %+v, want kid %s", tok.Header, ti.KeyID())
			}
			for _, want := range []string{`"kubernetes.io"`, `"namespace"`} {
				if _, ok := tok.Claims.Raw["kubernetes.io"]; !ok {
					t.Errorf("claims lack %s", want)
				}
			}
			if got := string(tok.Claims.Raw[TagsClaim]); got != `{"principal_tags":{"env":["prod"],"team":["db"]},"transitive_tag_keys":["team"]}` {
				t.Errorf("tags claim = %s", got)
			}
		})
	}
}

func TestOpenIssuerKeepsKeyAndURL(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "oidc")
	if _, err := LoadIssuer(dir, "https://issuer.example"); err == nil {
		t.Error("LoadIssuer on a directory without a key succeeded")
	}
	if _, err := OpenIssuer(dir, ""); err == nil {
		t.Error("OpenIssuer without a URL on a new directory succeeded")
	}
	a, err := OpenIssuer(dir, "https://issuer.example/id/1/")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SaveURL(dir); err != nil {
		t.Fatal(err)
	}
	b, err := LoadIssuer(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.KeyID() != b.KeyID() || b.URL() != "https://issuer.example/id/1" {
		t.Errorf("reopened issuer = %s %s, want %s https://issuer.example/id/1", b.KeyID(), b.URL(), a.KeyID())
	}
	fi, err := os.Stat(filepath.Join(dir, keyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, %v, want 0600", fi.Mode(), err)
	}
	for _, bad := range []string{"ftp://x", "https://x/?q=1", "https://u@x", "issuer.example"} {
		if _, err := OpenIssuer(dir, bad); err == nil {
			t.Errorf("OpenIssuer(%q) succeeded", bad)
		}
	}
	if _, err := a.Token(TokenSpec{}); err == nil {
		t.Error("Token without a subject succeeded")
	}
	if _, err := a.Token(TokenSpec{Subject: "s", TTL: 48 * time.Hour}); err == nil {
		t.Error("Token with a 48h lifetime succeeded")
	}
	if _, err := a.Token(TokenSpec{Subject: "s", TransitiveTagKeys: []string{"x"}}); err == nil {
		t.Error("Token with a transitive key that is no tag succeeded")
	}
}

func TestKeyCacheRefusals(t *testing.T) {
	t.Parallel()
	ti := newTestIssuer(t, "")
	ctx := context.Background()
	strict := NewKeyCache(KeyCacheConfig{})
	if _, err := strict.Keys(ctx, ti.URL(), false); !errors.Is(err, ErrInsecure) {
		t.Errorf("Keys(http://loopback) without AllowInsecureLoopback = %v, want ErrInsecure", err)
	}
	if n := ti.fetches.Load(); n != 0 {
		t.Errorf("%d requests reached the issuer, want 0", n)
	}
	lax := NewKeyCacheForTest()
	for _, bad := range []string{"http://example.com", "http://10.0.0.1:80", "file:///etc/passwd", "relative/path", "http://user@127.0.0.1"} {
		if _, err := lax.Keys(ctx, bad, false); !errors.Is(err, ErrInsecure) {
			t.Errorf("Keys(%q) = %v, want ErrInsecure", bad, err)
		}
	}

	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
		want error
	}{
		{"other issuer", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"issuer":"https://evil.example","jwks_uri":"` + ti.URL() + `/keys"}`))
		}, ErrFetch},
		{"jwks_uri elsewhere over http", func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "configuration") {
				w.Write([]byte(`{"issuer":"` + ti.URL() + `","jwks_uri":"http://example.com/keys"}`))
			}
		}, ErrInsecure},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://example.com/", http.StatusFound)
		}, ErrFetch},
		{"oversized", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"issuer":"` + ti.URL() + `","x":"` + strings.Repeat("a", 70<<10) + `"}`))
		}, ErrFetch},
		{"not found", http.NotFound, ErrFetch},
		{"bad keys", func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "configuration") {
				w.Write([]byte(`{"issuer":"` + ti.URL() + `","jwks_uri":"` + ti.URL() + `/keys"}`))
				return
			}
			w.Write([]byte(`{"keys":"no"}`))
		}, ErrFetch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ti.set(tc.h)
			kc := NewKeyCacheForTest()
			if _, err := kc.Keys(ctx, ti.URL(), false); !errors.Is(err, tc.want) {
				t.Errorf("Keys = %v, want %v", err, tc.want)
			}
		})
	}
}

// NewKeyCacheForTest is a cache that admits loopback http issuers.
func NewKeyCacheForTest() *KeyCache { return NewKeyCache(KeyCacheConfig{AllowInsecureLoopback: true}) }

func TestKeyCacheTimeout(t *testing.T) {
	t.Parallel()
	ti := newTestIssuer(t, "")
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	ti.set(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	kc := NewKeyCache(KeyCacheConfig{AllowInsecureLoopback: true, Timeout: 100 * time.Millisecond})
	start := time.Now()
	if _, err := kc.Keys(context.Background(), ti.URL(), false); !errors.Is(err, ErrFetch) {
		t.Errorf("Keys(hanging issuer) = %v, want ErrFetch", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Keys took %v, want about the 100ms timeout", d)
	}
}

func TestKeyCacheCachesAndRefreshes(t *testing.T) {
	t.Parallel()
	ti := newTestIssuer(t, "/id/1")
	clock := testenv.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	kc := NewKeyCache(KeyCacheConfig{AllowInsecureLoopback: true, Now: clock.Now, TTL: time.Hour, MinRefresh: 30 * time.Second})
	ctx := context.Background()
	get := func(fresh bool) error {
		_, err := kc.Keys(ctx, ti.URL(), fresh)
		return err
	}
	expect := func(what string, n int64) {
		t.Helper()
		if got := ti.fetches.Load(); got != n {
			t.Errorf("%s: %d requests, want %d", what, got, n)
		}
	}
	if err := get(false); err != nil {
		t.Fatal(err)
	}
	expect("first", 2) // discovery + keys
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() { defer wg.Done(); get(false) }()
	}
	wg.Wait()
	expect("cached", 2)
	get(true)
	expect("fresh within MinRefresh", 2)
	clock.Advance(31 * time.Second)
	get(true)
	expect("fresh after MinRefresh", 4)
	clock.Advance(59 * time.Minute)
	get(false)
	expect("within TTL", 4)
	clock.Advance(2 * time.Minute)

	// Past the TTL with the issuer down: the old keys are still served.
	ti.set(http.NotFoundHandler())
	if err := get(false); err != nil {
		t.Errorf("Keys(issuer down, keys stale) = %v, want the old keys", err)
	}
	expect("stale refetch", 5)
	// A token needing a new key forces a refetch, which fails: the old keys stay.
	clock.Advance(31 * time.Second)
	if err := get(true); err != nil {
		t.Errorf("Keys(fresh, issuer down) = %v, want the old keys", err)
	}
	expect("forced refetch", 6)
	get(true)
	expect("within MinRefresh of the failure", 6)

	// A new cache for an issuer that is down remembers the failure.
	kc2 := NewKeyCache(KeyCacheConfig{AllowInsecureLoopback: true, Now: clock.Now})
	for range 3 {
		if _, err := kc2.Keys(ctx, ti.URL(), true); !errors.Is(err, ErrFetch) {
			t.Errorf("Keys(issuer down, nothing cached) = %v, want ErrFetch", err)
		}
	}
	expect("remembered failure", 7)
}

// A caller that gives up does not poison the cache for the others.
func TestKeyCacheIgnoresCallerCancellation(t *testing.T) {
	t.Parallel()
	ti := newTestIssuer(t, "")
	kc := NewKeyCacheForTest()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := kc.Keys(ctx, ti.URL(), false); err != nil {
		t.Errorf("Keys(cancelled context) = %v, want the keys (the fetch is not the caller's)", err)
	}
	if _, err := kc.Keys(context.Background(), ti.URL(), false); err != nil {
		t.Errorf("Keys after a cancelled caller = %v", err)
	}
}
