// Package localdb starts throwaway database servers from the system's
// binaries, for `iamdb dev` and for tests: PostgreSQL now (StartPostgres),
// MariaDB next (a StartMariaDB beside it, with the same shape: options
// struct, *Server with Addr, Exec, Stop, Restart).
//
// # What a PostgreSQL cluster looks like
//
// StartPostgres runs initdb and then the postgres server binary of the newest
// version under /usr/lib/postgresql (or PostgresOptions.BinDir) directly, as
// a child process. The binaries refuse to run as root, so when the caller is
// root they run as the unprivileged "postgres" OS user (PostgresOptions.OSUser)
// in a new private directory that user owns; otherwise as the caller.
//
// Everything lives in one new directory (under PostgresOptions.Dir, or the
// system temp dir) that Stop removes:
//
//	iamdb-pg-XXXX/          0700, owned by the server's OS user
//	  data/                 PGDATA (initdb -E UTF8 --locale=C -U <admin>)
//	  .s.PGSQL.<port>       the unix socket (socket dir is private, 0700)
//	  postgres.log          initdb and server output
//	  ca.crt                the CA (ssl_ca_file; sslrootcert for clients)
//	  server.crt/.key       minted by the CA for localhost, 127.0.0.1; key 0600
//
// Our settings are in data/iamdb.conf, included from postgresql.conf:
//
//	listen_addresses = '127.0.0.1'      # never ::1, never *, never 5432
//	port = <free port>                  # bind :0, close, retry on a race
//	unix_socket_directories = '<dir>'   # not /var/run/postgresql
//	unix_socket_permissions = 0700
//	max_connections = 300               # PostgresOptions.MaxConnections
//	ssl = on; ssl_cert_file, ssl_key_file, ssl_ca_file = the files above
//	ssl_min_protocol_version = 'TLSv1.2'
//	password_encryption = 'scram-sha-256'
//	log_connections = on
//	fsync = off; synchronous_commit = off; full_page_writes = off
//	<PostgresOptions.Settings, last wins>
//
// The durability settings are off because the cluster is throwaway; a clean
// Stop or Restart still checkpoints, so data survives a Restart. pg_hba.conf:
//
//	local     all  all       trust                         # harness setup only
//	hostssl   all  +rds_iam  127.0.0.1/32  cert            # IAM users: CN = role
//	hostnossl all  +rds_iam  127.0.0.1/32  reject          # no plain TCP for them
//	hostssl   all  all       127.0.0.1/32  scram-sha-256
//	host      all  all       127.0.0.1/32  scram-sha-256
//
// After start the role rds_iam (NOLOGIN) exists, the bootstrap superuser
// (PostgresOptions.AdminUser, "postgres" by default) has a random SCRAM
// password, and PostgresOptions.Databases are created. A member of rds_iam
// (GRANT rds_iam TO u, as on RDS) logs in over TLS with a client certificate
// minted by the CA whose Subject CN is its name, and in no other way; superusers
// are not members for pg_hba.conf unless granted explicitly.
//
// The cluster is never the machine's shared instance: its own directory,
// socket and port, and startup fails rather than use port 5432. If the
// calling process dies without Stop, the kernel sends the server SIGQUIT
// (immediate shutdown); the directory is then left behind.
//
// This package is for development and tests. It is not a way to run a
// production database.
package localdb
