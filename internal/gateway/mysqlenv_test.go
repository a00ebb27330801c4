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

// myEnv is one real MariaDB beside the shared environment's authority and CA.
type myEnv struct {
	*testEnv
	maria *localdb.MariaDB
}

var (
	myEnvOnce   sync.Once
	sharedMyEnv *myEnv
	myEnvErr    error
)

// mysqlEnv returns the shared MariaDB environment, starting it on first use; it skips
// the test when MariaDB is not installed.
func mysqlEnv(t testing.TB) *myEnv {
	t.Helper()
	e := env(t)
	myEnvOnce.Do(func() { sharedMyEnv, myEnvErr = startMyEnv(e) })
	if errors.Is(myEnvErr, localdb.ErrNotFound) {
		t.Skip("MariaDB binaries not installed")
	}
	if myEnvErr != nil {
		t.Fatalf("MariaDB test environment: %v", myEnvErr)
	}
	return sharedMyEnv
}

func startMyEnv(e *testEnv) (*myEnv, error) {
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
	sharedMyEnvStop = func() { m.Stop(context.Background()) }
	return &myEnv{testEnv: e, maria: m}, nil
}

// sharedMyEnvStop stops the shared MariaDB (TestMain).
var sharedMyEnvStop func()

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

// myConfig is a go-sql-driver configuration for the gateway: TLS verified against the
// CA for "localhost" (nil tlsConf: plaintext), cleartext passwords allowed.
func (gw *testGW) myConfig(user, password, database string, tlsConf *tls.Config) *mysql.Config {
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

func (gw *testGW) myTLS() *tls.Config {
	return &tls.Config{RootCAs: gw.env.ca.Pool(), ServerName: "localhost"}
}

// myConnect opens one connection (a *sql.Conn of a one-connection DB) and pings it.
func (gw *testGW) myOpen(t testing.TB, cfg *mysql.Config) (*sql.DB, error) {
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

func (gw *testGW) myMustOpen(t testing.TB, user, password, database string) *sql.DB {
	t.Helper()
	db, err := gw.myOpen(t, gw.myConfig(user, password, database, gw.myTLS()))
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
