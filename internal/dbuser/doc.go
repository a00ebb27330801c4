// Package dbuser creates IAM database users on real servers, as "iamdb create-db-user"
// does: it connects as an administrator and runs the statements of package rdsiam (the
// rds_iam convention), PostgreSQL's in one transaction per user, MySQL's with the user
// dropped again when a statement after CREATE USER fails, so that a retry starts afresh.
//
// It also holds the TLS defaults of the administrator's connection that every command
// connecting to a backend shares: verified TLS unless the connection string says
// otherwise ([PostgresTLS], [MySQLTLS]).
//
// It is not the convention (rdsiam builds the SQL and checks names) and not a test server
// (localdb starts throwaway ones). It does no logging.
package dbuser
