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
	engine            string // gateway.EnginePostgres or gateway.EngineMySQL
	name              string // the database's identifier
	gw                *gateway.Gateway
	ln                net.Listener
	done              chan error
	certFile, keyFile string
}

// serveGateway starts gw, a gateway of engine for the database name, on ln.
func serveGateway(engine, name string, gw *gateway.Gateway, ln net.Listener, certFile, keyFile string) *runningGateway {
	r := &runningGateway{engine: engine, name: name, gw: gw, ln: ln, done: make(chan error, 1), certFile: certFile, keyFile: keyFile}
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

// registeredDatabase returns the database of account registered under identifier.
func registeredDatabase(svc *iam.Service, account, identifier string) (iam.Database, bool) {
	for _, d := range svc.Databases() {
		if d.Account == account && strings.EqualFold(d.Identifier, identifier) {
			return d, true
		}
	}
	return iam.Database{}, false
}

// startGateways starts the [[postgres]] and [[mysql]] gateways of cfg.
func startGateways(cfg *Config, svc *iam.Service, reg prometheus.Registerer, log *slog.Logger) (_ []*runningGateway, err error) {
	var out []*runningGateway
	defer func() {
		if err != nil {
			for _, g := range out {
				g.ln.Close()
			}
		}
	}()
	for _, gc := range cfg.gatewaySections() {
		g, err := startGateway(cfg, gc, svc, reg, log)
		if err != nil {
			return nil, fmt.Errorf("serve: %s (%s): %w", gc.name, gc.Database, err)
		}
		out = append(out, g)
	}
	return out, nil
}

// startGateway starts one gateway: the same keys make the same gateway.Config for both
// engines, with the MySQL-only settings on top.
func startGateway(cfg *Config, gc gatewaySection, svc *iam.Service, reg prometheus.Registerer, log *slog.Logger) (*runningGateway, error) {
	account := cfg.accountOr(gc.Account)
	db, found := registeredDatabase(svc, account, gc.Database)
	if !found {
		return nil, fmt.Errorf("database %q is not registered in account %s", gc.Database, account)
	}
	if err := checkGatewayEngine(gc.engine, db.Engine); err != nil {
		return nil, fmt.Errorf("database %q: %w", gc.Database, err)
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
		Engine:                  gc.engine,
		IAM:                     svc,
		Database:                db,
		Addr:                    listen,
		Certificate:             &cert,
		MinTLSVersion:           minTLS,
		AllowPlaintextPasswords: gc.AllowPlaintextPasswords,
		RevealReasons:           gc.RevealReasons,
		AllowLocalInfile:        gc.allowLocalInfile,
		ServerVersion:           gc.serverVersion,
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
		MaxClientConns:          gc.MaxClientConns,
		MaxUnauthenticatedPerIP: gc.MaxUnauthenticatedPerIP,
		StartupTimeout:          gc.StartupTimeout.Duration,
		Logger:                  log.With("gateway", gc.engine, "database", db.Identifier),
		Registerer:              prometheus.WrapRegistererWith(prometheus.Labels{"database": db.Identifier}, reg),
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	log.Info("gateway listening", "engine", gc.engine, "database", db.Identifier, "addr", ln.Addr().String(), "backend", gc.Backend)
	return serveGateway(gc.engine, db.Identifier, gw, ln, cfg.path(gc.TLSCertFile), cfg.path(gc.TLSKeyFile)), nil
}
