package rdsiam

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PostgresMemberQuery asks whether $1 is a member of rds_iam, directly or through other roles,
// following pg_auth_members whatever INHERIT says. Not pg_has_role: it answers true for
// every superuser, which would turn the master user into an IAM user. A role or rds_iam
// that does not exist is not a member. $1 is compared as text, not as a name: a name
// parameter would be truncated to 63 bytes and match another role.
const PostgresMemberQuery = `with recursive m(oid) as (
	select oid from pg_catalog.pg_roles where rolname = 'rds_iam'
	union
	select am.member from pg_catalog.pg_auth_members am join m on am.roleid = m.oid)
select exists (select 1 from m join pg_catalog.pg_roles r on r.oid = m.oid where r.rolname = $1::text and r.rolname <> 'rds_iam')`

// PostgresSetupSQL returns the statements that prepare a new PostgreSQL cluster the way
// RDS is: the superuser admin gets password (a master user that logs in over TCP), and
// the role rds_iam exists, unable to log in itself. Run them as a superuser.
func PostgresSetupSQL(admin, password string) []string {
	return []string{
		"ALTER ROLE " + QuotePostgresIdent(admin) + " PASSWORD " + QuotePostgresLiteral(password),
		"CREATE ROLE " + Role + " NOLOGIN",
	}
}

// PostgresIAMUserSQL returns RDS's statements for a PostgreSQL IAM user, to be run in one
// transaction:
//
//	CREATE USER "u" WITH LOGIN
//	GRANT rds_iam TO "u"
//
// The name is quoted as an identifier (QuotePostgresIdent); CheckPostgresUser says
// whether PostgreSQL keeps it exactly.
func PostgresIAMUserSQL(user string) []string {
	q := QuotePostgresIdent(user)
	return []string{"CREATE USER " + q + " WITH LOGIN", "GRANT " + Role + " TO " + q}
}

// MaxPostgresName is the longest identifier PostgreSQL keeps (NAMEDATALEN-1 bytes); it
// truncates longer ones, which would create a role of another name.
const MaxPostgresName = 63

// CheckPostgresUser refuses names PostgreSQL would not keep exactly, and names no person
// means: empty, not UTF-8, with control characters (NUL among them), longer than 63 bytes.
func CheckPostgresUser(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if len(name) > MaxPostgresName {
		return fmt.Errorf("rdsiam: user name %q is longer than PostgreSQL's %d bytes", name, MaxPostgresName)
	}
	return nil
}

// checkName refuses the empty name, invalid UTF-8 and control characters.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("rdsiam: empty user name")
	case !utf8.ValidString(name):
		return fmt.Errorf("rdsiam: user name %q is not UTF-8", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("rdsiam: user name %q holds a control character", name)
	}
	return nil
}

// QuotePostgresIdent quotes s as a PostgreSQL identifier: double quotes, with each double
// quote doubled. Nothing else is special inside them, whatever the settings. s must not
// hold NUL (see the package documentation).
func QuotePostgresIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// QuotePostgresLiteral quotes s as an escape string constant, E'…' with backslashes and
// single quotes doubled, which means s whatever standard_conforming_strings is. s must not
// hold NUL.
func QuotePostgresLiteral(s string) string { return "E'" + pgLiteralEscaper.Replace(s) + "'" }

var pgLiteralEscaper = strings.NewReplacer(`\`, `\\`, `'`, `''`)

// QuotePostgresConnValue quotes s as a value of a libpq keyword=value connection string
// (host='…' user='…'): single quotes, with a backslash before each backslash and single
// quote. s must not hold NUL.
func QuotePostgresConnValue(s string) string { return "'" + pgConnEscaper.Replace(s) + "'" }

var pgConnEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`)
