package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/iamdb/iamdb/internal/awsquery"
	"github.com/iamdb/iamdb/internal/gateway"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/oidc"
)

const serveUsage = `usage: iamdb serve [--config FILE] [--dir D] [--listen ADDR] [--store PATH | --store-url URL] [--log-level L]

Runs the authority: the AWS Query API for IAM, STS and RDS that the AWS CLI and SDKs use
through --endpoint-url. On an empty store it creates the bootstrap account and its admin
user, and writes the admin's access key once to bootstrap.admin_key_file (0600). It also
runs the configured gateways ([[postgres]], [[mysql]]) and workload credential endpoints
([[imds]], [[container_credentials]]; docs/workload-credentials.md).
Precedence: flags > IAMDB_* environment > config file > defaults (docs/configuration.md).
`

// onServeReady, if set, is called with the authority's address once it accepts requests
// (tests use it to learn a port chosen by the kernel).
var onServeReady func(addr string)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("iamdb serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, serveUsage) }
	configPath := fs.String("config", "", "configuration file (TOML)")
	overrides := map[string]string{}
	for name, help := range map[string]string{
		"dir":       "state directory",
		"listen":    "address of the AWS Query API",
		"store":     "path of the embedded store",
		"store-url": "PostgreSQL URL of a store shared by replicas (instead of --store)",
		"log-level": "debug, info, warn or error",
	} {
		fs.Func(name, help, func(v string) error { overrides[name] = v; return nil })
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return exitCode(2)
	}
	if fs.NArg() > 0 {
		return usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := loadConfig(*configPath, os.Getenv, overrides)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.Log)
	a, err := startAuthority(ctx, &cfg, log)
	if err != nil {
		return err
	}
	defer a.close()
	reg := newRegistry()
	gws, err := startGateways(&cfg, a.svc, reg, log)
	if err != nil {
		return err
	}
	eps, err := startWorkloadEndpoints(&cfg, a.svc, log)
	if err != nil {
		drain(gws, time.Second, log)
		return err
	}
	defer closeEndpoints(eps)
	if cfg.Ops.Listen != "" {
		ops, err := startOps(cfg.Ops.Listen, reg, a.ready, log)
		if err != nil {
			return err
		}
		defer ops.Close()
		log.Info("ops listening", "url", "http://"+ops.Addr)
	}
	fmt.Fprintf(stdout, "ready authority=%s\n", a.url)
	for _, g := range gws {
		fmt.Fprintf(stdout, "ready %s=%s database=%s\n", g.engine, g.ln.Addr(), g.name)
	}
	for _, e := range eps {
		fmt.Fprintf(stdout, "ready %s=%s %s\n", e.kind, e.url, e.bound)
	}
	if onServeReady != nil {
		onServeReady(a.addr)
	}
	drainTimeout := cfg.Ops.DrainTimeout.Duration
	if drainTimeout == 0 {
		drainTimeout = 30 * time.Second
	}
	return waitAndDrain(ctx, a, gws, drainTimeout, log)
}

// waitAndDrain serves until ctx ends (SIGINT, SIGTERM), reloading the gateways'
// certificates on SIGHUP; then it drains the gateways and stops the authority.
func waitAndDrain(ctx context.Context, a *authority, gws []*runningGateway, drainTimeout time.Duration, log *slog.Logger) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	failed := make(chan error, len(gws))
	for _, g := range gws {
		go func() {
			if err := <-g.done; err != nil && !errors.Is(err, gateway.ErrServerClosed) {
				failed <- fmt.Errorf("gateway %s: %w", g.name, err)
			}
		}()
	}
	var err error
loop:
	for {
		select {
		case <-hup:
			for _, g := range gws {
				g.reload(log)
			}
		case err = <-failed:
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	a.stopping.Store(true) // /readyz fails from here: load balancers stop sending clients
	log.Info("shutting down")
	return errors.Join(err, drain(gws, drainTimeout, log), a.shutdown())
}

// authority is a running authority: store, domain and HTTP server.
type authority struct {
	addr, url string
	svc       *iam.Service
	http      *http.Server
	served    chan error
	closers   []func() error
	stopping  atomic.Bool // set when draining begins
}

// ready is /readyz's check: the process serves until it starts draining.
func (a *authority) ready() error {
	if a.stopping.Load() {
		return errors.New("draining")
	}
	return nil
}

func (a *authority) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

func (a *authority) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := a.http.Shutdown(ctx)
	if serr := <-a.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// startAuthority opens the store, bootstraps it, registers the configured databases and
// starts serving the Query API. The caller must call close.
func startAuthority(ctx context.Context, cfg *Config, log *slog.Logger) (_ *authority, err error) {
	a := &authority{served: make(chan error, 1)}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if cfg.Authority.TLSCertFile == "" && !isLoopback(cfg.Authority.Listen) {
		return nil, fmt.Errorf("serve: authority.listen %s is not a loopback address: configure authority.tls_cert_file and tls_key_file to serve beyond this machine", cfg.Authority.Listen)
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	a.closers = append(a.closers, st.Close)
	rev, err := st.Revision(ctx)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	// A shared store's replicas must all hold one master key: none of them makes it up,
	// or two starting on an empty store at once would each make their own.
	key, err := loadMasterKey(cfg, rev == 0 && cfg.Store.URL == "", randReader)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	webKeys, err := webIdentityKeys(cfg)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	previous, err := loadPreviousMasterKeys(cfg)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	svc, err := iam.New(ctx, iam.Config{Store: st, MasterKey: key, PreviousMasterKeys: previous, DefaultRegion: cfg.Authority.Region, WebIdentityKeys: webKeys, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	a.svc = svc
	a.closers = append(a.closers, svc.Close)

	if err := bootstrapAccount(ctx, svc, log, cfg.Bootstrap.AccountID, "", cfg.Bootstrap.AdminUser, cfg.path(cfg.Bootstrap.AdminKeyFile)); err != nil {
		return nil, err
	}
	for _, acc := range cfg.Accounts {
		user, file := acc.AdminUser, acc.AdminKeyFile
		if user == "" {
			user = "admin"
		}
		if file == "" {
			file = "admin-credentials-" + acc.ID
		}
		if err := bootstrapAccount(ctx, svc, log, acc.ID, acc.Alias, user, cfg.path(file)); err != nil {
			return nil, err
		}
	}
	for _, d := range cfg.Databases {
		spec := iam.DatabaseSpec{
			Identifier: d.Identifier, Kind: d.Kind, Engine: d.Engine, Endpoints: d.Endpoints,
			ReaderEndpoint: d.ReaderEndpoint, Port: d.Port, Region: d.Region, Account: d.Account, IAMAuth: d.IAMAuth,
		}
		if spec.Kind == "" {
			spec.Kind = iam.KindInstance
		}
		if spec.Engine == "" {
			spec.Engine = "postgres"
		}
		if spec.Account == "" {
			spec.Account = cfg.Bootstrap.AccountID
		}
		db, err := svc.RegisterDatabase(ctx, spec)
		if err != nil {
			return nil, fmt.Errorf("serve: registering database %s: %w", d.Identifier, err)
		}
		log.Info("database registered", "identifier", db.Identifier, "kind", db.Kind, "resource_id", db.ResourceID, "account", db.Account, "region", db.Region)
	}

	api, err := awsquery.New(awsquery.Config{IAM: svc, Logger: log, Region: cfg.Authority.Region})
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	// The certificate is loaded before anything listens: one that cannot be read stops serve
	// here, not in a goroutine after "ready".
	var tlsConfig *tls.Config
	if cfg.Authority.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.path(cfg.Authority.TLSCertFile), cfg.path(cfg.Authority.TLSKeyFile))
		if err != nil {
			return nil, fmt.Errorf("serve: authority.tls_cert_file/tls_key_file: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", cfg.Authority.Listen)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	a.addr = ln.Addr().String()
	a.http = &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
		go func() { a.served <- a.http.ServeTLS(ln, "", "") }()
	} else {
		go func() { a.served <- a.http.Serve(ln) }()
	}
	a.url = scheme + "://" + a.addr
	log.Info("authority listening", "url", a.url)
	return a, nil
}

// bootstrapAccount makes sure the account and its admin exist; when it creates the admin's
// access key it writes it, once, to keyFile.
func bootstrapAccount(ctx context.Context, svc *iam.Service, log *slog.Logger, account, alias, user, keyFile string) error {
	if _, err := os.Stat(keyFile); err == nil {
		// The key was written before; Bootstrap creates nothing new for an existing account,
		// and would refuse to hand out a secret again.
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("serve: %w", err)
	}
	key, created, err := svc.Bootstrap(ctx, iam.BootstrapInput{AccountID: account, AccountAlias: alias, AdminUserName: user})
	if err != nil {
		return fmt.Errorf("serve: bootstrapping account %s: %w", account, err)
	}
	if !created {
		return nil
	}
	if err := writeFileExclusive(keyFile, credentialsFile(account, user, key.AccessKeyID, key.SecretAccessKey)); err != nil {
		return fmt.Errorf("serve: account %s was created but its admin key could not be written to %s (delete the user's key with the API and restart): %w", account, keyFile, err)
	}
	log.Info("bootstrapped account", "account", account, "admin", user, "access_key_id", key.AccessKeyID, "credentials_file", keyFile)
	return nil
}

// webIdentityKeys returns the key cache AssumeRoleWithWebIdentity fetches OIDC providers'
// keys with, or nil for iam's default (https only, the system's roots).
func webIdentityKeys(cfg *Config) (iam.WebIdentityKeySource, error) {
	a := &cfg.Authority
	if a.WebIdentityCAFile == "" && !a.WebIdentityAllowInsecureLoopback {
		return nil, nil
	}
	kc := oidc.KeyCacheConfig{AllowInsecureLoopback: a.WebIdentityAllowInsecureLoopback}
	if a.WebIdentityCAFile != "" {
		pem, err := os.ReadFile(cfg.path(a.WebIdentityCAFile))
		if err != nil {
			return nil, fmt.Errorf("authority.web_identity_ca_file: %w", err)
		}
		roots, err := x509.SystemCertPool()
		if err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("authority.web_identity_ca_file: %s holds no PEM certificate", a.WebIdentityCAFile)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		kc.Client = &http.Client{Transport: tr}
	}
	return oidc.NewKeyCache(kc), nil
}
