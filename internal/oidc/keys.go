package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/iamdb/iamdb/internal/jwt"
)

// Errors of KeyCache.Keys, for errors.Is.
var (
	// ErrInsecure: the issuer or its jwks_uri is not https:// (nor an allowed loopback
	// http:// URL).
	ErrInsecure = errors.New("oidc: issuer must use https")
	// ErrFetch: the discovery document or the key set could not be fetched or read.
	ErrFetch = errors.New("oidc: cannot fetch the issuer's keys")
)

// KeyCacheConfig configures a KeyCache.
type KeyCacheConfig struct {
	// Client makes the requests; its CheckRedirect is not used (redirects are never
	// followed). If nil, http.DefaultTransport's settings with the system's roots.
	Client *http.Client
	// AllowInsecureLoopback admits http:// issuers and jwks_uris whose host is a loopback
	// address (127.0.0.0/8, ::1) or "localhost". Off in production.
	AllowInsecureLoopback bool
	// Timeout bounds one fetch (discovery and keys together). If zero, 10s.
	Timeout time.Duration
	// MaxBytes bounds each response body. If zero, 64 KiB.
	MaxBytes int64
	// TTL is how long keys are used before they are fetched again. If zero, one hour.
	TTL time.Duration
	// MinRefresh is the shortest interval between two fetches of one issuer's keys (forced
	// refreshes and failures included). If zero, 30s.
	MinRefresh time.Duration
	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// maxIssuers bounds the cache; issuers are the registered providers, so few.
const maxIssuers = 1024

// KeyCache fetches and caches issuers' key sets. It is safe for concurrent use.
type KeyCache struct {
	cfg    KeyCacheConfig
	client *http.Client

	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	mu      sync.Mutex // held while fetching
	keys    *jwt.KeySet
	err     error
	fetched time.Time // last attempt
}

// NewKeyCache returns a KeyCache.
func NewKeyCache(cfg KeyCacheConfig) *KeyCache {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 64 << 10
	}
	if cfg.TTL <= 0 {
		cfg.TTL = time.Hour
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	base := cfg.Client
	if base == nil {
		base = &http.Client{}
	}
	c := *base
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &KeyCache{cfg: cfg, client: &c, entries: map[string]*entry{}}
}

// Keys returns the key set of issuer (an issuer URL such as
// "https://oidc.example.com/id/1"). With fresh, the keys are fetched again unless they
// were fetched less than MinRefresh ago. A failed fetch is remembered for MinRefresh;
// when keys were fetched before, they are returned instead of the failure.
func (kc *KeyCache) Keys(ctx context.Context, issuer string, fresh bool) (*jwt.KeySet, error) {
	if err := kc.checkURL(issuer); err != nil {
		return nil, err
	}
	kc.mu.Lock()
	e := kc.entries[issuer]
	if e == nil {
		if len(kc.entries) >= maxIssuers {
			for k := range kc.entries { // drop one at random
				delete(kc.entries, k)
				break
			}
		}
		e = &entry{}
		kc.entries[issuer] = e
	}
	kc.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	now := kc.cfg.Now()
	age := now.Sub(e.fetched)
	switch {
	case e.fetched.IsZero():
	case e.err != nil && age < kc.cfg.MinRefresh:
		return nil, e.err
	case e.err == nil && age < kc.cfg.MinRefresh:
		return e.keys, nil
	case e.err == nil && !fresh && age < kc.cfg.TTL:
		return e.keys, nil
	}
	keys, err := kc.fetch(ctx, issuer)
	e.fetched = now
	if err != nil {
		if e.keys != nil && errors.Is(err, ErrFetch) {
			// Keep serving the previous keys through a provider outage: tokens signed
			// with them still verify, others fail for want of their key.
			e.err = nil
			return e.keys, nil
		}
		e.err = err
		return nil, err
	}
	e.keys, e.err = keys, nil
	return keys, nil
}

// checkURL enforces the scheme rule.
func (kc *KeyCache) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%w: %q is not an absolute URL", ErrInsecure, raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if kc.cfg.AllowInsecureLoopback && isLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%w: %q", ErrInsecure, raw)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (kc *KeyCache) fetch(ctx context.Context, issuer string) (*jwt.KeySet, error) {
	// Not cancelled with the request that triggered it: a client hanging up must not make
	// the fetch fail, and the failure be remembered, for everyone else.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), kc.cfg.Timeout)
	defer cancel()
	body, err := kc.get(ctx, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration")
	if err != nil {
		return nil, err
	}
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &disc); err != nil {
		return nil, fmt.Errorf("%w: discovery document: not JSON", ErrFetch)
	}
	if strings.TrimSuffix(disc.Issuer, "/") != strings.TrimSuffix(issuer, "/") {
		return nil, fmt.Errorf("%w: discovery document names issuer %q", ErrFetch, disc.Issuer)
	}
	if err := kc.checkURL(disc.JWKSURI); err != nil {
		return nil, err
	}
	body, err = kc.get(ctx, disc.JWKSURI)
	if err != nil {
		return nil, err
	}
	ks, err := jwt.ParseKeySet(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	return ks, nil
}

func (kc *KeyCache) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFetch, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := kc.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: GET %s: %s", ErrFetch, u, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, kc.cfg.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %v", ErrFetch, u, err)
	}
	if int64(len(b)) > kc.cfg.MaxBytes {
		return nil, fmt.Errorf("%w: GET %s: response larger than %d bytes", ErrFetch, u, kc.cfg.MaxBytes)
	}
	return b, nil
}
