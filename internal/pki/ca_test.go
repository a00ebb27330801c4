package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newCA(t testing.TB) *CA {
	t.Helper()
	ca, err := NewCA("iamdb test CA", 24*time.Hour, nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	ca.Now = func() time.Time { return t0 }
	return ca
}

func verify(cert tls.Certificate, ca *CA, usage x509.ExtKeyUsage, name string) error {
	_, err := cert.Leaf.Verify(x509.VerifyOptions{
		DNSName:     name,
		Roots:       ca.Pool(),
		CurrentTime: t0,
		KeyUsages:   []x509.ExtKeyUsage{usage},
	})
	return err
}

func TestNewCA(t *testing.T) {
	ca := newCA(t)
	c := ca.Certificate()
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("CA basic constraints: IsCA=%v valid=%v maxPathLen=%d", c.IsCA, c.BasicConstraintsValid, c.MaxPathLen)
	}
	if c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA KeyUsage = %v, want CertSign", c.KeyUsage)
	}
	if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key = %T, want ECDSA P-256", c.PublicKey)
	}
	if c.Subject.CommonName != "iamdb test CA" {
		t.Errorf("CA CN = %q", c.Subject.CommonName)
	}
	if !c.NotBefore.Equal(t0.Add(-Skew)) || !c.NotAfter.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("CA validity = %v..%v", c.NotBefore, c.NotAfter)
	}
	if b, _ := pem.Decode(ca.KeyPEM()); b == nil || b.Type != "PRIVATE KEY" {
		t.Errorf("KeyPEM is not a PKCS#8 PEM block")
	}
	for _, tc := range []struct {
		name     string
		cn       string
		validity time.Duration
	}{{"empty name", "", time.Hour}, {"zero validity", "x", 0}, {"negative validity", "x", -time.Hour}} {
		if _, err := NewCA(tc.cn, tc.validity, nil, t0); err == nil {
			t.Errorf("NewCA(%q, %v) = nil error, want error", tc.cn, tc.validity)
		}
	}
}

func TestServerCert(t *testing.T) {
	ca := newCA(t)
	cert, err := ca.ServerCert([]string{"localhost", "127.0.0.1", "db.example.test", "::1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost", "127.0.0.1", "db.example.test", "::1"} {
		if err := verify(cert, ca, x509.ExtKeyUsageServerAuth, name); err != nil {
			t.Errorf("Verify(server, %q) = %v, want nil", name, err)
		}
	}
	if err := verify(cert, ca, x509.ExtKeyUsageServerAuth, "other.test"); err == nil {
		t.Errorf("Verify(server, other.test) = nil, want error")
	}
	if err := verify(cert, ca, x509.ExtKeyUsageClientAuth, "localhost"); err == nil {
		t.Errorf("Verify(server cert as client) = nil, want error")
	}
	if got := len(cert.Leaf.IPAddresses); got != 2 {
		t.Errorf("IP SANs = %v, want 2", cert.Leaf.IPAddresses)
	}
	if _, err := ca.ServerCert(nil, time.Hour); err == nil {
		t.Errorf("ServerCert(nil) = nil error, want error")
	}
	other := newCA(t)
	if err := verify(cert, other, x509.ExtKeyUsageServerAuth, "localhost"); err == nil {
		t.Errorf("Verify(against another CA) = nil, want error")
	}
}

func TestClientCertSubject(t *testing.T) {
	ca := newCA(t)
	users := []string{
		"iam_user",
		"jane.doe+ops@corp",
		"Jöhn Dœ ünïcødé 用户",
		`o'brien`,
		`say "hi"`,
		`back\slash`,
		"CN=evil,O=x",
		"/CN=evil",
		"  spaces  ",
		strings.Repeat("a", 63),
	}
	for _, u := range users {
		t.Run(u, func(t *testing.T) {
			cert, err := ca.ClientCert(u, time.Hour)
			if err != nil {
				t.Fatalf("ClientCert(%q) = %v", u, err)
			}
			leaf := cert.Leaf
			if leaf.Subject.CommonName != u {
				t.Errorf("CN = %q, want %q", leaf.Subject.CommonName, u)
			}
			// The Subject holds exactly one attribute, CN, so that MariaDB's
			// REQUIRE SUBJECT '/CN=u' matches.
			var rdns pkix.RDNSequence
			if _, err := asn1.Unmarshal(leaf.RawSubject, &rdns); err != nil {
				t.Fatal(err)
			}
			if len(rdns) != 1 || len(rdns[0]) != 1 || !rdns[0][0].Type.Equal(asn1.ObjectIdentifier{2, 5, 4, 3}) || rdns[0][0].Value != u {
				t.Errorf("Subject = %v, want exactly CN=%q", rdns, u)
			}
			if err := verify(cert, ca, x509.ExtKeyUsageClientAuth, ""); err != nil {
				t.Errorf("Verify(client) = %v, want nil", err)
			}
			if err := verify(cert, ca, x509.ExtKeyUsageServerAuth, ""); err == nil {
				t.Errorf("Verify(client cert as server) = nil, want error")
			}
		})
	}
}

func TestClientCertBadName(t *testing.T) {
	ca := newCA(t)
	for _, u := range []string{"", "a\x00b", "\xff\xfe"} {
		if _, err := ca.ClientCert(u, time.Hour); !errors.Is(err, ErrBadName) {
			t.Errorf("ClientCert(%q) = %v, want ErrBadName", u, err)
		}
	}
	if _, err := ca.ClientCert("u", 0); err == nil {
		t.Errorf("ClientCert(ttl 0) = nil error, want error")
	}
}

func TestClientCertValidity(t *testing.T) {
	ca := newCA(t)
	now := t0.Add(3 * time.Hour)
	ca.Now = func() time.Time { return now }
	cert, err := ca.ClientCert("u", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cert.Leaf.NotBefore, now.Add(-Skew); !got.Equal(want) {
		t.Errorf("NotBefore = %v, want %v", got, want)
	}
	if got, want := cert.Leaf.NotAfter, now.Add(15*time.Minute); !got.Equal(want) {
		t.Errorf("NotAfter = %v, want %v", got, want)
	}

	// Capped at the CA's expiry.
	cert, err = ca.ClientCert("u", 100*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cert.Leaf.NotAfter, ca.Certificate().NotAfter; !got.Equal(want) {
		t.Errorf("NotAfter = %v, want CA's %v", got, want)
	}

	// An expired CA mints nothing.
	now = t0.Add(25 * time.Hour)
	if _, err := ca.ClientCert("u", time.Hour); !errors.Is(err, ErrExpired) {
		t.Errorf("ClientCert after CA expiry = %v, want ErrExpired", err)
	}
}

// TestHandshake runs a mutual-TLS handshake with a server certificate and a
// client certificate minted by the CA, as a backend and the gateway would.
func TestHandshake(t *testing.T) {
	// Real time: the handshake checks validity against time.Now.
	ca, err := NewCA("iamdb test CA", time.Hour, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ca2, err := NewCA("other CA", time.Hour, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.ServerCert([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		issuer *CA
		ok     bool
	}{{"same CA", ca, true}, {"other CA", ca2, false}} {
		t.Run(tc.name, func(t *testing.T) {
			cli, err := tc.issuer.ClientCert("jane.doe+ops@corp", time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			c1, c2 := net.Pipe()
			defer c1.Close()
			defer c2.Close()
			errc := make(chan error, 1)
			var peerCN string
			go func() {
				s := tls.Server(c2, &tls.Config{
					Certificates: []tls.Certificate{srv},
					ClientAuth:   tls.RequireAndVerifyClientCert,
					ClientCAs:    ca.Pool(),
				})
				err := s.Handshake()
				if err == nil {
					peerCN = s.ConnectionState().PeerCertificates[0].Subject.CommonName
				}
				s.Close()
				errc <- err
			}()
			c := tls.Client(c1, &tls.Config{
				ServerName:   "localhost",
				RootCAs:      ca.Pool(),
				Certificates: []tls.Certificate{cli},
			})
			cerr := c.Handshake()
			if cerr == nil {
				// TLS 1.3: the server's verdict on the client certificate
				// arrives with the first read.
				_, cerr = c.Read(make([]byte, 1))
				if errors.Is(cerr, io.EOF) {
					cerr = nil
				}
			}
			c.Close()
			serr := <-errc
			if tc.ok && (serr != nil || cerr != nil) {
				t.Fatalf("handshake: server %v, client %v; want success", serr, cerr)
			}
			if !tc.ok && serr == nil {
				t.Fatalf("server handshake = nil error, want error")
			}
			if tc.ok && peerCN != "jane.doe+ops@corp" {
				t.Errorf("peer CN = %q", peerCN)
			}
		})
	}
}

func TestLoadCA(t *testing.T) {
	ca := newCA(t)
	loaded, err := LoadCA(ca.CertPEM(), ca.KeyPEM())
	if err != nil {
		t.Fatalf("LoadCA(round trip) = %v", err)
	}
	if string(loaded.CertPEM()) != string(ca.CertPEM()) || string(loaded.KeyPEM()) != string(ca.KeyPEM()) {
		t.Errorf("LoadCA round trip changed the PEM")
	}
	loaded.Now = ca.Now
	cert, err := loaded.ClientCert("u", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(cert, ca, x509.ExtKeyUsageClientAuth, ""); err != nil {
		t.Errorf("certificate from loaded CA: Verify against original = %v", err)
	}

	// Other key encodings; leading junk and other blocks are skipped.
	key := ca.key.(*ecdsa.PrivateKey)
	sec1, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sec1PEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})
	params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}})
	if _, err := LoadCA(append([]byte("junk\n"), ca.CertPEM()...), append(params, sec1PEM...)); err != nil {
		t.Errorf("LoadCA(SEC 1 key) = %v", err)
	}

	other := newCA(t)
	leaf, err := ca.ServerCert([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := PrivateKeyPEM(leaf)
	if err != nil {
		t.Fatal(err)
	}
	noSignPEM, noSignKey := rawCA(t, x509.KeyUsageDigitalSignature)
	corrupt := ca.CertPEM()
	corrupt[len(corrupt)/2] ^= 0x10
	for _, tc := range []struct {
		name         string
		certPEM, key []byte
		want         error
	}{
		{"empty", nil, nil, ErrBadPEM},
		{"no cert block", ca.KeyPEM(), ca.KeyPEM(), ErrBadPEM},
		{"garbage cert", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), ca.KeyPEM(), ErrBadPEM},
		{"corrupt base64", corrupt, ca.KeyPEM(), ErrBadPEM},
		{"no key", ca.CertPEM(), nil, ErrBadPEM},
		{"garbage key", ca.CertPEM(), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), ErrBadPEM},
		{"wrong key", ca.CertPEM(), other.KeyPEM(), ErrKeyMismatch},
		{"not a CA", CertChainPEM(leaf), leafKey, ErrNotCA},
		{"CA without keyCertSign", noSignPEM, noSignKey, ErrNotCA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := LoadCA(tc.certPEM, tc.key); !errors.Is(err, tc.want) {
				t.Errorf("LoadCA = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestLoadCARSA(t *testing.T) {
	// A CA made elsewhere with an RSA key still mints (ECDSA) leaves.
	rsaPEM, rsaKeyPEM := rsaCA(t)
	loaded, err := LoadCA(rsaPEM, rsaKeyPEM)
	if err != nil {
		t.Fatalf("LoadCA(RSA) = %v", err)
	}
	loaded.Now = func() time.Time { return t0 }
	leaf, err := loaded.ClientCert("u", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(leaf, loaded, x509.ExtKeyUsageClientAuth, ""); err != nil {
		t.Errorf("Verify = %v", err)
	}
}

func TestWritePEM(t *testing.T) {
	ca := newCA(t)
	cert, err := ca.ServerCert([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	if err := os.WriteFile(key, []byte("old"), 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(key, 0o666)
	if err := WritePEM(crt, key, cert); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want os.FileMode
	}{{crt, 0o644}, {key, 0o600}} {
		fi, err := os.Stat(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != tc.want {
			t.Errorf("mode of %s = %v, want %v", filepath.Base(tc.name), got, tc.want)
		}
	}
	if _, err := tls.LoadX509KeyPair(crt, key); err != nil {
		t.Errorf("LoadX509KeyPair = %v", err)
	}
	if err := WritePEM(crt, key, tls.Certificate{}); err == nil {
		t.Errorf("WritePEM(no key) = nil error, want error")
	}
}

// rawCA makes a self-signed ECDSA CA certificate with the given key usage.
func rawCA(t *testing.T, usage x509.KeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return selfSigned(t, key, "raw CA", usage),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
}

// rsaCA makes a self-signed RSA CA certificate, its key in PKCS #1.
func rsaCA(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return selfSigned(t, key, "rsa CA", x509.KeyUsageCertSign),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

// selfSigned returns a CA certificate named name with the given key usage, signed by key
// itself, in PEM.
func selfSigned(t *testing.T, key crypto.Signer, name string, usage x509.KeyUsage) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             t0.Add(-time.Hour),
		NotAfter:              t0.Add(time.Hour),
		KeyUsage:              usage,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
