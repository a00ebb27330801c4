package console

import (
	"crypto/tls"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeNext: whatever a sign-in link carries as next, the redirect after sign-in stays
// on the console's own paths: no other host, no scheme, no header splitting.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/console/users", "//evil.example/", "/console//evil", "https://evil.example/console/",
		"/console/\\evil", "/console/users\r\nSet-Cookie: x=1", "/console/signout", "", "/console/../x",
		"/console/%2e%2E/x", "/console/.%2e/", "/console/users/%2f..", "/console/a\tb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if !strings.HasPrefix(got, Prefix) || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n") {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
		if got != Prefix && got != next {
			t.Fatalf("safeNext(%q) = %q: changed, not refused", next, got)
		}
		base, _ := url.Parse("http://console.example" + Prefix)
		if to := browserPath(t, base, got); !strings.HasPrefix(to, Prefix) {
			t.Fatalf("safeNext(%q) = %q: a browser goes to %s", next, got, to)
		}
		if strings.HasPrefix(got, Prefix+"signin") || strings.HasPrefix(got, Prefix+"signout") {
			t.Fatalf("safeNext(%q) = %q: back to sign-in or out", next, got)
		}
	})
}

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		headers map[string]string
		want    bool
	}{
		{"same-origin fetch", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://evil.example"}, true},
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"same-site fetch", map[string]string{"Sec-Fetch-Site": "same-site"}, false},
		{"origin matches", map[string]string{"Origin": "http://console.example:8080"}, true},
		{"origin differs", map[string]string{"Origin": "http://evil.example"}, false},
		{"origin port differs", map[string]string{"Origin": "http://console.example:8081"}, false},
		{"referer matches", map[string]string{"Referer": "http://console.example:8080/console/users"}, true},
		{"referer differs", map[string]string{"Referer": "http://evil.example/console/users"}, false},
		{"null origin", map[string]string{"Origin": "null", "Referer": "http://console.example:8080/console/"}, false},
		{"not a browser", nil, true},
	} {
		r, _ := http.NewRequest(http.MethodPost, "http://console.example:8080/console/users", nil)
		for k, v := range tt.headers {
			r.Header.Set(k, v)
		}
		if got := sameOrigin(r); got != tt.want {
			t.Errorf("%s: sameOrigin = %v, want %v", tt.name, got, tt.want)
		}
	}
	// Under TLS, a page of the same host over plain HTTP is another origin.
	r, _ := http.NewRequest(http.MethodPost, "https://console.example:8080/console/users", nil)
	r.TLS = &tls.ConnectionState{}
	for from, want := range map[string]bool{"https://console.example:8080": true, "http://console.example:8080": false} {
		r.Header.Set("Origin", from)
		if got := sameOrigin(r); got != want {
			t.Errorf("under TLS, Origin %s: sameOrigin = %v, want %v", from, got, want)
		}
	}
}
