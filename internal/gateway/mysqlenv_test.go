package gateway

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/iamdb/iamdb/internal/localdb"
)

// mysqlTestEnv is one real MariaDB beside the shared environment's authority and CA.
type mysqlTestEnv struct {
	*testEnv
	maria *localdb.MariaDB
}

var (
	mysqlEnvOnce   sync.Once
	sharedMySQLEnv *mysqlTestEnv
	mysqlEnvErr    error
)

// mysqlEnv returns the shared MariaDB environment, starting it on first use; it skips
// the test when MariaDB is not installed.
func mysqlEnv(t testing.TB) *mysqlTestEnv {
	t.Helper()
	e := env(t)
	mysqlEnvOnce.Do(func() { sharedMySQLEnv, mysqlEnvErr = startMySQLEnv(e) })
	if errors.Is(mysqlEnvErr, localdb.ErrNotFound) {
		t.Skip("MariaDB binaries not installed")
	}
	if mysqlEnvErr != nil {
		t.Fatalf("MariaDB test environment: %v", mysqlEnvErr)
	}
	return sharedMySQLEnv
}

func startMySQLEnv(e *testEnv) (*mysqlTestEnv, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := localdb.StartMariaDB(ctx, localdb.MariaDBOptions{CA: e.ca, Databases: []string{"app", "app2"}, MaxConnections: 400, Settings: map[string]string{"max-allowed-packet": "64M"}})
	if err != nil {
		return nil, err
	}
	stmts := []string{}
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		stmts = append(stmts, localdb.IAMUserSQL(u)...)
	}
	stmts = append(stmts,
		// nina is an IAM user through a role granted rds_iam.
		"CREATE ROLE iam_group", "GRANT rds_iam TO iam_group",
		"CREATE USER 'nina'@'%' REQUIRE SUBJECT '/CN=nina'", "GRANT iam_group TO 'nina'@'%'",
		"CREATE USER 'pwuser'@'%' IDENTIFIED BY '"+testPassword+"'",
		"CREATE TABLE app.t (id int primary key auto_increment, payload longtext)",
		"GRANT ALL ON app.* TO rds_iam", "GRANT ALL ON app2.* TO rds_iam", "GRANT ALL ON app.* TO 'pwuser'@'%'",
		"GRANT ALL ON app.* TO 'nina'@'%'",
	)
	if err := m.Exec(ctx, stmts...); err != nil {
		m.Stop(context.Background())
		return nil, err
	}
	sharedMySQLEnvStop = func() { m.Stop(context.Background()) }
	return &mysqlTestEnv{testEnv: e, maria: m}, nil
}

// sharedMySQLEnvStop stops the shared MariaDB (TestMain).
var sharedMySQLEnvStop func()

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

func (gw *testGW) mysqlTLS() *tls.Config {
	return &tls.Config{RootCAs: gw.env.ca.Pool(), ServerName: "localhost"}
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
	db, err := gw.mysqlOpen(t, gw.mysqlConfig(user, password, database, gw.mysqlTLS()))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	return db
}

// mysqlError returns err's *mysql.MySQLError or fails.
func mysqlError(t testing.TB, err error) *mysql.MySQLError {
	t.Helper()
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		t.Fatalf("error %v is not a MySQL error", err)
	}
	return me
}
