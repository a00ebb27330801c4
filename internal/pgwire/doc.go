// Package pgwire is the server side of the PostgreSQL frontend/backend protocol (version
// 3.0) toward clients: it reads what a client sends before authentication — SSLRequest,
// GSSENCRequest, CancelRequest, StartupMessage, PasswordMessage — and writes the messages a
// server sends around authentication. After authentication the connection belongs to the
// caller (internal/gateway relays it, message by message, with [Scan] and [ReadHeader]).
//
// It is not a PostgreSQL server: it knows nothing of queries, authentication decisions or
// backends. It does no logging and holds no secrets beyond the one message it decodes;
// passwords are returned as [Password], which never prints itself.
//
// # Message flow
//
// What a Server does with a new connection (Handshake), in PostgreSQL's terms
// ("Message Flow", "Message Formats", "Canceling Requests" in the protocol chapter:
// https://www.postgresql.org/docs/current/protocol-flow.html):
//
//	client                               Server.Handshake
//	  │── SSLRequest ───────────────────►  TLS configured: 'S', TLS handshake
//	  │◄──────────────────────────── 'S'   (TLS 1.2+, ALPN "postgresql" offered);
//	  │══ TLS handshake ════════════════   none: 'N', continue in plaintext
//	  │── GSSENCRequest ────────────────►  'N' (GSSAPI encryption unsupported), continue
//	  │── TLS ClientHello (direct SSL) ─►  PostgreSQL 17's sslnegotiation=direct: TLS at
//	  │                                    once; ALPN "postgresql" required
//	  │── CancelRequest(pid, key) ──────►  Config.OnCancel(pid, key); ErrCancelRequest;
//	  │                                    the caller closes (no reply, as PostgreSQL)
//	  │── StartupMessage 3.x ───────────►  3.0: accepted. 3.1+ or "_pq_." options:
//	  │◄─ NegotiateProtocolVersion 3.0 ──  sent (buffered until the next Flush)
//	  │                                    other versions, bad packets: FATAL, error
//	  ▼
//	Conn (User, Database, Params, TLS)      — the caller authenticates:
//	  │◄─ AuthenticationCleartextPassword   Conn.RequestPassword
//	  │── PasswordMessage ──────────────►  (bounded: Config.MaxPasswordLen)
//	  │◄─ ErrorResponse FATAL ───────────  Conn.Fatal, or on success:
//	  │◄─ AuthenticationOk                 Conn.SendAuthOK
//	  │◄─ ParameterStatus × n              Conn.SendParameterStatus
//	  │◄─ BackendKeyData                   Conn.SendBackendKeyData
//	  │◄─ ReadyForQuery                    Conn.SendReadyForQuery, Conn.Flush
//	  ▼
//	relay (caller): Conn.Reader and Conn.NetConn, framed by Scan and ReadHeader
//
// Sizes a client controls are bounded as PostgreSQL bounds them: a startup packet's body
// is at most 10 000 bytes (MAX_STARTUP_PACKET_LENGTH) with at most 128 parameters, a
// password at most 65 535 bytes (PG_MAX_AUTH_TOKEN_LENGTH), a CancelRequest's key at most
// 256 bytes (protocol 3.2).
//
// Decoding is done here rather than with pgproto3.Backend, whose reader reads ahead into
// its own buffer (the relay must own every byte after the PasswordMessage, and after an
// SSLRequest no byte may be read before the TLS handshake) and whose startup decoder
// refuses 3.x minors it does not know (PostgreSQL answers those with
// NegotiateProtocolVersion). Messages sent to the client are encoded with pgproto3. Every
// decoder is fuzzed (FuzzStartup, FuzzPassword, FuzzHeader, FuzzHandshake,
// FuzzBackendMessage).
//
// # After authentication
//
// A relay needs only the framing and a few messages, without allocating per message:
// [Scan] walks the messages a buffer holds whole (a batch that arrived together),
// [ReadHeader] and [WriteHeader] frame longer ones (type byte, length word), the Type*
// constants name the messages a relay counts (Query, Sync, extended-protocol messages,
// Terminate; ReadyForQuery, ParameterStatus, ErrorResponse), and [ParseReadyForQuery],
// [ParseParameterStatus], [IsFatal] and [ErrorSummary] read the backend's messages a
// relay looks into. [AppendQuery], [AppendTerminate], [AppendSSLRequest] and
// [AppendCancelRequest] encode what a gateway sends a backend itself (DISCARD ALL, the
// close of a session, a CancelRequest over TLS).
//
// # Concurrency
//
// A Server is safe for concurrent use. A Conn is not: one goroutine drives the handshake
// and authentication; afterwards the caller owns its reader and network connection.
package pgwire
