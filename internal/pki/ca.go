package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"time"
	"unicode/utf8"
)

// Skew is how far before "now" a certificate's NotBefore is set, so that a
// peer whose clock runs a little behind still accepts it.
const Skew = 5 * time.Minute

// Errors returned by this package. Detail is wrapped with %w.
var (
	ErrBadPEM      = errors.New("pki: bad PEM")
	ErrKeyMismatch = errors.New("pki: private key does not match certificate")
	ErrNotCA       = errors.New("pki: certificate is not a CA")
	ErrExpired     = errors.New("pki: CA certificate is not valid now")
	ErrBadName     = errors.New("pki: invalid user name")
)

// A CA is a self-signed certificate authority with an ECDSA P-256 key (any
// crypto.Signer when loaded with LoadCA). It is safe for concurrent use once
// its exported fields are set; set them before first use.
type CA struct {
	// Rand is the source of serial numbers and signatures. If nil,
	// crypto/rand.Reader. (Since Go 1.26 key generation always uses the
	// system's secure source; use testing/cryptotest for deterministic keys.)
	Rand io.Reader

	// Now returns the current time for certificate validity. If nil,
	// time.Now. Tests inject a clock here.
	Now func() time.Time

	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

// NewCA creates a self-signed CA named commonName, valid from now (less Skew)
// for validity. If rand is nil, crypto/rand.Reader is used; the returned CA
// keeps rand as its Rand. Its Now is nil (time.Now).
func NewCA(commonName string, validity time.Duration, rand io.Reader, now time.Time) (*CA, error) {
	if commonName == "" {
		return nil, errors.New("pki: empty CA common name")
	}
	if validity <= 0 {
		return nil, errors.New("pki: CA validity must be positive")
	}
	ca := &CA{Rand: rand}
	key, err := ecdsa.GenerateKey(elliptic.P256(), ca.rand())
	if err != nil {
		return nil, fmt.Errorf("pki: generate CA key: %w", err)
	}
	serial, err := ca.serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-Skew),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(ca.rand(), tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pki: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse CA certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: marshal CA key: %w", err)
	}
	ca.cert = cert
	ca.key = key
	ca.certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	ca.keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return ca, nil
}

// LoadCA parses a CA from the PEM forms written by CertPEM and KeyPEM. The
// key may be PKCS#8 ("PRIVATE KEY"), SEC 1 ("EC PRIVATE KEY") or PKCS#1
// ("RSA PRIVATE KEY"); it must match the certificate, which must be a CA
// (basic constraints, and keyCertSign if it has a key usage).
// The first CERTIFICATE block is used; other block types are skipped.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	certDER, err := firstBlock(certPEM, "CERTIFICATE")
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %w", ErrBadPEM, err)
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %w", ErrBadPEM, err)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA ||
		cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, ErrNotCA
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: key: %w", ErrBadPEM, err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, ErrKeyMismatch
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: marshal CA key: %w", err)
	}
	return &CA{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

func firstBlock(data []byte, typ string) ([]byte, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("no %s block", typ)
		}
		if b.Type == typ {
			return b.Bytes, nil
		}
	}
}

func parseKey(data []byte) (crypto.Signer, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no private key block")
		}
		var k any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported key type %T", k)
		}
		return s, nil
	}
}

// Certificate returns the CA certificate. It must not be modified.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertPEM returns the CA certificate in PEM form (public; 0644 is fine).
func (ca *CA) CertPEM() []byte { return clone(ca.certPEM) }

// KeyPEM returns the CA private key as PKCS#8 PEM. It is a secret: the caller
// writes it with mode 0600 and never logs it.
func (ca *CA) KeyPEM() []byte { return clone(ca.keyPEM) }

// Pool returns a new pool holding only the CA certificate, for
// tls.Config.RootCAs (clients verifying servers) or ClientCAs (servers
// verifying clients). The caller may modify it.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// ServerCert mints a TLS server certificate for hosts, each of which becomes
// a SAN: an IP address SAN if it parses as one, a DNS name otherwise. The
// first host is also the Subject CN. It is valid from now less Skew for
// validity (capped at the CA's expiry).
func (ca *CA) ServerCert(hosts []string, validity time.Duration) (tls.Certificate, error) {
	if len(hosts) == 0 {
		return tls.Certificate{}, errors.New("pki: server certificate needs at least one host")
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: hosts[0]},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return ca.issue(tmpl, validity)
}

// ClientCert mints a TLS client certificate whose Subject is exactly
// CN=user, for PostgreSQL "cert" authentication and MariaDB/MySQL
// REQUIRE SUBJECT '/CN=user'. It is valid from now less Skew until now plus
// ttl (capped at the CA's expiry). The user must be non-empty valid UTF-8
// without NUL bytes (PostgreSQL rejects a CN with an embedded NUL).
func (ca *CA) ClientCert(user string, ttl time.Duration) (tls.Certificate, error) {
	if user == "" || !utf8.ValidString(user) || strings.IndexByte(user, 0) >= 0 {
		return tls.Certificate{}, ErrBadName
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: user},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return ca.issue(tmpl, ttl)
}

func (ca *CA) issue(tmpl *x509.Certificate, validity time.Duration) (tls.Certificate, error) {
	if validity <= 0 {
		return tls.Certificate{}, errors.New("pki: validity must be positive")
	}
	now := ca.now()
	if now.Before(ca.cert.NotBefore) || !now.Before(ca.cert.NotAfter) {
		return tls.Certificate{}, ErrExpired
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), ca.rand())
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: generate key: %w", err)
	}
	serial, err := ca.serial()
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-Skew)
	tmpl.NotAfter = now.Add(validity)
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	tmpl.BasicConstraintsValid = true
	der, err := x509.CreateCertificate(ca.rand(), tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: parse certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

func (ca *CA) serial() (*big.Int, error) {
	n, err := rand.Int(ca.rand(), new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("pki: serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

func (ca *CA) rand() io.Reader {
	if ca.Rand != nil {
		return ca.Rand
	}
	return rand.Reader
}

func (ca *CA) now() time.Time {
	if ca.Now != nil {
		return ca.Now()
	}
	return time.Now()
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
