// Package rdsiam is the one home of the RDS "rds_iam" convention that iamdb implements:
// who is an IAM user (a member of the role rds_iam), the SQL that prepares a server for
// it, the SQL that creates an IAM user, the query that asks whether a user is one, and
// the quoting all of these need. One file per engine: postgres.go (PostgreSQL) and
// mysql.go (MySQL protocol; MariaDB servers).
//
// It is a pure package: it builds strings and checks names, does no I/O and imports only
// the standard library (repo_test.go enforces it). The gateway runs the membership
// queries, localdb runs the setup and user SQL on its throwaway servers, and
// "iamdb create-db-user" runs the user SQL on real ones.
//
// It is not a SQL builder: each function returns complete statements for one purpose.
//
// # The convention
//
// RDS marks IAM users by membership in rds_iam (PostgreSQL: GRANT rds_iam TO u; MySQL:
// IDENTIFIED WITH AWSAuthenticationPlugin, which iamdb models as the role rds_iam). iamdb
// keeps the mark and lets IAM users log in to the backend only with a client certificate
// the gateway mints, whose subject is CN=<user>:
//
//	PostgreSQL                               MariaDB
//	CREATE ROLE rds_iam NOLOGIN              CREATE ROLE rds_iam
//	CREATE USER "u" WITH LOGIN               CREATE USER 'u'@'%' REQUIRE SUBJECT '/CN=u'
//	GRANT rds_iam TO "u"                     GRANT rds_iam TO 'u'@'%'
//	pg_hba.conf: hostssl … +rds_iam … cert   SET DEFAULT ROLE rds_iam FOR 'u'@'%'
//
// In native mode the database checks the token itself through PAM. PostgreSQL needs
// nothing new here: membership of rds_iam and pg_hba.conf's pam lines (internal/nativeconf)
// decide. A MariaDB account names its way in, so a native user is created
// IDENTIFIED VIA pam … REQUIRE SSL instead of REQUIRE SUBJECT (MySQLNativeUserSQL); an
// account is either a gateway user or a native user, never both.
//
// # Quoting, decided once per engine
//
// PostgreSQL identifiers are double-quoted with double quotes doubled; nothing else is
// special inside them (QuotePostgresIdent). String literals are written as escape string
// constants, E'…', with backslashes and quotes doubled (QuotePostgresLiteral): with
// standard_conforming_strings on (the default since 9.1) a plain '…' with quotes doubled
// would do, but the setting belongs to the server and the session, and E'…' means the
// same under either value. Connection-string values (libpq keyword=value) are
// single-quoted with a backslash before each backslash and quote
// (QuotePostgresConnValue): that is libpq's rule, not SQL's. None of these can carry NUL:
// PostgreSQL text holds none, and a NUL ends the statement inside the quotes, so the
// statement fails as unterminated rather than meaning something else.
//
// MariaDB string literals are single-quoted with quotes doubled and nothing else
// escaped (QuoteMySQLString). Doubling backslashes too would be right only while
// NO_BACKSLASH_ESCAPES is off, which the client cannot know without asking the session;
// a literal with no backslash means the same in every sql_mode (the default,
// NO_BACKSLASH_ESCAPES, ANSI_QUOTES, ANSI). So a statement whose literal holds a
// backslash runs with NO_BACKSLASH_ESCAPES added to the session's sql_mode, which the
// statement lists here arrange (MySQLIAMUserSQL saves and restores the mode;
// MySQLSetupSQL and RawBackslashes set it for the session). Identifiers are
// backtick-quoted with backticks doubled (QuoteMySQLIdent), which works in every
// sql_mode (ANSI_QUOTES only adds double quotes).
//
// Before this package the tree had two functions named quoteLiteral (gateway and
// localdb, both E'…') and several hand-rolled ones next to them (create-db-user's
// mysqlQuote and identifier quoting, localdb's quoteMariaDBString, the gateway's and
// localdb's connection-string quoting); they all follow the rules above.
package rdsiam

// Role is the role whose members are IAM users, as on RDS.
const Role = "rds_iam"
