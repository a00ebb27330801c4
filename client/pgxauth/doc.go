// Package pgxauth logs pgx connections in with IAM database authentication tokens: a fresh
// (or cached, still fresh) token from a client.TokenSource becomes the password of every
// new connection, so pools keep working past the tokens' 15 minutes.
//
// [BeforeConnect] returns a hook for pgxpool.Config.BeforeConnect and for database/sql
// through pgx's stdlib (stdlib.OptionBeforeConnect); with a single pgx.Conn, call it on the
// ConnConfig before pgx.ConnectConfig. The hook refuses, before any network I/O, a
// configuration that could send the token without TLS: no TLSConfig (sslmode=disable,
// Unix sockets) or a plaintext fallback (sslmode=allow or prefer, pgx's default). Use
// sslmode=verify-full with the database's CA (RDS: the global bundle), or at least
// sslmode=require; Options.RequireVerifiedTLS refuses sslmode=require without sslrootcert
// too, since TLS that does not verify the server lets an active attacker take the token.
//
// The token is signed for the ConnConfig's first host and port unless [Options] names the
// host the database knows itself by (tunnels, port forwards, custom DNS names). The user is
// the ConnConfig's.
//
// It does not open connections itself, pick hosts or retry; pgx does.
package pgxauth
