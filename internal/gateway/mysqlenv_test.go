package gateway

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/iamdb/iamdb/internal/localdb"
)

// mysqlTestEnv is one real MariaDB and its authority and CA.
type mysqlTestEnv struct {
	*testEnv
	maria *localdb.MariaDB
}

// mysqlEnv returns the shared MariaDB environment, starting it on first use; it skips
// the test when MariaDB is not installed.
func mysqlEnv(t testing.TB) *mysqlTestEnv {
	t.Helper()
	e := myShared.Get(t)
	return &mysqlTestEnv{testEnv: newTestEnv(e), maria: e.MariaDB}
}

// newMySQLGateway starts a MySQL gateway in front of the shared MariaDB; mutate adjusts
// its Config.
func newMySQLGateway(t testing.TB, mutate func(*Config)) *testGW {
	t.Helper()
	e := mysqlEnv(t)
	return startTestGateway(t, e.testEnv, EngineMySQL, Backend{
		Addr: e.maria.Addr(), TLS: e.maria.TLSConfig(),
		AdminUser: e.maria.AdminUser, AdminPassword: e.maria.AdminPassword,
	}, mutate)
}

// mysqlConfig is a go-sql-driver configuration for the gateway: TLS verified against the
// CA for "localhost" (nil tlsConf: plaintext), cleartext passwords allowed.
func (gw *testGW) mysqlConfig(user, password, database string, tlsConf *tls.Config) *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName = user, password, database
	cfg.Net, cfg.Addr = "tcp", fmt.Sprintf("127.0.0.1:%d", gw.port)
	cfg.TLS = tlsConf
	cfg.AllowCleartextPasswords = true
	cfg.AllowNativePasswords = true
	cfg.Timeout = 20 * time.Second
	cfg.MultiStatements = true
	cfg.InterpolateParams = false
	return cfg
}

// mysqlOpen opens one connection (a *sql.Conn of a one-connection DB) and pings it.
func (gw *testGW) mysqlOpen(t testing.TB, cfg *mysql.Config) (*sql.DB, error) {
	t.Helper()
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	t.Cleanup(func() { db.Close() })
	return db, nil
}

func (gw *testGW) mysqlMustOpen(t testing.TB, user, password, database string) *sql.DB {
	t.Helper()
	db, err := gw.mysqlOpen(t, gw.mysqlConfig(user, password, database, gw.env.ClientTLS()))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	return db
}

var mysqlError = wireError[*mysql.MySQLError]
