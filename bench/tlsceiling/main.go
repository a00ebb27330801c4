package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	certFile := flag.String("cert", "", "server certificate (PEM)")
	keyFile := flag.String("key", "", "server key (PEM)")
	caFile := flag.String("ca", "", "CA that signed the certificate (PEM)")
	serverName := flag.String("servername", "localhost", "name the clients verify")
	clients := flag.Int("c", 8, "concurrent clients")
	pq := flag.Bool("mlkem", false, "offer X25519MLKEM768 (Go's default) instead of X25519 only, which is what libpq with OpenSSL 3.0 offers")
	dur := flag.Duration("d", 10*time.Second, "duration")
	flag.Parse()
	groups := []tls.CurveID{tls.X25519}
	if *pq {
		groups = nil
	}
	if err := run(*certFile, *keyFile, *caFile, *serverName, *clients, *dur, groups); err != nil {
		fmt.Fprintln(os.Stderr, "tlsceiling:", err)
		os.Exit(1)
	}
}

func run(certFile, keyFile, caFile, serverName string, clients int, dur time.Duration, groups []tls.CurveID) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("%s: no certificate", caFile)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	srvCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13, SessionTicketsDisabled: true}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := tls.Server(c, srvCfg)
				var b [1]byte
				if _, err := tc.Read(b[:]); err != nil {
					return
				}
				tc.Write(b[:])
			}()
		}
	}()
	cliCfg := &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS13, SessionTicketsDisabled: true, CurvePreferences: groups}
	addr := ln.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var n, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := handshake(addr, cliCfg); err != nil {
					failed.Add(1)
					continue
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	st := cert.Leaf
	keyType := "?"
	if st != nil {
		keyType = st.PublicKeyAlgorithm.String()
	}
	kx := "X25519"
	if groups == nil {
		kx = "Go default groups (X25519MLKEM768)"
	}
	fmt.Printf("tlsceiling: %d full TLS 1.3 handshakes in %.2fs with %d clients (%s server key, %s, GOMAXPROCS=%d): %.0f/s, %d failed\n",
		n.Load(), el.Seconds(), clients, keyType, kx, runtime.GOMAXPROCS(0), float64(n.Load())/el.Seconds(), failed.Load())
	return nil
}

func handshake(addr string, cfg *tls.Config) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	tc := tls.Client(c, cfg)
	if _, err := tc.Write([]byte{1}); err != nil {
		return err
	}
	var b [1]byte
	_, err = tc.Read(b[:])
	return err
}
