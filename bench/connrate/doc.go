// Command connrate is a Go stand-in for "pgbench -C -S": -c goroutines each open a
// connection with pgconn (the connection string and $PGPASSWORD as libpq reads them), run
// one "select 1", close it, and start over, for -d. It prints the connections per second.
//
// bench/pg.sh runs it beside pgbench to show how much of pgbench's rate is pgbench itself:
// libpq with OpenSSL 3.0 spends about as much CPU per connection as the gateway does, and
// client and server share the machine's cores. The client offers X25519 and P-256 for the
// key exchange (not Go's default hybrid post-quantum group), as libpq with OpenSSL 3.0 does;
// PostgreSQL 15 accepts only its ssl_ecdh_curve, prime256v1.
//
//	connrate -c 8 -d 10s "host=127.0.0.1 port=5433 user=u dbname=postgres sslmode=require"
package main
