// Package native is iamdb's local verifier for native mode: PostgreSQL and MariaDB verify
// IAM auth tokens themselves, as RDS does, with no proxy in the data path. The PAM module
// pam_iamdb.so and MariaDB's AWSAuthenticationPlugin (internal/native/pammodule, C) run
// inside the database's processes; they ask this package's Endpoint, over a Unix socket,
// for the same login decision the gateway makes (internal/access), answered from memory.
//
// # Protocol
//
// One request, one response (the specification both sides implement is the team's
// protocol.md; all integers big-endian). The PAM module closes its connection after the
// answer; MariaDB's plugin keeps its connections and sends further requests on them, one
// at a time, which the endpoint waits for up to IdleTimeout (60 s), closing them at once on
// Shutdown:
//
//	pam_iamdb.so (uid postgres/mysql)                 iamdb serve (Endpoint)
//	 │── connect(socket) ─────────────────────────────►│ SO_PEERCRED: uid in AllowedUIDs?
//	 │                                                 │   no: close, log "native peer refused"
//	 │── "IDB1" u16 userLen (1..256)  user             │
//	 │          u16 hostLen (0..255)  host (PAM_RHOST) │ within RequestTimeout (5 s)
//	 │          u16 tokLen (1..16384) token ──────────►│ malformed: close unanswered, log
//	 │                                                 │   "malformed native request"
//	 │                                                 │ access.Authorizer: token (host and
//	 │                                                 │   port it names), registration,
//	 │                                                 │   rds-db:connect (aws:SourceIp =
//	 │                                                 │   host if an IP, aws:SecureTransport)
//	 │◄─ "IDB1" u8 verdict (1 allow, 0 deny)           │ log, audit (Mode "native")
//	 │      u8 reasonLen (0..255) reason ──────────────│
//	 │── close (the plugin: a further request) ───────►│
//
// The module returns PAM_SUCCESS only on a complete response with verdict 1; anything
// else — no socket, a timeout (the module's own, 2 s), a closed connection, verdict 0 —
// fails the login, and the database says its own refusal (PostgreSQL's `PAM
// authentication failed for user "u"`, MariaDB's 1045). The reason ("expired",
// "implicit-deny", …) is for the module's syslog line; iamdb's log and audit record hold
// the detail.
//
// # Threat model
//
// The socket is the only way in. It is reachable by its file mode (Config.Mode, 0660,
// and Config.Group) and answered only for peers whose uid the kernel reports
// (SO_PEERCRED) in Config.AllowedUIDs: the database's OS user and root. Such a peer
// learns, for a token it holds, whether it is valid for this database and why not: an
// oracle for tokens it already has, no more — it cannot mint one, and a token names one
// host, port and user and expires within 15 minutes. A token is accepted as many times
// as the database asks within those minutes (RDS's rule): whoever controls the database
// host sees the tokens clients send in clear inside TLS anyway, as on RDS. Passwords of
// users who are not IAM users never come here: the database checks them itself. Every
// length a peer controls is bounded (MaxRequestLen), a request must arrive within
// RequestTimeout, at most MaxConns connections are served at once (beyond: closed at
// once), the lines a peer can cause at will are rate-limited at warn level, and neither
// the token nor the request's bytes are ever logged. docs/security.md
// says how to keep the exposure of a compromised database host small.
//
// It is not a general authentication service: one socket serves one database, and it
// answers the rds-db:connect decision only.
package native
