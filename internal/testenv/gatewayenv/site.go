package gatewayenv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/iamdb/iamdb/token"
)

// Engines of a Site, as iam.DatabaseSpec names them.
const (
	Postgres = "postgres"
	MariaDB  = "mariadb"
)

// Backend is the database server behind a site, as the gateway's Backend needs it.
type Backend struct {
	Addr                     string
	TLS                      *tls.Config
	AdminUser, AdminPassword string
}

// A Site is the place of one gateway: a bound loopback listener, the database registered
// for its port (endpoints localhost, 127.0.0.1 and Alias), a server certificate for
// localhost and 127.0.0.1, the backend and a log.
type Site struct {
	Env         *Env
	Engine      string // Postgres or MariaDB
	Listener    net.Listener
	Port        int
	Database    iam.Database
	Certificate tls.Certificate
	Backend     Backend
	Logs        *testenv.LogBuffer // Logs.Logger() is the gateway's logger
}

var siteSeq atomic.Int64

// Site prepares the site of a gateway of engine in front of the environment's server; the
// listener is closed when t ends if no one served on it. On failure t shows the site's
// log.
func (e *Env) Site(t testing.TB, engine string) *Site {
	t.Helper()
	s := &Site{Env: e, Engine: engine, Logs: &testenv.LogBuffer{}}
	switch engine {
	case Postgres:
		s.Backend = Backend{Addr: e.Postgres.Addr(), TLS: e.ClientTLS(), AdminUser: e.Postgres.AdminUser, AdminPassword: e.Postgres.AdminPassword}
	case MariaDB:
		s.Backend = Backend{Addr: e.MariaDB.Addr(), TLS: e.MariaDB.TLSConfig(), AdminUser: e.MariaDB.AdminUser, AdminPassword: e.MariaDB.AdminPassword}
	default:
		t.Fatalf("gatewayenv: unknown engine %q", engine)
	}
	var err error
	if s.Listener, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Listener.Close() })
	s.Port = s.Listener.Addr().(*net.TCPAddr).Port
	s.Database, err = e.IAM.RegisterDatabase(context.Background(), iam.DatabaseSpec{
		Identifier: fmt.Sprintf("site%d", siteSeq.Add(1)), Engine: engine,
		Endpoints: []string{"localhost", "127.0.0.1", Alias}, Port: s.Port, Region: Region, Account: Account, IAMAuth: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Certificate, err = e.CA.ServerCert([]string{"localhost", "127.0.0.1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log of the %s site on port %d:\n%s", engine, s.Port, s.Logs)
		}
	})
	return s
}

// A Server is what Serve needs of a gateway.
type Server interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

// Serve serves srv on the site's listener until t ends, then shuts it down and checks
// that Serve returned closed (the gateway's ErrServerClosed).
func (s *Site) Serve(t testing.TB, srv Server, closed error) {
	t.Helper()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(s.Listener) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-served; !errors.Is(err, closed) {
			t.Errorf("Serve = %v, want %v", err, closed)
		}
	})
}

// Token returns a token for user at the site (localhost:port) signed with Keys[key] at
// time at (zero: the clock's now).
func (s *Site) Token(t testing.TB, key, user string, at time.Time) string {
	t.Helper()
	if at.IsZero() {
		at = s.Env.Clock.Now()
	}
	tok, err := token.Build(fmt.Sprintf("localhost:%d", s.Port), Region, user, s.Env.Keys[key], at)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// ClientTLS verifies the certificates the CA issues for localhost (the sites' and the
// database servers').
func (e *Env) ClientTLS() *tls.Config {
	return &tls.Config{RootCAs: e.CA.Pool(), ServerName: "localhost"}
}
