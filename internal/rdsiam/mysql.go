package rdsiam

import (
	"fmt"
	"strings"
)

// MySQLMemberQuery asks whether any account named ? holds rds_iam, directly or through
// roles, following mysql.roles_mapping. Grants WITH ADMIN OPTION do not count: MariaDB
// gives one to the creator of every role (CREATE ROLE), which would turn the
// administrator who ran it into an IAM user. The user is compared as bytes (BINARY):
// the column's PAD SPACE collation would find 'u' for 'u ', a name the backend then
// refuses, and the audit would name a user that does not exist.
const MySQLMemberQuery = `with recursive m(name) as (
	select cast('rds_iam' as char(128))
	union
	select rm.User from mysql.roles_mapping rm join m on rm.Role = m.name where rm.Host = '' and rm.Admin_option <> 'Y')
select exists (select 1 from mysql.roles_mapping rm join m on rm.Role = m.name where binary rm.User = ? and rm.Host <> '' and rm.Admin_option <> 'Y')`

// RawBackslashes makes a backslash in a string literal stand for itself for the rest of
// the session: NO_BACKSLASH_ESCAPES added to its sql_mode (a leading comma is fine for an
// empty mode, and naming a mode twice is too). Run it before statements whose literals
// QuoteMySQLString wrote and that may hold a backslash.
const RawBackslashes = "SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES')"

// The statements around MySQLIAMUserSQL's when a literal holds a backslash: RawBackslashes
// that saves the mode first, and the restore.
const (
	saveSQLMode    = "SET @iamdb_sql_mode = @@SESSION.sql_mode, SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES')"
	restoreSQLMode = "SET SESSION sql_mode = @iamdb_sql_mode"
)

// MySQLSetupSQL returns the statements that prepare a new MariaDB server the way RDS is,
// run as root@localhost on one session: the role rds_iam, and the master user
// 'admin'@'%' with password (mysql_native_password), ALL PRIVILEGES WITH GRANT OPTION and
// rds_iam WITH ADMIN OPTION, so that it can create IAM users. The first statement is
// RawBackslashes, so the statements mean the same in every sql_mode and the session keeps
// NO_BACKSLASH_ESCAPES afterwards.
func MySQLSetupSQL(admin, password string) []string {
	acct := MySQLAccount(admin)
	return []string{
		RawBackslashes,
		// CREATE ROLE also grants the role to its creator, root@localhost, WITH ADMIN
		// OPTION; it keeps it, as MariaDB lets only holders of the admin option grant a
		// role, whatever their privileges.
		"CREATE ROLE " + Role,
		"CREATE USER " + acct + " IDENTIFIED VIA mysql_native_password USING PASSWORD(" + QuoteMySQLString(password) + ")",
		"GRANT ALL PRIVILEGES ON *.* TO " + acct + " WITH GRANT OPTION",
		// Only holders of a role's admin option may grant it: the admin creates IAM
		// users. The gateway does not count admin-option grants as membership
		// (MySQLMemberQuery), so the admin stays a password user.
		"GRANT " + Role + " TO " + acct + " WITH ADMIN OPTION",
	}
}

// MySQLIAMUserSQL returns the statements that create user as an IAM user the way
// iamdb expects, the equivalent of RDS MySQL's
//
//	CREATE USER 'u' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'
//
// namely:
//
//	CREATE USER 'u'@'%' REQUIRE SUBJECT '/CN=u'
//	GRANT rds_iam TO 'u'@'%'
//	SET DEFAULT ROLE rds_iam FOR 'u'@'%'
//
// The account has no password: it logs in, with an empty password, only over TLS
// presenting a certificate that verifies against the server's ssl_ca (the gateway's CA)
// and whose subject is exactly CN=u, as pki.CA.ClientCert mints them. Membership in
// rds_iam is how the gateway tells IAM users from password users; the default role makes
// privileges granted to rds_iam apply without SET ROLE.
//
// The subject is compared with OpenSSL's one-line form of the certificate's subject,
// which escapes bytes outside printable ASCII as \xHH; MySQLIAMUserSQL writes the name
// the same way.
//
// The statements mean the same in every sql_mode (the default, NO_BACKSLASH_ESCAPES,
// ANSI_QUOTES, ANSI), run one after the other on one session: names are QuoteMySQLString
// literals. When a literal holds a backslash (the name has one, or the subject escapes
// '/', '+' or a non-ASCII byte), the first statement saves the session's sql_mode and
// adds NO_BACKSLASH_ESCAPES, so that each backslash stands for itself, and the last
// restores it.
//
// MariaDB does not store every name exactly (CheckMySQLUser says which it does); for
// the others the account is not named user.
func MySQLIAMUserSQL(user string) []string {
	return mysqlUserSQL(user, "REQUIRE SUBJECT "+QuoteMySQLString("/CN="+x509OneLine(user)))
}

// MySQLNativeUserSQL returns the statements that create user as a native-mode IAM user:
// MariaDB itself asks PAM (service, the file /etc/pam.d/<service>, whose module
// pam_iamdb.so asks iamdb's local verifier) to check the token the client sends as its
// password:
//
//	CREATE USER 'u'@'%' IDENTIFIED VIA pam USING 'iamdb' REQUIRE SSL
//	GRANT rds_iam TO 'u'@'%'
//	SET DEFAULT ROLE rds_iam FOR 'u'@'%'
//
// The server needs the PAM plugin with pam_use_cleartext_plugin=ON (nativeconf.MariaDBConf),
// so that clients send the token with mysql_clear_password as with RDS; REQUIRE SSL keeps
// it off plain connections.
//
// A MariaDB account is one or the other: a gateway user (MySQLIAMUserSQL, REQUIRE SUBJECT:
// it logs in only with the gateway's client certificate) or a native user (VIA pam: it
// logs in directly with a token). Both hold rds_iam, so the gateway counts both as IAM
// users, but a native user cannot log in through the gateway, which presents a
// certificate and no token, and a gateway user cannot log in natively.
//
// Quoting and sql_mode handling are MySQLIAMUserSQL's: when a literal holds a backslash
// the statements are wrapped in the save and restore of the session's sql_mode.
func MySQLNativeUserSQL(user, service string) []string {
	return mysqlUserSQL(user, "IDENTIFIED VIA pam USING "+QuoteMySQLString(service)+" REQUIRE SSL")
}

// MySQLPlugin is the name of iamdb's MariaDB authentication plugin: RDS for MySQL's own
// (pammodule's auth_iamdb.so).
const MySQLPlugin = "AWSAuthenticationPlugin"

// MySQLPluginUserSQL returns the statements that create user as a native-mode IAM user
// who logs in through MySQLPlugin, with RDS's own syntax:
//
//	CREATE USER 'u'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL
//	GRANT rds_iam TO 'u'@'%'
//	SET DEFAULT ROLE rds_iam FOR 'u'@'%'
//
// The plugin asks iamdb's local verifier directly, with no PAM in between, and MariaDB
// refuses as RDS does ("using password: YES"); the server needs it loaded
// (nativeconf.MariaDBPluginConf). Otherwise as MySQLNativeUserSQL.
func MySQLPluginUserSQL(user string) []string {
	return mysqlUserSQL(user, "IDENTIFIED WITH "+MySQLPlugin+" AS 'RDS' REQUIRE SSL")
}

// mysqlUserSQL creates user with the authentication clause auth, grants rds_iam and makes
// it the default role; when a literal holds a backslash the statements are wrapped in the
// save and restore of the session's sql_mode.
func mysqlUserSQL(user, auth string) []string {
	acct := MySQLAccount(user)
	stmts := []string{
		"CREATE USER " + acct + " " + auth,
		"GRANT " + Role + " TO " + acct,
		"SET DEFAULT ROLE " + Role + " FOR " + acct,
	}
	if strings.Contains(stmts[0], `\`) {
		stmts = append(append([]string{saveSQLMode}, stmts...), restoreSQLMode)
	}
	return stmts
}

// CheckMySQLUser reports an error if MariaDB would not store name exactly as an
// account's user name, or if it is not one a person would mean: empty, not UTF-8,
// control characters (NUL among them), characters outside the Basic Multilingual Plane
// (user names are utf8mb3: they become '?'), or trailing spaces (user names are CHAR
// columns: MariaDB drops them, so "u " would be the account "u").
func CheckMySQLUser(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	for _, r := range name {
		if r > 0xFFFF {
			return fmt.Errorf("rdsiam: user name %q: MariaDB user names hold no characters beyond U+FFFF (%U)", name, r)
		}
	}
	if strings.HasSuffix(name, " ") {
		return fmt.Errorf("rdsiam: user name %q: MariaDB drops trailing spaces from user names", name)
	}
	return nil
}

// x509OneLine escapes s as OpenSSL 3's X509_NAME_oneline writes an attribute value:
// bytes outside ' '..'~' become \xHH (upper-case hex), and '/' and '+' get a backslash
// (OpenSSL 1.1 did not escape those two).
func x509OneLine(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, `\x%02X`, c)
		case c == '/' || c == '+':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// MySQLAccount returns the account 'user'@'%', the user quoted by QuoteMySQLString.
func MySQLAccount(user string) string { return QuoteMySQLString(user) + "@'%'" }

// QuoteMySQLString quotes s as a MariaDB string literal by doubling its single quotes
// and escaping nothing else. With no backslash in s it means s in every sql_mode; with
// one, only under NO_BACKSLASH_ESCAPES (RawBackslashes; see the package documentation).
func QuoteMySQLString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// QuoteMySQLIdent quotes s as a MariaDB identifier: backticks, with each backtick
// doubled, which quote in every sql_mode (ANSI_QUOTES only adds double quotes).
func QuoteMySQLIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
