package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Requests signed by aws-sdk-go-v2's signer and by ours get the same signature, in header and
// in query mode.
type diffCase struct {
	name, method, url, body string
	header                  http.Header
	creds                   Credentials
}

var diffCases = []diffCase{
	{name: "vanilla", method: "GET", url: "https://example.amazonaws.com/"},
	{name: "space and unicode in path", method: "GET", url: "https://example.amazonaws.com/a%20b/%C3%BC%E1%88%B4/c~d"},
	{name: "reserved in path", method: "GET", url: "https://example.amazonaws.com/a,b;c=d/e+f@g:h$"},
	{name: "repeated keys", method: "GET", url: "https://example.amazonaws.com/?b=2&a=1&a=0&a=Z&c=x%20y&d=a+b&e=%2F%2b~&f"},
	{name: "session token", method: "GET", url: "https://rds.example.com:5432/?Action=connect&DBUser=app%20user",
		creds: Credentials{SessionToken: "FwoGZXIvYXdzE//////////wEaD+tok/en=="}},
	{name: "form post", method: "POST", url: "https://sts.amazonaws.com/", body: "Action=GetCallerIdentity&Version=2011-06-15",
		header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}},
	{name: "headers", method: "PUT", url: "https://example.amazonaws.com/k?x=1", body: "data",
		header: http.Header{"My-Header": {"  a   b  ", "c"}, "X-Amz-Meta-Foo": {"bar"}, "User-Agent": {"not signed"}}},
}

func (c diffCase) request(t testing.TB) *http.Request {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	r, err := http.NewRequest(c.method, c.url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range c.header {
		r.Header[k] = append([]string(nil), vs...)
	}
	return r
}

func (c diffCase) credentials() Credentials {
	cr := c.creds
	cr.AccessKeyID, cr.SecretAccessKey = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	return cr
}

func sdkCreds(c Credentials) aws.Credentials {
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
}

var diffTime = time.Date(2024, 2, 29, 23, 59, 58, 0, time.UTC)

func TestAgainstSDK(t *testing.T) {
	t.Parallel()
	sdk := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableHeaderHoisting = true })
	var ours Signer
	for _, c := range diffCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			hash := sha256Hex(c.body)
			cr := c.credentials()

			want, got := c.request(t), c.request(t)
			if err := sdk.SignHTTP(context.Background(), sdkCreds(cr), want, hash, "service", "eu-west-3", diffTime); err != nil {
				t.Fatal(err)
			}
			if err := ours.SignHTTP(got, cr, hash, "service", "eu-west-3", diffTime); err != nil {
				t.Fatal(err)
			}
			if g, w := got.Header.Get("Authorization"), want.Header.Get("Authorization"); g != w {
				t.Errorf("SignHTTP Authorization = %q, want (SDK) %q", g, w)
			}

			wantURL, _ := sdkPresign(t, sdk, c.request(t), cr, hash)
			gotURL, err := ours.PresignHTTP(c.request(t), cr, hash, "service", "eu-west-3", diffTime, 900*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := signatureParam(t, gotURL), signatureParam(t, wantURL); g != w {
				t.Errorf("PresignHTTP = %s\nwant (SDK) %s", gotURL, wantURL)
			}
		})
	}
}

// sdkPresign presigns r with the SDK's signer for 900 seconds at diffTime, as the tests'
// own Signer does, and returns the URL and the headers to send with it.
func sdkPresign(t testing.TB, sdk *v4.Signer, r *http.Request, cr Credentials, hash string) (string, http.Header) {
	t.Helper()
	q := r.URL.Query()
	q.Set("X-Amz-Expires", "900")
	r.URL.RawQuery = q.Encode()
	signed, hdr, err := sdk.PresignHTTP(context.Background(), sdkCreds(cr), r, hash, "service", "eu-west-3", diffTime)
	if err != nil {
		t.Fatal(err)
	}
	return signed, hdr
}

func signatureParam(t testing.TB, u string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return pu.Query().Get("X-Amz-Signature")
}

// Requests signed by aws-sdk-go-v2 and sent over real HTTP verify on the server side, in both
// modes.
func TestVerifySDKOverHTTP(t *testing.T) {
	t.Parallel()
	var s Signer
	s.Keys = NewKeyCache(16)
	secretFor := func(string) (string, error) { return "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", nil }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := sha256.Sum256(body)
		var err error
		if r.URL.Query().Has("X-Amz-Signature") {
			_, err = s.VerifyPresigned(&Request{Method: r.Method, Host: r.Host, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
				Header: r.Header, PayloadHash: hex.EncodeToString(h[:])}, secretFor, diffTime, time.Minute)
		} else {
			_, err = s.VerifyHeader(r, hex.EncodeToString(h[:]), secretFor, diffTime, time.Minute)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
		}
	}))
	t.Cleanup(srv.Close)
	sdk := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableHeaderHoisting = true })
	for _, c := range diffCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.url = strings.Replace(c.url, "https://", "http://", 1)
			cr := c.credentials()
			hash := sha256Hex(c.body)
			send := func(r *http.Request) {
				t.Helper()
				u, _ := url.Parse(srv.URL)
				r.URL.Host = u.Host // connect to the test server, keep the signed Host
				resp, err := srv.Client().Do(r)
				if err != nil {
					t.Fatal(err)
				}
				msg, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("%s: %s", resp.Status, msg)
				}
			}
			r := c.request(t)
			r.Host = r.URL.Host
			if err := sdk.SignHTTP(context.Background(), sdkCreds(cr), r, hash, "service", "eu-west-3", diffTime); err != nil {
				t.Fatal(err)
			}
			send(r)

			r = c.request(t)
			r.Host = r.URL.Host
			signed, hdr := sdkPresign(t, sdk, r, cr, hash)
			pr, _ := http.NewRequest(c.method, signed, strings.NewReader(c.body))
			pr.Host = pr.URL.Host
			for k, vs := range hdr {
				if k != "Host" {
					pr.Header[k] = vs
				}
			}
			send(pr)
		})
	}
}
