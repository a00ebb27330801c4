package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/iamdb/iamdb/internal/gateway"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/pki"
)

// runningGateway is a gateway serving a listener, with the files its certificate is
// reloaded from on SIGHUP.
type runningGateway struct {
	name              string
	gw                *gateway.Gateway
	ln                net.Listener
	done              chan error
	certFile, keyFile string
}

// serveGateway starts gw on ln.
func serveGateway(name string, gw *gateway.Gateway, ln net.Listener, certFile, keyFile string) *runningGateway {
	r := &runningGateway{name: name, gw: gw, ln: ln, done: make(chan error, 1), certFile: certFile, keyFile: keyFile}
	go func() { r.done <- gw.Serve(ln) }()
	return r
}

// reload re-reads the gateway's certificate files.
func (r *runningGateway) reload(log *slog.Logger) {
	if r.certFile == "" {
		return
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err == nil {
		err = r.gw.SetCertificate(&cert)
	}
	if err != nil {
		log.Error("reloading the gateway certificate", "gateway", r.name, "err", err)
		return
	}
	log.Info("gateway certificate reloaded", "gateway", r.name, "file", r.certFile)
}

// drain stops the gateways: no new connections, sessions finish until the timeout, then
// they are closed.
func drain(gws []*runningGateway, timeout time.Duration, log *slog.Logger) error {
	if len(gws) == 0 {
		return nil
	}
	log.Info("draining gateway sessions", "timeout", timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	for _, g := range gws {
		if err := g.gw.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			errs = append(errs, fmt.Errorf("gateway %s: %w", g.name, err))
		}
	}
	return errors.Join(errs...)
}

// startPostgresGateways starts the [[postgres]] gateways of cfg.
func startPostgresGateways(cfg *Config, svc *iam.Service, reg prometheus.Registerer, log *slog.Logger) (_ []*runningGateway, err error) {
	var out []*runningGateway
	defer func() {
		if err != nil {
			for _, g := range out {
				g.ln.Close()
			}
		}
	}()
	for i, gc := range cfg.Postgres {
		g, err := startPostgresGateway(cfg, gc, svc, reg, log)
		if err != nil {
			return nil, fmt.Errorf("serve: postgres[%d] (%s): %w", i, gc.Database, err)
		}
		out = append(out, g)
	}
	return out, nil
}

func startPostgresGateway(cfg *Config, gc PostgresGatewayConfig, svc *iam.Service, reg prometheus.Registerer, log *slog.Logger) (*runningGateway, error) {
	account := gc.Account
	if account == "" {
		account = cfg.Bootstrap.AccountID
	}
	var db iam.Database
	found := false
	for _, d := range svc.Databases() {
		if d.Account == account && strings.EqualFold(d.Identifier, gc.Database) {
			db, found = d, true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("database %q is not registered in account %s", gc.Database, account)
	}
	cert, err := tls.LoadX509KeyPair(cfg.path(gc.TLSCertFile), cfg.path(gc.TLSKeyFile))
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	caPEM, err := os.ReadFile(cfg.path(gc.CACertFile))
	if err != nil {
		return nil, fmt.Errorf("gateway CA: %w", err)
	}
	caKey, err := os.ReadFile(cfg.path(gc.CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("gateway CA: %w", err)
	}
	ca, err := pki.LoadCA(caPEM, caKey)
	if err != nil {
		return nil, fmt.Errorf("gateway CA: %w", err)
	}
	certs, err := pki.NewClientCertCache(ca, pki.CacheConfig{TTL: gc.ClientCertTTL.Duration})
	if err != nil {
		return nil, err
	}
	backendCA, err := os.ReadFile(cfg.path(gc.BackendCAFile))
	if err != nil {
		return nil, fmt.Errorf("backend CA: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(backendCA) {
		return nil, fmt.Errorf("backend CA: %s holds no PEM certificate", gc.BackendCAFile)
	}
	serverName := gc.BackendServerName
	if serverName == "" {
		serverName, _, _ = net.SplitHostPort(gc.Backend)
	}
	pw, err := os.ReadFile(cfg.path(gc.BackendAdminPasswordFile))
	if err != nil {
		return nil, fmt.Errorf("backend admin password: %w", err)
	}
	minTLS := uint16(tls.VersionTLS12)
	if gc.MinTLSVersion == "1.3" {
		minTLS = tls.VersionTLS13
	}
	listen := gc.Listen
	if listen == "" {
		listen = ":" + strconv.Itoa(db.Port)
	}
	gw, err := gateway.New(gateway.Config{
		IAM:                     svc,
		Database:                db,
		Addr:                    listen,
		Certificate:             &cert,
		MinTLSVersion:           minTLS,
		AllowPlaintextPasswords: gc.AllowPlaintextPasswords,
		RevealReasons:           gc.RevealReasons,
		Backend: gateway.Backend{
			Addr:          gc.Backend,
			TLS:           &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12},
			AdminUser:     gc.BackendAdminUser,
			AdminPassword: strings.TrimRight(string(pw), "\r\n"),
		},
		ClientCerts: certs,
		Pool: gateway.PoolConfig{
			MaxSessionsPerKey: gc.Pool.MaxSessionsPerKey,
			MaxIdlePerKey:     gc.Pool.MaxIdlePerKey,
			IdleTimeout:       gc.Pool.IdleTimeout.Duration,
			MaxDialsPerSecond: gc.Pool.MaxDialsPerSecond,
		},
		Logger:     log.With("gateway", "postgres", "database", db.Identifier),
		Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"database": db.Identifier}, reg),
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	log.Info("postgres gateway listening", "database", db.Identifier, "addr", ln.Addr().String(), "backend", gc.Backend)
	return serveGateway(db.Identifier, gw, ln, cfg.path(gc.TLSCertFile), cfg.path(gc.TLSKeyFile)), nil
}
