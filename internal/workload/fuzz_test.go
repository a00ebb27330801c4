package workload

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/iam"
)

// FuzzTokenCheck: no input panics; only minted, unexpired tokens pass.
func FuzzTokenCheck(f *testing.F) {
	var k tokenKey
	copy(k[:], "fuzz key fuzz key fuzz key fuzz!")
	now := time.Unix(1_800_000_000, 0)
	good := k.mint(now.Add(time.Minute))
	for _, s := range []string{good, "", "v1.", "v1.AAAA", good + "A", "AQAEAE==", strings.Repeat("v1.", 50), good[:len(good)-1] + "B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		err := k.check(tok, now)
		if err == nil && tok != good {
			// Another encoding of the same bytes would be a forgery-free alias: Strict
			// decoding and the exact length make the encoding canonical.
			t.Errorf("check(%q) = nil, only %q was minted", tok, good)
		}
	})
}

// FuzzParseTokenTTL: accepted values are exactly the decimal integers 1–21600.
func FuzzParseTokenTTL(f *testing.F) {
	for _, s := range []string{"1", "21600", "0", "21601", "-1", "+1", " 1", "1 ", "0x10", "00060", "", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, err := parseTokenTTL(v)
		if err != nil {
			return
		}
		if d < time.Second || d > 21600*time.Second || strings.Trim(v, "0123456789") != "" {
			t.Errorf("parseTokenTTL(%q) = %v, want an error", v, d)
		}
	})
}

// FuzzIMDSRequest: any path and token header is answered without a panic, and never with
// credentials unless the token was minted.
func FuzzIMDSRequest(f *testing.F) {
	a := newFuzzIMDS(f)
	for _, s := range []string{"/latest/meta-data/iam/security-credentials/web", "/latest/meta-data/", "/", "//", "/latest/../x", "/latest/meta-data/iam/security-credentials/web/"} {
		f.Add(s, "", "GET")
		f.Add(s, "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "GET")
	}
	f.Add("/latest/api/token", "", "PUT")
	f.Fuzz(func(t *testing.T, path, tok, method string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n?#") || strings.ContainsAny(tok, "\r\n\x00") {
			return
		}
		r, err := http.NewRequest(method, "http://127.0.0.1"+path, nil)
		if err != nil {
			return
		}
		if tok != "" {
			r.Header.Set("X-aws-ec2-metadata-token", tok)
		}
		w := httptest.NewRecorder()
		a.ServeHTTP(w, r)
		if strings.Contains(w.Body.String(), "SecretAccessKey") {
			t.Errorf("%s %q with token %q got credentials", method, path, tok)
		}
	})
}

// FuzzMetadataPath: a cleaned path has no empty, . or .. segment and no trailing slash.
func FuzzMetadataPath(f *testing.F) {
	for _, s := range []string{"/", "/latest/", "/a//b", "/a/./b", "/a/../b", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, ok := metadataPath(p)
		if !ok {
			return
		}
		if c == "/" {
			return
		}
		if strings.HasSuffix(c, "/") || strings.Contains(c, "//") || strings.Contains(c+"/", "/./") || strings.Contains(c+"/", "/../") {
			t.Errorf("metadataPath(%q) = %q", p, c)
		}
	})
}

// newFuzzIMDS is an endpoint whose authority is never reached for refused requests; an
// accepted one would need a real authority, which the fuzzer must never get to.
func newFuzzIMDS(tb testing.TB) *IMDS {
	m, err := NewIMDS(IMDSConfig{Authority: panicAuthority{}, RoleARN: "arn:aws:iam::111111111111:role/web", Region: "eu-west-1"})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

type panicAuthority struct{}

func (panicAuthority) AssumeRoleForWorkload(context.Context, string, string, string, time.Duration) (iam.AssumeRoleOutput, error) {
	panic("a request without a minted token reached the authority")
}

func (panicAuthority) InstanceProfileRole(context.Context, string) (string, error) {
	panic("a request without a minted token reached the authority")
}
