package sigv4

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The RDS auth token worked example of REFERENCE.md §1 (the Java SDK's vector).
const (
	rdsHost  = "host.us-east-1.amazonaws.com:3306"
	rdsQuery = "Action=connect&DBUser=mySQLUser&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=access_key%2F20161107%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20161107T173933Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
	rdsSig   = "87ab58107ef49f1c311a412f98b7f976b0b5152ffb559f0d36c6c9a0c5e0e362"
)

var rdsTime = time.Date(2016, 11, 7, 17, 39, 33, 0, time.UTC)

func rdsSecret(akid string) (string, error) {
	if akid != "access_key" {
		return "", errors.New("no such key")
	}
	return "secret_key", nil
}

func TestRDSToken(t *testing.T) {
	t.Parallel()
	var s Signer
	r := &Request{Host: rdsHost, Path: "/", Query: rdsQuery}
	cr, err := s.CanonicalRequest(r, []string{"host"})
	if err != nil {
		t.Fatal(err)
	}
	want := "GET\n/\n" + rdsQuery + "\nhost:" + rdsHost + "\n\nhost\n" + EmptyPayloadHash
	if cr != want {
		t.Errorf("CanonicalRequest = %q, want %q", cr, want)
	}
	r.Query += "&X-Amz-Signature=" + rdsSig
	v, err := s.VerifyPresigned(r, rdsSecret, rdsTime.Add(time.Minute), 5*time.Minute)
	if err != nil {
		t.Fatalf("VerifyPresigned = %v", err)
	}
	if v.AccessKeyID != "access_key" || v.Region != "us-east-1" || v.Service != "rds-db" || v.Expires != 900*time.Second || !v.Date.Equal(rdsTime) {
		t.Errorf("VerifyPresigned = %v", v)
	}

	// PresignHTTP gives the same signature (the query order differs, the signature does not).
	hr, _ := http.NewRequest("GET", "https://"+rdsHost+"/?Action=connect&DBUser=mySQLUser", nil)
	signed, err := s.PresignHTTP(hr, Credentials{AccessKeyID: "access_key", SecretAccessKey: "secret_key"}, EmptyPayloadHash, "rds-db", "us-east-1", rdsTime, 900*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(signed, "&X-Amz-Signature="+rdsSig) {
		t.Errorf("PresignHTTP = %s, want signature %s", signed, rdsSig)
	}
}

func TestVerifyPresignedErrors(t *testing.T) {
	t.Parallel()
	signed := rdsQuery + "&X-Amz-Signature=" + rdsSig
	repl := func(old, new string) string {
		if !strings.Contains(signed, old) {
			panic(old)
		}
		return strings.Replace(signed, old, new, 1)
	}
	now := rdsTime.Add(time.Minute)
	lookupErr := errors.New("store down")
	tests := []struct {
		name, query string
		now         time.Time
		secretFor   func(string) (string, error)
		want        error
	}{
		{"valid", signed, now, nil, nil},
		{"valid at the start of the skew", signed, rdsTime.Add(-5 * time.Minute), nil, nil},
		{"valid at expiry", signed, rdsTime.Add(900 * time.Second), nil, nil},
		{"expired", signed, rdsTime.Add(900*time.Second + time.Nanosecond), nil, ErrExpired},
		{"not yet valid", signed, rdsTime.Add(-5*time.Minute - time.Second), nil, ErrNotYetValid},
		{"no signature", rdsQuery, now, nil, ErrMissingAuth},
		{"short signature", signed[:len(signed)-1], now, nil, ErrMalformedAuth},
		{"upper-case signature", repl(rdsSig, strings.ToUpper(rdsSig)), now, nil, ErrMalformedAuth},
		{"repeated signature", signed + "&X-Amz-Signature=" + rdsSig, now, nil, ErrMalformedAuth},
		{"repeated date", signed + "&X-Amz-Date=20161107T173933Z", now, nil, ErrMalformedAuth},
		{"other algorithm", repl("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"), now, nil, ErrAlgorithm},
		{"no credential", repl("X-Amz-Credential", "X-Amz-Credentia1"), now, nil, ErrMalformedAuth},
		{"short scope", repl("%2Frds-db%2Faws4_request", "%2Faws4_request"), now, nil, ErrCredentialScope},
		{"bad terminator", repl("aws4_request", "aws5_request"), now, nil, ErrCredentialScope},
		{"bad day", repl("%2F20161107%2F", "%2F2016110%2F"), now, nil, ErrCredentialScope},
		{"day differs from date", repl("%2F20161107%2F", "%2F20161108%2F"), now, nil, ErrCredentialScope},
		{"bad date", repl("20161107T173933Z", "20161107T173933"), now, nil, ErrMalformedAuth},
		{"expires zero", repl("X-Amz-Expires=900", "X-Amz-Expires=0"), now, nil, ErrBadExpires},
		{"expires too long", repl("X-Amz-Expires=900", "X-Amz-Expires=604801"), now, nil, ErrBadExpires},
		{"expires signed", repl("X-Amz-Expires=900", "X-Amz-Expires=%2B900"), now, nil, ErrBadExpires},
		{"expires missing", repl("&X-Amz-Expires=900", ""), now, nil, ErrBadExpires},
		{"host not signed", repl("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x-host"), now, nil, ErrHostNotSigned},
		{"signed headers repeated", repl("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=host%3Bhost"), now, nil, ErrMalformedAuth},
		{"signed headers upper case", repl("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=Host"), now, nil, ErrMalformedAuth},
		{"signed headers empty name", repl("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=host%3B"), now, nil, ErrMalformedAuth},
		{"unknown key", signed, now, func(string) (string, error) { return "", lookupErr }, lookupErr},
		{"wrong secret", signed, now, func(string) (string, error) { return "secret_kez", nil }, ErrSignatureMismatch},
		{"tampered user", repl("mySQLUser", "mySQLUses"), now, nil, ErrSignatureMismatch},
		{"extra parameter", signed + "&a=b", now, nil, ErrSignatureMismatch},
		{"malformed query", signed + "&", now, nil, ErrMalformedQuery},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			secretFor := tt.secretFor
			if secretFor == nil {
				secretFor = rdsSecret
			}
			s := Signer{Keys: NewKeyCache(8)}
			_, err := s.VerifyPresigned(&Request{Host: rdsHost, Query: tt.query}, secretFor, tt.now, 5*time.Minute)
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyPresigned = %v, want %v", err, tt.want)
			}
			if tt.want == lookupErr && !errors.Is(err, ErrSecretLookup) {
				t.Errorf("VerifyPresigned = %v, want it to wrap %v", err, ErrSecretLookup)
			}
			if err != nil && (strings.Contains(err.Error(), rdsSig) || strings.Contains(err.Error(), "secret_key")) {
				t.Errorf("error %q quotes a secret", err)
			}
		})
	}
}

func TestVerifyHeaderErrors(t *testing.T) {
	t.Parallel()
	creds := Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", SessionToken: "token"}
	secretFor := func(akid string) (string, error) {
		if akid != creds.AccessKeyID {
			return "", errors.New("no such key")
		}
		return creds.SecretAccessKey, nil
	}
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	body := "Action=GetCallerIdentity&Version=2011-06-15"
	bodyHash := sha256Hex(body)
	newReq := func() *http.Request {
		r, _ := http.NewRequest("POST", "https://sts.example.com/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		var s Signer
		if err := s.SignHTTP(r, creds, bodyHash, "sts", "us-east-1", now); err != nil {
			t.Fatal(err)
		}
		// As a server sees it.
		r.Header.Set("Content-Length", fmt.Sprint(r.ContentLength))
		return r
	}
	setAuth := func(f func(string) string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", f(r.Header.Get("Authorization"))) }
	}
	tests := []struct {
		name    string
		mutate  func(*http.Request)
		payload string
		now     time.Time
		want    error
	}{
		{"valid", nil, bodyHash, now, nil},
		{"valid with an unsigned payload header", func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", bodyHash) }, bodyHash, now, nil},
		{"payload hash from the header", func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", bodyHash) }, "", now, nil},
		{"no authorization", func(r *http.Request) { r.Header.Del("Authorization") }, bodyHash, now, ErrMissingAuth},
		{"two authorizations", func(r *http.Request) { r.Header.Add("Authorization", "x") }, bodyHash, now, ErrMalformedAuth},
		{"too long", setAuth(func(a string) string { return a + strings.Repeat(" ", MaxAuthorizationLen) }), bodyHash, now, ErrMalformedAuth},
		{"other algorithm", setAuth(func(a string) string { return strings.Replace(a, "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1) }), bodyHash, now, ErrAlgorithm},
		{"no space", setAuth(func(string) string { return "AWS4-HMAC-SHA256" }), bodyHash, now, ErrMalformedAuth},
		{"unknown part", setAuth(func(a string) string { return a + ", Foo=bar" }), bodyHash, now, ErrMalformedAuth},
		{"repeated part", setAuth(func(a string) string { return a + ", Signature=00" }), bodyHash, now, ErrMalformedAuth},
		{"missing part", setAuth(func(a string) string { return a[:strings.Index(a, ", Signature=")] }), bodyHash, now, ErrMalformedAuth},
		{"bad credential", setAuth(func(a string) string { return strings.Replace(a, "/sts/", "/", 1) }), bodyHash, now, ErrCredentialScope},
		{"host not signed", setAuth(func(a string) string { return strings.Replace(a, "host;", "", 1) }), bodyHash, now, ErrHostNotSigned},
		{"date not signed", setAuth(func(a string) string { return strings.Replace(a, ";x-amz-date", "", 1) }), bodyHash, now, ErrMalformedAuth},
		{"token not signed", setAuth(func(a string) string { return strings.Replace(a, ";x-amz-security-token", "", 1) }), bodyHash, now, ErrMalformedAuth},
		{"no date", func(r *http.Request) { r.Header.Del("X-Amz-Date") }, bodyHash, now, ErrMalformedAuth},
		{"bad date", func(r *http.Request) { r.Header.Set("X-Amz-Date", "2024-05-06") }, bodyHash, now, ErrMalformedAuth},
		{"day differs", func(r *http.Request) { r.Header.Set("X-Amz-Date", "20240507T070809Z") }, bodyHash, now, ErrCredentialScope},
		{"too old", nil, bodyHash, now.Add(5*time.Minute + time.Second), ErrExpired},
		{"too new", nil, bodyHash, now.Add(-5*time.Minute - time.Second), ErrNotYetValid},
		{"payload differs", nil, sha256Hex("other"), now, ErrSignatureMismatch},
		{"no payload hash", nil, "", now, ErrPayloadHash},
		{"payload header differs", func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD") }, bodyHash, now, ErrPayloadHash},
		{"tampered header", func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, bodyHash, now, ErrSignatureMismatch},
		{"tampered host", func(r *http.Request) { r.Host = "sts.example.net" }, bodyHash, now, ErrSignatureMismatch},
		{"tampered query", func(r *http.Request) { r.URL.RawQuery = "a=1" }, bodyHash, now, ErrSignatureMismatch},
		{"multi-value header joined", func(r *http.Request) { r.Header.Add("Content-Type", "x") }, bodyHash, now, ErrSignatureMismatch},
		{"unknown key", setAuth(func(a string) string { return strings.Replace(a, "AKIDEXAMPLE", "AKIDOTHER", 1) }), bodyHash, now, ErrSecretLookup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newReq()
			if tt.mutate != nil {
				tt.mutate(r)
			}
			var s Signer
			v, err := s.VerifyHeader(r, tt.payload, secretFor, tt.now, 5*time.Minute)
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyHeader = %v, want %v", err, tt.want)
			}
			if err == nil && (v.AccessKeyID != "AKIDEXAMPLE" || v.Service != "sts" || v.SessionToken != "token") {
				t.Errorf("VerifyHeader = %v", v)
			}
			if err != nil && strings.Contains(err.Error(), "token") && !strings.Contains(err.Error(), "X-Amz-Security-Token") {
				t.Errorf("error %q may quote the token", err)
			}
		})
	}
}

// A Date header stands in for X-Amz-Date, and must then be signed.
func TestVerifyHeaderDate(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	creds := Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}
	r, _ := http.NewRequest("GET", "https://iam.example.com/?Action=ListUsers&Version=2010-05-08", nil)
	r.Header.Set("Date", now.Format(http.TimeFormat))
	cr, err := (&Signer{}).CanonicalRequest(&Request{Method: "GET", Host: r.Host, Path: "/", Query: r.URL.RawQuery, Header: r.Header}, []string{"date", "host"})
	if err != nil {
		t.Fatal(err)
	}
	k := DeriveKey("secret", "20240506", "us-east-1", "iam")
	mac := k.Sign([]byte(StringToSign(cr, now, "us-east-1", "iam")))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20240506/us-east-1/iam/aws4_request,SignedHeaders=date;host,Signature="+string(hexOf(mac[:])))
	var s Signer
	if _, err := s.VerifyHeader(r, EmptyPayloadHash, func(string) (string, error) { return creds.SecretAccessKey, nil }, now, time.Minute); err != nil {
		t.Errorf("VerifyHeader(Date) = %v", err)
	}
}

func TestRedaction(t *testing.T) {
	t.Parallel()
	c := Credentials{AccessKeyID: "AKID", SecretAccessKey: "very-secret", SessionToken: "session-tok"}
	v := Verified{AccessKeyID: "AKID", SessionToken: "session-tok"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprint(v), fmt.Sprintf("%+v %#v", v, v),
		fmt.Sprint(&c), fmt.Sprint(&v)} {
		if strings.Contains(s, "very-secret") || strings.Contains(s, "session-tok") {
			t.Errorf("%s leaks a secret", s)
		}
		if !strings.Contains(s, "AKID") {
			t.Errorf("%s lost the access key ID", s)
		}
	}
}

func TestSignHTTPErrors(t *testing.T) {
	t.Parallel()
	var s Signer
	r, _ := http.NewRequest("GET", "https://example.com/", nil)
	if err := s.SignHTTP(r, Credentials{}, "", "svc", "us-east-1", time.Now()); !errors.Is(err, ErrMissingCredentials) {
		t.Errorf("SignHTTP(no credentials) = %v", err)
	}
	c := Credentials{AccessKeyID: "a", SecretAccessKey: "b"}
	if err := s.SignHTTP(r, c, "", "", "us-east-1", time.Now()); !errors.Is(err, ErrMissingScope) {
		t.Errorf("SignHTTP(no service) = %v", err)
	}
	for _, d := range []time.Duration{0, time.Millisecond, 1500 * time.Millisecond, MaxExpires + time.Second} {
		if _, err := s.PresignHTTP(r, c, "", "svc", "us-east-1", time.Now(), d); !errors.Is(err, ErrBadExpires) {
			t.Errorf("PresignHTTP(expires %v) = %v", d, err)
		}
	}
	r.URL.RawQuery = "a&&b"
	if err := s.SignHTTP(r, c, "", "svc", "us-east-1", time.Now()); !errors.Is(err, ErrMalformedQuery) {
		t.Errorf("SignHTTP(bad query) = %v", err)
	}
}

func TestCanonicalPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path                   string
		normal, unnormal, once string
	}{
		{"", "/", "/", "/"},
		{"/", "/", "/", "/"},
		{"/a%20b/", "/a%2520b/", "/a%2520b/", "/a%20b/"},
		{"/a+b", "/a%2Bb", "/a%2Bb", "/a%2Bb"},
		{"/a%2Fb", "/a%252Fb", "/a%252Fb", "/a%2Fb"},
		{"/a%2fb", "/a%252fb", "/a%252fb", "/a%2Fb"},
		{"//a//b//", "/a/b/", "//a//b//", "//a//b//"},
		{"/a/./b/../c", "/a/c", "/a/./b/../c", "/a/./b/../c"},
		{"/../..", "/", "/../..", "/../.."},
		{"/a/b/..", "/a", "/a/b/..", "/a/b/.."},
		{"/a/b/../", "/a/", "/a/b/../", "/a/b/../"},
		{"/~user/$x", "/~user/%24x", "/~user/%24x", "/~user/%24x"},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			s    Signer
			want string
		}{{Signer{}, tt.normal}, {Signer{DisablePathNormalization: true}, tt.unnormal}, {Signer{DisableDoubleEscape: true}, tt.once}} {
			if got := string(c.s.appendCanonicalPath(nil, tt.path)); got != c.want {
				t.Errorf("%+v canonical path of %q = %q, want %q", c.s, tt.path, got, c.want)
			}
		}
	}
}

// SignHTTP drops the scheme's default port, from r.Host and the signature alike.
func TestSignHTTPDefaultPort(t *testing.T) {
	t.Parallel()
	var s Signer
	c := Credentials{AccessKeyID: "a", SecretAccessKey: "b"}
	r, _ := http.NewRequest("GET", "https://example.com:443/x", nil)
	if err := s.SignHTTP(r, c, "", "svc", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if r.Host != "example.com" {
		t.Errorf("Host = %q, want example.com", r.Host)
	}
	u, err := s.PresignHTTP(r, c, "", "svc", "us-east-1", time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if pu, _ := url.Parse(u); pu.Host != "example.com:443" && pu.Host != "example.com" {
		t.Errorf("PresignHTTP host = %q", pu.Host)
	}
}
