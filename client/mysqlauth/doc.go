// Package mysqlauth logs go-sql-driver/mysql connections in with IAM database
// authentication tokens: a fresh (or cached, still fresh) token from a client.TokenSource
// becomes the password of every new connection of a *sql.DB, so pools keep working past the
// tokens' 15 minutes.
//
// [BeforeConnect] is a mysql.Option (apply it to a *mysql.Config, then use
// mysql.NewConnector and sql.OpenDB). Before each new connection it refuses, before any
// network I/O, a configuration that could send the token without TLS (tls unset or
// "false", or "preferred", which falls back to plaintext), and it turns on
// AllowCleartextPasswords, which RDS and iamdb need: the server asks for the token with
// mysql_clear_password, and TLS protects it. Options.RequireVerifiedTLS refuses
// tls=skip-verify too, since TLS that does not verify the server lets an active attacker
// take the token.
//
// The token is signed for the configuration's Addr unless [Options] names the host the
// database knows itself by (tunnels, port forwards, custom DNS names, Unix sockets). The
// user is the configuration's.
//
// It does not open connections itself or retry; database/sql and the driver do.
package mysqlauth
