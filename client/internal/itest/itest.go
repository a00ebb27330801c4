package itest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/internal/awsquery"
	"github.com/iamdb/iamdb/internal/gateway"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/store/sqlite"
)

// Facts of the environment.
const (
	Account = "123456789012"
	Region  = "us-east-1"
	// Alias is a name every gateway's database answers to but that does not resolve: a
	// token signed for it proves that the signing host is not the dialed one.
	Alias = "db.iamdb.test"
	// User is the IAM user and database user that may connect; Denied may not.
	User   = "alice"
	Denied = "bob"
)

// ErrNotInstalled is returned (wrapped) by Start when a database server is missing.
var ErrNotInstalled = localdb.ErrNotFound

// Clock is the authority's, the gateways' and the tests' token sources' clock: real time
// plus an offset that tests move forward.
type Clock struct{ off atomic.Int64 }

// Now returns the real time plus the offset.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// Env is one authority, a CA and the database servers asked for.
type Env struct {
	CA       *pki.CA
	IAM      *iam.Service
	Clock    *Clock
	Postgres *localdb.Postgres // nil unless asked for
	MariaDB  *localdb.MariaDB  // nil unless asked for
	CAFile   string            // the CA certificate, PEM (sslrootcert)

	certs *pki.ClientCertCache
	keys  map[string]iam.AccessKey
	dir   string
	seq   atomic.Int64
}

// Options choose the database servers.
type Options struct{ Postgres, MariaDB bool }

// Start starts an environment.
func Start(opt Options) (_ *Env, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := &Env{Clock: &Clock{}, keys: map[string]iam.AccessKey{}}
	if e.dir, err = os.MkdirTemp("", "iamdb-client-test-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if e.CA, err = pki.NewCA("iamdb client test CA", 24*time.Hour, nil, time.Now()); err != nil {
		return nil, err
	}
	e.CAFile = filepath.Join(e.dir, "ca.pem")
	if err = os.WriteFile(e.CAFile, e.CA.CertPEM(), 0o644); err != nil {
		return nil, err
	}
	if e.certs, err = pki.NewClientCertCache(e.CA, pki.CacheConfig{}); err != nil {
		return nil, err
	}
	if opt.Postgres {
		if e.Postgres, err = localdb.StartPostgres(ctx, localdb.PostgresOptions{CA: e.CA}); err != nil {
			return nil, err
		}
		if err = e.Postgres.Exec(ctx,
			`CREATE USER `+User+` LOGIN; GRANT rds_iam TO `+User,
			`CREATE USER `+Denied+` LOGIN; GRANT rds_iam TO `+Denied,
		); err != nil {
			return nil, err
		}
	}
	if opt.MariaDB {
		if e.MariaDB, err = localdb.StartMariaDB(ctx, localdb.MariaDBOptions{CA: e.CA, Databases: []string{"app"}}); err != nil {
			return nil, err
		}
		stmts := append(localdb.IAMUserSQL(User), localdb.IAMUserSQL(Denied)...)
		stmts = append(stmts, "GRANT ALL ON app.* TO rds_iam")
		if err = e.MariaDB.Exec(ctx, stmts...); err != nil {
			return nil, err
		}
	}
	st, err := sqlite.Open(filepath.Join(e.dir, "iam.db"))
	if err != nil {
		return nil, err
	}
	if e.IAM, err = iam.New(ctx, iam.Config{Store: st, MasterKey: bytes.Repeat([]byte{7}, 32), Now: e.Clock.Now, DefaultRegion: Region}); err != nil {
		return nil, err
	}
	if _, _, err = e.IAM.Bootstrap(ctx, iam.BootstrapInput{AccountID: Account, AdminUserName: "admin"}); err != nil {
		return nil, err
	}
	root := e.IAM.Root(Account)
	for _, u := range []string{User, Denied} {
		if _, err = e.IAM.CreateUser(ctx, root, iam.CreateUserInput{UserName: u}); err != nil {
			return nil, err
		}
		if e.keys[u], err = e.IAM.CreateAccessKey(ctx, root, u); err != nil {
			return nil, err
		}
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"arn:aws:rds-db:` + Region + `:` + Account + `:dbuser:*/` + User + `"}]}`
	if err = e.IAM.PutUserPolicy(ctx, root, User, "connect", policy); err != nil {
		return nil, err
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + Account + `:user/` + User + `"},"Action":"sts:AssumeRole"}]}`
	if _, err = e.IAM.CreateRole(ctx, root, iam.CreateRoleInput{RoleName: RoleName, AssumeRolePolicyDocument: trust}); err != nil {
		return nil, err
	}
	if err = e.IAM.PutRolePolicy(ctx, root, RoleName, "connect", policy); err != nil {
		return nil, err
	}
	return e, nil
}

// RoleName is a role that User may assume and that may connect as User; RoleARN is its ARN.
const (
	RoleName = "db-connect"
	RoleARN  = "arn:aws:iam::" + Account + ":role/" + RoleName
)

// AccessKey returns user's access key ID and secret.
func (e *Env) AccessKey(user string) (id, secret string) {
	return e.keys[user].AccessKeyID, e.keys[user].SecretAccessKey
}

// AWSEndpoint serves the authority's AWS Query API (IAM, STS, RDS) on a loopback HTTP
// server for the test and returns its URL (AWS_ENDPOINT_URL_STS). The API checks request
// signatures against real time, as the AWS SDK signs with it.
func (e *Env) AWSEndpoint(t testing.TB) string {
	t.Helper()
	h, err := awsquery.New(awsquery.Config{IAM: e.IAM, Region: Region})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Close stops everything.
func (e *Env) Close() {
	if e.IAM != nil {
		e.IAM.Close()
	}
	if e.Postgres != nil {
		e.Postgres.Stop(context.Background())
	}
	if e.MariaDB != nil {
		e.MariaDB.Stop(context.Background())
	}
	os.RemoveAll(e.dir)
}

// ClientTLS verifies the gateways' certificates.
func (e *Env) ClientTLS() *tls.Config {
	return &tls.Config{RootCAs: e.CA.Pool(), ServerName: "localhost"}
}

// LongTermCredentials are user's access key.
func (e *Env) LongTermCredentials(user string) client.CredentialsProvider {
	k := e.keys[user]
	return client.StaticCredentials(k.AccessKeyID, k.SecretAccessKey, "")
}

// SessionCredentials returns a provider that, like an instance or assumed-role provider,
// hands out temporary credentials of user that expire 15 minutes (the shortest STS
// session) after they are issued by the environment's clock, and a new session when the
// last one has expired. Calls counts the sessions issued.
func (e *Env) SessionCredentials(user string) (p client.CredentialsProvider, calls func() int) {
	var mu sync.Mutex
	var cur client.Credentials
	var n int
	return client.CredentialsProviderFunc(func(ctx context.Context) (client.Credentials, error) {
			mu.Lock()
			defer mu.Unlock()
			if cur.AccessKeyID != "" && e.Clock.Now().Before(cur.Expires.Add(-time.Minute)) {
				return cur, nil
			}
			k, err := e.IAM.LookupKey(ctx, e.keys[user].AccessKeyID, "")
			if err != nil {
				return client.Credentials{}, err
			}
			s, err := e.IAM.GetSessionToken(ctx, k.Principal.(*iam.Caller), iam.GetSessionTokenInput{DurationSeconds: 900})
			if err != nil {
				return client.Credentials{}, err
			}
			n++
			cur = client.Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey, SessionToken: s.SessionToken,
				CanExpire: true, Expires: s.Expiration}
			return cur, nil
		}), func() int {
			mu.Lock()
			defer mu.Unlock()
			return n
		}
}

// Gateway is a gateway serving on a loopback port, registered as its own database with
// the endpoints localhost, 127.0.0.1 and Alias.
type Gateway struct {
	Port int
	logs *logBuffer
}

// Logs returns the gateway's log lines so far.
func (g *Gateway) Logs() string { return g.logs.String() }

// Postgres starts a PostgreSQL gateway in front of e.Postgres.
func (e *Env) PostgresGateway(t testing.TB) *Gateway {
	t.Helper()
	return e.gateway(t, gateway.EnginePostgres, gateway.Backend{
		Addr: e.Postgres.Addr(), TLS: &tls.Config{RootCAs: e.CA.Pool(), ServerName: "localhost"},
		AdminUser: e.Postgres.AdminUser, AdminPassword: e.Postgres.AdminPassword,
	})
}

// MySQLGateway starts a MySQL gateway in front of e.MariaDB.
func (e *Env) MySQLGateway(t testing.TB) *Gateway {
	t.Helper()
	return e.gateway(t, gateway.EngineMySQL, gateway.Backend{
		Addr: e.MariaDB.Addr(), TLS: e.MariaDB.TLSConfig(),
		AdminUser: e.MariaDB.AdminUser, AdminPassword: e.MariaDB.AdminPassword,
	})
}

func (e *Env) gateway(t testing.TB, engine string, backend gateway.Backend) *Gateway {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	regEngine := map[string]string{gateway.EnginePostgres: "postgres", gateway.EngineMySQL: "mariadb"}[engine]
	db, err := e.IAM.RegisterDatabase(context.Background(), iam.DatabaseSpec{
		Identifier: fmt.Sprintf("client%d", e.seq.Add(1)), Engine: regEngine,
		Endpoints: []string{"localhost", "127.0.0.1", Alias}, Port: port, Region: Region, Account: Account, IAMAuth: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := e.CA.ServerCert([]string{"localhost", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	g, err := gateway.New(gateway.Config{
		Engine: engine, IAM: e.IAM, Database: db, Certificate: &cert, Backend: backend, ClientCerts: e.certs,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    e.Clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(ln) }()
	gw := &Gateway{Port: port, logs: logs}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(gw.Logs())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.Shutdown(ctx)
		if err := <-served; !errors.Is(err, gateway.ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	})
	return gw
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Shared is a lazily started environment shared by the tests of one binary.
type Shared struct {
	Options
	once sync.Once
	env  *Env
	err  error
}

// Get returns the environment, starting it on first use; it skips the test when a database
// server is not installed.
func (s *Shared) Get(t testing.TB) *Env {
	t.Helper()
	s.once.Do(func() { s.env, s.err = Start(s.Options) })
	if errors.Is(s.err, localdb.ErrNotFound) {
		t.Skipf("database server not installed: %v", s.err)
	}
	if s.err != nil {
		t.Fatalf("test environment: %v", s.err)
	}
	return s.env
}

// Close stops the environment if it was started (call from TestMain).
func (s *Shared) Close() {
	if s.env != nil {
		s.env.Close()
	}
}
