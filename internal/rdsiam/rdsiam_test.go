package rdsiam_test

import (
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/rdsiam"
)

// The statements quote the user once, as the account (PostgreSQL's identifier, MariaDB's
// 'user'@'%') each statement names; the table gives that quoting, and for MariaDB the
// certificate subject and whether backslashes need NO_BACKSLASH_ESCAPES around the
// statements.
func TestPostgresIAMUserSQL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ user, quoted string }{
		{"iam_user", `"iam_user"`},
		{`We"ird \User'`, `"We""ird \User'"`},
		{`"; DROP ROLE x; --`, `"""; DROP ROLE x; --"`},
	} {
		want := []string{"CREATE USER " + tc.quoted + " WITH LOGIN", "GRANT rds_iam TO " + tc.quoted}
		if got := rdsiam.PostgresIAMUserSQL(tc.user); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("PostgresIAMUserSQL(%q) =\n%s\nwant\n%s", tc.user, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

func TestMySQLIAMUserSQL(t *testing.T) {
	t.Parallel()
	const save = `SET @iamdb_sql_mode = @@SESSION.sql_mode, SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES')`
	const restore = `SET SESSION sql_mode = @iamdb_sql_mode`
	for _, tc := range []struct {
		user, account, subject string
		rawBackslashes         bool
	}{
		{"u", `'u'@'%'`, `'/CN=u'`, false},
		{`o'b"x`, `'o''b"x'@'%'`, `'/CN=o''b"x'`, false},
		{`o'b\x`, `'o''b\x'@'%'`, `'/CN=o''b\x'`, true},
		{"a/b+c", `'a/b+c'@'%'`, `'/CN=a\/b\+c'`, true},
		{"jö", `'jö'@'%'`, `'/CN=j\xC3\xB6'`, true},
		{"nul\x00", "'nul\x00'@'%'", `'/CN=nul\x00'`, true},
	} {
		want := []string{
			"CREATE USER " + tc.account + " REQUIRE SUBJECT " + tc.subject,
			"GRANT rds_iam TO " + tc.account,
			"SET DEFAULT ROLE rds_iam FOR " + tc.account,
		}
		if tc.rawBackslashes {
			want = append(append([]string{save}, want...), restore)
		}
		got := rdsiam.MySQLIAMUserSQL(tc.user)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("MySQLIAMUserSQL(%q) =\n%s\nwant\n%s", tc.user, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

func TestSetupSQL(t *testing.T) {
	t.Parallel()
	pg := rdsiam.PostgresSetupSQL(`ad"min`, `p'w\`)
	wantPG := []string{`ALTER ROLE "ad""min" PASSWORD E'p''w\\'`, `CREATE ROLE rds_iam NOLOGIN`}
	if strings.Join(pg, "\n") != strings.Join(wantPG, "\n") {
		t.Errorf("PostgresSetupSQL = %q, want %q", pg, wantPG)
	}
	my := rdsiam.MySQLSetupSQL(`ad'min`, `p'w\`)
	wantMy := []string{
		rdsiam.RawBackslashes,
		"CREATE ROLE rds_iam",
		`CREATE USER 'ad''min'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('p''w\')`,
		`GRANT ALL PRIVILEGES ON *.* TO 'ad''min'@'%' WITH GRANT OPTION`,
		`GRANT rds_iam TO 'ad''min'@'%' WITH ADMIN OPTION`,
	}
	if strings.Join(my, "\n") != strings.Join(wantMy, "\n") {
		t.Errorf("MySQLSetupSQL =\n%s\nwant\n%s", strings.Join(my, "\n"), strings.Join(wantMy, "\n"))
	}
}

func TestCheckUser(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		postgres, mysql bool
	}{
		{"iam_user", true, true},
		{`o'b\x "y" ; --`, true, true},
		{"Jöhn 用户", true, true},
		{" lead", true, true},
		{"trail ", true, false},
		{"smile \U0001F600", true, false},
		{strings.Repeat("a", 63), true, true},
		{strings.Repeat("a", 64), false, true},
		{strings.Repeat("ö", 32), false, true},
		{"", false, false},
		{"nul\x00", false, false},
		{"new\nline", false, false},
		{"del\x7f", false, false},
		{"\xff", false, false},
	} {
		if err := rdsiam.CheckPostgresUser(tc.name); (err == nil) != tc.postgres {
			t.Errorf("CheckPostgresUser(%q) = %v, want ok %v", tc.name, err, tc.postgres)
		}
		if err := rdsiam.CheckMySQLUser(tc.name); (err == nil) != tc.mysql {
			t.Errorf("CheckMySQLUser(%q) = %v, want ok %v", tc.name, err, tc.mysql)
		}
	}
}

// The membership queries name the role and take the user as their one parameter, never
// as text in the query.
func TestMemberQueries(t *testing.T) {
	t.Parallel()
	for name, q := range map[string]string{"PostgresMemberQuery": rdsiam.PostgresMemberQuery, "MySQLMemberQuery": rdsiam.MySQLMemberQuery} {
		if !strings.Contains(q, "'"+rdsiam.Role+"'") {
			t.Errorf("%s does not name %s", name, rdsiam.Role)
		}
	}
	if strings.Count(rdsiam.PostgresMemberQuery, "$1") != 1 || strings.Contains(rdsiam.PostgresMemberQuery, "$2") {
		t.Errorf("PostgresMemberQuery does not take exactly one parameter")
	}
	if strings.Count(rdsiam.MySQLMemberQuery, "?") != 1 {
		t.Errorf("MySQLMemberQuery does not take exactly one parameter")
	}
}

func TestMySQLNativeUserSQL(t *testing.T) {
	t.Parallel()
	const save = `SET @iamdb_sql_mode = @@SESSION.sql_mode, SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES')`
	const restore = `SET SESSION sql_mode = @iamdb_sql_mode`
	for _, tc := range []struct {
		user, service string
		want          []string
	}{
		{"u", "iamdb", []string{
			`CREATE USER 'u'@'%' IDENTIFIED VIA pam USING 'iamdb' REQUIRE SSL`,
			`GRANT rds_iam TO 'u'@'%'`,
			`SET DEFAULT ROLE rds_iam FOR 'u'@'%'`,
		}},
		{`x'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('p') -- `, "iamdb", []string{
			`CREATE USER 'x''@''%'' IDENTIFIED VIA mysql_native_password USING PASSWORD(''p'') -- '@'%' IDENTIFIED VIA pam USING 'iamdb' REQUIRE SSL`,
			`GRANT rds_iam TO 'x''@''%'' IDENTIFIED VIA mysql_native_password USING PASSWORD(''p'') -- '@'%'`,
			`SET DEFAULT ROLE rds_iam FOR 'x''@''%'' IDENTIFIED VIA mysql_native_password USING PASSWORD(''p'') -- '@'%'`,
		}},
		{"u", `svc' OR unix_socket; DROP USER root; -- `, []string{
			`CREATE USER 'u'@'%' IDENTIFIED VIA pam USING 'svc'' OR unix_socket; DROP USER root; -- ' REQUIRE SSL`,
			`GRANT rds_iam TO 'u'@'%'`,
			`SET DEFAULT ROLE rds_iam FOR 'u'@'%'`,
		}},
		{`o\'b`, `s\`, []string{
			save,
			`CREATE USER 'o\''b'@'%' IDENTIFIED VIA pam USING 's\' REQUIRE SSL`,
			`GRANT rds_iam TO 'o\''b'@'%'`,
			`SET DEFAULT ROLE rds_iam FOR 'o\''b'@'%'`,
			restore,
		}},
	} {
		if got := rdsiam.MySQLNativeUserSQL(tc.user, tc.service); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("MySQLNativeUserSQL(%q, %q) =\n%s\nwant\n%s", tc.user, tc.service, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
}

// RDS's statement, quoted as every other: a user name cannot leave its literal.
func TestMySQLPluginUserSQL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		user string
		want []string
	}{
		{"u", []string{
			`CREATE USER 'u'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL`,
			`GRANT rds_iam TO 'u'@'%'`,
			`SET DEFAULT ROLE rds_iam FOR 'u'@'%'`,
		}},
		{`x'@'%' IDENTIFIED BY 'p' -- `, []string{
			`CREATE USER 'x''@''%'' IDENTIFIED BY ''p'' -- '@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL`,
			`GRANT rds_iam TO 'x''@''%'' IDENTIFIED BY ''p'' -- '@'%'`,
			`SET DEFAULT ROLE rds_iam FOR 'x''@''%'' IDENTIFIED BY ''p'' -- '@'%'`,
		}},
		{`o\'b`, []string{
			`SET @iamdb_sql_mode = @@SESSION.sql_mode, SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES')`,
			`CREATE USER 'o\''b'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL`,
			`GRANT rds_iam TO 'o\''b'@'%'`,
			`SET DEFAULT ROLE rds_iam FOR 'o\''b'@'%'`,
			`SET SESSION sql_mode = @iamdb_sql_mode`,
		}},
	} {
		if got := rdsiam.MySQLPluginUserSQL(tc.user); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("MySQLPluginUserSQL(%q) =\n%s\nwant\n%s", tc.user, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
}
