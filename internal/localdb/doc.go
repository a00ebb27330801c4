// Package localdb starts throwaway database servers from the system's
// binaries, for `iamdb dev` and for tests: PostgreSQL (StartPostgres) and
// MariaDB (StartMariaDB), with the same shape: an options struct, a server
// with Addr, Exec, Stop and Restart, a CA trusted for client certificates and
// the role rds_iam whose members log in only with a certificate.
//
// Both servers go through one lifecycle: a new directory of their own, locked
// by the starting process; the TLS files; the engine's initialisation; a free
// port; readiness over the unix socket; the setup SQL, which is package
// rdsiam's (the rds_iam convention); and Stop, which removes it all. What
// differs between the engines is described below.
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
//	  owner.lock            flock(2)ed by the starting process (RemoveLeftovers)
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
//	hostssl   all  +rds_iam  127.0.0.1/32  cert            # IAM users: CN = role
//	host      all  +rds_iam  all           reject          # and no other way,
//	local     all  +rds_iam                reject          # not even the socket
//	local     all  all                     trust           # harness setup only
//	hostssl   all  all       127.0.0.1/32  scram-sha-256
//	host      all  all       127.0.0.1/32  scram-sha-256
//
// After start the role rds_iam (NOLOGIN) exists, the bootstrap superuser
// (PostgresOptions.AdminUser, "postgres" by default) has a random SCRAM
// password, and PostgresOptions.Databases are created. A member of rds_iam
// (GRANT rds_iam TO u, as on RDS) logs in over TLS with a client certificate
// minted by the CA whose Subject CN is its name, and in no other way: not with
// a password it set itself (ALTER ROLE current_user PASSWORD …), not over the
// socket. Superusers are not members for pg_hba.conf unless granted explicitly.
//
// The cluster is never the machine's shared instance: its own directory,
// socket and port, and startup fails rather than use port 5432. If the
// calling process dies without Stop, the kernel sends the server SIGQUIT
// (immediate shutdown); the directory is then left behind, with the server's
// key, until RemoveLeftovers (which iamdb dev runs as it starts) finds that no
// process holds its owner.lock any more.
//
// # What a MariaDB server looks like
//
// StartMariaDB runs mariadb-install-db and then mariadbd (FindMariaDB:
// /usr/bin and /usr/sbin on Debian, or MariaDBOptions.InstallDB and
// Mariadbd) directly, as a child process. When the caller is root both run
// as the unprivileged "mysql" OS user (MariaDBOptions.OSUser), switched to
// by us rather than by --user: with --user mariadb-install-db chowns files
// outside the data directory, and a server that drops root itself loses the
// parent-death signal. Everything lives in one new directory that Stop
// removes:
//
//	iamdb-mariadb-XXXX/     0700, owned by the server's OS user
//	  owner.lock            flock(2)ed by the starting process (RemoveLeftovers)
//	  data/                 --datadir (mariadb-install-db)
//	  mysqld.sock           the unix socket (socket dir is private, 0700)
//	  mariadbd.pid
//	  mariadb.log           mariadb-install-db output and --log-error
//	  ca.crt                the CA (--ssl-ca)
//	  server.crt/.key       minted by the CA for localhost, 127.0.0.1; key 0600
//
// Both programs get --no-defaults first, so no my.cnf (/etc/mysql, ~/.my.cnf)
// ever applies, and these options (mariadb-install-db passes what it does
// not know to its bootstrap server):
//
//	mariadb-install-db --no-defaults --auth-root-authentication-method=socket
//	    --auth-root-socket-user=<OS user> --skip-test-db --skip-name-resolve
//	    <common> <extra>
//	mariadbd --no-defaults <common>
//	    --socket=<dir>/mysqld.sock --port=<free port> --bind-address=127.0.0.1
//	    --pid-file=... --log-error=<dir>/mariadb.log
//	    --skip-name-resolve --host-cache-size=0   # no DNS, no host blocking
//	    --ssl --ssl-cert --ssl-key --ssl-ca=<dir>/ca.crt
//	    --tls-version=TLSv1.2,TLSv1.3
//	    --require-secure-transport=OFF
//	    <extra>
//	<common>: --datadir=<dir>/data
//	    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci
//	    --innodb-log-file-size=16M --innodb-buffer-pool-size=64M
//	    --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --skip-log-bin
//	<extra>: --max-connections=300 (MaxConnections), then
//	    MariaDBOptions.Settings as --key=value, last wins
//
// Durability is relaxed because the server is throwaway; Stop and Restart
// shut down cleanly (SIGTERM), so data survives a Restart.
// require_secure_transport is off, as on RDS, so password users may log in
// with or without TLS, like the PostgreSQL cluster's "host ... scram-sha-256"
// line; IAM users need TLS anyway, because REQUIRE SUBJECT does.
//
// mariadb-install-db creates root@localhost and an account for the OS user,
// both IDENTIFIED VIA unix_socket: Exec logs in over the socket as root (or
// as the caller, when not root). After start the role rds_iam exists, held
// WITH ADMIN OPTION by its creator root@localhost only (MariaDB lets only
// holders of the admin option grant a role; root@localhost cannot log in over
// TCP), the account 'admin'@'%' (MariaDBOptions.AdminUser) has ALL
// PRIVILEGES WITH GRANT OPTION and a random mysql_native_password password,
// and MariaDBOptions.Databases are created. rdsiam.MySQLIAMUserSQL creates an IAM user:
//
//	CREATE USER 'u'@'%' REQUIRE SUBJECT '/CN=u'
//	GRANT rds_iam TO 'u'@'%'
//	SET DEFAULT ROLE rds_iam FOR 'u'@'%'
//
// (quoted to mean the same in every sql_mode: see rdsiam), which logs in,
// with an empty password, over TLS with a certificate minted
// by the CA whose subject is exactly CN=u, and in no other way (error 1045;
// the server log says "X509 subject mismatch"). A certificate from another CA
// fails the TLS handshake. Password users use mysql_native_password (the
// default of IDENTIFIED BY) or, after INSTALL SONAME 'auth_ed25519', ed25519:
// MariaDB 10.11 has no caching_sha2_password server plugin (MySQL 8's
// default), so a client that insists on it cannot log in to it directly.
//
// The server is never the machine's shared instance: its own directory,
// socket, pid file and port, and startup fails rather than use port 3306.
// If the calling process dies without Stop, the kernel sends the server
// SIGQUIT, which mariadbd treats as a shutdown request; the directory is then
// left behind until RemoveLeftovers, as PostgreSQL's. A directory kept with
// Keep loses its owner.lock at Stop, so RemoveLeftovers leaves it alone.
//
// # Native mode
//
// With PostgresOptions.Native or MariaDBOptions.Native the servers authenticate IAM users
// themselves through PAM, as in iamdb's native mode (docs/native-mode.md). PostgreSQL's
// pg_hba.conf then starts with internal/nativeconf's block instead of the cert line:
//
//	hostssl all +rds_iam <GatewaySource>/32 cert                # if GatewaySource
//	hostssl all +rds_iam 127.0.0.1/32 pam pamservice=<service>
//	hostssl all +rds_iam ::1/128      pam pamservice=<service>
//	host    all +rds_iam all          reject
//	local   all +rds_iam              reject
//	<the lines for everyone else, as above, and SCRAM from GatewaySource>
//
// The server still listens on 127.0.0.1 only: a gateway that dials from another loopback
// address (net.Dialer.LocalAddr 127.0.0.2) reaches 127.0.0.1 and arrives as 127.0.0.2, so
// its certificate logins and direct PAM logins are told apart by address. MariaDB loads
// auth_pam_v1 with pam_use_cleartext_plugin=ON (--plugin-load-add, --pam-use-cleartext-plugin);
// rdsiam.MySQLNativeUserSQL creates users that log in through it over TLS. The PAM
// service file in /etc/pam.d is the caller's (root's) to write: localdbtest.PAMService
// writes one for tests.
//
// This package is for development and tests. It is not a way to run a
// production database.
package localdb
