// Package mysqlwire is the server side of the MySQL client/server protocol toward
// clients: it writes the greeting (Protocol::HandshakeV10), reads what a client sends
// before authentication — SSLRequest, HandshakeResponse41, the reply to an
// AuthSwitchRequest — and writes the OK and ERR packets that end authentication. After
// authentication the connection belongs to the caller (internal/gateway relays it, frame
// by frame, with [Scan] and [ReadHeader]).
//
// It is not a MySQL server: it knows nothing of queries, authentication decisions or
// backends. It does no logging and holds no secrets beyond the packet it decodes;
// passwords are returned as [Password], which never prints itself.
//
// # Message flow
//
// What a Server does with a new connection (Handshake), in MySQL's terms ("Connection
// Phase" of the client/server protocol:
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase.html);
// [n] is the sequence ID:
//
//	client                                    Server.Handshake
//	  │◄─ [0] HandshakeV10 ──────────────────  protocol 10, ServerVersion, connection ID,
//	  │                                        20-byte scramble (Config.Rand), capabilities,
//	  │                                        plugin mysql_native_password
//	  │── [1] SSLRequest (32 bytes, CLIENT_SSL) ►  only if TLS configured (else ERR 1043);
//	  │══ TLS handshake (1.2+) ═══════════════  then over TLS:
//	  │── [2] HandshakeResponse41 ───────────►  user, auth response, database, plugin,
//	  │     (or [1] in plaintext; refused with    attributes; bounded (Config.MaxHandshakeLen,
//	  │      ERR 3159 if Config.RequireTLS)       256-byte names, 128 attributes)
//	  │     pre-4.1 (HandshakeResponse320) ──►  ERR 1251, ErrUnsupported
//	  │     CLIENT_COMPRESS ─────────────────►  ERR 1043, ErrUnsupported
//	  ▼
//	Conn (User, Database, Capabilities, Attrs, TLS) — the caller authenticates:
//	  │◄─ [n] AuthSwitchRequest ─────────────  Conn.RequestCleartextPassword:
//	  │       0xFE "mysql_clear_password\0"    (skipped when the response already used
//	  │                                         mysql_clear_password)
//	  │── [n+1] password [\0] ───────────────►  one trailing NUL stripped; bounded by
//	  │     or the client closes ────────────►  Config.MaxPasswordLen; ErrCleartextNotEnabled
//	  │◄─ [n+2] ERR 1045 (28000) ────────────  Conn.SendError(AccessDenied(…)), or:
//	  │◄─ [n+2] OK ──────────────────────────  Conn.SendOK
//	  ▼
//	relay (caller): Conn.Reader and Conn.NetConn, framed by ReadHeader
//
// Packets are a 3-byte little-endian length and a sequence ID; a payload of 2²⁴-1 bytes
// or more continues in the next frame ([ReadPacket], [AppendPacket]). During the
// handshake every packet is bounded far below that, so multi-frame packets are refused
// (ERR 1153, ErrTooLong) without being buffered.
//
// # Capabilities
//
// The greeting offers [DefaultCapabilities] (or Config.Capabilities): the 4.1 protocol
// with pluggable authentication, length-encoded auth data, connection attributes,
// multi-statements and results, session tracking and CLIENT_DEPRECATE_EOF, and CLIENT_SSL
// when TLS is configured — never compression, and LOAD DATA LOCAL only if configured.
// After authentication the relay passes bytes through, so client and backend must frame
// results alike: the gateway logs in to the backend with [Conn.Capabilities] limited to
// the backend's greeting, and configures the Server with no more than its backends
// support (DefaultCapabilities suits MariaDB 10.4+ and MySQL 5.7+).
//
// # Cleartext passwords
//
// RDS IAM authentication takes the token as a cleartext password, as here: the client
// is switched to mysql_clear_password. libmysql and go-sql-driver append a NUL to the
// password; one is stripped. mysql (Oracle's) without --enable-cleartext-plugin and
// go-sql-driver without allowCleartextPasswords=true refuse the switch locally (errors
// 2059 and ErrCleartextPassword) and close the connection: [ErrCleartextNotEnabled].
// MariaDB's client always allows the plugin (--enable-cleartext-plugin is a no-op).
// Cleartext passwords need TLS: set Config.RequireTLS, or check [Conn.TLS].
//
// # Client side
//
// [ClientHandshake] is the other direction: the gateway logs in to its backend (MariaDB
// 10.4+) over TLS on behalf of an authenticated client — IAM users with an empty password
// and a short-lived client certificate (REQUIRE SUBJECT '/CN=u'), other users with their
// password (mysql_native_password; an AuthSwitchRequest to mysql_native_password or
// mysql_clear_password is answered, any other plugin refused) — and relays from the
// returned [ClientConn] on. With ClientConfig.Relay it answers the backend's
// authentication with what the gateway's own client answers ([AuthRelay],
// [Conn.AuthExchange], [SwitchAuthRequest]): password users are checked by the backend
// with their own plugin. Its message flow is drawn in client.go.
//
// # After authentication
//
// A relay passes frames through ([Scan] for those a buffer holds whole, [ReadHeader]
// and [WriteHeader] for longer ones) and follows the
// command/response exchange with a [Tracker]: fed the first bytes of each command
// (the Com* codes) and of each response packet, it tells when the session is between
// commands — text and binary result sets, several result sets, prepared statements,
// OK, ERR and EOF (with or without CLIENT_DEPRECATE_EOF), pipelined commands — and
// gives up for good on what it cannot follow (LOAD DATA LOCAL, replication, cursors,
// unknown commands). [OKStatus], [EOFStatus] and [DecodeError] read response packets;
// [CommandPacket] encodes the commands a gateway sends itself (COM_QUIT, COM_INIT_DB,
// COM_RESET_CONNECTION). They are fuzzed (FuzzTracker, FuzzResponsePacket).
//
// # Concurrency
//
// A Server is safe for concurrent use. A Conn is not: one goroutine drives the handshake
// and authentication; afterwards the caller owns its reader and network connection.
package mysqlwire
