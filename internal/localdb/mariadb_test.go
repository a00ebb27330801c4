package localdb_test

import (
	"crypto/tls"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/rdsiam"
	"github.com/iamdb/iamdb/internal/testenv"
)

// mconnect logs in to m over TCP as user with password, over TLS verified
// against the server's CA presenting cert when tlsOn, and returns the
// session's CURRENT_USER().
func mconnect(t testing.TB, m *localdb.MariaDB, tlsOn bool, user, password string, cert *tls.Certificate) (string, error) {
	t.Helper()
	return queryString(t, mysqlConfig(m, tlsOn, user, password, cert), "select current_user()")
}

// mysqlConfig is the configuration of mconnect: a TCP login to m as user with password,
// over TLS verified against the server's CA presenting cert when tlsOn.
func mysqlConfig(m *localdb.MariaDB, tlsOn bool, user, password string, cert *tls.Certificate) *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = user, password
	cfg.Net, cfg.Addr = "tcp", m.Addr()
	cfg.Timeout = 10 * time.Second
	cfg.Logger = &mysql.NopLogger{}
	if tlsOn {
		cfg.TLS = m.TLSConfig()
		if cert != nil {
			cfg.TLS.Certificates = []tls.Certificate{*cert}
		}
	}
	return cfg
}

// queryString runs a one-value query in a new connection made from cfg.
func queryString(t testing.TB, cfg *mysql.Config, query string) (string, error) {
	t.Helper()
	cn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(cn)
	defer db.Close()
	var s string
	err = db.QueryRowContext(testenv.Context(t), query).Scan(&s)
	return s, err
}

// adminQuery runs a one-value query as the admin over AdminDSN.
func adminQuery(t testing.TB, m *localdb.MariaDB, query string, args ...any) string {
	t.Helper()
	db, err := sql.Open("mysql", m.AdminDSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var s sql.NullString
	if err := db.QueryRowContext(testenv.Context(t), query, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return s.String
}

func mysqlErrno(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

func TestMariaDBStartStop(t *testing.T) {
	t.Parallel()
	ca := localdbtest.CA(t)
	start := func() (*localdb.MariaDB, error) {
		return localdb.StartMariaDB(testenv.Context(t), localdb.MariaDBOptions{CA: ca, Databases: []string{"app", "Odd `Name`"}})
	}
	checkStartStop(t, "StartMariaDB", start, 3306, "mysql", func(m *localdb.MariaDB) {
		if fi, err := os.Stat(m.Socket()); err != nil || fi.Mode()&os.ModeSocket == 0 || filepath.Dir(m.Socket()) != m.SocketDir() {
			t.Errorf("socket %s: %v, %v", m.Socket(), fi, err)
		}
		if os.Geteuid() == 0 {
			my, err := user.Lookup("mysql")
			if err != nil {
				t.Fatal(err)
			}
			pid, err := os.ReadFile(m.PIDFile())
			if err != nil {
				t.Fatal(err)
			}
			status, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/status")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(status), "\nUid:\t"+my.Uid+"\t") {
				t.Errorf("mariadbd does not run as mysql (uid %s):\n%s", my.Uid, status)
			}
		}

		// The admin DSN works (password over TLS verified against the CA) and
		// the databases exist.
		for _, db := range []string{"", "app", "Odd `Name`"} {
			conn, err := sql.Open("mysql", m.AdminDSN(db))
			if err != nil {
				t.Fatal(err)
			}
			var u, cipher string
			if err := conn.QueryRowContext(testenv.Context(t), "select current_user()").Scan(&u); err != nil {
				t.Fatalf("AdminDSN(%q): %v", db, err)
			}
			if u != m.AdminUser+"@%" {
				t.Errorf("current_user() = %q, want %q", u, m.AdminUser+"@%")
			}
			if err := conn.QueryRowContext(testenv.Context(t), "select variable_value from information_schema.session_status where variable_name = 'Ssl_cipher'").Scan(&cipher); err != nil || cipher == "" {
				t.Errorf("admin connection Ssl_cipher = %q, %v; want TLS", cipher, err)
			}
			conn.Close()
		}
		if err := m.Exec(testenv.Context(t), "create database t", "create table t.t (x int); insert into t.t values (1); insert into t.t values (2)"); err != nil {
			t.Errorf("Exec = %v", err)
		}
		if err := m.ExecDB(testenv.Context(t), "app", "create table t (x int)"); err != nil {
			t.Errorf("ExecDB = %v", err)
		}
		if got := adminQuery(t, m, "select count(*) from t.t"); got != "2" {
			t.Errorf("rows after Exec = %s, want 2", got)
		}
		if err := m.Exec(testenv.Context(t), "select nonsense"); err == nil {
			t.Errorf("Exec(bad SQL) = nil error, want error")
		}
		if err := m.Exec(testenv.Context(t), "select 1; select nonsense"); err == nil {
			t.Errorf("Exec(bad second statement) = nil error, want error")
		}
		log, err := os.ReadFile(m.LogFile())
		if err != nil || !strings.Contains(string(log), "ready for connections") {
			t.Errorf("server log %s lacks \"ready for connections\" (%v)", m.LogFile(), err)
		}
	})
}

// TestMariaDBSettings checks the server's settings as seen by a client, and
// that the server certificate verifies against the CA only.
func TestMariaDBSettings(t *testing.T) {
	t.Parallel()
	ca := localdbtest.CA(t)
	m := localdbtest.MariaDB(t, ca)
	for _, tc := range []struct{ name, want string }{
		{"have_ssl", "YES"},
		{"require_secure_transport", "0"},
		{"tls_version", "TLSv1.2,TLSv1.3"},
		{"max_connections", "300"},
		{"bind_address", "127.0.0.1"},
		{"port", strconv.Itoa(m.Port())},
		{"socket", m.Socket()},
		{"skip_name_resolve", "1"},
		{"character_set_server", "utf8mb4"},
		{"datadir", m.DataDir() + "/"},
		{"log_error", m.LogFile()},
		{"ssl_ca", m.CAFile()},
		{"log_bin", "0"},
		{"host_cache_size", "0"},
		{"innodb_flush_log_at_trx_commit", "0"},
	} {
		if got := adminQuery(t, m, "select @@global."+tc.name); got != tc.want {
			t.Errorf("@@%s = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := adminQuery(t, m, "select count(*) from mysql.user where user = 'rds_iam' and is_role = 'Y'"); got != "1" {
		t.Errorf("role rds_iam: %s rows, want 1", got)
	}
	if got := adminQuery(t, m, "select group_concat(concat(user, '@', host, ' ', admin_option) order by user) from mysql.roles_mapping where role = 'rds_iam'"); got != "admin@% Y,root@localhost Y" {
		t.Errorf("rds_iam held by %q after start, want only its creator and the admin, with the admin option", got)
	}
	if got := adminQuery(t, m, "select plugin from mysql.user where user = ? and host = '%'", m.AdminUser); got != "mysql_native_password" {
		t.Errorf("admin plugin = %q, want mysql_native_password", got)
	}

	// 200 concurrent sessions (max_connections is 300), over the socket.
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = m.AdminUser, m.AdminPassword, "unix", m.Socket()
	cn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(cn)
	defer db.Close()
	const n = 200
	conns := make([]*sql.Conn, 0, n)
	for range n {
		c, err := db.Conn(testenv.Context(t))
		if err != nil {
			t.Fatalf("connection %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	if got := adminQuery(t, m, "select count(*) from information_schema.processlist where user = ?", m.AdminUser); got != strconv.Itoa(n+1) {
		t.Errorf("admin sessions = %s, want %d", got, n+1)
	}
	for _, c := range conns {
		c.Close()
	}

	// The server certificate does not verify against another CA.
	cfg = mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Addr = m.AdminUser, m.AdminPassword, m.Addr()
	cfg.TLS = &tls.Config{RootCAs: localdbtest.CA(t).Pool(), ServerName: "127.0.0.1"}
	cfg.Logger = &mysql.NopLogger{}
	if _, err := queryString(t, cfg, "select 1"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("TLS with another CA as root = %v, want a certificate error", err)
	}
	// Nor for a name the certificate does not hold.
	cfg.TLS = m.TLSConfig()
	cfg.TLS.ServerName = "db.example.com"
	if _, err := queryString(t, cfg, "select 1"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("TLS with ServerName db.example.com = %v, want a certificate error", err)
	}
	// TLS below 1.2 is refused.
	cfg.TLS = m.TLSConfig()
	cfg.TLS.MinVersion, cfg.TLS.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if _, err := queryString(t, cfg, "select 1"); err == nil {
		t.Errorf("TLS 1.1 connection succeeded, want refused")
	}
	// The registered TLS config verifies too, by name (AdminDSN uses it).
	if !strings.Contains(m.AdminDSN("x"), "tls="+m.TLSConfigName()) {
		t.Errorf("AdminDSN = %q, want tls=%s", m.AdminDSN("x"), m.TLSConfigName())
	}
}

// TestMariaDBLogins is the authentication matrix: IAM users (created with
// rdsiam.MySQLIAMUserSQL) by client certificate only, password users by password.
func TestMariaDBLogins(t *testing.T) {
	t.Parallel()
	ca := localdbtest.CA(t)
	m := localdbtest.MariaDB(t, ca)
	iamUsers := []string{"iam_user", "jane.doe+ops@corp", "a/b", "Jöhn Dœ 用户", `o'brien "x" \n`}
	for _, u := range iamUsers {
		if err := m.Exec(testenv.Context(t), rdsiam.MySQLIAMUserSQL(u)...); err != nil {
			t.Fatalf("MySQLIAMUserSQL(%q): %v", u, err)
		}
	}
	if err := m.Exec(testenv.Context(t),
		"create user pat@'%' identified by 'pat-pw'",
		"create user certonly@'%' require x509",
	); err != nil {
		t.Fatal(err)
	}
	otherCA := localdbtest.CA(t)

	for _, u := range iamUsers {
		t.Run("iam cert "+u, func(t *testing.T) {
			got, err := mconnect(t, m, true, u, "", mint(t, ca, u))
			if err != nil {
				t.Fatalf("cert login as %q: %v", u, err)
			}
			if want := u + "@%"; got != want {
				t.Errorf("current_user() = %q, want %q", got, want)
			}
		})
	}

	for _, tc := range []struct {
		name, user, password string
		tls                  bool
		cert                 *tls.Certificate
		ok                   bool
	}{
		{"rds_iam member without cert", "iam_user", "", true, nil, false},
		{"rds_iam member without TLS", "iam_user", "", false, nil, false},
		{"rds_iam member, cert for another user", "iam_user", "", true, mint(t, ca, "jane.doe+ops@corp"), false},
		{"rds_iam member, cert for a prefix of its name", "jane.doe+ops@corp", "", true, mint(t, ca, "jane.doe"), false},
		// The server's TLS handshake fails (the certificate does not
		// verify against ssl_ca): no MySQL error number.
		{"rds_iam member, cert from another CA", "iam_user", "", true, mint(t, otherCA, "iam_user"), false},
		{"rds_iam member, cert and a password", "iam_user", "some-token", true, mint(t, ca, "iam_user"), false},
		{"password user, TLS", "pat", "pat-pw", true, nil, true},
		{"password user, no TLS", "pat", "pat-pw", false, nil, true},
		{"password user, wrong password", "pat", "nope", true, nil, false},
		{"password user with a cert but no password", "pat", "", true, mint(t, ca, "pat"), false},
		{"REQUIRE X509 user with a cert", "certonly", "", true, mint(t, ca, "certonly"), true},
		{"admin, cert only", m.AdminUser, "", true, mint(t, ca, m.AdminUser), false},
		{"admin, password", m.AdminUser, m.AdminPassword, true, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mconnect(t, m, tc.tls, tc.user, tc.password, tc.cert)
			if !tc.ok {
				if err == nil {
					t.Fatalf("login as %q succeeded, want refused", tc.user)
				}
				t.Logf("refused: %v", err)
				if n := mysqlErrno(err); n != 1045 && (tc.cert == nil || tc.cert.Leaf.CheckSignatureFrom(ca.Certificate()) == nil) {
					t.Errorf("error %d (%v), want 1045", n, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("login as %q: %v", tc.user, err)
			}
			if want := tc.user + "@%"; got != want {
				t.Errorf("current_user() = %q, want %q", got, want)
			}
		})
	}

	// The refusal the gateway maps to RDS's error, by number.
	_, err := mconnect(t, m, true, "iam_user", "", nil)
	if n := mysqlErrno(err); n != 1045 {
		t.Errorf("rds_iam member without cert: error %d (%v), want 1045", n, err)
	}
	// The server log says why a certificate was refused.
	if log, err := os.ReadFile(m.LogFile()); err != nil || !strings.Contains(string(log), "X509 subject mismatch") {
		t.Errorf("server log lacks \"X509 subject mismatch\" (%v)", err)
	}

	// An IAM user's session has rds_iam enabled; membership is visible to
	// the admin, as the gateway asks.
	c := mint(t, ca, "iam_user")
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.TLS = "iam_user", "tcp", m.Addr(), m.TLSConfig()
	cfg.TLS.Certificates = []tls.Certificate{*c}
	if role, err := queryString(t, cfg, "select current_role()"); err != nil || role != "rds_iam" {
		t.Errorf("iam_user current_role() = %q, %v; want rds_iam", role, err)
	}
	if got := adminQuery(t, m, "select count(*) from mysql.roles_mapping where role = 'rds_iam' and host = '%' and admin_option = 'N'"); got != strconv.Itoa(len(iamUsers)) {
		t.Errorf("rds_iam members = %s, want %d", got, len(iamUsers))
	}

	// The mariadb command-line client logs in with the certificate too.
	if _, err := exec.LookPath("mariadb"); err == nil {
		dir := t.TempDir()
		crt, key := filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
		if err := pki.WritePEM(crt, key, *c); err != nil {
			t.Fatal(err)
		}
		out, err := exec.CommandContext(testenv.Context(t), "mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", strconv.Itoa(m.Port()),
			"-u", "iam_user", "--ssl-ca", m.CAFile(), "--ssl-cert", crt, "--ssl-key", key, "--ssl-verify-server-cert",
			"-N", "-e", "select current_user()").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "iam_user@%" {
			t.Errorf("mariadb client with cert: %q, %v; want iam_user@%%", out, err)
		}
	}
}

func TestMariaDBRestart(t *testing.T) {
	t.Parallel()
	ca := localdbtest.CA(t)
	m := localdbtest.MariaDB(t, ca)
	if err := m.Exec(testenv.Context(t), "create database kept", "create table kept.t (x text)", "insert into kept.t values ('before restart')"); err != nil {
		t.Fatal(err)
	}
	if err := m.Exec(testenv.Context(t), rdsiam.MySQLIAMUserSQL("jane")...); err != nil {
		t.Fatal(err)
	}
	before := localdbtest.MariaDBAdmin(t, m) // logs nothing: the broken connection is expected
	conn, err := before.Conn(testenv.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	checkRestart(t, m)
	if err := conn.PingContext(testenv.Context(t)); err == nil {
		t.Errorf("connection from before the restart still works, want it broken")
	}
	if got := adminQuery(t, m, "select x from kept.t"); got != "before restart" {
		t.Errorf("after Restart: select = %q; want the row written before", got)
	}
	if u, err := mconnect(t, m, true, "jane", "", mint(t, ca, "jane")); err != nil || u != "jane@%" {
		t.Errorf("cert login after Restart = %q, %v", u, err)
	}
}

func TestMariaDBOptions(t *testing.T) {
	t.Parallel()
	m := localdbtest.MariaDBWithOptions(t, localdb.MariaDBOptions{
		CA:             localdbtest.CA(t),
		Dir:            os.TempDir(),
		AdminUser:      "master",
		AdminPassword:  `s3cret 'pw' \ "x"`,
		MaxConnections: 50,
		Settings:       map[string]string{"max-connections": "60", "max_allowed_packet": "32M"},
	})
	if u, err := mconnect(t, m, true, "master", `s3cret 'pw' \ "x"`, nil); err != nil || u != "master@%" {
		t.Errorf("admin login = %q, %v", u, err)
	}
	if got := adminQuery(t, m, "select @@max_connections"); got != "60" {
		t.Errorf("max_connections = %q, want 60 (Settings win)", got)
	}
	if got := adminQuery(t, m, "select @@max_allowed_packet"); got != strconv.Itoa(32<<20) {
		t.Errorf("max_allowed_packet = %q, want %d", got, 32<<20)
	}
}

func TestMariaDBKeep(t *testing.T) {
	t.Parallel()
	m, err := localdb.StartMariaDB(testenv.Context(t), localdb.MariaDBOptions{CA: localdbtest.CA(t), Keep: true})
	checkKeep(t, m, err, filepath.Join("mysql", "global_priv.MAI"))
}

func TestMariaDBStartErrors(t *testing.T) {
	t.Parallel()
	ca := localdbtest.CA(t)
	checkStartErrors(t, "StartMariaDB", localdb.StartMariaDB, []startError[localdb.MariaDBOptions]{
		{"no CA", localdb.MariaDBOptions{}, "CA is nil"},
		{"port 3306", localdb.MariaDBOptions{CA: ca, Port: 3306}, "3306"},
		{"bad port", localdb.MariaDBOptions{CA: ca, Port: 70000}, "bad port"},
		{"bad server path", localdb.MariaDBOptions{CA: ca, Mariadbd: "/nonexistent/mariadbd"}, "not found"},
		{"bad install-db path", localdb.MariaDBOptions{CA: ca, InstallDB: "/nonexistent/mariadb-install-db"}, "not found"},
		{"missing parent dir", localdb.MariaDBOptions{CA: ca, Dir: "/nonexistent/iamdb"}, "no such file"},
	})
	_, err := localdb.StartMariaDB(testenv.Context(t), localdb.MariaDBOptions{CA: ca, Mariadbd: "/nonexistent/mariadbd"})
	if !errors.Is(err, localdb.ErrMariaDBNotFound) || !errors.Is(err, localdb.ErrNotFound) {
		t.Errorf("StartMariaDB(missing binary) = %v, want ErrMariaDBNotFound and ErrNotFound", err)
	}
}
