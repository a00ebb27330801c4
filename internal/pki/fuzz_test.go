package pki

import (
	"testing"
	"time"
)

// FuzzLoadCA feeds arbitrary certificate and key PEM to LoadCA: it must never
// panic, and a CA it accepts must be able to mint a verifiable certificate.
func FuzzLoadCA(f *testing.F) {
	ca, err := NewCA("fuzz CA", 24*time.Hour, nil, t0)
	if err != nil {
		f.Fatal(err)
	}
	other, err := NewCA("other", 24*time.Hour, nil, t0)
	if err != nil {
		f.Fatal(err)
	}
	ca.Now = func() time.Time { return t0 }
	leaf, err := ca.ServerCert([]string{"localhost"}, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ca.CertPEM(), ca.KeyPEM())
	f.Add(ca.CertPEM(), other.KeyPEM())
	f.Add(CertChainPEM(leaf), ca.KeyPEM())
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), []byte{})
	f.Add([]byte{}, []byte("-----BEGIN EC PRIVATE KEY-----\n-----END EC PRIVATE KEY-----\n"))
	f.Add(ca.CertPEM()[:len(ca.CertPEM())/2], ca.KeyPEM()[10:])
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		loaded, err := LoadCA(certPEM, keyPEM)
		if err != nil {
			return
		}
		c := loaded.Certificate()
		loaded.Now = func() time.Time { return c.NotBefore.Add(time.Second) }
		if !loaded.Now().Before(c.NotAfter) {
			return
		}
		if _, err := loaded.ClientCert("u", time.Minute); err != nil {
			t.Fatalf("accepted CA cannot mint: %v", err)
		}
		if _, err := LoadCA(loaded.CertPEM(), loaded.KeyPEM()); err != nil {
			t.Fatalf("LoadCA(own output) = %v", err)
		}
	})
}
