package mysqlauth_test

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/client/mysqlauth"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/iamdb/iamdb/internal/testenv/gatewayenv"
	"github.com/iamdb/iamdb/internal/testenv/gatewayenv/gatewayrun"
)

var shared = &gatewayenv.Shared{Options: gatewayenv.Options{MariaDB: true}}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

// open returns a database handle to the gateway whose every connection is new, logged in
// by src.
func open(t *testing.T, env *gatewayenv.Env, gw *gatewayrun.Gateway, user string, src *client.TokenSource, opts mysqlauth.Options) *sql.DB {
	t.Helper()
	db := openDSN(t, fmt.Sprintf("%s@tcp(127.0.0.1:%d)/app?timeout=20s", user, gw.Port), env.ClientTLS(), src, opts)
	db.SetMaxIdleConns(0)
	return db
}

// openDSN returns a database handle for dsn (with tlsConfig, if not nil) whose
// connections log in through BeforeConnect(src, opts).
func openDSN(t *testing.T, dsn string, tlsConfig *tls.Config, src *client.TokenSource, opts mysqlauth.Options) *sql.DB {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if tlsConfig != nil {
		cfg.TLS = tlsConfig
	}
	if err := cfg.Apply(mysqlauth.BeforeConnect(src, opts)); err != nil {
		t.Fatal(err)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	return db
}

// isAccessDenied reports whether err is MySQL's error 1045, access denied.
func isAccessDenied(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1045
}

func currentUser(t *testing.T, db *sql.DB) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var u string
	err := db.QueryRowContext(ctx, "select current_user()").Scan(&u)
	return u, err
}

// New connections keep logging in as the clock jumps past token and credential expiry.
// Not parallel: it moves the shared clock.
func TestAcrossExpiry(t *testing.T) {
	env := shared.Get(t)
	gw := gatewayrun.MySQL(t, env, nil)
	creds, sessions := env.SessionCredentials(gatewayenv.User)
	var mints atomic.Int64
	db := open(t, env, gw, gatewayenv.User, env.TokenSource(t, creds, &mints), mysqlauth.Options{RequireVerifiedTLS: true})
	for round := range 3 {
		if round > 0 {
			env.Clock.Advance(20 * time.Minute)
		}
		for range 3 {
			if u, err := currentUser(t, db); err != nil || u != gatewayenv.User+"@%" {
				t.Fatalf("round %d: current_user() = %q, %v", round, u, err)
			}
		}
		if got := mints.Load(); got != int64(round+1) {
			t.Errorf("round %d: %d mints, want %d", round, got, round+1)
		}
	}
	if got := sessions(); got != 3 {
		t.Errorf("%d sessions issued, want 3", got)
	}
}

// The token is signed for Options.Host while the driver dials 127.0.0.1.
func TestSigningHostOverride(t *testing.T) {
	t.Parallel()
	env := shared.Get(t)
	gw := gatewayrun.MySQL(t, env, nil)
	src := env.TokenSource(t, env.LongTermCredentials(gatewayenv.User), nil)
	if u, err := currentUser(t, open(t, env, gw, gatewayenv.User, src, mysqlauth.Options{Host: gatewayenv.Alias})); err != nil || u != gatewayenv.User+"@%" {
		t.Errorf("with a token for %s: current_user() = %q, %v", gatewayenv.Alias, u, err)
	}
	_, err := currentUser(t, open(t, env, gw, gatewayenv.User, src, mysqlauth.Options{Host: "unregistered.iamdb.test"}))
	if !isAccessDenied(err) {
		t.Errorf("with a token for another host: %v, want error 1045", err)
	}
}

// A refused login's error is MySQL's 1045 and does not contain the token.
func TestRefusedLoginError(t *testing.T) {
	t.Parallel()
	env := shared.Get(t)
	gw := gatewayrun.MySQL(t, env, nil)
	_, err := currentUser(t, open(t, env, gw, gatewayenv.Denied, env.TokenSource(t, env.LongTermCredentials(gatewayenv.Denied), nil), mysqlauth.Options{}))
	if !isAccessDenied(err) {
		t.Fatalf("login as a user without a policy: %v, want error 1045", err)
	}
	gatewayenv.CheckNoToken(t, err)
}

// Configurations that could send the token in plaintext are refused before any network
// I/O.
func TestRefusesPlaintext(t *testing.T) {
	t.Parallel()
	addr, accepts := testenv.CountingListener(t)
	src, retrieves := gatewayenv.CountingSource(t)
	for _, param := range []string{"", "tls=false", "tls=preferred"} {
		t.Run(param, func(t *testing.T) {
			db := openDSN(t, fmt.Sprintf("app@tcp(%s)/app?timeout=5s&%s", addr, param), nil, src, mysqlauth.Options{})
			if err := db.Ping(); !errors.Is(err, client.ErrInsecureTransport) {
				t.Errorf("Ping = %v, want ErrInsecureTransport", err)
			}
		})
	}
	if accepts.Load() != 0 || retrieves.Load() != 0 {
		t.Errorf("%d connections accepted and %d credentials retrieved, want none", accepts.Load(), retrieves.Load())
	}
}

func TestHookSettings(t *testing.T) {
	t.Parallel()
	src, err := client.NewTokenSource(client.Config{Region: "us-east-1", Credentials: client.StaticCredentials("AKIAIOSFODNN7EXAMPLE", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tt := range []struct {
		dsn    string
		opts   mysqlauth.Options
		prefix string
		want   error
	}{
		{"app@tcp(db.internal:3307)/x?tls=true", mysqlauth.Options{}, "db.internal:3307/?", nil},
		{"app@tcp([::1]:3306)/x?tls=skip-verify", mysqlauth.Options{}, "[::1]:3306/?", nil},
		{"app@tcp(127.0.0.1:13306)/x?tls=true", mysqlauth.Options{Host: "mydb.c9akciq32.us-east-1.rds.amazonaws.com", Port: 3306}, "mydb.c9akciq32.us-east-1.rds.amazonaws.com:3306/?", nil},
		{"app@unix(/run/mysqld.sock)/x?tls=true", mysqlauth.Options{Host: "db.internal", Port: 3306}, "db.internal:3306/?", nil},
		{"app@unix(/run/mysqld.sock)/x?tls=true", mysqlauth.Options{}, "", client.ErrInvalidTarget},
		{"app@tcp(db.internal:3306)/x", mysqlauth.Options{}, "", client.ErrInsecureTransport},
		{"app@tcp(db.internal:3306)/x?tls=skip-verify", mysqlauth.Options{RequireVerifiedTLS: true}, "", client.ErrInsecureTransport},
		{"app@tcp(db.internal:3306)/x?tls=true", mysqlauth.Options{RequireVerifiedTLS: true}, "db.internal:3306/?", nil},
	} {
		cfg, err := mysql.ParseDSN(tt.dsn)
		if err != nil {
			t.Fatal(err)
		}
		err = mysqlauth.Hook(src, tt.opts)(ctx, cfg)
		if !errors.Is(err, tt.want) {
			t.Errorf("Hook(%s) = %v, want %v", tt.dsn, err, tt.want)
			continue
		}
		if err != nil {
			if cfg.Passwd != "" {
				t.Errorf("Hook(%s) failed but set a password", tt.dsn)
			}
			continue
		}
		if !strings.HasPrefix(cfg.Passwd, tt.prefix) || !cfg.AllowCleartextPasswords {
			t.Errorf("Hook(%s): password %.50q, AllowCleartextPasswords %v; want prefix %q, true", tt.dsn, cfg.Passwd, cfg.AllowCleartextPasswords, tt.prefix)
		}
	}
}
