package main

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/pki"
)

// --print writes the statements, quoted, and connects nowhere (the DSN is not dialled).
func TestCreateDBUserPrint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"mysql", []string{"--engine", "mysql", "iam_user"},
			"CREATE USER 'iam_user'@'%' REQUIRE SUBJECT '/CN=iam_user';\nGRANT rds_iam TO 'iam_user'@'%';\nSET DEFAULT ROLE rds_iam FOR 'iam_user'@'%';\n"},
		{"mariadb quoting", []string{"--engine", "mariadb", `o'brien "x"`},
			"CREATE USER 'o''brien \"x\"'@'%' REQUIRE SUBJECT '/CN=o''brien \"x\"';\nGRANT rds_iam TO 'o''brien \"x\"'@'%';\nSET DEFAULT ROLE rds_iam FOR 'o''brien \"x\"'@'%';\n"},
		{"mariadb backslash", []string{"--engine", "mariadb", `o\'b`},
			"SET @iamdb_sql_mode = @@SESSION.sql_mode, SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES');\n" +
				"CREATE USER 'o\\''b'@'%' REQUIRE SUBJECT '/CN=o\\''b';\nGRANT rds_iam TO 'o\\''b'@'%';\nSET DEFAULT ROLE rds_iam FOR 'o\\''b'@'%';\n" +
				"SET SESSION sql_mode = @iamdb_sql_mode;\n"},
		{"mysql from the DSN", []string{"--mysql", "admin:pw@tcp(192.0.2.1:3306)/", "a"},
			"CREATE USER 'a'@'%' REQUIRE SUBJECT '/CN=a';\nGRANT rds_iam TO 'a'@'%';\nSET DEFAULT ROLE rds_iam FOR 'a'@'%';\n"},
		{"mysql native", []string{"--native", "--engine", "mysql", "n"},
			"CREATE USER 'n'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;\nGRANT rds_iam TO 'n'@'%';\nSET DEFAULT ROLE rds_iam FOR 'n'@'%';\n"},
		{"mysql native through PAM", []string{"--native", "--pam-service", "svc", "--engine", "mysql", "n"},
			"CREATE USER 'n'@'%' IDENTIFIED VIA pam USING 'svc' REQUIRE SSL;\nGRANT rds_iam TO 'n'@'%';\nSET DEFAULT ROLE rds_iam FOR 'n'@'%';\n"},
		{"postgres", []string{"--engine", "postgres", "iam_user", `We"ird User`},
			"CREATE USER \"iam_user\" WITH LOGIN;\nGRANT rds_iam TO \"iam_user\";\nCREATE USER \"We\"\"ird User\" WITH LOGIN;\nGRANT rds_iam TO \"We\"\"ird User\";\n"},
		{"postgres from the URL", []string{"--postgres", "postgres://192.0.2.1/postgres", "u"},
			"CREATE USER \"u\" WITH LOGIN;\nGRANT rds_iam TO \"u\";\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, status := runCLI(t, append([]string{"create-db-user", "--print"}, tt.args...)...)
			if status != 0 || out != tt.want {
				t.Errorf("iamdb create-db-user --print %q = %q (status %d, stderr %q), want %q", tt.args, out, status, errOut, tt.want)
			}
		})
	}
}

func TestCreateDBUserUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"create-db-user"},
		{"create-db-user", "u"},
		{"create-db-user", "--mysql", "admin:pw@tcp(h:1)/"},
		{"create-db-user", "--mysql", "admin:pw@tcp(h:1)/", "--postgres", "postgres://h/", "u"},
		{"create-db-user", "--engine", "mysql", "u"}, // --engine without --print
		{"create-db-user", "--print", "--engine", "oracle", "u"},
		{"create-db-user", "--print", "--engine", "postgres", "--mysql", "admin:pw@tcp(h:1)/", "u"},
		{"create-db-user", "--print", "--engine", "mysql", ""},
		// Names the server would not keep exactly, or no one means.
		{"create-db-user", "--print", "--engine", "mysql", `inj' IDENTIFIED BY "Passw0rd!" -- `}, // trailing space
		{"create-db-user", "--print", "--engine", "mysql", "smile \U0001F600"},                   // beyond utf8mb3
		{"create-db-user", "--print", "--engine", "mysql", "new\nline"},
		{"create-db-user", "--print", "--engine", "postgres", "nul\x00"},
		{"create-db-user", "--print", "--engine", "postgres", "tab\t"},
		{"create-db-user", "--print", "--engine", "postgres", "\xff"},
		{"create-db-user", "--print", "--engine", "postgres", strings.Repeat("x", 64)},
		{"create-db-user", "--nope"},
	} {
		if _, _, status := runCLI(t, args...); status != 2 {
			t.Errorf("iamdb %q: status %d, want 2", args, status)
		}
	}
}

// hostileDBUsers are names that break naive quoting (issue 15, finding 5): quotes of every
// kind, backslashes before quotes (an escape in the default sql_mode, a character under
// NO_BACKSLASH_ESCAPES), comments, separators, names the certificate subject escapes.
var hostileDBUsers = []string{
	`inj' IDENTIFIED BY "Passw0rd!" --`,
	`inj\' IDENTIFIED BY 'Passw0rd!' -- x`,
	`x\\'; CREATE USER evil IDENTIFIED BY 'Passw0rd!'; --`,
	`'`,
	`\`,
	`back\slash`,
	"back`tick`",
	`"dq" "`,
	`/* c */ #h`,
	`a/b+c`,
	`Jöhn 用户`,
	` lead`,
}

// backendAccount is an account as the server stores it: its name, how it must log in, and
// whether it holds rds_iam.
type backendAccount struct {
	Name, Host, Login string
	IAM               bool
}

// mariaDBAccounts lists the accounts of m, as the admin sees them.
func mariaDBAccounts(t *testing.T, db *sql.DB) map[backendAccount]bool {
	t.Helper()
	rows, err := db.Query(`select User, Host,
		concat(coalesce(json_value(Priv, '$.ssl_type'), ''), ' ', coalesce(json_value(Priv, '$.x509_subject'), ''), ' ', coalesce(json_value(Priv, '$.authentication_string'), '')),
		exists (select 1 from mysql.roles_mapping r where r.User = g.User and r.Host = g.Host and r.Role = 'rds_iam' and r.Admin_option <> 'Y')
		from mysql.global_priv g`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[backendAccount]bool{}
	for rows.Next() {
		var a backendAccount
		if err := rows.Scan(&a.Name, &a.Host, &a.Login, &a.IAM); err != nil {
			t.Fatal(err)
		}
		out[a] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// expectOnlyIAMAccounts checks that the accounts after are those before plus exactly
// 'u'@'%' for each of users: members of rds_iam that require a subject and have no
// password, and that log in with a certificate for their name.
func expectOnlyIAMAccounts(t *testing.T, m *localdb.MariaDB, ca *pki.CA, before, after map[backendAccount]bool, users []string) {
	t.Helper()
	want := map[string]bool{}
	for _, u := range users {
		want[u] = true
	}
	for a := range after {
		if before[a] {
			continue
		}
		if !want[a.Name] || a.Host != "%" || !a.IAM || !strings.HasPrefix(a.Login, "3 /CN=") || !strings.HasSuffix(a.Login, " ") {
			t.Errorf("new account %+v: want one of the named users, @'%%', in rds_iam, REQUIRE SUBJECT (ssl_type 3), no password", a)
		}
		delete(want, a.Name)
	}
	for u := range want {
		t.Errorf("no account %q was created", u)
	}
	for _, u := range users {
		cert, err := ca.ClientCert(u, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		cfg := mysql.NewConfig()
		cfg.User, cfg.Net, cfg.Addr = u, "tcp", m.Addr()
		cfg.TLS = m.TLSConfig()
		cfg.TLS.Certificates = []tls.Certificate{cert}
		cn, err := mysql.NewConnector(cfg)
		if err != nil {
			t.Fatal(err)
		}
		db := sql.OpenDB(cn)
		var cur string
		if err := db.QueryRow("select current_user()").Scan(&cur); err != nil || cur != u+"@%" {
			t.Errorf("certificate login as %q: current_user() %q, %v", u, cur, err)
		}
		db.Close()
	}
}

// openOneConn is a pool of one connection to dsn, so that session settings last.
func openOneConn(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// create-db-user --mysql against a real MariaDB whose global sql_mode is each one that
// changes how literals read, with hostile names: each creates exactly the account named,
// in rds_iam and requiring its certificate, and nothing else; so do the --print
// statements run in a session of that mode. The finding's own name (with its trailing
// space, which MariaDB would drop) is refused and creates nothing.
func TestCreateDBUserMySQLSQLModes(t *testing.T) {
	t.Parallel()
	ca := testCA(t)
	m := localdbtest.MariaDB(t, ca)
	admin := openOneConn(t, m.AdminDSN(""))
	for i, mode := range []string{"", "NO_BACKSLASH_ESCAPES", "ANSI_QUOTES", "ANSI,NO_BACKSLASH_ESCAPES",
		"STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION"} {
		if err := m.Exec(context.Background(), "SET GLOBAL sql_mode = '"+mode+"'"); err != nil {
			t.Fatal(err)
		}
		var users, printed []string
		for _, u := range hostileDBUsers {
			users = append(users, fmt.Sprintf("%d %s", i, u))
			printed = append(printed, fmt.Sprintf("%d print %s", i, u))
		}
		before := mariaDBAccounts(t, admin)
		out, errOut, status := runCLI(t, append([]string{"create-db-user", "--mysql", m.AdminDSN("")}, users...)...)
		if status != 0 {
			t.Fatalf("sql_mode %q: create-db-user: status %d, stdout %q, stderr %q", mode, status, out, errOut)
		}
		after := mariaDBAccounts(t, admin)
		expectOnlyIAMAccounts(t, m, ca, before, after, users)

		out, errOut, status = runCLI(t, append([]string{"create-db-user", "--print", "--engine", "mysql"}, printed...)...)
		if status != 0 {
			t.Fatalf("create-db-user --print: status %d, stderr %q", status, errOut)
		}
		session := openOneConn(t, m.AdminDSN(""))
		if _, err := session.Exec("SET SESSION sql_mode = '" + mode + "'"); err != nil {
			t.Fatal(err)
		}
		for _, s := range strings.SplitAfter(strings.TrimSuffix(out, "\n"), ";\n") {
			if _, err := session.Exec(strings.TrimSuffix(strings.TrimSuffix(s, "\n"), ";")); err != nil {
				t.Fatalf("sql_mode %q: printed statement %q: %v", mode, s, err)
			}
		}
		expectOnlyIAMAccounts(t, m, ca, after, mariaDBAccounts(t, admin), printed)

		before = mariaDBAccounts(t, admin)
		name := fmt.Sprintf(`%d inj' IDENTIFIED BY "Passw0rd!" -- `, i)
		err := run(context.Background(), []string{"create-db-user", "--mysql", m.AdminDSN(""), name}, io.Discard, io.Discard)
		if status := exitStatus(err, io.Discard); status != 2 || !strings.Contains(err.Error(), "trailing spaces") {
			t.Errorf("create-db-user %q: %v (status %d); want a usage error about trailing spaces", name, err, status)
		}
		if after := mariaDBAccounts(t, admin); len(after) != len(before) {
			t.Errorf("a refused name created accounts: %d before, %d after", len(before), len(after))
		}
	}
}

// create-db-user --postgres against a real PostgreSQL with hostile names, with
// standard_conforming_strings on and off: each creates exactly the role named, a member of
// rds_iam without a password that logs in with a certificate for its name; no other role
// appears.
func TestCreateDBUserPostgresNames(t *testing.T) {
	t.Parallel()
	ca := testCA(t)
	p := localdbtest.Postgres(t, ca)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, p.AdminURL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	roles := func() map[string]string {
		rows, err := admin.Query(ctx, `select rolname, rolcanlogin::text || ' ' || (rolpassword is null)::text || ' ' ||
			pg_has_role(oid, 'rds_iam', 'member')::text from pg_authid`)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for rows.Next() {
			var n, v string
			if err := rows.Scan(&n, &v); err != nil {
				t.Fatal(err)
			}
			out[n] = v
		}
		return out
	}
	for i, scs := range []string{"on", "off"} {
		var users []string
		for _, u := range append(hostileDBUsers, `trail `, `x"; CREATE ROLE evil SUPERUSER LOGIN PASSWORD 'pw'; --`, strings.Repeat("é", 30)) {
			users = append(users, fmt.Sprintf("%d %s", i, u))
		}
		before := roles()
		url := p.AdminURL("postgres") + "&options=-c%20standard_conforming_strings%3D" + scs
		if err := run(ctx, append([]string{"create-db-user", "--postgres", url}, users...), io.Discard, io.Discard); err != nil {
			t.Fatalf("standard_conforming_strings %s: create-db-user: %v", scs, err)
		}
		after := roles()
		if len(after) != len(before)+len(users) {
			t.Errorf("standard_conforming_strings %s: %d roles before, %d after, want %d more", scs, len(before), len(after), len(users))
		}
		for _, u := range users {
			if got := after[u]; got != "true true true" {
				t.Errorf("role %q: login, no password, member of rds_iam = %q, want true true true", u, got)
			}
			cert, err := ca.ClientCert(u, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres sslmode=verify-full sslrootcert=%s", p.Port(), p.CAFile()))
			if err != nil {
				t.Fatal(err)
			}
			cfg.User = u
			cfg.TLSConfig.Certificates = []tls.Certificate{cert}
			c, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				t.Errorf("certificate login as %q: %v", u, err)
				continue
			}
			var cur string
			if err := c.QueryRow(ctx, "select current_user").Scan(&cur); err != nil || cur != u {
				t.Errorf("certificate login as %q: current_user %q, %v", u, cur, err)
			}
			c.Close(ctx)
		}
	}
}

// create-db-user --native makes AWSAuthenticationPlugin users where the server has the
// plugin loaded, PAM users where it has not or --pam-service says so.
func TestCreateDBUserNativePlugin(t *testing.T) {
	t.Parallel()
	plugin := localdbtest.MariaDBPlugin(t)
	ca := testCA(t)
	caFile := writeFile(t, t.TempDir(), "ca.pem", string(ca.CertPEM()))
	with := localdbtest.MariaDBWithOptions(t, localdb.MariaDBOptions{CA: ca, Native: &localdb.MariaDBNative{Plugin: plugin}})
	without := localdbtest.MariaDBWithOptions(t, localdb.MariaDBOptions{CA: ca, Native: &localdb.MariaDBNative{}})
	for _, tc := range []struct {
		m          *localdb.MariaDB
		args       []string
		wantPlugin string
	}{
		{with, nil, "AWSAuthenticationPlugin"},
		{with, []string{"--pam-service", "svc"}, "pam"},
		{without, nil, "pam"},
	} {
		args := append(append([]string{"create-db-user", "--native"}, tc.args...), "--mysql", tc.m.AdminDSN(""), "--ca-file", caFile, "n")
		if out, errOut, status := runCLI(t, args...); status != 0 {
			t.Fatalf("%q: status %d, stdout %q, stderr %q", args, status, out, errOut)
		}
		db := localdbtest.MariaDBAdmin(t, tc.m)
		var plugin string
		if err := db.QueryRow("select plugin from mysql.user where user = 'n'").Scan(&plugin); err != nil || plugin != tc.wantPlugin {
			t.Errorf("%q: plugin %q, %v; want %q", args, plugin, err, tc.wantPlugin)
		}
		if _, err := db.Exec("DROP USER 'n'@'%'"); err != nil {
			t.Fatal(err)
		}
	}
}
