package sigv4

import (
	"crypto/sha256"
	"crypto/subtle"
	"sync"
)

// Algorithm is the only signing algorithm of Signature Version 4 that this package speaks.
const Algorithm = "AWS4-HMAC-SHA256"

// EmptyPayloadHash is the hex SHA-256 of the empty string: the payload hash of a GET request,
// and of every RDS auth token.
const EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// TimeFormat is the layout of X-Amz-Date; DayFormat is the layout of the credential scope's day.
const (
	TimeFormat = "20060102T150405Z"
	DayFormat  = "20060102"
)

// Key is a derived signing key.
type Key [sha256.Size]byte

// hmacSHA256 computes HMAC-SHA256(key, msg) without allocating for messages that fit the
// stack buffer. key must be at most 64 bytes (a block); every SigV4 key is.
func hmacSHA256(key []byte, msg []byte) [sha256.Size]byte {
	const block = 64
	var buf [block + 512]byte
	var in []byte
	if len(msg) <= 512 {
		in = buf[:block+len(msg)]
	} else {
		in = make([]byte, block+len(msg))
	}
	for i := 0; i < block; i++ {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		in[i] = k ^ 0x36
	}
	copy(in[block:], msg)
	inner := sha256.Sum256(in)
	var out [block + sha256.Size]byte
	for i := 0; i < block; i++ {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		out[i] = k ^ 0x5c
	}
	copy(out[block:], inner[:])
	return sha256.Sum256(out[:])
}

// HMAC returns HMAC-SHA256(key, msg). key must be at most 64 bytes.
func HMAC(key, msg []byte) [sha256.Size]byte {
	if len(key) > 64 {
		k := sha256.Sum256(key)
		return hmacSHA256(k[:], msg)
	}
	return hmacSHA256(key, msg)
}

// DeriveKey computes the signing key for a secret access key, a day (yyyymmdd), a region and
// a service.
func DeriveKey(secret, day, region, service string) Key {
	var kb [4 + 128]byte
	k := append(kb[:0], "AWS4"...)
	k = append(k, secret...)
	var sb [128]byte
	h := HMAC(k, append(sb[:0], day...))
	h = hmacSHA256(h[:], append(sb[:0], region...))
	h = hmacSHA256(h[:], append(sb[:0], service...))
	h = hmacSHA256(h[:], append(sb[:0], "aws4_request"...))
	return Key(h)
}

// Sign returns the raw signature of a string to sign under a derived key.
func (k *Key) Sign(stringToSign []byte) [sha256.Size]byte {
	return hmacSHA256(k[:], stringToSign)
}

// Equal reports whether two signatures are equal, in constant time.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// KeyCache is a bounded cache of derived signing keys, keyed by (secret, day, region,
// service). It is safe for concurrent use. The zero value is not usable: call NewKeyCache.
//
// When the cache is full, it is emptied: keys change once a day per secret, so a cache sized
// above the number of active secrets times regions rarely fills, and an eviction costs four
// HMACs per key.
type KeyCache struct {
	mu  sync.RWMutex
	m   map[keyID]Key
	max int
}

type keyID struct{ secret, day, region, service string }

// NewKeyCache returns a cache that holds at most max keys; if max <= 0, 4096.
func NewKeyCache(max int) *KeyCache {
	if max <= 0 {
		max = 4096
	}
	return &KeyCache{m: make(map[keyID]Key), max: max}
}

// Key returns the derived key for (secret, day, region, service), computing and remembering
// it on a miss. It does not allocate on a hit.
func (c *KeyCache) Key(secret, day, region, service string) Key {
	id := keyID{secret, day, region, service}
	c.mu.RLock()
	k, ok := c.m[id]
	c.mu.RUnlock()
	if ok {
		return k
	}
	k = DeriveKey(secret, day, region, service)
	// Own copies of the strings: callers may pass substrings of large buffers.
	id = keyID{cloneString(secret), cloneString(day), cloneString(region), cloneString(service)}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[id] = k
	c.mu.Unlock()
	return k
}

// Len returns the number of cached keys.
func (c *KeyCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

func cloneString(s string) string { return string([]byte(s)) }
