package gateway

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/iamdb/iamdb/internal/testenv/gatewayenv"
	"github.com/iamdb/iamdb/token"
)

const (
	testAccount  = gatewayenv.Account
	testRegion   = gatewayenv.Region
	testPassword = gatewayenv.Password
)

// testEnv is one real database server (PostgreSQL, or MariaDB in myEnv) and one authority
// (gatewayenv), shared by the tests of this binary.
type testEnv struct {
	*gatewayenv.Env
	pg    *localdb.Postgres
	ca    *pki.CA
	certs *pki.ClientCertCache
	svc   *iam.Service
	clock *testenv.Clock
	keys  map[string]token.Credentials // by IAM user name; "alice-session", "alice-expired-session"
}

func newTestEnv(e *gatewayenv.Env) *testEnv {
	return &testEnv{Env: e, pg: e.Postgres, ca: e.CA, certs: e.ClientCerts, svc: e.IAM, clock: e.Clock, keys: e.Keys}
}

var (
	pgShared = &gatewayenv.Shared{Options: gatewayenv.Options{Postgres: true,
		PostgresOptions: localdb.PostgresOptions{MaxConnections: 400}}}
	myShared = &gatewayenv.Shared{Options: gatewayenv.Options{MariaDB: true,
		MariaDBOptions: localdb.MariaDBOptions{MaxConnections: 400, Settings: map[string]string{"max-allowed-packet": "64M"}}}}
)

func TestMain(m *testing.M) {
	code := m.Run()
	myShared.Close()
	pgShared.Close()
	os.Exit(code)
}

// env returns the shared PostgreSQL environment, starting it on first use; it skips the
// test when PostgreSQL is not installed.
func env(t testing.TB) *testEnv {
	t.Helper()
	return newTestEnv(pgShared.Get(t))
}

// testGW is a gateway serving on a loopback port, registered as its own database.
type testGW struct {
	*Gateway
	env  *testEnv
	site *gatewayenv.Site
	port int
	db   iam.Database
	logs *testenv.LogBuffer
	reg  *prometheus.Registry
	cfg  Config
}

// poolStats returns the totals of the gateway's pool of backend sessions.
func (gw *testGW) poolStats() (idle, busy int) {
	switch f := gw.engine.(type) {
	case *pgEngine:
		return f.pool.stats()
	case *mysqlEngine:
		return f.pool.stats()
	}
	panic(fmt.Sprintf("engine %T", gw.engine))
}

// waitReleased waits until no pooled session is busy and returns the idle count. The
// gateway reads a client's Terminate (COM_QUIT) after the client has closed, so a test
// that reconnects at once and wants the session back must wait for its release: a real
// client reconnecting within that window simply gets another backend session.
func (gw *testGW) waitReleased(t testing.TB) int {
	t.Helper()
	for i := 0; ; i++ {
		idle, busy := gw.poolStats()
		if busy == 0 {
			return idle
		}
		if i == 500 {
			t.Fatalf("pool idle, busy = %d, %d after 5s; want no busy session", idle, busy)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dial connects to the gateway and, unless deadline is zero, sets the connection's
// deadline that far ahead. It reports a failure with t.Error (it may run on another
// goroutine than the test) and returns nil; the caller closes the connection.
func (gw *testGW) dial(t testing.TB, deadline time.Duration) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", gw.port), 5*time.Second)
	if err != nil {
		t.Error(err)
		return nil
	}
	if deadline != 0 {
		nc.SetDeadline(time.Now().Add(deadline))
	}
	return nc
}

// checkLargeValues sends a 17 MiB parameter, of which lengthMD5 returns the length and
// the md5, and reads a value of n "xy" pairs from repeatXY: messages larger than any
// buffer (and, for MySQL, packets of several frames) both ways. It returns the parameter.
func checkLargeValues(t *testing.T, n int, lengthMD5 func(big string) (int, string, error), repeatXY func(n int) (string, error)) string {
	t.Helper()
	big := strings.Repeat("0123456789abcdef", 17<<16)
	length, sum, err := lengthMD5(big)
	if err != nil {
		t.Fatal(err)
	}
	want := md5.Sum([]byte(big))
	if length != len(big) || sum != hex.EncodeToString(want[:]) {
		t.Errorf("length, md5 = %d, %s; want %d, %x", length, sum, len(big), want)
	}
	out, err := repeatXY(n)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2*n || strings.Trim(out, "xy") != "" {
		t.Errorf("large value: %d bytes", len(out))
	}
	return big
}

// concurrently runs query for clients 0 to clients-1 at once, reports their errors, and
// checks that at most DefaultMaxIdlePerKey sessions stay pooled afterwards.
func (gw *testGW) concurrently(t *testing.T, clients int, query func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := query(i); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if idle := gw.waitReleased(t); idle > DefaultMaxIdlePerKey { // the last sessions may still be resetting
		t.Errorf("%d idle sessions, want at most %d", idle, DefaultMaxIdlePerKey)
	}
}

// startShutdown starts gw.Shutdown with ten seconds to drain and waits until connect fails,
// as a draining gateway refuses new sessions; the channel receives Shutdown's result.
func (gw *testGW) startShutdown(t *testing.T, connect func() error) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- gw.Shutdown(ctx)
	}()
	for i := 0; ; i++ {
		if err := connect(); err != nil {
			return done
		}
		if i == 500 {
			t.Fatal("still accepting after Shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// auditLog collects a gateway's audit records; it is safe for concurrent use.
type auditLog struct {
	mu      sync.Mutex
	records []AuditRecord
}

// revealing is a Config mutation: reveal refusal reasons and audit into a.
func (a *auditLog) revealing(c *Config) {
	c.RevealReasons = true
	c.Audit = func(r AuditRecord) { a.mu.Lock(); a.records = append(a.records, r); a.mu.Unlock() }
}

// all returns the records so far.
func (a *auditLog) all() []AuditRecord {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]AuditRecord(nil), a.records...)
}

// newGateway starts a PostgreSQL gateway for the shared environment; mutate adjusts its
// Config.
func newGateway(t testing.TB, mutate func(*Config)) *testGW {
	t.Helper()
	e := env(t)
	return startTestGateway(t, e, EnginePostgres, Backend{
		Addr: e.pg.Addr(), TLS: e.ClientTLS(),
		AdminUser: e.pg.AdminUser, AdminPassword: e.pg.AdminPassword,
	}, mutate)
}

// startTestGateway starts a gateway of engine in front of backend, serving on a loopback
// port registered as its own database.
func startTestGateway(t testing.TB, e *testEnv, engine string, backend Backend, mutate func(*Config)) *testGW {
	t.Helper()
	site := e.Site(t, map[string]string{EnginePostgres: gatewayenv.Postgres, EngineMySQL: gatewayenv.MariaDB}[engine])
	reg := prometheus.NewRegistry()
	cfg := Config{
		Engine: engine, IAM: e.svc, Database: site.Database, Certificate: &site.Certificate, Backend: backend,
		ClientCerts: e.certs,
		Logger:      site.Logs.Logger(),
		Registerer:  reg,
		Now:         e.clock.Now,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	site.Serve(t, g, ErrServerClosed)
	return &testGW{Gateway: g, env: e, site: site, port: site.Port, db: site.Database, logs: site.Logs, reg: reg, cfg: cfg}
}

// token returns a token for user at the gateway's site signed with key at time at
// (zero: now).
func (gw *testGW) token(t testing.TB, key, user string, at time.Time) string {
	t.Helper()
	return gw.site.Token(t, key, user, at)
}

// connConfig is a pgx configuration for the gateway: TLS verified against the CA for
// "localhost" unless plaintext.
func (gw *testGW) connConfig(t testing.TB, user, password string, plaintext bool) *pgx.ConnConfig {
	t.Helper()
	cc, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=postgres sslmode=disable application_name=itest connect_timeout=20", gw.port, user))
	if err != nil {
		t.Fatal(err)
	}
	cc.Password = password
	if !plaintext {
		cc.TLSConfig = gw.env.ClientTLS()
	}
	cc.Fallbacks = nil
	return cc
}

func (gw *testGW) connect(t testing.TB, user, password string) (*pgx.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return pgx.ConnectConfig(ctx, gw.connConfig(t, user, password, false))
}

func (gw *testGW) mustConnect(t testing.TB, user, password string) *pgx.Conn {
	t.Helper()
	c, err := gw.connect(t, user, password)
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// wireError returns err's E (the driver's error type for a server's error message) or
// fails; pgError and mysqlError are its two instances.
func wireError[E error](t testing.TB, err error) E {
	t.Helper()
	var e E
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a %T", err, e)
	}
	return e
}

var pgError = wireError[*pgconn.PgError]
