package sigv4

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// suiteSeeds returns (host, path, query) of every stored query-signed request of the suite.
func suiteSeeds(f *testing.F) [][3]string {
	files, _ := filepath.Glob("testdata/v4/*/query-signed-request.txt")
	var seeds [][3]string
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		r := parseSuiteRequest(f, string(b))
		seeds = append(seeds, [3]string{r.host, r.path, r.query})
	}
	return seeds
}

func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"", "a", "b=2&a=1&A=0", "foo=b&foo=a&foo=Zoo", "a=b+c", "a=%2f%7e", "%41=%62", "\u1234=bar&X=1",
		"a=1&&b=2", "=v", "a=%zz", "a=%4", "a=1&", "&a", rdsQuery + "&X-Amz-Signature=" + rdsSig,
	} {
		f.Add(s)
	}
	for _, s := range suiteSeeds(f) {
		f.Add(s[2])
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var q Query
		if err := q.Parse(raw); err != nil {
			return
		}
		q.DuplicateKey()
		q.Count("a")
		q.Get("X-Amz-Signature")
		c1 := q.AppendCanonical(nil, "")
		q.AppendCanonical(nil, "a")
		if len(c1) > MaxQueryLen {
			return // escaping may triple the length
		}
		var q2 Query
		if err := q2.Parse(string(c1)); err != nil {
			t.Fatalf("Parse(canonical %q) = %v", c1, err)
		}
		if q2.Len() != q.Len() {
			t.Fatalf("canonical %q has %d parameters, want %d", c1, q2.Len(), q.Len())
		}
		if c2 := q2.AppendCanonical(nil, ""); string(c2) != string(c1) {
			t.Fatalf("canonical not idempotent: %q -> %q", c1, c2)
		}
	})
}

func FuzzVerifyPresigned(f *testing.F) {
	f.Add(rdsHost, "/", rdsQuery+"&X-Amz-Signature="+rdsSig)
	for _, s := range suiteSeeds(f) {
		f.Add(s[0], s[1], s[2])
	}
	secretFor := func(akid string) (string, error) {
		if akid == "access_key" {
			return "secret_key", nil
		}
		return suiteCreds.SecretAccessKey, nil
	}
	s := &Signer{Keys: NewKeyCache(64)}
	f.Fuzz(func(t *testing.T, host, path, query string) {
		r := &Request{Host: host, Path: path, Query: query}
		for _, now := range []time.Time{suiteTime.Add(time.Minute), rdsTime.Add(time.Minute)} {
			v, err := s.VerifyPresigned(r, secretFor, now, 5*time.Minute)
			if err != nil {
				continue
			}
			if v.AccessKeyID == "" || v.Region == "" || v.Service == "" || v.Expires <= 0 {
				t.Fatalf("VerifyPresigned(%q, %q, %q) = %v", host, path, query, v)
			}
			// Accepted: a different signature is refused.
			i := strings.LastIndex(query, "X-Amz-Signature=") + len("X-Amz-Signature=")
			b := []byte(query)
			b[i] ^= 1
			if _, err := s.VerifyPresigned(&Request{Host: host, Path: path, Query: string(b)}, secretFor, now, 5*time.Minute); err == nil {
				t.Fatalf("VerifyPresigned accepts %q and %q", query, b)
			}
		}
	})
}

// FuzzDecodeSignature: DecodeSignature accepts exactly what encoding/hex decodes to 32
// bytes, and decodes it the same; with lowerOnly, only that without 'A'-'F'.
func FuzzDecodeSignature(f *testing.F) {
	f.Add(strings.Repeat("0a", 32))
	f.Add(strings.Repeat("Ff", 32))
	f.Add(strings.Repeat("g0", 32))
	f.Add("00")
	f.Fuzz(func(t *testing.T, s string) {
		var got [32]byte
		ok := DecodeSignature(&got, s)
		want, err := hex.DecodeString(s)
		if wantOK := err == nil && len(want) == 32; ok != wantOK {
			t.Fatalf("DecodeSignature(%q) = %v, encoding/hex: %d bytes, %v", s, ok, len(want), err)
		}
		if ok && !bytes.Equal(got[:], want) {
			t.Fatalf("DecodeSignature(%q) = %x, want %x", s, got, want)
		}
		// This package's own verification takes lower-case digits only.
		if lower := decodeHex(got[:], s, true); lower != (ok && !strings.ContainsAny(s, "ABCDEF")) {
			t.Fatalf("decodeHex(%q, lowerOnly) = %v", s, lower)
		}
	})
}
