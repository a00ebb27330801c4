package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, wantPath string
	}{
		{"unreserved", "AZaz09-_.~", "AZaz09-_.~", "AZaz09-_.~"},
		{"space", "a b", "a%20b", "a%20b"},
		{"slash", "a/b", "a%2Fb", "a/b"},
		{"reserved", "+=&?#%", "%2B%3D%26%3F%23%25", "%2B%3D%26%3F%23%25"},
		{"utf8", "\u1234", "%E1%88%B4", "%E1%88%B4"},
		{"empty", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Escape(tt.in); got != tt.want {
				t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := string(AppendEscape(nil, tt.in, true)); got != tt.wantPath {
				t.Errorf("AppendEscape(%q, true) = %q, want %q", tt.in, got, tt.wantPath)
			}
			if got := Unescape(tt.want); got != tt.in {
				t.Errorf("Unescape(%q) = %q, want %q", tt.want, got, tt.in)
			}
		})
	}
}

func TestUnescape(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"a+b", "a b"},
		{"a%2Bb", "a+b"},
		{"a%2bb", "a+b"},
		{"%7e", "~"},
		{"%zz", "%zz"}, // invalid escapes are copied through
		{"%4", "%4"},
		{"%", "%"},
		{"plain", "plain"},
	}
	for _, tt := range tests {
		if got := Unescape(tt.in); got != tt.want {
			t.Errorf("Unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestQueryParseErrors(t *testing.T) {
	t.Parallel()
	many := strings.Repeat("a=1&", MaxParams) + "a=1"
	tests := []struct {
		name, raw string
		want      error
	}{
		{"empty is fine", "", nil},
		{"key only", "a", nil},
		{"max params", strings.Repeat("a=1&", MaxParams-1) + "a=1", nil},
		{"max length", "a=" + strings.Repeat("x", MaxQueryLen-2), nil},
		{"empty parameter", "a=1&&b=2", ErrMalformedQuery},
		{"leading ampersand", "&a=1", ErrMalformedQuery},
		{"trailing ampersand", "a=1&", ErrMalformedQuery},
		{"empty key", "=v", ErrMalformedQuery},
		{"bad escape in value", "a=%zz", ErrMalformedQuery},
		{"short escape", "a=%4", ErrMalformedQuery},
		{"bad escape in key", "%g1=1", ErrMalformedQuery},
		{"too many", many, ErrTooManyParams},
		{"too long", "a=" + strings.Repeat("x", MaxQueryLen-1), ErrQueryTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var q Query
			if err := q.Parse(tt.raw); !errors.Is(err, tt.want) {
				t.Errorf("Parse(%.40q) = %v, want %v", tt.raw, err, tt.want)
			}
		})
	}
}

func TestQueryCanonical(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw, exclude, want string
	}{
		{"sorted by key", "b=2&a=1&A=0", "", "A=0&a=1&b=2"},
		{"repeated keys sorted by value", "foo=b&foo=a&foo=Zoo", "", "foo=Zoo&foo=a&foo=b"},
		{"key without value", "b&a=", "", "a=&b="},
		{"plus is a space", "a=b+c", "", "a=b%20c"},
		{"escaped plus stays plus", "a=b%2bc", "", "a=b%2Bc"},
		{"lower-case escapes", "a=%2f%7e", "", "a=%2F~"},
		{"needless escape", "%41=%62", "", "A=b"},
		{"raw utf8", "\u1234=bar&X=1", "", "%E1%88%B4=bar&X=1"},
		{"sort by encoded key", "%E1%88%B4=1&X-Amz-Date=2", "", "%E1%88%B4=1&X-Amz-Date=2"},
		{"reserved escaped", "a=b=c&c=d/e", "", "a=b%3Dc&c=d%2Fe"},
		{"prefix keys", "ab=1&a=2&a-=3", "", "a=2&a-=3&ab=1"},
		{"exclude", "X-Amz-Signature=abc&b=1&a=2", "X-Amz-Signature", "a=2&b=1"},
		{"exclude by decoded key", "X-Amz-%53ignature=abc&a=2", "X-Amz-Signature", "a=2"},
		{"empty", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var q Query
			if err := q.Parse(tt.raw); err != nil {
				t.Fatalf("Parse(%q) = %v", tt.raw, err)
			}
			if got := string(q.AppendCanonical(nil, tt.exclude)); got != tt.want {
				t.Errorf("AppendCanonical(%q, %q) = %q, want %q", tt.raw, tt.exclude, got, tt.want)
			}
			// Reuse: a second call gives the same.
			if got := string(q.AppendCanonical([]byte("x"), tt.exclude)); got != "x"+tt.want {
				t.Errorf("AppendCanonical again = %q, want %q", got, "x"+tt.want)
			}
		})
	}
}

func TestQueryLookup(t *testing.T) {
	t.Parallel()
	var q Query
	if err := q.Parse("a=1&%61=2&b=x%20y+z&c"); err != nil {
		t.Fatal(err)
	}
	if n := q.Len(); n != 4 {
		t.Errorf("Len() = %d, want 4", n)
	}
	if n := q.Count("a"); n != 2 {
		t.Errorf("Count(a) = %d, want 2", n)
	}
	if !q.DuplicateKey() {
		t.Error("DuplicateKey() = false, want true")
	}
	if v, ok := q.Get("b"); !ok || v != "x y z" {
		t.Errorf("Get(b) = %q, %v, want %q", v, ok, "x y z")
	}
	if v, ok := q.Raw("b"); !ok || v != "x%20y+z" {
		t.Errorf("Raw(b) = %q, %v", v, ok)
	}
	if v, ok := q.Get("c"); !ok || v != "" {
		t.Errorf("Get(c) = %q, %v", v, ok)
	}
	if _, ok := q.Get("d"); ok {
		t.Error("Get(d) found")
	}
	if err := q.Parse("a=1&b=2"); err != nil || q.DuplicateKey() {
		t.Errorf("DuplicateKey(a=1&b=2) = true, %v", err)
	}
}

func TestQueryCanonicalAllocs(t *testing.T) {
	raw := "Action=connect&DBUser=u&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20161107%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20161107T173933Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=00"
	var q Query
	buf := make([]byte, 0, 1024)
	q.Parse(raw)
	q.AppendCanonical(buf[:0], "X-Amz-Signature")
	if n := testing.AllocsPerRun(100, func() {
		q.Parse(raw)
		buf = q.AppendCanonical(buf[:0], "X-Amz-Signature")
	}); n != 0 {
		t.Errorf("Parse+AppendCanonical allocates %v times, want 0", n)
	}
}

func TestKeyCache(t *testing.T) {
	c := NewKeyCache(4)
	want := DeriveKey("secret", "20150830", "us-east-1", "service")
	if got := c.Key("secret", "20150830", "us-east-1", "service"); got != want {
		t.Fatalf("Key = %x, want %x", got, want)
	}
	if n := testing.AllocsPerRun(100, func() { c.Key("secret", "20150830", "us-east-1", "service") }); n != 0 {
		t.Errorf("Key allocates %v times on a hit, want 0", n)
	}
	for i := range 100 {
		c.Key("secret", "20150830", "region-"+string(rune('a'+i%26))+string(rune('a'+i/26)), "service")
		if n := c.Len(); n > 4 {
			t.Fatalf("Len() = %d after %d keys, want <= 4", n, i+1)
		}
	}
	if got := c.Key("secret", "20150830", "us-east-1", "service"); got != want {
		t.Errorf("Key after eviction = %x, want %x", got, want)
	}
	if got := NewKeyCache(0); got.max != 4096 {
		t.Errorf("NewKeyCache(0).max = %d", got.max)
	}
}

// The AWS documentation's example signing key (Signature Version 4, "derive a signing key").
func TestDeriveKey(t *testing.T) {
	t.Parallel()
	k := DeriveKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam")
	const want = "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
	if got := string(hexOf(k[:])); got != want {
		t.Errorf("DeriveKey = %s, want %s", got, want)
	}
	// A secret longer than a block is hashed first, as HMAC requires.
	long := strings.Repeat("s", 100)
	if DeriveKey(long, "20150830", "us-east-1", "iam") == DeriveKey(long[:99], "20150830", "us-east-1", "iam") {
		t.Error("long secrets collide")
	}
}

func hexOf(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
