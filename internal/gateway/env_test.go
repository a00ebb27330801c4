package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/store/sqlite"
	"github.com/iamdb/iamdb/token"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	testAccount  = "123456789012"
	testRegion   = "us-east-1"
	testPassword = "pw-Secret-0xDEADBEEF"
)

// testClock is the authority's and the gateways' clock: real time plus an offset.
type testClock struct{ off atomic.Int64 }

func (c *testClock) Now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }

// testEnv is one real PostgreSQL and one authority, shared by the tests of this binary.
type testEnv struct {
	pg    *localdb.Postgres
	ca    *pki.CA
	certs *pki.ClientCertCache
	svc   *iam.Service
	clock *testClock
	keys  map[string]token.Credentials // by IAM user name; "alice-session", "alice-expired-session"
	dir   string
}

var (
	envOnce   sync.Once
	sharedEnv *testEnv
	envErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedMySQLEnvStop != nil {
		sharedMySQLEnvStop()
	}
	if sharedEnv != nil {
		sharedEnv.close()
	}
	os.Exit(code)
}

// env returns the shared environment, starting it on first use; it skips the test when
// PostgreSQL is not installed.
func env(t testing.TB) *testEnv {
	t.Helper()
	envOnce.Do(func() { sharedEnv, envErr = startEnv() })
	if errors.Is(envErr, localdb.ErrNotFound) {
		t.Skip("PostgreSQL binaries not installed")
	}
	if envErr != nil {
		t.Fatalf("test environment: %v", envErr)
	}
	return sharedEnv
}

func startEnv() (_ *testEnv, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := &testEnv{clock: &testClock{}, keys: map[string]token.Credentials{}}
	if e.dir, err = os.MkdirTemp("", "iamdb-gateway-test-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.ca, err = pki.NewCA("iamdb gateway test CA", 24*time.Hour, nil, time.Now()); err != nil {
		return nil, err
	}
	if e.certs, err = pki.NewClientCertCache(e.ca, pki.CacheConfig{}); err != nil {
		return nil, err
	}
	if e.pg, err = localdb.StartPostgres(ctx, localdb.PostgresOptions{CA: e.ca, MaxConnections: 400}); err != nil {
		return nil, err
	}
	if err = e.pg.Exec(ctx,
		`CREATE USER alice LOGIN; GRANT rds_iam TO alice`,
		`CREATE USER bob LOGIN; GRANT rds_iam TO bob`,
		`CREATE USER carol LOGIN; GRANT rds_iam TO carol`,
		`CREATE USER dave LOGIN; GRANT rds_iam TO dave`,
		`CREATE ROLE iam_group NOLOGIN; GRANT rds_iam TO iam_group; CREATE USER nina LOGIN; GRANT iam_group TO nina`,
		`CREATE USER pwuser LOGIN PASSWORD '`+testPassword+`'`,
		`CREATE TABLE IF NOT EXISTS t (id int, payload text); GRANT ALL ON t TO PUBLIC`,
	); err != nil {
		return nil, err
	}
	st, err := sqlite.Open(filepath.Join(e.dir, "iam.db"))
	if err != nil {
		return nil, err
	}
	if e.svc, err = iam.New(ctx, iam.Config{Store: st, MasterKey: bytes.Repeat([]byte{7}, 32), Now: e.clock.Now, DefaultRegion: testRegion}); err != nil {
		return nil, err
	}
	if _, _, err = e.svc.Bootstrap(ctx, iam.BootstrapInput{AccountID: testAccount, AdminUserName: "admin"}); err != nil {
		return nil, err
	}
	root := e.svc.Root(testAccount)
	allow := func(users ...string) string {
		var rs []string
		for _, u := range users {
			rs = append(rs, `"arn:aws:rds-db:`+testRegion+`:`+testAccount+`:dbuser:*/`+u+`"`)
		}
		return `{"Version":"2012-10-17","Statement":[{"Sid":"Connect","Effect":"Allow","Action":"rds-db:connect","Resource":[` + strings.Join(rs, ",") + `]}]}`
	}
	policies := map[string]string{
		"alice": allow("alice", "nina", "pwuser"),
		"bob":   "", // no policy
		"carol": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"*"},{"Sid":"NoCarol","Effect":"Deny","Action":"rds-db:*","Resource":"*"}]}`,
		"dave":  allow("dave"),
	}
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		if _, err = e.svc.CreateUser(ctx, root, iam.CreateUserInput{UserName: u}); err != nil {
			return nil, err
		}
		k, err := e.svc.CreateAccessKey(ctx, root, u)
		if err != nil {
			return nil, err
		}
		e.keys[u] = token.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}
		if p := policies[u]; p != "" {
			if err = e.svc.PutUserPolicy(ctx, root, u, "connect", p); err != nil {
				return nil, err
			}
		}
	}
	if err = e.svc.UpdateAccessKey(ctx, root, iam.UpdateAccessKeyInput{UserName: "dave", AccessKeyID: e.keys["dave"].AccessKeyID, Status: iam.StatusInactive}); err != nil {
		return nil, err
	}
	k, err := e.svc.LookupKey(ctx, e.keys["alice"].AccessKeyID, "")
	if err != nil {
		return nil, err
	}
	alice := k.Principal.(*iam.Caller)
	sess, err := e.svc.GetSessionToken(ctx, alice, iam.GetSessionTokenInput{DurationSeconds: 3600})
	if err != nil {
		return nil, err
	}
	e.keys["alice-session"] = token.Credentials{AccessKeyID: sess.AccessKeyID, SecretAccessKey: sess.SecretAccessKey, SessionToken: sess.SessionToken}
	e.clock.off.Store(int64(-20 * time.Minute)) // before any gateway exists
	sess, err = e.svc.GetSessionToken(ctx, alice, iam.GetSessionTokenInput{DurationSeconds: 900})
	e.clock.off.Store(0)
	if err != nil {
		return nil, err
	}
	e.keys["alice-expired-session"] = token.Credentials{AccessKeyID: sess.AccessKeyID, SecretAccessKey: sess.SecretAccessKey, SessionToken: sess.SessionToken}
	return e, nil
}

func (e *testEnv) close() {
	if e.svc != nil {
		e.svc.Close()
	}
	if e.pg != nil {
		e.pg.Stop(context.Background())
	}
	os.RemoveAll(e.dir)
}

// logBuffer collects a gateway's JSON log lines.
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

// testGW is a gateway serving on a loopback port, registered as its own database.
type testGW struct {
	*Gateway
	env  *testEnv
	port int
	db   iam.Database
	logs *logBuffer
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

var dbSeq atomic.Int64

// newGateway starts a PostgreSQL gateway for the shared environment; mutate adjusts its
// Config.
func newGateway(t testing.TB, mutate func(*Config)) *testGW {
	t.Helper()
	e := env(t)
	return startTestGateway(t, e, EnginePostgres, Backend{
		Addr: e.pg.Addr(), TLS: &tls.Config{RootCAs: e.ca.Pool(), ServerName: "localhost"},
		AdminUser: e.pg.AdminUser, AdminPassword: e.pg.AdminPassword,
	}, mutate)
}

// startTestGateway starts a gateway of engine in front of backend, serving on a loopback
// port registered as its own database.
func startTestGateway(t testing.TB, e *testEnv, engine string, backend Backend, mutate func(*Config)) *testGW {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	regEngine := map[string]string{EnginePostgres: "postgres", EngineMySQL: "mariadb"}[engine]
	db, err := e.svc.RegisterDatabase(context.Background(), iam.DatabaseSpec{
		Identifier: fmt.Sprintf("gw%d", dbSeq.Add(1)), Engine: regEngine,
		Endpoints: []string{"localhost", "127.0.0.1"}, Port: port, Region: testRegion, Account: testAccount, IAMAuth: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := e.ca.ServerCert([]string{"localhost", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	reg := prometheus.NewRegistry()
	cfg := Config{
		Engine: engine, IAM: e.svc, Database: db, Certificate: &cert, Backend: backend,
		ClientCerts: e.certs,
		Logger:      slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
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
	served := make(chan error, 1)
	go func() { served <- g.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.Shutdown(ctx)
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	})
	return &testGW{Gateway: g, env: e, port: port, db: db, logs: logs, reg: reg, cfg: cfg}
}

// token returns a token for user signed with key at time at (zero: now).
func (gw *testGW) token(t testing.TB, key, user string, at time.Time) string {
	t.Helper()
	if at.IsZero() {
		at = gw.env.clock.Now()
	}
	tok, err := token.Build(fmt.Sprintf("localhost:%d", gw.port), testRegion, user, gw.env.keys[key], at)
	if err != nil {
		t.Fatal(err)
	}
	return tok
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
		cc.TLSConfig = &tls.Config{RootCAs: gw.env.ca.Pool(), ServerName: "localhost"}
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

// pgError returns err's *pgconn.PgError or fails.
func pgError(t testing.TB, err error) *pgconn.PgError {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a PostgreSQL error", err)
	}
	return pe
}
