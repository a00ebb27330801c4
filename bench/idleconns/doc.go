// Command idleconns opens many PostgreSQL or MySQL client connections over TLS and holds
// them idle, for bench/pg.sh and bench/mysql.sh to read the server's resident memory per
// connection.
//
// With -state startup each connection does what libpq does up to the password: SSLRequest,
// a full TLS handshake (sslmode=require: the certificate is not verified), the
// StartupMessage, and it then waits with the server's authentication request unanswered
// (the gateway's AuthenticationCleartextPassword, pgbouncer's AuthenticationSASL). With
// -state auth each connection logs in with pgconn (password from $PGPASSWORD) and is idle
// at ReadyForQuery. It prints "open N" once all are open, holds them until SIGINT, SIGTERM
// or end of standard input, and exits non-zero if any failed.
//
// With -engine mysql, -state startup is TLS up, the handshake response sent (no
// password) and the server's switch to mysql_clear_password (the gateway's question for
// an IAM user's token) unanswered; -state auth answers it with $MYSQL_PWD and is logged
// in and idle between commands.
//
//	idleconns -addr 127.0.0.1:5433 -user bench_iam -n 5000 -state startup
//	MYSQL_PWD=$TOKEN idleconns -engine mysql -addr 127.0.0.1:3307 -user bench_iam -db bench -n 200 -state auth
package main
