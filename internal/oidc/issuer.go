package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/iamdb/iamdb/internal/jwt"
)

// Files of an issuer directory.
const (
	keyFile    = "signing-key.pem" // PKCS #8, ES256 (P-256), mode 0600
	issuerFile = "issuer"          // the issuer URL, one line
)

// TagsClaim is the claim AWS reads session tags from.
const TagsClaim = "https://aws.amazon.com/tags"

// Issuer is a small OIDC issuer with one ES256 key. It is safe for concurrent use.
type Issuer struct {
	url string
	key crypto.Signer
	kid string
	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// OpenIssuer returns the issuer whose key is in dir, creating dir and a new key if there is
// none. issuerURL is the issuer's URL ("iss"); if empty, the one saved in dir by
// SaveURL. An issuer URL needs no https:// for signing, but only https:// issuers (or
// loopback http:// ones with KeyCacheConfig.AllowInsecureLoopback) can be verified.
func OpenIssuer(dir, issuerURL string) (*Issuer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	return openIssuer(dir, issuerURL, true)
}

// LoadIssuer is OpenIssuer for a directory that must hold a key already: signing with a
// new key nobody publishes would only make tokens nobody accepts.
func LoadIssuer(dir, issuerURL string) (*Issuer, error) {
	return openIssuer(dir, issuerURL, false)
}

func openIssuer(dir, issuerURL string, create bool) (*Issuer, error) {
	path := filepath.Join(dir, keyFile)
	if !create {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("oidc: no signing key in %s (run iamdb oidc serve --dir %s first): %w", dir, dir, err)
		}
	}
	key, err := loadOrCreateKey(path)
	if err != nil {
		return nil, err
	}
	if issuerURL == "" {
		b, err := os.ReadFile(filepath.Join(dir, issuerFile))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("oidc: no issuer URL: give one, or run iamdb oidc serve on %s first", dir)
		}
		if err != nil {
			return nil, fmt.Errorf("oidc: %w", err)
		}
		issuerURL = strings.TrimSpace(string(b))
	}
	if err := checkIssuerURL(issuerURL); err != nil {
		return nil, err
	}
	kid, err := jwt.Thumbprint(key.Public())
	if err != nil {
		return nil, err
	}
	return &Issuer{url: strings.TrimSuffix(issuerURL, "/"), key: key, kid: kid}, nil
}

func checkIssuerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("oidc: issuer URL %q: want https://host[/path] (or http:// for loopback tests)", s)
	}
	return nil
}

// SaveURL records the issuer's URL in dir, for later OpenIssuer calls without one.
func (is *Issuer) SaveURL(dir string) error {
	tmp := filepath.Join(dir, issuerFile+".tmp")
	if err := os.WriteFile(tmp, []byte(is.url+"\n"), 0o600); err != nil {
		return fmt.Errorf("oidc: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, issuerFile)); err != nil {
		return fmt.Errorf("oidc: %w", err)
	}
	return nil
}

// WithURL returns a copy of the issuer with another URL (once the listener's address is
// known).
func (is *Issuer) WithURL(u string) (*Issuer, error) {
	if err := checkIssuerURL(u); err != nil {
		return nil, err
	}
	c := *is
	c.url = strings.TrimSuffix(u, "/")
	return &c, nil
}

// URL is the issuer URL, without a trailing slash.
func (is *Issuer) URL() string { return is.url }

// KeyID is the key's "kid", its RFC 7638 thumbprint.
func (is *Issuer) KeyID() string { return is.kid }

func loadOrCreateKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return loadOrCreateKey(path) // another process won the race
		}
		if err != nil {
			return nil, fmt.Errorf("oidc: %w", err)
		}
		werr := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(path)
			return nil, fmt.Errorf("oidc: write %s: %w", path, werr)
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("oidc: %s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("oidc: %s: %w", path, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, fmt.Errorf("oidc: %s: want an ECDSA P-256 key", path)
	}
	return ek, nil
}

// Discovery is the issuer's /.well-known/openid-configuration document.
func (is *Issuer) Discovery() map[string]any {
	return map[string]any{
		"issuer":                                is.url,
		"jwks_uri":                              is.url + "/keys",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{jwt.ES256},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf", TagsClaim},
	}
}

// JWKS is the issuer's key set document.
func (is *Issuer) JWKS() ([]byte, error) {
	return jwt.MarshalKeySet([]jwt.Key{{ID: is.kid, Algorithm: jwt.ES256, Public: is.key.Public()}})
}

// Handler serves GET /.well-known/openid-configuration and GET /keys under the issuer
// URL's path.
func (is *Issuer) Handler() http.Handler {
	prefix := ""
	if u, err := url.Parse(is.url); err == nil {
		prefix = strings.TrimSuffix(u.Path, "/")
	}
	disc, _ := json.Marshal(is.Discovery())
	keys, _ := is.JWKS()
	mux := http.NewServeMux()
	serve := func(b []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "public, max-age=300")
			w.Write(b)
		}
	}
	mux.Handle("GET "+prefix+"/.well-known/openid-configuration", serve(disc))
	mux.Handle("GET "+prefix+"/keys", serve(keys))
	return mux
}

// TokenSpec says what a token claims.
type TokenSpec struct {
	// Subject is "sub", for example "system:serviceaccount:NAMESPACE:NAME". Required.
	Subject string
	// Audience is "aud". If empty, ["sts.amazonaws.com"].
	Audience []string
	// TTL is the token's lifetime. If zero, one hour. At most 24 hours.
	TTL time.Duration
	// Tags become session tags through the https://aws.amazon.com/tags claim; the keys in
	// TransitiveTagKeys (which must be tags) pass to chained sessions.
	Tags              map[string]string
	TransitiveTagKeys []string
}

// Token returns a signed token shaped like a Kubernetes projected service-account token:
// iss, sub, aud (a list), iat, nbf, exp, and for subjects "system:serviceaccount:NS:NAME"
// the "kubernetes.io" claim naming the namespace and service account.
func (is *Issuer) Token(spec TokenSpec) (string, error) {
	return is.token(spec, rand.Reader)
}

func (is *Issuer) token(spec TokenSpec, r io.Reader) (string, error) {
	if spec.Subject == "" {
		return "", errors.New("oidc: token: no subject")
	}
	if spec.TTL == 0 {
		spec.TTL = time.Hour
	}
	if spec.TTL < 0 || spec.TTL > 24*time.Hour {
		return "", fmt.Errorf("oidc: token: lifetime %v: want up to 24h", spec.TTL)
	}
	aud := spec.Audience
	if len(aud) == 0 {
		aud = []string{"sts.amazonaws.com"}
	}
	now := time.Now
	if is.Now != nil {
		now = is.Now
	}
	t := now().Truncate(time.Second)
	claims := map[string]any{
		"iss": is.url, "sub": spec.Subject, "aud": aud,
		"iat": t.Unix(), "nbf": t.Unix(), "exp": t.Add(spec.TTL).Unix(),
	}
	if rest, ok := strings.CutPrefix(spec.Subject, "system:serviceaccount:"); ok {
		if ns, name, ok := strings.Cut(rest, ":"); ok && ns != "" && name != "" {
			claims["kubernetes.io"] = map[string]any{"namespace": ns, "serviceaccount": map[string]string{"name": name}}
		}
	}
	if len(spec.Tags) > 0 || len(spec.TransitiveTagKeys) > 0 {
		pt := map[string][]string{}
		for k, v := range spec.Tags {
			pt[k] = []string{v}
		}
		for _, k := range spec.TransitiveTagKeys {
			if _, ok := spec.Tags[k]; !ok {
				return "", fmt.Errorf("oidc: token: transitive tag key %q is not a tag", k)
			}
		}
		tk := append([]string(nil), spec.TransitiveTagKeys...)
		sort.Strings(tk)
		tags := map[string]any{"principal_tags": pt}
		if len(tk) > 0 {
			tags["transitive_tag_keys"] = tk
		}
		claims[TagsClaim] = tags
	}
	return jwt.Sign(claims, is.key, jwt.ES256, is.kid, r)
}
