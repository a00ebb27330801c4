package server

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

// runningGateway is a gateway bound to a listener, with the files its certificate is
// reloaded from (Reload, SIGHUP); serve starts it.
type runningGateway struct {
	engine            string // gateway.EnginePostgres or gateway.EngineMySQL
	db                iam.Database
	gw                *gateway.Gateway
	ln                net.Listener
	done              chan error // nil until serve
	certFile, keyFile string
}

func (r *runningGateway) serve() {
	r.done = make(chan error, 1)
	go func() { r.done <- r.gw.Serve(r.ln) }()
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
		log.Error("reloading the gateway certificate", "gateway", r.db.Identifier, "err", err)
		return
	}
	log.Info("gateway certificate reloaded", "gateway", r.db.Identifier, "file", r.certFile)
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
		if g.done == nil {
			g.ln.Close()
			continue
		}
		if err := g.gw.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			errs = append(errs, fmt.Errorf("gateway %s: %w", g.db.Identifier, err))
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

// listenGateways binds the [[postgres]] and [[mysql]] gateways of s.cfg.
func (s *Server) listenGateways(reg prometheus.Registerer) error {
	for _, gc := range s.cfg.gatewaySections() {
		g, err := s.listenGateway(gc, reg)
		if err != nil {
			return fmt.Errorf("serve: %s (%s): %w", gc.name, gc.Database, err)
		}
		s.gateways = append(s.gateways, g)
	}
	return nil
}

// listenGateway binds one gateway: the same keys make the same gateway.Config for both
// engines, with the MySQL-only settings on top.
func (s *Server) listenGateway(gc gatewaySection, reg prometheus.Registerer) (*runningGateway, error) {
	cfg, svc, log := &s.cfg, s.svc, s.log
	account := cfg.accountOr(gc.Account)
	db, found := registeredDatabase(svc, account, gc.Database)
	if !found {
		return nil, fmt.Errorf("database %q is not registered in account %s", gc.Database, account)
	}
	if err := checkGatewayEngine(gc.engine, db.Engine); err != nil {
		return nil, fmt.Errorf("database %q: %w", gc.Database, err)
	}
	cert, err := tls.LoadX509KeyPair(cfg.Path(gc.TLSCertFile), cfg.Path(gc.TLSKeyFile))
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	caPEM, err := os.ReadFile(cfg.Path(gc.CACertFile))
	if err != nil {
		return nil, fmt.Errorf("gateway CA: %w", err)
	}
	caKey, err := os.ReadFile(cfg.Path(gc.CAKeyFile))
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
	backendCA, err := os.ReadFile(cfg.Path(gc.BackendCAFile))
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
	pw, err := backendAdminPassword(cfg, gc.GatewayConfig)
	if err != nil {
		return nil, err
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
		Recorder:                s.recorder(),
		Backend: gateway.Backend{
			Addr:          gc.Backend,
			TLS:           &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12},
			AdminUser:     gc.BackendAdminUser,
			AdminPassword: pw,
			LocalAddr:     gc.BackendSourceAddress,
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
	ln, err := s.listen(listen)
	if err != nil {
		return nil, err
	}
	log.Info("gateway listening", "engine", gc.engine, "database", db.Identifier, "addr", ln.Addr().String(), "backend", gc.Backend)
	return &runningGateway{engine: gc.engine, db: db, gw: gw, ln: ln, certFile: cfg.Path(gc.TLSCertFile), keyFile: cfg.Path(gc.TLSKeyFile)}, nil
}

// backendAdminPassword returns the gateway's backend admin password: BackendAdminPassword,
// or the first line of BackendAdminPasswordFile.
func backendAdminPassword(cfg *Config, gc GatewayConfig) (string, error) {
	if gc.BackendAdminPassword != "" {
		return gc.BackendAdminPassword.Reveal(), nil
	}
	pw, err := os.ReadFile(cfg.Path(gc.BackendAdminPasswordFile))
	if err != nil {
		return "", fmt.Errorf("backend admin password: %w", err)
	}
	return strings.TrimRight(string(pw), "\r\n"), nil
}
