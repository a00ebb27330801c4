package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Cert returns a self-signed certificate for "localhost" and 127.0.0.1, made
// once per test binary, for the wire packages' scripted TLS peers.
var Cert = sync.OnceValue(func() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
})

// ServerTLS returns a server configuration presenting Cert.
func ServerTLS() *tls.Config { return &tls.Config{Certificates: []tls.Certificate{Cert()}} }

// ClientTLS returns a client configuration that trusts Cert only and expects serverName.
func ClientTLS(serverName string) *tls.Config {
	leaf, err := x509.ParseCertificate(Cert().Certificate[0])
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
}

// Loopback returns the two ends of one loopback TCP connection; both are closed when the
// test ends.
func Loopback(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		client.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// CountingListener listens on a loopback port, closes every connection it accepts at once
// and counts them, until the test ends; tests use it to show that a client refused to dial.
func CountingListener(t testing.TB) (addr *net.TCPAddr, accepts *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepts = new(atomic.Int64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepts.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr), accepts
}

// feed returns the server's end of a net.Pipe whose client writes in, then closes, and
// discards whatever the server writes; the end's deadline is timeout from now. Fuzz tests
// hand it to a handshake; the caller closes it.
func feed(in []byte, timeout time.Duration) net.Conn {
	server, client := net.Pipe()
	go func() {
		client.Write(in)
		client.Close()
	}()
	go io.Copy(io.Discard, client)
	server.SetDeadline(time.Now().Add(timeout))
	return server
}

// Scripted runs handshake on the server's end of a net.Pipe while script plays the
// client on the other; both ends have a ten-second deadline and close when the test
// ends, the server's end at once when handshake fails. wait waits for script to return.
func Scripted[C any](t testing.TB, handshake func(context.Context, net.Conn) (C, error), script func(client net.Conn)) (c C, err error, wait func()) {
	t.Helper()
	server, client := net.Pipe()
	t.Cleanup(func() { server.Close(); client.Close() })
	server.SetDeadline(time.Now().Add(10 * time.Second))
	client.SetDeadline(time.Now().Add(10 * time.Second))
	done := make(chan struct{})
	go func() {
		defer close(done)
		script(client)
	}()
	if c, err = handshake(context.Background(), server); err != nil {
		server.Close()
	}
	return c, err, func() { <-done }
}

// FuzzHandshake hands every fuzz input to handshake as a client's first bytes (see feed,
// with a one-second deadline) and check judges the outcome; the server's end is closed
// afterwards.
func FuzzHandshake[C any](f *testing.F, handshake func(context.Context, net.Conn) (C, error), check func(t *testing.T, c C, err error)) {
	f.Fuzz(func(t *testing.T, in []byte) {
		server := feed(in, time.Second)
		c, err := handshake(context.Background(), server)
		check(t, c, err)
		server.Close()
	})
}
