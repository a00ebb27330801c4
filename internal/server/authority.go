package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/iamdb/iamdb/internal/awsquery"
	"github.com/iamdb/iamdb/internal/console"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/oidc"
)

// openAuthority opens the store, bootstraps it, registers the configured databases and
// binds the Query API. What it opened is in s.closers even when it fails.
func (s *Server) openAuthority(ctx context.Context) error {
	cfg, log := &s.cfg, s.log
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if cfg.Authority.TLSCertFile == "" && !isLoopback(cfg.Authority.Listen) {
		return fmt.Errorf("serve: authority.listen %s is not a loopback address: configure authority.tls_cert_file and tls_key_file to serve beyond this machine", cfg.Authority.Listen)
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	s.closers = append(s.closers, st.Close)
	rev, err := st.Revision(ctx)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	// A shared store's replicas must all hold one master key: none of them makes it up,
	// or two starting on an empty store at once would each make their own.
	key, err := loadMasterKey(cfg, rev == 0 && cfg.Store.URL == "", s.rand)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	webKeys, err := webIdentityKeys(cfg)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	previous, err := loadPreviousMasterKeys(cfg)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	svc, err := iam.New(ctx, iam.Config{Store: st, MasterKey: key, PreviousMasterKeys: previous, DefaultRegion: cfg.Authority.Region, WebIdentityKeys: webKeys, Logger: log})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	s.svc = svc
	s.closers = append(s.closers, svc.Close)
	if err := s.bootstrap(ctx); err != nil {
		return err
	}
	return s.listenAPI()
}

// bootstrap creates the configured accounts and their admins, and registers the
// configured databases.
func (s *Server) bootstrap(ctx context.Context) error {
	cfg, svc, log := &s.cfg, s.svc, s.log
	if err := bootstrapAccount(ctx, svc, log, cfg.Bootstrap.AccountID, "", cfg.Bootstrap.AdminUser, cfg.Path(cfg.Bootstrap.AdminKeyFile)); err != nil {
		return err
	}
	for _, acc := range cfg.Accounts {
		user, file := acc.AdminUser, acc.AdminKeyFile
		if user == "" {
			user = "admin"
		}
		if file == "" {
			file = "admin-credentials-" + acc.ID
		}
		if err := bootstrapAccount(ctx, svc, log, acc.ID, acc.Alias, user, cfg.Path(file)); err != nil {
			return err
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
			return fmt.Errorf("serve: registering database %s: %w", d.Identifier, err)
		}
		log.Info("database registered", "identifier", db.Identifier, "kind", db.Kind, "resource_id", db.ResourceID, "account", db.Account, "region", db.Region)
	}
	return nil
}

// listenAPI binds the AWS Query API.
func (s *Server) listenAPI() error {
	cfg, log := &s.cfg, s.log
	qc := awsquery.Config{IAM: s.svc, Logger: log, Region: cfg.Authority.Region, Audit: s.recorder()}
	if s.audit != nil { // not a typed nil: without the journal, LookupEvents is unsupported
		qc.AuditReader = s.audit
	}
	api, err := awsquery.New(qc)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	// The certificate is loaded before anything listens: one that cannot be read stops serve
	// here, not in a goroutine after "ready".
	var tlsConfig *tls.Config
	if cfg.Authority.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.Path(cfg.Authority.TLSCertFile), cfg.Path(cfg.Authority.TLSKeyFile))
		if err != nil {
			return fmt.Errorf("serve: authority.tls_cert_file/tls_key_file: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := s.listen(cfg.Authority.Listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	maxConns := cfg.Authority.MaxConns
	if maxConns == 0 {
		maxConns = defaultMaxConns()
	}
	ln = s.listeners.limit(ln, "authority", maxConns, log)
	var handler http.Handler = api
	if !cfg.Authority.DisableConsole {
		cc := console.Config{
			IAM: s.svc, API: api, Region: cfg.Authority.Region, Recorder: s.recorder(), Logger: log,
			IdleTimeout: cfg.Authority.ConsoleIdleTimeout.Duration, LiveSessions: s.LiveSessions,
		}
		if s.audit != nil {
			cc.Audit = s.audit
		}
		con, err := console.New(cc)
		if err != nil {
			ln.Close()
			return fmt.Errorf("serve: %w", err)
		}
		s.console = con
		mux := http.NewServeMux()
		mux.Handle("/console/", con)
		mux.Handle("/console", con)
		mux.Handle("/", api)
		handler = mux
	}
	s.apiLn = ln
	s.api = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	s.apiURL = "http://" + ln.Addr().String()
	if tlsConfig != nil {
		s.apiURL = "https://" + ln.Addr().String()
	}
	log.Info("authority listening", "url", s.apiURL, "max_conns", maxConns)
	if s.console != nil {
		log.Info("web console", "url", s.apiURL+console.Prefix)
	}
	return nil
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
		pem, err := os.ReadFile(cfg.Path(a.WebIdentityCAFile))
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
