// Package gateway is iamdb's database gateway: it accepts PostgreSQL clients, tells IAM
// users (members of rds_iam) from password users, verifies IAM auth tokens and authorizes
// rds-db:connect exactly as Amazon RDS does, logs the client in to the real PostgreSQL
// server as that user — with a short-lived client certificate the gateway's CA mints, or
// a pooled session — and then relays the connection message by message.
//
// It is not a PostgreSQL server and not a general pooler: after login the relay is
// transparent (simple and extended query protocol, COPY both ways, NOTIFY, errors,
// replication connections) and a backend session belongs to one client until the client
// leaves (session pooling; transaction pooling is a later issue).
//
// # Using it
//
//	g, err := gateway.New(gateway.Config{
//		IAM:         svc,                  // *iam.Service: keys and policies, from memory
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
//	 │── SSLRequest ──────────────────►│ 'S', TLS 1.2+ (pgwire)
//	 │── StartupMessage(user, db, …) ─►│── rds_iam member? ─────────────►│ admin pool,
//	 │                                 │◄─ pg_has_role(u,'rds_iam',…) ───│ cached 5 s
//	 │ IAM user, no TLS:
//	 │◄─ FATAL 28000 pg_hba.conf rejects connection for host "…", user "…", database "…", SSL off
//	 │ IAM user:
//	 │◄─ AuthenticationCleartextPassword
//	 │── PasswordMessage(token) ──────►│ token.Verifier (keys: iam.Service.LookupKey)
//	 │                                 │ iam.Service.AuthorizeConnect (rds-db:connect,
//	 │                                 │   aws:SourceIp, aws:SecureTransport=true, …)
//	 │◄─ FATAL 28000 PAM authentication failed for user "u"   (any refusal; the reason
//	 │                                 │   goes to the log, metrics and AuditRecord)
//	 │                                 │ pooled session for (u, db, options)?
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
// # Pooling
//
// Only IAM sessions are pooled: the backend trusts the gateway's certificate, so a
// session can be handed to the next client authorized as the same user. The pool key is
// (user, database, startup parameters but application_name). A session goes back to the
// pool only when the client leaves it idle (last ReadyForQuery 'I', no ReadyForQuery
// owed, no unsynced extended-protocol messages, no FATAL) and DISCARD ALL succeeds; it is
// handed out after `SET application_name` succeeds, which is also the health check: a
// stale session (backend restarted) is closed and another taken or dialled, unseen by
// the client. Password sessions are never pooled. Limits: PoolConfig.
//
// # Logs, metrics, audit
//
// Log lines follow PostgreSQL's log_connections: "connection authorized" (user,
// database, application_name, ssl, tls_protocol, cipher, source, principal,
// access_key_id, policy, statement, backend_pid, pooled) and "authentication failed"
// (user, database, source, reason, principal, …). Tokens, passwords, signatures,
// session tokens and cancel keys are never logged. Reasons are token.Reason's words
// plus implicit-deny, explicit-deny, iam-auth-disabled, no-ssl, password, no-password,
// protocol, tls, backend-unavailable, pool-timeout, shutdown.
//
// Metrics (engine="postgres"): iamdb_gateway_connections_total{outcome,reason},
// iamdb_gateway_auth_duration_seconds{outcome}, iamdb_gateway_sessions_active,
// iamdb_gateway_pool_sessions{state="idle|busy"}, iamdb_gateway_backend_dials_total{outcome}.
//
// # Engines
//
// Verification and authorization (authorizer), pooling and dial rate limiting (pool,
// limiter), metrics and AuditRecord are engine-neutral; pg.go, pgbackend.go,
// membership.go and relay.go are PostgreSQL's. A MySQL front end adds its own wire
// (internal/mysqlwire), backend dialling and relay beside them.
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
package gateway
