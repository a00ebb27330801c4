package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// RFC 7515 Appendix A.2 (RS256) and A.3 (ES256): the keys and the signed examples.
const (
	rfcPayload = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
	rfcA2JWKS  = `{"keys":[{"kty":"RSA","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"}]}`
	rfcA2Token = "eyJhbGciOiJSUzI1NiJ9." + rfcPayload + ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
	rfcA3JWKS  = `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`
	rfcA3Token = "eyJhbGciOiJFUzI1NiJ9." + rfcPayload + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
)

var rfcNow = time.Unix(1300819000, 0)

func TestRFC7515Vectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, jwks, tok, alg string }{
		{"A.2 RS256", rfcA2JWKS, rfcA2Token, RS256},
		{"A.3 ES256", rfcA3JWKS, rfcA3Token, ES256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ks, err := ParseKeySet([]byte(tc.jwks))
			if err != nil || len(ks.Keys) != 1 {
				t.Fatalf("ParseKeySet = %v, %v", ks, err)
			}
			tok, err := Parse(tc.tok)
			if err != nil {
				t.Fatalf("Parse = %v", err)
			}
			if tok.Header.Alg != tc.alg || tok.Claims.Issuer != "joe" || tok.Claims.Expiry.Unix() != 1300819380 {
				t.Errorf("Parse = %+v, %+v", tok.Header, tok.Claims)
			}
			if err := tok.Verify(ks); err != nil {
				t.Errorf("Verify = %v, want nil", err)
			}
			if err := tok.Claims.Validate(Validation{Now: rfcNow, Issuer: "joe"}); err != nil {
				t.Errorf("Validate = %v", err)
			}
			if err := tok.Claims.Validate(Validation{Now: time.Unix(1300819380, 0)}); !errors.Is(err, ErrExpired) {
				t.Errorf("Validate(at exp) = %v, want ErrExpired", err)
			}
			// One changed bit of the payload breaks the signature.
			pb, _ := base64.RawURLEncoding.DecodeString(rfcPayload)
			bad := strings.Replace(tc.tok, rfcPayload, base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(pb), "joe", "jof", 1))), 1)
			if tb, err := Parse(bad); err != nil {
				t.Fatalf("Parse(tampered) = %v", err)
			} else if err := tb.Verify(ks); !errors.Is(err, ErrSignature) {
				t.Errorf("Verify(tampered) = %v, want ErrSignature", err)
			}
		})
	}
}

// Test keys, generated once.
var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	rsaKey2  *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
	ec384Key *ecdsa.PrivateKey
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if rsaKey2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if ec384Key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
			panic(err)
		}
	})
}

func claimsAt(now time.Time) map[string]any {
	return map[string]any{
		"iss": "https://issuer.example/id/1", "sub": "system:serviceaccount:ns:app",
		"aud": []string{"sts.amazonaws.com"}, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

func sign(t testing.TB, claims any, key crypto.Signer, alg, kid string) string {
	t.Helper()
	s, err := Sign(claims, key, alg, kid, nil)
	if err != nil {
		t.Fatalf("Sign(%s) = %v", alg, err)
	}
	return s
}

// raw builds a token from a header and claims as given, with sig as the signature part.
func raw(header, claims string, sig []byte) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims)) + "." + enc.EncodeToString(sig)
}

func TestSignVerifyEveryAlgorithm(t *testing.T) {
	t.Parallel()
	testKeys(t)
	now := time.Now()
	for _, tc := range []struct {
		alg string
		key crypto.Signer
	}{{RS256, rsaKey}, {RS384, rsaKey}, {RS512, rsaKey}, {PS256, rsaKey}, {ES256, ecKey}, {ES384, ec384Key}} {
		t.Run(tc.alg, func(t *testing.T) {
			t.Parallel()
			ks := &KeySet{Keys: []Key{{ID: "other", Public: rsaKey2.Public()}, {ID: "k1", Public: tc.key.Public()}}}
			s := sign(t, claimsAt(now), tc.key, tc.alg, "k1")
			tok, err := Parse(s)
			if err != nil {
				t.Fatalf("Parse = %v", err)
			}
			if err := tok.Verify(ks); err != nil {
				t.Errorf("Verify = %v", err)
			}
			if err := tok.Claims.Validate(Validation{Now: now, Issuer: "https://issuer.example/id/1", Audiences: []string{"x", "sts.amazonaws.com"}}); err != nil {
				t.Errorf("Validate = %v", err)
			}
			// Through a JWKS document and back.
			b, err := MarshalKeySet(ks.Keys)
			if err != nil {
				t.Fatal(err)
			}
			ks2, err := ParseKeySet(b)
			if err != nil || len(ks2.Keys) != 2 {
				t.Fatalf("ParseKeySet(MarshalKeySet) = %v, %v", ks2, err)
			}
			if err := tok.Verify(ks2); err != nil {
				t.Errorf("Verify(round-tripped JWKS) = %v", err)
			}
			// Without a kid, every fitting key is tried.
			tok.Header.Kid = ""
			if err := tok.Verify(ks2); err != nil {
				t.Errorf("Verify(no kid) = %v", err)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	testKeys(t)
	now := time.Now()
	ks := &KeySet{Keys: []Key{{ID: "rsa", Public: rsaKey.Public()}, {ID: "ec", Public: ecKey.Public()}, {ID: "only-rs512", Algorithm: RS512, Public: rsaKey2.Public()}}}
	good := claimsAt(now)
	goodJSON, _ := json.Marshal(good)

	// HS256 with the RSA public key's DER as the HMAC secret: the algorithm-confusion attack.
	der, _ := x509.MarshalPKIXPublicKey(rsaKey.Public())
	hsSigned := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"rsa"}`)) + "." + base64.RawURLEncoding.EncodeToString(goodJSON)
	mac := hmac.New(sha256.New, der)
	mac.Write([]byte(hsSigned))
	hsToken := hsSigned + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	// A valid ES256 signature relabelled as ES384, an RS256 one as PS256.
	es := sign(t, good, ecKey, ES256, "ec")
	esParts := strings.Split(es, ".")
	relabelled := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES384","kid":"ec"}`)) + "." + esParts[1] + "." + esParts[2]
	rs := sign(t, good, rsaKey, RS256, "rsa")
	rsParts := strings.Split(rs, ".")
	asPSS := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"PS256","kid":"rsa"}`)) + "." + rsParts[1] + "." + rsParts[2]

	withClaims := func(mut func(m map[string]any)) string {
		m := claimsAt(now)
		mut(m)
		return sign(t, m, rsaKey, RS256, "rsa")
	}

	for _, tc := range []struct {
		name  string
		token string
		want  error
	}{
		{"none", raw(`{"alg":"none"}`, string(goodJSON), []byte{1}), ErrAlgorithm},
		{"none empty signature", raw(`{"alg":"none"}`, string(goodJSON), nil), ErrMalformed},
		{"None", raw(`{"alg":"None"}`, string(goodJSON), []byte{1}), ErrAlgorithm},
		{"HS256 with the public key as secret", hsToken, ErrAlgorithm},
		{"HS512", raw(`{"alg":"HS512"}`, string(goodJSON), []byte{1}), ErrAlgorithm},
		{"ES512", raw(`{"alg":"ES512"}`, string(goodJSON), []byte{1}), ErrAlgorithm},
		{"no alg", raw(`{"kid":"rsa"}`, string(goodJSON), []byte{1}), ErrAlgorithm},
		{"alg not a string", raw(`{"alg":1}`, string(goodJSON), []byte{1}), ErrMalformed},
		{"crit", raw(`{"alg":"RS256","crit":["exp"]}`, string(goodJSON), []byte{1}), ErrMalformed},
		{"duplicate alg", raw(`{"alg":"none","alg":"RS256"}`, string(goodJSON), []byte{1}), ErrMalformed},
		{"duplicate sub", raw(`{"alg":"RS256"}`, `{"sub":"a","sub":"b"}`, []byte{1}), ErrMalformed},
		{"wrong kid", strings.Replace(rs, rsParts[0], base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"nope"}`)), 1), ErrUnknownKey},
		{"kid of a key of another type", strings.Replace(rs, rsParts[0], base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"ec"}`)), 1), ErrUnknownKey},
		{"kid of a key bound to another alg", strings.Replace(rs, rsParts[0], base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"only-rs512"}`)), 1), ErrUnknownKey},
		{"ES256 relabelled ES384", relabelled, ErrUnknownKey},
		{"RS256 relabelled PS256", asPSS, ErrSignature},
		{"signed by another key", sign(t, good, rsaKey2, RS256, "rsa"), ErrSignature},
		{"truncated EC signature", esParts[0] + "." + esParts[1] + "." + base64.RawURLEncoding.EncodeToString(mustDecode(esParts[2])[:63]), ErrSignature},
		{"two parts", rsParts[0] + "." + rsParts[1], ErrMalformed},
		{"four parts", rs + ".x", ErrMalformed},
		{"padded base64", rsParts[0] + "=." + rsParts[1] + "." + rsParts[2], ErrMalformed},
		{"standard base64", rsParts[0] + "." + rsParts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(rsParts[2]) + "+/", ErrMalformed},
		{"header not JSON", raw(`alg`, string(goodJSON), []byte{1}), ErrMalformed},
		{"header a list", raw(`["RS256"]`, string(goodJSON), []byte{1}), ErrMalformed},
		{"claims not an object", raw(`{"alg":"RS256"}`, `"sub"`, []byte{1}), ErrMalformed},
		{"trailing data in claims", raw(`{"alg":"RS256"}`, `{}{}`, []byte{1}), ErrMalformed},
		{"aud a number", raw(`{"alg":"RS256"}`, `{"aud":1}`, []byte{1}), ErrMalformed},
		{"exp a string", raw(`{"alg":"RS256"}`, `{"exp":"1"}`, []byte{1}), ErrMalformed},
		{"exp negative", raw(`{"alg":"RS256"}`, `{"exp":-1}`, []byte{1}), ErrMalformed},
		{"exp huge", raw(`{"alg":"RS256"}`, `{"exp":1e300}`, []byte{1}), ErrMalformed},
		{"oversized", raw(`{"alg":"RS256"}`, `{"x":"`+strings.Repeat("a", MaxTokenSize)+`"}`, []byte{1}), ErrTooLarge},
		{"empty", "", ErrMalformed},
		{"expired", withClaims(func(m map[string]any) { m["exp"] = now.Add(-2 * time.Minute).Unix() }), ErrExpired},
		{"no exp", withClaims(func(m map[string]any) { delete(m, "exp") }), ErrClaims},
		{"not yet valid", withClaims(func(m map[string]any) { m["nbf"] = now.Add(2 * time.Minute).Unix() }), ErrNotYetValid},
		{"issued in the future", withClaims(func(m map[string]any) { m["iat"] = now.Add(2 * time.Minute).Unix() }), ErrNotYetValid},
		{"wrong aud", withClaims(func(m map[string]any) { m["aud"] = "sts.amazon.com" }), ErrAudience},
		{"no aud", withClaims(func(m map[string]any) { delete(m, "aud") }), ErrAudience},
		{"wrong iss", withClaims(func(m map[string]any) { m["iss"] = "https://evil.example/id/1" }), ErrIssuer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := check(tc.token, ks, now)
			if !errors.Is(err, tc.want) {
				t.Errorf("check = %v, want %v", err, tc.want)
			}
		})
	}
}

func mustDecode(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// check is the whole verification a relying party does.
func check(s string, ks *KeySet, now time.Time) error {
	tok, err := Parse(s)
	if err != nil {
		return err
	}
	if err := tok.Verify(ks); err != nil {
		return err
	}
	return tok.Claims.Validate(Validation{Now: now, Skew: time.Minute, Issuer: "https://issuer.example/id/1", Audiences: []string{"sts.amazonaws.com"}})
}

func TestSkew(t *testing.T) {
	t.Parallel()
	exp := time.Unix(2000000000, 0)
	c := Claims{Expiry: &exp}
	for _, tc := range []struct {
		now  time.Time
		skew time.Duration
		want error
	}{
		{exp.Add(-time.Second), 0, nil},
		{exp, 0, ErrExpired},
		{exp.Add(59 * time.Second), time.Minute, nil},
		{exp.Add(time.Minute), time.Minute, ErrExpired},
	} {
		if err := c.Validate(Validation{Now: tc.now, Skew: tc.skew}); !errors.Is(err, tc.want) && (err != nil || tc.want != nil) {
			t.Errorf("Validate(now=exp%+v, skew %v) = %v, want %v", tc.now.Sub(exp), tc.skew, err, tc.want)
		}
	}
	frac, err := Parse(raw(`{"alg":"RS256"}`, `{"exp":2000000000.5}`, []byte{1}))
	if err != nil || frac.Claims.Expiry.UnixMilli() != 2000000000500 {
		t.Errorf("Parse(fractional exp) = %v, %v", frac, err)
	}
}

func TestParseKeySet(t *testing.T) {
	t.Parallel()
	testKeys(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallSet, _ := MarshalKeySet([]Key{{ID: "small", Public: small.Public()}})
	ks, err := ParseKeySet(smallSet)
	if err != nil || len(ks.Keys) != 0 {
		t.Errorf("ParseKeySet(1024-bit RSA) = %v, %v, want no usable key", ks, err)
	}
	skipped := `{"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"},{"kty":"EC","crv":"P-521","x":"AA","y":"AA"},{"kty":"RSA","alg":"HS256","n":"AQAB","e":"AQAB"},{"kty":"OKP","crv":"Ed25519","x":"AA"}]}`
	if ks, err := ParseKeySet([]byte(skipped)); err != nil || len(ks.Keys) != 0 {
		t.Errorf("ParseKeySet(unusable keys) = %v, %v, want none and no error", ks, err)
	}
	for _, bad := range []string{
		``, `[]`, `{"keys":{}}`,
		`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1"}]}`, // off the curve
		`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`,
		`{"keys":[{"kty":"RSA","n":"","e":"AQAB"}]}`,
		`{"keys":[{"kty":"RSA","n":"AQAB","e":"AA"}]}`,
		`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB"}]}`,
		`{"keys":[{"kty":"RSA","kty":"EC"}]}`,
		`{"keys":[` + strings.Repeat(`{"kty":"oct"},`, MaxKeys) + `{"kty":"oct"}]}`,
	} {
		if _, err := ParseKeySet([]byte(bad)); !errors.Is(err, ErrKeySet) {
			t.Errorf("ParseKeySet(%.60q) = %v, want ErrKeySet", bad, err)
		}
	}
}

func TestThumbprintStable(t *testing.T) {
	t.Parallel()
	testKeys(t)
	a, err := Thumbprint(ecKey.Public())
	b, _ := Thumbprint(&ecKey.PublicKey)
	if err != nil || a != b || len(a) != 43 {
		t.Errorf("Thumbprint = %q, %q, %v", a, b, err)
	}
}

func TestSignRefusesMismatchedKeys(t *testing.T) {
	t.Parallel()
	testKeys(t)
	for _, tc := range []struct {
		alg string
		key crypto.Signer
	}{{ES256, rsaKey}, {RS256, ecKey}, {ES384, ecKey}, {"HS256", rsaKey}, {"none", ecKey}} {
		if _, err := Sign(map[string]any{}, tc.key, tc.alg, "", nil); err == nil {
			t.Errorf("Sign(%s with %T) = nil error", tc.alg, tc.key)
		}
	}
}

func FuzzParse(f *testing.F) {
	testKeys(f)
	now := time.Now()
	f.Add(rfcA2Token)
	f.Add(rfcA3Token)
	f.Add(sign(f, claimsAt(now), ecKey, ES256, "ec"))
	f.Add(raw(`{"alg":"none"}`, `{}`, nil))
	f.Add(raw(`{"alg":"RS256"}`, `{"aud":["a",1],"exp":1.5}`, []byte{1}))
	f.Add("a.b.c")
	ks := &KeySet{Keys: []Key{{ID: "ec", Public: ecKey.Public()}, {Public: rsaKey.Public()}}}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Parse(s)
		if err != nil {
			return
		}
		if !Allowed(tok.Header.Alg) {
			t.Fatalf("Parse accepted alg %q", tok.Header.Alg)
		}
		if tok.Verify(ks) == nil {
			tok.Claims.Validate(Validation{Now: now})
		}
	})
}

func FuzzParseKeySet(f *testing.F) {
	f.Add([]byte(rfcA2JWKS))
	f.Add([]byte(rfcA3JWKS))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ks, err := ParseKeySet(b)
		if err != nil {
			return
		}
		if _, err := MarshalKeySet(ks.Keys); err != nil {
			t.Fatalf("MarshalKeySet(parsed) = %v", err)
		}
	})
}

// The package is a pure core: standard library only.
func TestImportsOnlyStdlib(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if first, _, _ := strings.Cut(p, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s", name, p)
			}
		}
	}
}
