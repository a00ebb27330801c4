package jwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"
	"time"
)

// MaxTokenSize bounds a token, in bytes: STS accepts web identity tokens of up to 20000
// characters.
const MaxTokenSize = 20000

// Errors, for errors.Is. Returned errors wrap one of them with detail.
var (
	ErrTooLarge    = errors.New("jwt: token too large")
	ErrMalformed   = errors.New("jwt: malformed token")
	ErrAlgorithm   = errors.New("jwt: algorithm not allowed")
	ErrUnknownKey  = errors.New("jwt: no key for the token")
	ErrSignature   = errors.New("jwt: invalid signature")
	ErrExpired     = errors.New("jwt: token expired")
	ErrNotYetValid = errors.New("jwt: token not valid yet")
	ErrIssuer      = errors.New("jwt: wrong issuer")
	ErrAudience    = errors.New("jwt: wrong audience")
	ErrClaims      = errors.New("jwt: invalid claims")
)

// The allowed algorithms.
const (
	RS256 = "RS256"
	RS384 = "RS384"
	RS512 = "RS512"
	PS256 = "PS256"
	ES256 = "ES256"
	ES384 = "ES384"
)

// minRSABits is the smallest RSA modulus accepted.
const minRSABits = 2048

type algorithm struct {
	hash crypto.Hash
	kind string // "RSA", "PSS" or "EC"
	size int    // EC: bytes of each of r and s
	bits int    // EC: curve size
}

var algorithms = map[string]algorithm{
	RS256: {crypto.SHA256, "RSA", 0, 0},
	RS384: {crypto.SHA384, "RSA", 0, 0},
	RS512: {crypto.SHA512, "RSA", 0, 0},
	PS256: {crypto.SHA256, "PSS", 0, 0},
	ES256: {crypto.SHA256, "EC", 32, 256},
	ES384: {crypto.SHA384, "EC", 48, 384},
}

// Allowed reports whether alg is one of the allowed algorithms.
func Allowed(alg string) bool { _, ok := algorithms[alg]; return ok }

// fits reports whether pub can verify (or sign) with alg.
func (a algorithm) fits(pub crypto.PublicKey) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return (a.kind == "RSA" || a.kind == "PSS") && k.N.BitLen() >= minRSABits
	case *ecdsa.PublicKey:
		return a.kind == "EC" && k.Curve.Params().BitSize == a.bits
	}
	return false
}

// Header is a token's JOSE header.
type Header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
	Typ string `json:"typ,omitempty"`
}

// Token is a parsed token whose signature has not been checked yet.
type Token struct {
	Header Header
	Claims Claims

	signed []byte // header.payload, as received
	sig    []byte
}

// Claims are a token's registered claims (RFC 7519 §4.1) and the whole claims set.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string // "aud" as a string or a list
	Expiry    *time.Time
	NotBefore *time.Time
	IssuedAt  *time.Time
	// Raw holds every claim, registered ones included, as received.
	Raw map[string]json.RawMessage
}

// Parse checks a compact-serialized token's shape and algorithm and decodes its header and
// claims. It does not verify the signature (Verify does) nor the claims (Claims.Validate).
func Parse(s string) (*Token, error) {
	if len(s) > MaxTokenSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(s), MaxTokenSize)
	}
	i := strings.IndexByte(s, '.')
	j := strings.LastIndexByte(s, '.')
	if i < 0 || i == j || strings.Count(s, ".") != 2 {
		return nil, fmt.Errorf("%w: want three dot-separated parts", ErrMalformed)
	}
	hb, err := decodePart(s[:i])
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	pb, err := decodePart(s[i+1 : j])
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	sig, err := decodePart(s[j+1:])
	if err != nil || len(sig) == 0 {
		return nil, fmt.Errorf("%w: signature: not base64url", ErrMalformed)
	}
	hdr, err := objectOf(hb)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if _, ok := hdr["crit"]; ok {
		return nil, fmt.Errorf("%w: header: critical extensions are not supported", ErrMalformed)
	}
	t := &Token{signed: []byte(s[:j]), sig: sig}
	if err := stringField(hdr, "alg", &t.Header.Alg); err != nil {
		return nil, err
	}
	if err := stringField(hdr, "kid", &t.Header.Kid); err != nil {
		return nil, err
	}
	if err := stringField(hdr, "typ", &t.Header.Typ); err != nil {
		return nil, err
	}
	if !Allowed(t.Header.Alg) {
		return nil, fmt.Errorf("%w: %q", ErrAlgorithm, clip(t.Header.Alg))
	}
	if t.Claims, err = parseClaims(pb); err != nil {
		return nil, err
	}
	return t, nil
}

func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// decodePart decodes unpadded base64url, as JWS requires (padding is refused).
func decodePart(s string) ([]byte, error) {
	if strings.ContainsAny(s, "=+/") {
		return nil, errors.New("not unpadded base64url")
	}
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

// objectOf decodes one JSON object whose member names are unique (RFC 7515 §4 and RFC 7519
// §4 require parsers to refuse duplicates or take the last; refusing leaves no ambiguity).
func objectOf(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, errors.New("not a JSON object")
		}
		k, ok := kt.(string)
		if !ok {
			return nil, errors.New("not a JSON object")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, errors.New("not valid JSON")
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("member %q repeated", clip(k))
		}
		out[k] = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return out, nil
}

func stringField(m map[string]json.RawMessage, name string, dst *string) error {
	raw, ok := m[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%w: %q is not a string", ErrMalformed, name)
	}
	return nil
}

func parseClaims(b []byte) (Claims, error) {
	m, err := objectOf(b)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	c := Claims{Raw: m}
	if err := stringField(m, "iss", &c.Issuer); err != nil {
		return Claims{}, err
	}
	if err := stringField(m, "sub", &c.Subject); err != nil {
		return Claims{}, err
	}
	if raw, ok := m["aud"]; ok {
		var one string
		if json.Unmarshal(raw, &one) == nil {
			c.Audience = []string{one}
		} else if err := json.Unmarshal(raw, &c.Audience); err != nil {
			return Claims{}, fmt.Errorf("%w: \"aud\" is neither a string nor a list of strings", ErrMalformed)
		}
	}
	for _, f := range []struct {
		name string
		dst  **time.Time
	}{{"exp", &c.Expiry}, {"nbf", &c.NotBefore}, {"iat", &c.IssuedAt}} {
		raw, ok := m[f.name]
		if !ok {
			continue
		}
		t, err := numericDate(raw)
		if err != nil {
			return Claims{}, fmt.Errorf("%w: %q: %v", ErrMalformed, f.name, err)
		}
		*f.dst = &t
	}
	return c, nil
}

// numericDate decodes a NumericDate: seconds since the epoch, possibly fractional.
func numericDate(raw json.RawMessage) (time.Time, error) {
	var n json.Number
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &n) != nil {
		return time.Time{}, errors.New("not a number")
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || f < 0 || f > 1e11 {
		return time.Time{}, errors.New("not a date")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// Verify checks the token's signature with the key of ks its header names.
func (t *Token) Verify(ks *KeySet) error {
	a := algorithms[t.Header.Alg] // Parse allowed it
	var candidates []*Key
	if ks != nil {
		for i := range ks.Keys {
			k := &ks.Keys[i]
			if t.Header.Kid != "" && k.ID != t.Header.Kid {
				continue
			}
			if k.Algorithm != "" && k.Algorithm != t.Header.Alg {
				continue
			}
			if a.fits(k.Public) {
				candidates = append(candidates, k)
			}
		}
	}
	if len(candidates) == 0 {
		if t.Header.Kid != "" {
			return fmt.Errorf("%w: no %s key with kid %q", ErrUnknownKey, t.Header.Alg, clip(t.Header.Kid))
		}
		return fmt.Errorf("%w: no %s key", ErrUnknownKey, t.Header.Alg)
	}
	h := a.hash.New()
	h.Write(t.signed)
	digest := h.Sum(nil)
	for _, k := range candidates {
		if verify(a, k.Public, digest, t.sig) {
			return nil
		}
	}
	return ErrSignature
}

func verify(a algorithm, pub crypto.PublicKey, digest, sig []byte) bool {
	switch a.kind {
	case "RSA":
		return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), a.hash, digest, sig) == nil
	case "PSS":
		return rsa.VerifyPSS(pub.(*rsa.PublicKey), a.hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: a.hash}) == nil
	case "EC":
		if len(sig) != 2*a.size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:a.size])
		s := new(big.Int).SetBytes(sig[a.size:])
		return ecdsa.Verify(pub.(*ecdsa.PublicKey), digest, r, s)
	}
	return false
}

// Validation says what Claims.Validate requires.
type Validation struct {
	// Now is the time to validate at. Required.
	Now time.Time
	// Skew is the clock difference tolerated for "exp", "nbf" and "iat".
	Skew time.Duration
	// Issuer, if not empty, must equal "iss".
	Issuer string
	// Audiences, if not empty: one of "aud" must be one of them.
	Audiences []string
}

// Validate checks the time claims ("exp" is required) and, as v asks, the issuer and the
// audience. The errors wrap ErrExpired, ErrNotYetValid, ErrIssuer, ErrAudience or ErrClaims.
func (c *Claims) Validate(v Validation) error {
	if c.Expiry == nil {
		return fmt.Errorf("%w: no \"exp\"", ErrClaims)
	}
	if !v.Now.Before(c.Expiry.Add(v.Skew)) {
		return fmt.Errorf("%w: at %d, expired at %d", ErrExpired, v.Now.Unix(), c.Expiry.Unix())
	}
	if c.NotBefore != nil && v.Now.Add(v.Skew).Before(*c.NotBefore) {
		return fmt.Errorf("%w: at %d, valid from %d", ErrNotYetValid, v.Now.Unix(), c.NotBefore.Unix())
	}
	if c.IssuedAt != nil && v.Now.Add(v.Skew).Before(*c.IssuedAt) {
		return fmt.Errorf("%w: at %d, issued at %d", ErrNotYetValid, v.Now.Unix(), c.IssuedAt.Unix())
	}
	if v.Issuer != "" && c.Issuer != v.Issuer {
		return fmt.Errorf("%w: %q", ErrIssuer, clip(c.Issuer))
	}
	if len(v.Audiences) > 0 && c.MatchAudience(v.Audiences) == "" {
		return ErrAudience
	}
	return nil
}

// MatchAudience returns the first of the token's audiences that is in want, or "".
func (c *Claims) MatchAudience(want []string) string {
	for _, a := range c.Audience {
		for _, w := range want {
			if a == w {
				return a
			}
		}
	}
	return ""
}

// Sign returns the compact serialization of claims signed by key with alg (which must fit
// the key: RS*/PS256 for RSA, ES256/ES384 for ECDSA on P-256/P-384), with kid in the header
// if not empty. rand is the randomness of ECDSA and PSS; nil means crypto/rand.
func Sign(claims any, key crypto.Signer, alg, kid string, rand io.Reader) (string, error) {
	a, ok := algorithms[alg]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrAlgorithm, alg)
	}
	if !a.fits(key.Public()) {
		return "", fmt.Errorf("jwt: sign: %s does not fit a %T", alg, key.Public())
	}
	hb, err := json.Marshal(Header{Alg: alg, Kid: kid, Typ: "JWT"})
	if err != nil {
		return "", err
	}
	pb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(hb) + "." + enc.EncodeToString(pb)
	var digest []byte
	switch a.hash {
	case crypto.SHA256:
		s := sha256.Sum256([]byte(signed))
		digest = s[:]
	case crypto.SHA384:
		s := sha512.Sum384([]byte(signed))
		digest = s[:]
	case crypto.SHA512:
		s := sha512.Sum512([]byte(signed))
		digest = s[:]
	}
	if rand == nil {
		rand = cryptoRand
	}
	var sig []byte
	switch a.kind {
	case "RSA":
		sig, err = key.Sign(rand, digest, a.hash)
	case "PSS":
		sig, err = key.Sign(rand, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: a.hash})
	case "EC":
		ek, ok := key.(*ecdsa.PrivateKey)
		if !ok {
			return "", fmt.Errorf("jwt: sign: %s needs an *ecdsa.PrivateKey", alg)
		}
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand, ek, digest)
		if err == nil {
			sig = make([]byte, 2*a.size)
			r.FillBytes(sig[:a.size])
			s.FillBytes(sig[a.size:])
		}
	}
	if err != nil {
		return "", fmt.Errorf("jwt: sign: %w", err)
	}
	return signed + "." + enc.EncodeToString(sig), nil
}
