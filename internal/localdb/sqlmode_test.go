package localdb_test

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/rdsiam"
	"github.com/iamdb/iamdb/internal/testenv"
)

// hostileUsers are user names that break naive quoting: quotes of every kind, backslashes
// before quotes (an escape in the default sql_mode, a character under NO_BACKSLASH_ESCAPES),
// comments, statement separators, names that need escapes in the certificate subject.
var hostileUsers = []string{
	`inj' IDENTIFIED BY "Passw0rd!" --`, // issue 15, finding 5 (less its trailing space)
	`inj\' IDENTIFIED BY 'Passw0rd!' -- x`,
	`inj\\' IDENTIFIED BY 'Passw0rd!'; DROP USER admin; --`,
	`o'brien`,
	`'`,
	`''`,
	`\`,
	`tail\`,
	`back\slash\n`,
	"back`tick`",
	`"dq" "`,
	`semi;colon`,
	`-- dash`,
	`/* c */ #hash`,
	`a/b+c=d,e`,
	`Jöhn Dœ 用户`,
	` lead`,
	`pct%_`,
}

// mariaDBAccount is a row of mysql.global_priv, as much of it as says who logs in how.
type mariaDBAccount struct {
	User, Host, SSLType, Subject, AuthString, Plugin string
}

// mariaDBAccounts lists every account and role of the server.
func mariaDBAccounts(t testing.TB, db *sql.DB) []mariaDBAccount {
	t.Helper()
	rows, err := db.QueryContext(testenv.Context(t), `select User, Host,
		coalesce(json_value(Priv, '$.ssl_type'), ''), coalesce(json_value(Priv, '$.x509_subject'), ''),
		coalesce(json_value(Priv, '$.authentication_string'), ''), coalesce(json_value(Priv, '$.plugin'), '')
		from mysql.global_priv order by User, Host`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []mariaDBAccount
	for rows.Next() {
		var a mariaDBAccount
		if err := rows.Scan(&a.User, &a.Host, &a.SSLType, &a.Subject, &a.AuthString, &a.Plugin); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkIAMAccount checks that the accounts after creating name are those before plus
// exactly 'name'@'%', which requires a subject, has no password, holds rds_iam by default,
// logs in with a certificate for name and not with the password of the injection.
func checkIAMAccount(t *testing.T, m *localdb.MariaDB, db *sql.DB, ca *pki.CA, before []mariaDBAccount, name string) []mariaDBAccount {
	t.Helper()
	after := mariaDBAccounts(t, db)
	var added []mariaDBAccount
	for _, a := range after {
		if !slices.Contains(before, a) {
			added = append(added, a)
		}
	}
	if len(added) != 1 || len(after) != len(before)+1 || added[0].User != name || added[0].Host != "%" {
		t.Fatalf("creating %q added accounts %+v (%d before, %d after), want exactly %q@%%", name, added, len(before), len(after), name)
	}
	a := added[0]
	if a.SSLType != "3" || !strings.HasPrefix(a.Subject, "/CN=") || a.AuthString != "" {
		t.Errorf("account %q: ssl_type %s, subject %q, authentication_string %q; want REQUIRE SUBJECT and no password", name, a.SSLType, a.Subject, a.AuthString)
	}
	var role string
	if err := db.QueryRowContext(testenv.Context(t), "select Role from mysql.roles_mapping where User = ? and Host = '%'", name).Scan(&role); err != nil || role != "rds_iam" {
		t.Errorf("account %q: role %q, %v; want rds_iam", name, role, err)
	}
	if got, err := mconnect(t, m, true, name, "", mint(t, ca, name)); err != nil || got != name+"@%" {
		t.Errorf("cert login as %q: %q, %v; want %q", name, got, err, name+"@%")
	}
	if _, err := mconnect(t, m, true, name, "Passw0rd!", nil); err == nil {
		t.Errorf("password login as %q succeeded", name)
	}
	return after
}

// sqlModes are the session modes rdsiam.MySQLIAMUserSQL must mean the same in.
var sqlModes = []string{
	"", // backslash escapes on
	"STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION", // MariaDB 10.11's default
	"NO_BACKSLASH_ESCAPES",
	"ANSI_QUOTES",
	"ANSI,NO_BACKSLASH_ESCAPES",
}

// TestIAMUserSQLModes runs rdsiam.MySQLIAMUserSQL for hostile names under each sql_mode against a
// real MariaDB: each creates exactly the account named, requiring its certificate, and
// leaves the session's sql_mode as it found it.
func TestIAMUserSQLModes(t *testing.T) {
	t.Parallel()
	ca := localdbtest.CA(t)
	m := localdbtest.MariaDB(t, ca)
	db := localdbtest.MariaDBAdmin(t, m)
	accounts := mariaDBAccounts(t, db)
	for i, mode := range sqlModes {
		if _, err := db.ExecContext(testenv.Context(t), "SET SESSION sql_mode = '"+mode+"'"); err != nil {
			t.Fatal(err)
		}
		var want string
		if err := db.QueryRowContext(testenv.Context(t), "select @@SESSION.sql_mode").Scan(&want); err != nil {
			t.Fatal(err)
		}
		for _, u := range hostileUsers {
			name := fmt.Sprintf("%d%s", i, u)
			if err := rdsiam.CheckMySQLUser(name); err != nil {
				t.Fatalf("CheckMySQLUser(%q) = %v", name, err)
			}
			for _, s := range rdsiam.MySQLIAMUserSQL(name) {
				if _, err := db.ExecContext(testenv.Context(t), s); err != nil {
					t.Fatalf("sql_mode %q: MySQLIAMUserSQL(%q): %s: %v", mode, name, s, err)
				}
			}
			accounts = checkIAMAccount(t, m, db, ca, accounts, name)
			var got string
			if err := db.QueryRowContext(testenv.Context(t), "select @@SESSION.sql_mode").Scan(&got); err != nil || got != want {
				t.Errorf("sql_mode after MySQLIAMUserSQL(%q) = %q, %v; want %q as before", name, got, err, want)
			}
		}
	}
}

// The server's own setup (the admin's account and password) means the same under any
// sql_mode the options set.
func TestMariaDBSetupSQLMode(t *testing.T) {
	t.Parallel()
	m := localdbtest.MariaDBWithOptions(t, localdb.MariaDBOptions{
		CA:            localdbtest.CA(t),
		AdminUser:     `ad'min\`,
		AdminPassword: `p\'w"`,
		Settings:      map[string]string{"sql-mode": "NO_BACKSLASH_ESCAPES,ANSI_QUOTES"},
	})
	got, err := mconnect(t, m, true, m.AdminUser, m.AdminPassword, nil)
	if err != nil || got != m.AdminUser+"@%" {
		t.Errorf("admin login: %q, %v; want %q", got, err, m.AdminUser+"@%")
	}
}
