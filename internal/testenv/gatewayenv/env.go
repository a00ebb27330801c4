package gatewayenv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/testenv/authority"
	"github.com/iamdb/iamdb/token"
)

// Facts of the environment.
const (
	Account = authority.DefaultAccount
	Region  = authority.DefaultRegion
	// Alias is a name every site's database answers to but that does not resolve: a token
	// signed for it proves that the signing host is not the dialed one.
	Alias = "db.iamdb.test"
	// User is the IAM user and database user that may connect; Denied (bob) may not.
	User   = "alice"
	Denied = "bob"
	// Password is pwuser's database password.
	Password = "pw-Secret-0xDEADBEEF"
	// RoleName is a role that User may assume and that may connect as User.
	RoleName = "db-connect"
	RoleARN  = "arn:aws:iam::" + Account + ":role/" + RoleName
)

// Options choose the database servers. The environment sets the CA of the servers'
// options; the rest (MaxConnections, Settings, …) is the caller's. MariaDB always has the
// databases app and app2.
type Options struct {
	Postgres, MariaDB bool
	PostgresOptions   localdb.PostgresOptions
	MariaDBOptions    localdb.MariaDBOptions
}

// Env is one authority, a CA and the database servers asked for.
type Env struct {
	*authority.Authority
	CA          *pki.CA
	CAFile      string // the CA certificate, PEM (sslrootcert)
	ClientCerts *pki.ClientCertCache
	Postgres    *localdb.Postgres // nil unless asked for
	MariaDB     *localdb.MariaDB  // nil unless asked for
	// Keys are the cast's access keys by user name, and two sessions of alice:
	// "alice-session" (an hour from the start) and "alice-expired-session" (expired).
	Keys map[string]token.Credentials

	stops []func() // of a shared environment, in reverse order
}

// New starts an environment that stops when t ends; it skips t when a database server is
// not installed (see localdbtest).
func New(t testing.TB, opt Options) *Env {
	t.Helper()
	e := &Env{}
	if err := e.init(authority.New(t, authority.Options{}), t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if opt.Postgres {
		e.Postgres = localdbtest.PostgresWithOptions(t, e.postgresOptions(opt))
	}
	if opt.MariaDB {
		e.MariaDB = localdbtest.MariaDBWithOptions(t, e.mariaDBOptions(opt))
	}
	if err := e.populate(t); err != nil {
		t.Fatal(err)
	}
	return e
}

// init sets up the authority a, and the CA with its certificate file in dir.
func (e *Env) init(a *authority.Authority, dir string) (err error) {
	e.Authority, e.Keys = a, map[string]token.Credentials{}
	if e.CA, err = pki.NewCA("iamdb test CA", 24*time.Hour, nil, time.Now()); err != nil {
		return err
	}
	e.CAFile = filepath.Join(dir, "ca.pem")
	if err = os.WriteFile(e.CAFile, e.CA.CertPEM(), 0o644); err != nil {
		return err
	}
	e.ClientCerts, err = pki.NewClientCertCache(e.CA, pki.CacheConfig{})
	return err
}

func (e *Env) postgresOptions(opt Options) localdb.PostgresOptions {
	o := opt.PostgresOptions
	o.CA = e.CA
	return o
}

func (e *Env) mariaDBOptions(opt Options) localdb.MariaDBOptions {
	o := opt.MariaDBOptions
	o.CA = e.CA
	o.Databases = append([]string{"app", "app2"}, o.Databases...)
	return o
}

// start starts a shared environment; Close stops it.
func start(t testing.TB, opt Options) (_ *Env, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := &Env{}
	ok := false
	defer func() { // also when populate fails t
		if !ok {
			e.Close()
		}
	}()
	a, err := authority.Open(authority.Options{})
	if err != nil {
		return nil, err
	}
	e.stops = append(e.stops, a.Close)
	dir, err := os.MkdirTemp("", "iamdb-gatewayenv-")
	if err != nil {
		return nil, err
	}
	e.stops = append(e.stops, func() { os.RemoveAll(dir) })
	if err = e.init(a, dir); err != nil {
		return nil, err
	}
	if opt.Postgres {
		if e.Postgres, err = localdb.StartPostgres(ctx, e.postgresOptions(opt)); err != nil {
			return nil, err
		}
		e.stops = append(e.stops, func() { e.Postgres.Stop(context.Background()) })
	}
	if opt.MariaDB {
		if e.MariaDB, err = localdb.StartMariaDB(ctx, e.mariaDBOptions(opt)); err != nil {
			return nil, err
		}
		e.stops = append(e.stops, func() { e.MariaDB.Stop(context.Background()) })
	}
	if err = e.populate(t); err != nil {
		return nil, err
	}
	ok = true
	return e, nil
}

// Close stops a shared environment (Shared.Close calls it).
func (e *Env) Close() {
	for i := len(e.stops) - 1; i >= 0; i-- {
		e.stops[i]()
	}
	e.stops = nil
}

// errEarlier is what the tests of a binary get after the first failed to start the shared
// environment.
var errEarlier = errors.New("gatewayenv: the shared environment failed to start in an earlier test")

// Shared is an environment shared by the tests of one binary, started on first use.
type Shared struct {
	Options
	mu      sync.Mutex
	started bool
	env     *Env
	err     error
}

// Get returns the environment, starting it on first use; it skips the test when a database
// server is not installed, or fails it when IAMDB_REQUIRE_TOOLS=1 (like localdbtest).
func (s *Shared) Get(t testing.TB) *Env {
	t.Helper()
	s.start(t)
	if errors.Is(s.err, localdb.ErrNotFound) {
		if os.Getenv("IAMDB_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%v (IAMDB_REQUIRE_TOOLS=1)", s.err)
		}
		t.Skipf("database server not installed: %v", s.err)
	}
	if s.err != nil {
		t.Fatalf("test environment: %v", s.err)
	}
	return s.env
}

func (s *Shared) start(t testing.TB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started = true
		s.err = errEarlier // stays if start fails t
		s.env, s.err = start(t, s.Options)
	}
}

// Close stops the environment if it was started (call it from TestMain).
func (s *Shared) Close() {
	if s.env != nil {
		s.env.Close()
	}
}
