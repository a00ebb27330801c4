// Package gateway is iamdb's database gateway: it accepts PostgreSQL or MySQL clients
// (Config.Engine), tells IAM users (members of rds_iam) from password users, verifies IAM
// auth tokens and authorizes rds-db:connect exactly as Amazon RDS does, logs the client
// in to the real server (PostgreSQL, MariaDB) as that user — with a short-lived client
// certificate the gateway's CA mints, or a pooled session — and then relays the
// connection message by message.
//
// It is not a database server and not a general pooler: after login the relay is
// transparent (simple and extended query protocol, COPY both ways, NOTIFY, errors,
// replication connections) and a backend session belongs to one client until the client
// leaves (session pooling; transaction pooling is a later issue).
//
// # Using it
//
//	g, err := gateway.New(gateway.Config{
//		IAM:         svc,                  // an Authority (*iam.Service): keys, policies, from memory
//		Database:    db,                   // iam.Database: the endpoints/port clients dial and sign
//		Certificate: &serverCert,          // SetCertificate swaps it (SIGHUP)
//		Backend: gateway.Backend{Addr: "10.0.0.5:5432", TLS: backendTLS,
//			AdminUser: "iamdb", AdminPassword: pw},
//		ClientCerts: certCache,            // *pki.ClientCertCache
//		Logger:      logger, Registerer: prometheus.DefaultRegisterer,
//	})
//	go g.Serve(ln)                         // or g.ListenAndServe() on Config.Addr
//	…
//	g.Shutdown(ctx)                        // stop accepting, drain until ctx ends, close
//
// # Message flow
//
//	client (psql, pgx, libpq …)         gateway                          PostgreSQL
//	 │ beyond MaxClientConns or MaxUnauthenticatedPerIP, before reading anything:
//	 │◄─ FATAL 53300 sorry, too many clients already
//	 │── SSLRequest ──────────────────►│ 'S', TLS 1.2+ (pgwire)
//	 │── StartupMessage(user, db, …) ─►│ within StartupTimeout (10 s) of accept
//	 │ a name no role can have (not UTF-8, control characters, over 63 bytes):
//	 │◄─ FATAL 28000 invalid user name: …
//	 │ no TLS (and AllowPlaintextPasswords false):
//	 │◄─ FATAL 28000 pg_hba.conf rejects connection for host "…", user "…", database "…", SSL off
//	 │                                 │── rds_iam member? ─────────────►│ admin pool,
//	 │                                 │◄─ pg_auth_members, recursive ───│ cached 5 s
//	 │ IAM user, no TLS: the same pg_hba.conf refusal
//	 │ IAM user:
//	 │◄─ AuthenticationCleartextPassword
//	 │── PasswordMessage(token) ──────►│ token.Verifier (keys: Authority.LookupKey)
//	 │                                 │ Authority.AuthorizeConnect (rds-db:connect,
//	 │                                 │   aws:SourceIp, aws:SecureTransport=true, …)
//	 │◄─ FATAL 28000 PAM authentication failed for user "u"   (any refusal; the reason
//	 │                                 │   goes to the log, metrics and AuditRecord)
//	 │                                 │ pooled session for (u, db, options)?
//	 │                                 │   idle < 30 s, same application_name: look at
//	 │                                 │   its socket (nothing there = alive); else
//	 │                                 │── SET application_name = … ────►│ (health check)
//	 │                                 │ else: ─ TLS + client cert CN=u ►│ hostssl … cert
//	 │ password user (TLS unless AllowPlaintextPasswords):
//	 │◄─ AuthenticationCleartextPassword
//	 │── PasswordMessage(pw) ─────────►│── SCRAM(-PLUS) over TLS ───────►│
//	 │◄─ the backend's FATAL (28P01 password authentication failed …) ──│ on failure
//	 │ then, for both:
//	 │◄─ AuthenticationOk, ParameterStatus × n (the backend's, with the client's
//	 │   application_name), BackendKeyData (the gateway's pid and key, mapped to the
//	 │   backend's for CancelRequest), ReadyForQuery
//	 │◄═══════════════ relay: type + length framing, both ways ════════►│
//	 │── Terminate / EOF ─────────────►│ idle IAM session: DISCARD ALL ─►│ back to the pool
//	 │                                 │ otherwise: close               ─►│
//	 │── CancelRequest(pid, key) ─────►│ (new connection) ── CancelRequest(backend pid,
//	 │                                 │   backend key) over TLS ─────────►│
//	 │◄─ FATAL 08006 … connection to the database server was lost  (backend EOF without
//	 │                                 │   a FATAL of its own)
//
// # iamdb doctor
//
// A PostgreSQL client whose StartupMessage carries dbreport.Param (iamdb.doctor=1), or a
// MySQL client with that connection attribute, asks what the database says of its login
// instead of logging in (diagnose.go, diagnose_mysql.go). It goes
// through the login's checks — user name, TLS, the token, rds-db:connect — and is
// refused exactly as a login would be; only an authorized caller gets the report (the
// user: exists, LOGIN, rds_iam; the database: exists, allows connections, CONNECT; the
// number and method of the pg_hba.conf line the gateway's certificate login meets),
// asked through the admin connections, as a FATAL ErrorResponse with code 00000 and the
// JSON in its detail (MySQL: an ERR packet 1105; the account 'u'@'%', its REQUIRE
// SUBJECT, rds_iam, the database), and the connection closes. No session is opened for it. The
// attempt is audited and counted as a login with Mode "doctor". Design and security
// model: docs/troubleshooting.md ("Asking the database through the gateway").
//
// # Pooling
//
// Only IAM sessions are pooled: the backend trusts the gateway's certificate, so a
// session can be handed to the next client authorized as the same user. The pool key is
// (user, database, startup parameters but application_name). A session goes back to the
// pool only when the client leaves it idle (last ReadyForQuery 'I', no ReadyForQuery
// owed, no unsynced extended-protocol messages, no FATAL) and DISCARD ALL succeeds (followed,
// in the same write, by `SET application_name` to the client's startup name when that is
// not the one the session logged in with, which DISCARD ALL brings back). It is
// handed out after a check: a session idle for less than 30 seconds whose
// application_name is already the client's (the relay follows ParameterStatus, DISCARD
// ALL's included) is checked without a round trip, by peeking at its socket — a backend
// that was terminated or restarted has left its FATAL and the end of the stream there (one
// recv system call, MSG_PEEK|MSG_DONTWAIT, below TLS); any other session gets `SET
// application_name`, a round trip that also finds a backend gone silently. A stale session
// is closed and another taken or dialled, unseen by the client. Password sessions are
// never pooled. Limits: PoolConfig.
//
// # Logs, metrics, audit
//
// Log lines follow PostgreSQL's log_connections: "connection authorized" (user,
// database, application_name, ssl, tls_protocol, cipher, source, principal,
// access_key_id, policy, statement, backend_pid, pooled) and "authentication failed"
// (user, database, source, reason, principal, …). Tokens, passwords, signatures,
// session tokens and cancel keys are never logged. Reasons are token.Reason's words
// plus implicit-deny, explicit-deny, iam-auth-disabled, no-ssl, invalid-user, password,
// no-password, protocol, tls, startup-timeout, backend-unavailable, pool-timeout,
// shutdown, audit-failed, and for connections refused at accept too-many-clients and
// too-many-unauthenticated ("connection refused").
//
// MySQL's "connection authorized" line has program_name, client_name, ssl,
// tls_protocol, cipher, principal, access_key_id, policy, statement,
// backend_connection_id and pooled.
//
// The audit trail (Config.Recorder) gets one CloudTrail event per login decision
// (AuditRecord.Event: rds-db.amazonaws.com "connect", with the backend's pid or
// connection id), except attempts where the client sent no password. It is recorded,
// and waited for, before the client hears anything: an allowed login only once its event
// is durable; if recording fails the login is refused as "the database system is not
// available" (reason audit-failed) and its backend session closed.
//
// LiveSessions lists the logged-in sessions whose client connections are open (who,
// as which database user, from where, since when), from the audit record of their login,
// kept in the connection bookkeeping that MaxUnauthenticatedPerIP already needs: a
// session enters it when its login is recorded, before the client hears of it, and
// leaves it when its connection is closed and forgotten. It does no I/O.
//
// Metrics (engine="postgres" or "mysql"): iamdb_gateway_connections_total{outcome,reason},
// iamdb_gateway_auth_duration_seconds{outcome}, iamdb_gateway_sessions_active,
// iamdb_gateway_client_connections (open, logged in or not),
// iamdb_gateway_pool_sessions{state="idle|busy"}, iamdb_gateway_backend_dials_total{outcome}.
//
// # Limits
//
// A connection beyond MaxClientConns (default: an eighth of RLIMIT_NOFILE, at most
// 4096), or beyond MaxUnauthenticatedPerIP connections of its source address that have
// not logged in (default: a quarter of MaxClientConns), is answered at once with the
// engine's "too many connections" error and closed; the first message must arrive
// within StartupTimeout (10 s), the login end within AuthTimeout (1 min). User names no
// backend account can have are refused before the backend is asked anything, and so are
// plaintext logins unless AllowPlaintextPasswords. Lines a client can cause at will
// (protocol violations, TLS failures, startup timeouts, refusals) are logged at warn
// level through a token bucket (a burst of 10, then one a second, each saying how many
// were held back); clients that just went away (EOF, reset) only at debug level.
//
// # Engines
//
// Listeners and shutdown (Gateway), the login flow (login.go: user name, TLS rule,
// rds_iam membership, password, verification and authorization, backend session),
// verification and authorization (internal/access's Authorizer, over the small
// Authority interface that *iam.Service satisfies: the same decision native mode makes),
// pooling and dial rate limiting (pool, limiter), the
// membership cache, metrics and AuditRecord are engine-neutral. Each engine implements
// the engine interface (serve, close, tooMany) and the flow's loginClient, and words
// the flow's refusals in one table (pgRefusals, mysqlRefusals: RDS's wording, byte for
// byte). pg.go, pgbackend.go, membership.go's admin pool and pgrelay.go are
// PostgreSQL's; mysql.go, mysqlbackend.go and mysqlrelay.go are MySQL's; relayio.go is
// what both relays share. Protocol bytes — framing, message types and command codes,
// OK/ERR/ErrorResponse parsing, the MySQL command/response tracker — live in
// internal/pgwire and internal/mysqlwire; the gateway holds no wire constants.
//
// # MySQL message flow
//
//	client (mysql, mariadb, go-sql-driver …)  gateway                           MariaDB
//	 │ beyond MaxClientConns or MaxUnauthenticatedPerIP, in place of the greeting:
//	 │◄─ [0] ERR 1040 (08004) Too many connections
//	 │◄─ [0] HandshakeV10 (mysql_native_password, the gateway's scramble, CLIENT_SSL,
//	 │     no compression, no LOCAL INFILE unless AllowLocalInfile)
//	 │── [1] SSLRequest ═══ TLS 1.2+ ═══ [2] HandshakeResponse41 (user, db, attrs)
//	 │                                 │   within StartupTimeout (10 s) of accept
//	 │ a name no account can have (not UTF-8, control characters, over 80 characters,
//	 │ trailing spaces): ERR 1045 (28000) Access denied for user …
//	 │ no TLS (and AllowPlaintextPasswords false), and IAM users without TLS:
//	 │◄─ ERR 3159 (HY000) Connections using insecure transport are prohibited: the
//	 │     gateway requires TLS (--ssl)   (the same bytes for every user)
//	 │                                 │── rds_iam member? ─────────────►│ admin pool,
//	 │                                 │◄─ mysql.roles_mapping ──────────│ cached 5 s
//	 │ IAM user:
//	 │◄─ AuthSwitchRequest mysql_clear_password
//	 │── token [\0] ──────────────────►│ one trailing NUL stripped; verify, authorize
//	 │◄─ ERR 1045 (28000) Access denied for user 'u'@'host' (using password: YES)
//	 │                                 │   (any refusal; the reason goes to logs, …)
//	 │                                 │ pooled session for (u, db, capabilities,
//	 │                                 │   charset)? ── COM_INIT_DB db ─►│ (health check)
//	 │                                 │ else: ── TLS + client cert CN=u ►│ REQUIRE SUBJECT
//	 │ password user (TLS unless AllowPlaintextPasswords):
//	 │                                 │── HandshakeResponse41 ─────────►│ (dialled first:
//	 │◄─ AuthSwitchRequest (the backend's plugin and scramble) ◄────────│  its scramble)
//	 │── auth data ═══════════ relayed, as many rounds as the plugin needs ═══════►│
//	 │◄─ the backend's ERR (1045 …) on failure
//	 │ then, for both:
//	 │◄─ OK (the backend's status flags)
//	 │◄═══════════════ relay: frames as they are, both ways ═════════════════►│
//	 │── COM_CHANGE_USER ─────────────►│ ERR 1235 (42000), the session goes on as u
//	 │── COM_QUIT / EOF ──────────────►│ idle IAM session: COM_RESET_CONNECTION ►│ pooled
//
// Password users' authentication is relayed, not terminated: the backend checks the
// password with the account's own plugin (mysql_native_password, ed25519,
// caching_sha2_password on MySQL 8, …), so clients need no cleartext plugin for it and
// the gateway never learns the password.
//
// The capabilities that change how results are framed (CLIENT_DEPRECATE_EOF, session
// tracking, multi-results, LOCAL INFILE) are negotiated with the client first and asked
// of the backend as they are; a backend that lacks one the client negotiated is refused
// (backend-unavailable) rather than relayed wrongly. The greeting announces
// Config.ServerVersion (MariaDB 10.11 by default): clients choose SQL dialect by it.
//
// The MySQL relay passes every frame through unchanged — multi-frame packets of 16 MiB
// and more, multi-statements and several result sets, prepared statements, LOAD DATA
// LOCAL when allowed — and follows the command/response exchange from the first bytes of
// each packet (mysqlwire.Tracker) only to know whether the session is between commands when the
// client quits. A session whose exchange it cannot follow (LOCAL INFILE, replication,
// cursors, an unknown command) is closed at the end instead of pooled.
//
// # Decisions where PostgreSQL or RDS leave room
//
//   - Who is an IAM user is asked of the backend before the password (as RDS's pg_hba
//     decides before PAM), so a plaintext IAM attempt is refused without a password
//     prompt; a role that does not exist is a password user and gets the backend's
//     `password authentication failed`, revealing nothing.
//   - Password users need TLS by default (AllowPlaintextPasswords), like a pg_hba.conf
//     with hostssl lines only: their password travels to the gateway in clear text.
//   - An IAM client that closes at the password prompt (psql does, to ask for one) is
//     counted as refused/no-password and logged at debug level only.
//   - A client asking for protocol 3.2 gets NegotiateProtocolVersion 3.0 (the backend
//     link is 3.0); cancel keys are the gateway's own 4-byte keys.
//   - The gateway's BackendKeyData pid is random (31 bits), not the backend's: clients
//     that show it (psql's %p) show the gateway's.
//   - A cancel request racing with the end of a session may reach the next client of a
//     pooled backend session, as with any pooler.
//
// # Decisions where MySQL, MariaDB or RDS leave room
//
//   - Who is an IAM user: any account named u that holds rds_iam, directly or through
//     roles (mysql.roles_mapping). A grant WITH ADMIN OPTION does not count: MariaDB's
//     CREATE ROLE gives one to the role's creator, which would otherwise turn the
//     administrator into an IAM user. The gateway logs in from its own address, so the
//     backend account should be 'u'@'%' (or the gateway's host), as rdsiam.MySQLIAMUserSQL
//     creates it.
//   - A plaintext IAM attempt is refused with ERR 3159 before the token is asked for, so
//     the token never crosses the network in clear text (unless the client sent it up
//     front in its handshake response, which only a client defaulting to
//     mysql_clear_password does). RDS answers 1045 there; 3159 says what to fix. The
//     message names no user: IAM and password users get the same bytes, so the refusal
//     does not tell who is an IAM user.
//   - An SSLRequest decides TLS: a HandshakeResponse after TLS without CLIENT_SSL
//     (MariaDB Connector/J 2.x) is accepted, as MariaDB accepts it; a second SSLRequest
//     is refused.
//   - COM_CHANGE_USER is refused (ERR 1235) and the session goes on as the authorized
//     user: switching user would need a token and a decision for the new user, and
//     libmysql's mysql_change_user cannot be asked for a token. Clients that reset a
//     session use COM_RESET_CONNECTION, which is relayed.
//   - IAM sessions are pooled only when the client names a database: the pooled session
//     is switched back to it with COM_INIT_DB on reuse, but nothing can unselect a
//     database a previous client chose. The connection attributes the backend shows
//     (performance_schema.session_connect_attrs) are those of the client that opened the
//     session, plus _iamdb_client, the client's address.
//   - MySQL 8 backends are not supported yet: the membership query reads MariaDB's
//     mysql.roles_mapping (MySQL 8 keeps roles in mysql.role_edges).
package gateway
