package jwt

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

var cryptoRand = cryptorand.Reader

// MaxKeys bounds the keys of a key set.
const MaxKeys = 100

// ErrKeySet is wrapped by every error of ParseKeySet.
var ErrKeySet = errors.New("jwt: invalid key set")

// Key is a public verification key.
type Key struct {
	ID string // "kid"
	// Algorithm, if not empty, is the only algorithm the key verifies ("alg").
	Algorithm string
	// Public is an *rsa.PublicKey or an *ecdsa.PublicKey.
	Public crypto.PublicKey
}

// KeySet is a JSON Web Key Set's usable keys.
type KeySet struct {
	Keys []Key
}

type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use,omitempty"`
	Kid string `json:"kid,omitempty"`
	Alg string `json:"alg,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// ParseKeySet decodes a JWK Set document ({"keys":[…]}). Keys that cannot verify an allowed
// algorithm — another "kty" or curve, "use" other than "sig", an "alg" not allowed, RSA
// below 2048 bits — are skipped, as RFC 7517 §5 lets a reader ignore keys it does not
// understand; malformed members of usable keys, private key members and more than MaxKeys
// keys are errors.
func ParseKeySet(b []byte) (*KeySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object with \"keys\"", ErrKeySet)
	}
	if len(doc.Keys) > MaxKeys {
		return nil, fmt.Errorf("%w: %d keys, at most %d", ErrKeySet, len(doc.Keys), MaxKeys)
	}
	ks := &KeySet{}
	for i, raw := range doc.Keys {
		m, err := objectOf(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: %v", ErrKeySet, i, err)
		}
		if _, ok := m["d"]; ok {
			return nil, fmt.Errorf("%w: key %d: holds a private key", ErrKeySet, i)
		}
		var k jwk
		if err := json.Unmarshal(raw, &k); err != nil {
			return nil, fmt.Errorf("%w: key %d: %v", ErrKeySet, i, err)
		}
		if k.Use != "" && k.Use != "sig" || k.Alg != "" && !Allowed(k.Alg) {
			continue
		}
		var pub crypto.PublicKey
		switch k.Kty {
		case "RSA":
			n, err1 := decodeBig(k.N)
			e, err2 := decodeBig(k.E)
			if err1 != nil || err2 != nil || n.Sign() <= 0 || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || e.Bit(0) == 0 {
				return nil, fmt.Errorf("%w: key %d: bad RSA modulus or exponent", ErrKeySet, i)
			}
			if n.BitLen() < minRSABits {
				continue
			}
			pub = &rsa.PublicKey{N: n, E: int(e.Int64())}
		case "EC":
			var curve elliptic.Curve
			var size int
			switch k.Crv {
			case "P-256":
				curve, size = elliptic.P256(), 32
			case "P-384":
				curve, size = elliptic.P384(), 48
			default:
				continue
			}
			x, err1 := decodeFixed(k.X, size)
			y, err2 := decodeFixed(k.Y, size)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("%w: key %d: bad EC coordinates", ErrKeySet, i)
			}
			p, err := ecdsaPublic(curve, x, y)
			if err != nil {
				return nil, fmt.Errorf("%w: key %d: %v", ErrKeySet, i, err)
			}
			pub = p
		default:
			continue
		}
		ks.Keys = append(ks.Keys, Key{ID: k.Kid, Algorithm: k.Alg, Public: pub})
	}
	return ks, nil
}

// ecdsaPublic builds a public key from coordinates after checking the point is on the
// curve (via crypto/ecdh, which validates uncompressed points).
func ecdsaPublic(curve elliptic.Curve, x, y []byte) (*ecdsa.PublicKey, error) {
	point := append(append([]byte{4}, x...), y...)
	var ec ecdh.Curve
	switch curve {
	case elliptic.P256():
		ec = ecdh.P256()
	case elliptic.P384():
		ec = ecdh.P384()
	}
	if _, err := ec.NewPublicKey(point); err != nil {
		return nil, errors.New("point not on the curve")
	}
	return &ecdsa.PublicKey{Curve: curve, X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}, nil
}

func decodeBig(s string) (*big.Int, error) {
	b, err := decodePart(s)
	if err != nil || len(b) == 0 {
		return nil, errors.New("bad integer")
	}
	return new(big.Int).SetBytes(b), nil
}

func decodeFixed(s string, n int) ([]byte, error) {
	b, err := decodePart(s)
	if err != nil || len(b) != n {
		return nil, errors.New("bad coordinate")
	}
	return b, nil
}

// MarshalKeySet encodes keys as a JWK Set with "use":"sig".
func MarshalKeySet(keys []Key) ([]byte, error) {
	out := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	enc := base64.RawURLEncoding
	for _, k := range keys {
		j := jwk{Use: "sig", Kid: k.ID, Alg: k.Algorithm}
		switch p := k.Public.(type) {
		case *rsa.PublicKey:
			j.Kty = "RSA"
			j.N = enc.EncodeToString(p.N.Bytes())
			j.E = enc.EncodeToString(big.NewInt(int64(p.E)).Bytes())
		case *ecdsa.PublicKey:
			size := (p.Curve.Params().BitSize + 7) / 8
			j.Kty, j.Crv = "EC", p.Curve.Params().Name
			x, y := make([]byte, size), make([]byte, size)
			p.X.FillBytes(x)
			p.Y.FillBytes(y)
			j.X, j.Y = enc.EncodeToString(x), enc.EncodeToString(y)
		default:
			return nil, fmt.Errorf("jwt: cannot encode a %T", k.Public)
		}
		out.Keys = append(out.Keys, j)
	}
	return json.Marshal(out)
}

// Thumbprint returns the RFC 7638 thumbprint of an RSA or ECDSA public key (SHA-256,
// base64url), a stable key ID.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	enc := base64.RawURLEncoding
	var s string
	switch p := pub.(type) {
	case *rsa.PublicKey:
		s = `{"e":"` + enc.EncodeToString(big.NewInt(int64(p.E)).Bytes()) + `","kty":"RSA","n":"` + enc.EncodeToString(p.N.Bytes()) + `"}`
	case *ecdsa.PublicKey:
		size := (p.Curve.Params().BitSize + 7) / 8
		x, y := make([]byte, size), make([]byte, size)
		p.X.FillBytes(x)
		p.Y.FillBytes(y)
		s = `{"crv":"` + p.Curve.Params().Name + `","kty":"EC","x":"` + enc.EncodeToString(x) + `","y":"` + enc.EncodeToString(y) + `"}`
	default:
		return "", fmt.Errorf("jwt: cannot take the thumbprint of a %T", pub)
	}
	sum := sha256.Sum256([]byte(s))
	return enc.EncodeToString(sum[:]), nil
}
