package localdb_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/rdsiam"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// connect logs in to p over TCP as user with TLS verified against ca
// (sslmode), optionally presenting cert, with password.
func connect(t testing.TB, p *localdb.Postgres, sslmode, user, password string, cert *tls.Certificate) (*pgx.Conn, error) {
	t.Helper()
	return pgx.ConnectConfig(testenv.Context(t), pgConfig(t, p, sslmode, user, password, cert))
}

// pgConfig is the configuration of connect: a TCP login to p as user with password, TLS
// verified against p's CA (sslmode), optionally presenting cert.
func pgConfig(t testing.TB, p *localdb.Postgres, sslmode, user, password string, cert *tls.Certificate) *pgx.ConnConfig {
	t.Helper()
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres sslmode=%s sslrootcert=%s connect_timeout=10",
		p.Port(), sslmode, p.CAFile()))
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Password = user, password
	if cert != nil {
		cfg.TLSConfig.Certificates = []tls.Certificate{*cert}
	}
	return cfg
}

func currentUser(t testing.TB, c *pgx.Conn) string {
	t.Helper()
	var u string
	if err := c.QueryRow(testenv.Context(t), "select current_user").Scan(&u); err != nil {
		t.Fatal(err)
	}
	return u
}

// mint returns a client certificate for u issued by issuer.
func mint(t testing.TB, issuer *pki.CA, u string) *tls.Certificate {
	t.Helper()
	c, err := issuer.ClientCert(u, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func TestStartStop(t *testing.T) {
	t.Parallel()
	ca := localdbtest.CA(t)
	start := func() (*localdb.Postgres, error) {
		return localdb.StartPostgres(testenv.Context(t), localdb.PostgresOptions{CA: ca, Databases: []string{"app", "Odd Name"}})
	}
	checkStartStop(t, "StartPostgres", start, 5432, "postgres", func(p *localdb.Postgres) {
		if _, err := os.Stat(filepath.Join(p.SocketDir(), ".s.PGSQL."+strconv.Itoa(p.Port()))); err != nil {
			t.Errorf("socket: %v", err)
		}

		// The admin URL works (SCRAM over verified TLS) and the databases exist.
		for _, db := range []string{"postgres", "app", "Odd Name"} {
			c, err := pgx.Connect(testenv.Context(t), p.AdminURL(db))
			if err != nil {
				t.Fatalf("connect to AdminURL(%q): %v", db, err)
			}
			if u := currentUser(t, c); u != p.AdminUser {
				t.Errorf("current_user = %q, want %q", u, p.AdminUser)
			}
			c.Close(testenv.Context(t))
		}
		if err := p.Exec(testenv.Context(t), "create table t (x int)", "insert into t values (1); insert into t values (2)"); err != nil {
			t.Errorf("Exec = %v", err)
		}
		if err := p.ExecDB(testenv.Context(t), "app", "create table t (x int)"); err != nil {
			t.Errorf("ExecDB = %v", err)
		}
		if err := p.Exec(testenv.Context(t), "select nonsense"); err == nil {
			t.Errorf("Exec(bad SQL) = nil error, want error")
		}
		log, err := os.ReadFile(p.LogFile())
		if err != nil || !strings.Contains(string(log), "connection authorized: user="+p.AdminUser) {
			t.Errorf("log_connections lines missing from %s (%v)", p.LogFile(), err)
		}
	})
}

// TestSettings checks the server's settings as seen by a client.
func TestSettings(t *testing.T) {
	t.Parallel()
	p := localdbtest.Postgres(t, localdbtest.CA(t))
	c, err := pgx.Connect(testenv.Context(t), p.AdminURL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	for _, tc := range []struct{ name, want string }{
		{"ssl", "on"},
		{"ssl_min_protocol_version", "TLSv1.2"},
		{"password_encryption", "scram-sha-256"},
		{"max_connections", "300"},
		{"log_connections", "on"},
		{"listen_addresses", "127.0.0.1"},
		{"port", strconv.Itoa(p.Port())},
		{"unix_socket_directories", p.SocketDir()},
		{"unix_socket_permissions", "0700"},
	} {
		var got string
		if err := c.QueryRow(testenv.Context(t), "select current_setting($1)", tc.name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, got, tc.want)
		}
	}
	var ssl bool
	if err := c.QueryRow(testenv.Context(t), "select ssl from pg_stat_ssl where pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		t.Errorf("admin connection ssl = %v, %v; want true", ssl, err)
	}
	var canLogin bool
	if err := c.QueryRow(testenv.Context(t), "select rolcanlogin from pg_roles where rolname = 'rds_iam'").Scan(&canLogin); err != nil || canLogin {
		t.Errorf("rds_iam rolcanlogin = %v, %v; want false", canLogin, err)
	}
	var method string
	if err := c.QueryRow(testenv.Context(t), "select auth_method from pg_hba_file_rules where user_name = '{+rds_iam}' and type = 'hostssl'").Scan(&method); err != nil || method != "cert" {
		t.Errorf("hba +rds_iam hostssl = %q, %v; want cert", method, err)
	}

	// TLS below 1.2 is refused.
	cfg, err := pgx.ParseConfig(p.AdminURL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLSConfig.MinVersion, cfg.TLSConfig.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if c, err := pgx.ConnectConfig(testenv.Context(t), cfg); err == nil {
		c.Close(testenv.Context(t))
		t.Errorf("TLS 1.1 connection succeeded, want refused")
	}
}

// TestLogins is the authentication matrix of pg_hba.conf.
func TestLogins(t *testing.T) {
	t.Parallel()
	ca := localdbtest.CA(t)
	p := localdbtest.Postgres(t, ca)
	iamUsers := []string{"iam_user", "jane.doe+ops@corp", "Jöhn Dœ 用户", `o'brien "x"`}
	for _, u := range iamUsers {
		q := rdsiam.QuotePostgresIdent(u)
		if err := p.Exec(testenv.Context(t), "create role "+q+" login", "grant rds_iam to "+q); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Exec(testenv.Context(t),
		"create role nested login password 'nested-pw'",
		"create role iam_group nologin", "grant rds_iam to iam_group", "grant iam_group to nested",
		"create role pat login password 'pat-pw'",
		"create role certonly login",
		"create role iam_pw login password 'iam-pw'", "grant rds_iam to iam_pw",
	); err != nil {
		t.Fatal(err)
	}
	otherCA := localdbtest.CA(t)

	for _, u := range iamUsers {
		t.Run("iam cert "+u, func(t *testing.T) {
			c, err := connect(t, p, "verify-full", u, "", mint(t, ca, u))
			if err != nil {
				t.Fatalf("cert login as %q: %v", u, err)
			}
			defer c.Close(context.Background())
			if got := currentUser(t, c); got != u {
				t.Errorf("current_user = %q, want %q", got, u)
			}
		})
	}

	for _, tc := range []struct {
		name, sslmode, user, password string
		cert                          *tls.Certificate
		ok                            bool
	}{
		{"nested rds_iam member with cert", "verify-full", "nested", "", mint(t, ca, "nested"), true},
		{"nested rds_iam member, password, TLS", "verify-full", "nested", "nested-pw", nil, false},
		{"rds_iam member without cert", "verify-full", "iam_user", "", nil, false},
		{"rds_iam member with its password, TLS, no cert", "verify-full", "iam_pw", "iam-pw", nil, false},
		{"rds_iam member with its password, no TLS", "disable", "iam_pw", "iam-pw", nil, false},
		{"rds_iam member, cert for another user", "verify-full", "iam_user", "", mint(t, ca, "jane.doe+ops@corp"), false},
		{"rds_iam member, cert from another CA", "verify-full", "iam_user", "", mint(t, otherCA, "iam_user"), false},
		{"password user, TLS", "verify-full", "pat", "pat-pw", nil, true},
		{"password user, no TLS", "disable", "pat", "pat-pw", nil, true},
		{"password user, wrong password", "verify-full", "pat", "nope", nil, false},
		{"password user with a cert but no password", "verify-full", "pat", "", mint(t, ca, "pat"), false},
		{"non-member with only a cert", "verify-full", "certonly", "", mint(t, ca, "certonly"), false},
		{"admin, cert only", "verify-full", p.AdminUser, "", mint(t, ca, p.AdminUser), false},
		{"admin, password", "verify-full", p.AdminUser, p.AdminPassword, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := connect(t, p, tc.sslmode, tc.user, tc.password, tc.cert)
			if !tc.ok {
				if err == nil {
					c.Close(context.Background())
					t.Fatalf("login as %q succeeded, want refused", tc.user)
				}
				t.Logf("refused: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("login as %q: %v", tc.user, err)
			}
			defer c.Close(context.Background())
			if got := currentUser(t, c); got != tc.user {
				t.Errorf("current_user = %q, want %q", got, tc.user)
			}
		})
	}

	// The two refusals the gateway relies on, by SQLSTATE.
	_, err := connect(t, p, "verify-full", "iam_user", "", nil)
	if got := sqlState(err); got != "28000" {
		t.Errorf("rds_iam member without cert: SQLSTATE %q (%v), want 28000", got, err)
	}
	_, err = connect(t, p, "disable", "iam_pw", "iam-pw", nil)
	if got := sqlState(err); got != "28000" || !strings.Contains(err.Error(), "pg_hba.conf rejects connection") {
		t.Errorf("rds_iam member without TLS: %v, want 28000 pg_hba.conf rejects connection", err)
	}
}

// TestManyConnections opens 200 concurrent sessions (max_connections is 300).
func TestManyConnections(t *testing.T) {
	t.Parallel()
	p := localdbtest.Postgres(t, localdbtest.CA(t))
	const n = 200
	conns := make([]*pgconn.PgConn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			c, err := pgconn.Connect(testenv.Context(t), fmt.Sprintf("host=%s port=%d user=%s dbname=postgres sslmode=disable",
				p.SocketDir(), p.Port(), p.AdminUser))
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("connection failed: %v", err)
	}
	for _, c := range conns {
		c.Close(context.Background())
	}
}

func TestRestart(t *testing.T) {
	t.Parallel()
	ca := localdbtest.CA(t)
	p := localdbtest.Postgres(t, ca)
	if err := p.Exec(testenv.Context(t), "create table kept (x text)", "insert into kept values ('before restart')",
		"create role jane login", "grant rds_iam to jane"); err != nil {
		t.Fatal(err)
	}
	before, err := pgx.Connect(testenv.Context(t), p.AdminURL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close(context.Background())

	checkRestart(t, p)
	if err := before.Ping(testenv.Context(t)); err == nil {
		t.Errorf("connection from before the restart still works, want it broken")
	}
	c, err := pgx.Connect(testenv.Context(t), p.AdminURL("postgres"))
	if err != nil {
		t.Fatalf("connect after Restart: %v", err)
	}
	defer c.Close(context.Background())
	var x string
	if err := c.QueryRow(testenv.Context(t), "select x from kept").Scan(&x); err != nil || x != "before restart" {
		t.Errorf("after Restart: select = %q, %v; want the row written before", x, err)
	}
	jc, err := connect(t, p, "verify-full", "jane", "", mint(t, ca, "jane"))
	if err != nil {
		t.Fatalf("cert login after Restart: %v", err)
	}
	jc.Close(context.Background())
}

// TestParallel starts two clusters at once: separate ports, directories and
// data.
func TestParallel(t *testing.T) {
	t.Parallel()
	ca := localdbtest.CA(t)
	var ps [2]*localdb.Postgres
	var wg sync.WaitGroup
	for i := range ps {
		wg.Go(func() {
			p, err := localdb.StartPostgres(testenv.Context(t), localdb.PostgresOptions{CA: ca})
			if errors.Is(err, localdb.ErrNotFound) {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			ps[i] = p
			t.Cleanup(func() { p.Stop(context.Background()) })
		})
	}
	wg.Wait()
	if ps[0] == nil || ps[1] == nil {
		t.SkipNow()
	}
	if ps[0].Port() == ps[1].Port() || ps[0].DataDir() == ps[1].DataDir() || ps[0].SocketDir() == ps[1].SocketDir() {
		t.Fatalf("clusters collide: %q %q, %q %q", ps[0].Addr(), ps[1].Addr(), ps[0].DataDir(), ps[1].DataDir())
	}
	if err := ps[0].Exec(testenv.Context(t), "create table only_in_first (x int)"); err != nil {
		t.Fatal(err)
	}
	if err := ps[1].Exec(testenv.Context(t), "select * from only_in_first"); err == nil {
		t.Errorf("table created in the first cluster is visible in the second")
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	ca := localdbtest.CA(t)
	p := localdbtest.PostgresWithOptions(t, localdb.PostgresOptions{
		CA:             ca,
		Dir:            os.TempDir(),
		AdminUser:      "master",
		AdminPassword:  "s3cret 'pw'",
		MaxConnections: 50,
		Settings:       map[string]string{"application_name": "'localdb-test'", "max_connections": "60"},
	})
	c, err := pgx.Connect(testenv.Context(t), p.AdminURL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if u := currentUser(t, c); u != "master" {
		t.Errorf("current_user = %q, want master", u)
	}
	var mc string
	if err := c.QueryRow(testenv.Context(t), "show max_connections").Scan(&mc); err != nil || mc != "60" {
		t.Errorf("max_connections = %q, %v; want 60 (Settings win)", mc, err)
	}
}

func TestKeep(t *testing.T) {
	t.Parallel()
	p, err := localdb.StartPostgres(testenv.Context(t), localdb.PostgresOptions{CA: localdbtest.CA(t), Keep: true})
	checkKeep(t, p, err, "PG_VERSION")
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	ca := localdbtest.CA(t)
	checkStartErrors(t, "StartPostgres", localdb.StartPostgres, []startError[localdb.PostgresOptions]{
		{"no CA", localdb.PostgresOptions{}, "CA is nil"},
		{"port 5432", localdb.PostgresOptions{CA: ca, Port: 5432}, "5432"},
		{"bad bin dir", localdb.PostgresOptions{CA: ca, BinDir: t.TempDir()}, "not found"},
		{"missing parent dir", localdb.PostgresOptions{CA: ca, Dir: "/nonexistent/iamdb"}, "no such file"},
	})
}

// An IAM user can set itself a password (any role may ALTER ROLE itself), but pg_hba.conf
// lets members of rds_iam in only with a certificate: the password is refused over TCP
// with TLS, without, and over the socket; a password user logs in either way (issue 15,
// finding 6).
func TestIAMUserOwnPassword(t *testing.T) {
	t.Parallel()
	ca := localdbtest.CA(t)
	p := localdbtest.Postgres(t, ca)
	if err := p.Exec(testenv.Context(t), "create role iam_self login", "grant rds_iam to iam_self",
		"create role pat login password 'pat-pw'"); err != nil {
		t.Fatal(err)
	}
	cert := mint(t, ca, "iam_self")
	c, err := connect(t, p, "verify-full", "iam_self", "", cert)
	if err != nil {
		t.Fatalf("cert login: %v", err)
	}
	if _, err := c.Exec(testenv.Context(t), "alter role current_user password 'Passw0rd!'"); err != nil {
		t.Fatalf("the IAM user setting its own password: %v", err)
	}
	c.Close(context.Background())

	socket := func(user, password string) (*pgx.Conn, error) {
		cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d dbname=postgres sslmode=disable connect_timeout=10", p.SocketDir(), p.Port()))
		if err != nil {
			t.Fatal(err)
		}
		cfg.User, cfg.Password = user, password
		return pgx.ConnectConfig(testenv.Context(t), cfg)
	}
	for _, tc := range []struct {
		name  string
		login func() (*pgx.Conn, error)
		ok    bool
	}{
		{"IAM user, own password, TLS", func() (*pgx.Conn, error) { return connect(t, p, "verify-full", "iam_self", "Passw0rd!", nil) }, false},
		{"IAM user, own password, no TLS", func() (*pgx.Conn, error) { return connect(t, p, "disable", "iam_self", "Passw0rd!", nil) }, false},
		{"IAM user, own password, socket", func() (*pgx.Conn, error) { return socket("iam_self", "Passw0rd!") }, false},
		{"IAM user, certificate", func() (*pgx.Conn, error) { return connect(t, p, "verify-full", "iam_self", "", cert) }, true},
		{"password user, TLS", func() (*pgx.Conn, error) { return connect(t, p, "verify-full", "pat", "pat-pw", nil) }, true},
		{"password user, no TLS", func() (*pgx.Conn, error) { return connect(t, p, "disable", "pat", "pat-pw", nil) }, true},
	} {
		c, err := tc.login()
		if err == nil {
			c.Close(context.Background())
		}
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok %v", tc.name, err, tc.ok)
		}
		if !tc.ok && err != nil && sqlState(err) != "28000" {
			t.Errorf("%s: %v, want SQLSTATE 28000 (from pg_hba.conf)", tc.name, err)
		}
	}
}
