package mysqlwire

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// The client side: ClientHandshake logs in to a backend (MariaDB, MySQL) over an
// established connection, on behalf of a client the Server side has accepted.
//
//	ClientHandshake                             backend
//	  │◄─ [0] HandshakeV10 ──────────────────  protocol 10, version, connection ID,
//	  │                                        20-byte scramble, capabilities (must offer
//	  │                                        CLIENT_SSL and the 4.1 protocol), plugin
//	  │── [1] SSLRequest ────────────────────►
//	  │══ TLS handshake (ClientConfig.TLS) ══  with the client certificate for IAM users
//	  │── [2] HandshakeResponse41 ───────────►  user, mysql_native_password auth data
//	  │                                        (empty for an empty password), database,
//	  │                                        plugin, attributes
//	  │◄─ [3] OK ────────────────────────────  ClientConn
//	  │◄─ [3] ERR ───────────────────────────  *Error (1045 for a refused login)
//	  │◄─ [3] AuthSwitchRequest ─────────────  mysql_native_password (new scramble) or
//	  │── [4] auth data ─────────────────────►  mysql_clear_password (password and NUL);
//	  │◄─ [5] OK or ERR ─────────────────────  any other plugin is refused (ErrUnsupported)
//
// AuthMoreData (0x01) is not expected: MariaDB's mysql_native_password and
// mysql_clear_password never send it (MySQL 8's caching_sha2_password does, and is not
// supported); it is refused as ErrProtocol.

// DefaultClientCapabilities are the capabilities ClientHandshake asks for unless
// configured otherwise: DefaultCapabilities.
const DefaultClientCapabilities = DefaultCapabilities

// clientRequiredCapabilities are always asked for, and must be offered by the server.
const clientRequiredCapabilities = CapProtocol41 | CapSecureConnection | CapPluginAuth | CapSSL

// Bounds of what a server sends during ClientHandshake.
const (
	maxGreetingLen      = 1 << 10 // MariaDB's greeting is about 100 bytes
	maxServerVersionLen = 255
	maxAuthReplyLen     = DefaultMaxHandshakeLen // OK (with session state), ERR, AuthSwitchRequest
)

// ClientConfig configures ClientHandshake.
type ClientConfig struct {
	// User is the user name to log in as.
	User string
	// Password is the user's password; empty for a certificate login (an IAM user,
	// REQUIRE SUBJECT '/CN=user', no password), which sends empty auth data.
	Password Password
	// Database is the default database; none if empty.
	Database string
	// TLS is the client's TLS configuration, required: it must verify the backend
	// (RootCAs, ServerName) and carries the client certificate for IAM users.
	TLS *tls.Config
	// Capabilities are the capabilities the client asks for — usually those the client
	// negotiated with the gateway (Conn.Capabilities). If zero,
	// DefaultClientCapabilities. CapProtocol41, CapSecureConnection, CapPluginAuth and
	// CapSSL are always added; compression is always removed; CapConnectWithDB follows
	// Database. The result is intersected with the greeting's capabilities: the
	// negotiated set is ClientConn.Capabilities. MariaDB's extended capabilities are
	// not asked for.
	Capabilities Capability
	// Charset is the collation ID of the connection. If zero, utf8mb4_general_ci (45).
	Charset byte
	// Attrs are connection attributes (_client_name, program_name, …), sent when the
	// server offers CLIENT_CONNECT_ATTRS.
	Attrs map[string]string
	// MaxPacketSize is the client's max packet size. If zero, DefaultMaxPacketLen.
	MaxPacketSize uint32
	// ReadBufferSize is the size of ClientConn.Reader's buffer. If zero,
	// DefaultReadBufferSize.
	ReadBufferSize int
	// Relay, if not nil, answers the server's authentication instead of Password: a
	// gateway relays it to its own client, so that the backend checks the client's
	// password with whatever plugin the account uses (mysql_native_password, ed25519,
	// caching_sha2_password, …) and the gateway never learns it.
	Relay AuthRelay
}

// AuthRelay answers a server's authentication exchange on behalf of someone else (see
// ClientConfig.Relay). Packets are whole payloads without headers.
type AuthRelay interface {
	// Start returns the auth response of the handshake response, for the greeting's
	// plugin (mysql_native_password if the greeting names none) and 20-byte scramble.
	Start(plugin string, scramble []byte) ([]byte, error)
	// Continue is given each AuthSwitchRequest (0xFE …) or AuthMoreData (0x01 …) the
	// server sends and returns the reply to send, or ok false when the server expects
	// none (caching_sha2_password's "fast auth success", 0x01 0x03).
	Continue(packet []byte) (reply []byte, ok bool, err error)
}

// maxRelayedExchanges bounds the authentication packets a server may send under
// ClientConfig.Relay before OK or ERR (caching_sha2_password's full authentication takes
// three).
const maxRelayedExchanges = 8

// ClientConn is a connection logged in to a backend, positioned after the OK packet
// that ended authentication: the next packet the server sends is the answer to the
// first command, with sequence ID 1 after a command sent with sequence ID 0.
type ClientConn struct {
	// Conn is the TLS connection to the backend. Write commands to it.
	Conn net.Conn
	// Reader reads from Conn. It may already hold bytes the server sent after the OK
	// packet: read through it, never from Conn directly.
	Reader *bufio.Reader
	// ServerVersion and ConnectionID are from the greeting.
	ServerVersion string
	ConnectionID  uint32
	// Capabilities are the negotiated capabilities (see ClientConfig.Capabilities).
	Capabilities Capability
	// Status is the server status of the OK packet.
	Status uint16
}

// serverGreeting is a decoded HandshakeV10.
type serverGreeting struct {
	version  string
	connID   uint32
	caps     Capability
	charset  uint8
	status   uint16
	scramble []byte // scrambleLen bytes
	plugin   string // may be empty
}

// decodeGreeting decodes a Protocol::HandshakeV10 payload. It needs the 4.1 protocol
// and a 20-byte scramble.
func decodeGreeting(p []byte) (serverGreeting, error) {
	var g serverGreeting
	if len(p) > 0 && p[0] == 0xff {
		e, err := decodeErr(p)
		if err != nil {
			return g, err
		}
		return g, e
	}
	d := decoder{b: p}
	if v := d.uint8("protocol version"); d.err == nil && v != 10 {
		return g, fmt.Errorf("%w: protocol version %d, want 10", ErrUnsupported, v)
	}
	g.version = string(d.cString(maxServerVersionLen, "server version"))
	g.connID = d.uint32("connection id")
	part1 := d.bytes(8, "auth-plugin-data-part-1")
	d.uint8("filler")
	g.caps = Capability(d.uint16("capability flags"))
	if d.err == nil && g.caps&CapProtocol41 == 0 {
		return serverGreeting{}, fmt.Errorf("%w: server does not speak the 4.1 protocol", ErrUnsupported)
	}
	g.charset = d.uint8("character set")
	g.status = d.uint16("status flags")
	g.caps |= Capability(d.uint16("capability flags")) << 16
	authLen := int(d.uint8("auth-plugin-data length"))
	d.bytes(10, "reserved")
	if d.err == nil && g.caps&CapSecureConnection == 0 {
		return serverGreeting{}, fmt.Errorf("%w: server lacks CLIENT_SECURE_CONNECTION", ErrUnsupported)
	}
	// auth-plugin-data-part-2: max(13, length - 8) bytes, the scramble's last 12 and a NUL.
	part2 := d.bytes(max(13, authLen-8), "auth-plugin-data-part-2")
	if d.err == nil && (len(part2) != scrambleLen-8+1 || part2[len(part2)-1] != 0) {
		d.fail("auth-plugin-data of %d bytes, want %d", 8+len(part2)-1, scrambleLen)
	}
	if g.caps&CapPluginAuth != 0 && d.err == nil {
		// MySQL before 5.5.10 did not terminate the name.
		if i := bytes.IndexByte(d.b, 0); i < 0 {
			d.b = append(d.b[:len(d.b):len(d.b)], 0)
		}
		g.plugin = string(d.cString(maxPluginLen, "auth plugin name"))
	}
	if d.err != nil {
		return serverGreeting{}, d.err
	}
	g.scramble = make([]byte, 0, scrambleLen)
	g.scramble = append(append(g.scramble, part1...), part2[:len(part2)-1]...)
	return g, nil
}

// decodeErr decodes an ERR packet (4.1 protocol: SQLSTATE marker optional).
func decodeErr(p []byte) (*Error, error) {
	d := decoder{b: p}
	if d.uint8("header") != 0xff {
		d.fail("not an ERR packet")
	}
	e := &Error{Code: d.uint16("error code")}
	if d.err == nil && len(d.b) >= 6 && d.b[0] == '#' {
		e.SQLState = string(d.b[1:6])
		d.b = d.b[6:]
	}
	if d.err != nil {
		return nil, d.err
	}
	e.Message = string(d.b)
	return e, nil
}

// decodeOK decodes an OK packet (0x00 header, or 0xFE with CapDeprecateEOF) and returns
// its status flags. Info and session state are skipped.
func decodeOK(p []byte) (status uint16, err error) {
	d := decoder{b: p}
	if h := d.uint8("header"); h != 0x00 && h != 0xfe {
		d.fail("not an OK packet")
	}
	d.lenEnc("affected rows")
	d.lenEnc("last insert id")
	status = d.uint16("status flags")
	d.uint16("warnings")
	return status, d.err
}

func (d *decoder) uint16(what string) uint16 {
	b := d.bytes(2, what)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(b)
}

// appendNativeAuth appends mysql_native_password's answer to scramble:
// SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))), nothing for an empty
// password.
func appendNativeAuth(dst, scramble []byte, password Password) []byte {
	if password == "" {
		return dst
	}
	stage1 := sha1.Sum([]byte(password))
	stage2 := sha1.Sum(stage1[:])
	var buf [scrambleLen + sha1.Size]byte // scramble + stage2, on the stack for 20-byte scrambles
	x := sha1.Sum(append(append(buf[:0], scramble...), stage2[:]...))
	clear(buf[:])
	for i := range x {
		x[i] ^= stage1[i]
	}
	dst = append(dst, x[:]...)
	clear(stage1[:])
	clear(stage2[:])
	clear(x[:])
	return dst
}

// appendSSLRequest appends a Protocol::SSLRequest payload, also the first 32 bytes of
// HandshakeResponse41.
func appendSSLRequest(b []byte, caps Capability, maxPacket uint32, charset byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(caps))
	b = binary.LittleEndian.AppendUint32(b, maxPacket)
	b = append(b, charset)
	return append(b, make([]byte, 23)...)
}

// appendClientResponse appends a HandshakeResponse41 payload.
func appendClientResponse(b []byte, caps Capability, cfg *ClientConfig, plugin string, auth []byte) []byte {
	b = appendSSLRequest(b, caps, cfg.MaxPacketSize, cfg.Charset)
	b = append(append(b, cfg.User...), 0)
	if caps&CapPluginAuthLenEncClientData != 0 {
		b = appendLenEnc(b, uint64(len(auth)))
	} else {
		b = append(b, byte(len(auth)))
	}
	b = append(b, auth...)
	if caps&CapConnectWithDB != 0 {
		b = append(append(b, cfg.Database...), 0)
	}
	b = append(append(b, plugin...), 0)
	if caps&CapConnectAttrs != 0 {
		var a []byte
		for k, v := range cfg.Attrs {
			a = appendLenEnc(a, uint64(len(k)))
			a = append(a, k...)
			a = appendLenEnc(a, uint64(len(v)))
			a = append(a, v...)
		}
		b = appendLenEnc(b, uint64(len(a)))
		b = append(b, a...)
	}
	return b
}

// clientConn tracks the sequence IDs of ClientHandshake.
type clientConn struct {
	nc  net.Conn
	r   io.Reader
	seq byte
}

func (c *clientConn) read(max int) ([]byte, error) {
	p, seq, err := ReadPacket(c.r, max)
	if err != nil {
		return nil, err
	}
	if seq != c.seq {
		return nil, fmt.Errorf("%w: got packets out of order (sequence %d, want %d)", ErrProtocol, seq, c.seq)
	}
	c.seq++
	return p, nil
}

func (c *clientConn) write(payload []byte) error {
	b, seq := AppendPacket(nil, c.seq, payload)
	c.seq = seq
	_, err := c.nc.Write(b)
	clear(b)
	return err
}

// ClientHandshake logs in to a MySQL server (MariaDB 10.4+) over nc, as cfg says, and
// returns the logged-in connection (see the message flow above). It always uses TLS: the
// server must offer CLIENT_SSL. ctx bounds the whole handshake: when it is done, nc's
// deadline is moved to the past and ClientHandshake returns an error wrapping ctx.Err()
// (nc's own deadline is otherwise left as the caller set it).
//
// A login the server refuses returns its ERR packet as an *Error (Code 1045 for access
// denied). A server breaking the protocol or exceeding a bound returns an error wrapping
// ErrProtocol or ErrTooLong; one asking for what ClientHandshake does not do (another
// protocol, no TLS, an authentication plugin other than mysql_native_password and
// mysql_clear_password) wraps ErrUnsupported; a failed TLS handshake wraps ErrTLS. On
// any error the caller closes nc.
func ClientHandshake(ctx context.Context, nc net.Conn, cfg ClientConfig) (cc *ClientConn, err error) {
	if cfg.TLS == nil {
		return nil, errors.New("mysqlwire: client config: TLS is required")
	}
	if len(cfg.User) > maxUserLen || strings.IndexByte(cfg.User, 0) >= 0 ||
		len(cfg.Database) > maxDatabaseLen || strings.IndexByte(cfg.Database, 0) >= 0 {
		return nil, errors.New("mysqlwire: client config: invalid User or Database")
	}
	if cfg.Capabilities == 0 {
		cfg.Capabilities = DefaultClientCapabilities
	}
	if cfg.Charset == 0 {
		cfg.Charset = charsetUTF8MB4GeneralCI
	}
	if cfg.MaxPacketSize == 0 {
		cfg.MaxPacketSize = DefaultMaxPacketLen
	}
	if cfg.ReadBufferSize <= 0 {
		cfg.ReadBufferSize = DefaultReadBufferSize
	}

	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		stopped := stop() // false: the deadline was (or is being) moved to the past
		switch {
		case err != nil && ctx.Err() != nil:
			err = fmt.Errorf("mysqlwire: client handshake: %w: %w", ctx.Err(), err)
		case err == nil && !stopped:
			err = fmt.Errorf("mysqlwire: client handshake: %w", ctx.Err())
		}
		if err != nil {
			cc = nil
		}
	}()

	c := &clientConn{nc: nc, r: nc}
	// Read unbuffered until TLS is on.
	p, err := c.read(maxGreetingLen)
	if err != nil {
		return nil, err
	}
	g, err := decodeGreeting(p)
	if err != nil {
		return nil, err
	}
	if missing := clientRequiredCapabilities &^ g.caps; missing != 0 {
		return nil, fmt.Errorf("%w: server does not offer capabilities %#x (TLS, 4.1 protocol, pluggable authentication)", ErrUnsupported, uint32(missing))
	}
	caps := cfg.Capabilities | clientRequiredCapabilities
	caps &^= CapCompress | CapZstdCompression | CapConnectWithDB
	if cfg.Database != "" {
		caps |= CapConnectWithDB
	}
	caps &= g.caps

	if err := c.write(appendSSLRequest(nil, caps, cfg.MaxPacketSize, cfg.Charset)); err != nil {
		return nil, err
	}
	tc := tls.Client(nc, cfg.TLS)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTLS, err)
	}
	br := bufio.NewReaderSize(tc, cfg.ReadBufferSize)
	c.nc, c.r = tc, br

	plugin := pluginNative
	var auth []byte
	if cfg.Relay != nil {
		if g.plugin != "" {
			plugin = g.plugin
		}
		if auth, err = cfg.Relay.Start(plugin, g.scramble); err != nil {
			return nil, err
		}
	} else {
		auth = appendNativeAuth(make([]byte, 0, sha1.Size), g.scramble, cfg.Password)
	}
	resp := appendClientResponse(nil, caps, &cfg, plugin, auth)
	err = c.write(resp)
	clear(resp)
	clear(auth)
	if err != nil {
		return nil, err
	}
	status, err := c.authenticate(&cfg)
	if err != nil {
		return nil, err
	}
	return &ClientConn{Conn: tc, Reader: br, ServerVersion: g.version, ConnectionID: g.connID,
		Capabilities: caps, Status: status}, nil
}

// authenticate reads the server's answers to the handshake response, answering at most
// one AuthSwitchRequest, and returns the status of the OK packet.
func (c *clientConn) authenticate(cfg *ClientConfig) (uint16, error) {
	if cfg.Relay != nil {
		return c.relayAuthentication(cfg.Relay)
	}
	for switched := false; ; switched = true {
		p, status, done, err := c.nextAuthReply()
		if done {
			return status, err
		}
		switch p[0] {
		case 0xfe:
			if switched {
				return 0, fmt.Errorf("%w: second AuthSwitchRequest", ErrProtocol)
			}
			reply, err := switchReply(p, cfg.Password)
			if err != nil {
				return 0, err
			}
			err = c.write(reply)
			clear(reply)
			if err != nil {
				return 0, err
			}
		case 0x01:
			return 0, fmt.Errorf("%w: unexpected AuthMoreData", ErrProtocol)
		default:
			return 0, fmt.Errorf("%w: unexpected authentication reply %#x", ErrProtocol, p[0])
		}
	}
}

// nextAuthReply reads the server's next authentication packet. done is true when it
// ends authentication (see finalReply) or cannot be read, with status and err to return.
func (c *clientConn) nextAuthReply() (p []byte, status uint16, done bool, err error) {
	if p, err = c.read(maxAuthReplyLen); err != nil {
		return nil, 0, true, err
	}
	status, done, err = finalReply(p)
	return p, status, done, err
}

// finalReply decodes the OK or ERR packet that ends authentication (an ERR as an
// *Error); done is false for any other packet. An empty packet is an error.
func finalReply(p []byte) (status uint16, done bool, err error) {
	if len(p) == 0 {
		return 0, true, fmt.Errorf("%w: empty authentication reply", ErrProtocol)
	}
	switch p[0] {
	case 0x00:
		status, err = decodeOK(p)
		return status, true, err
	case 0xff:
		e, err := decodeErr(p)
		if err != nil {
			return 0, true, err
		}
		return 0, true, e
	}
	return 0, false, nil
}

// relayAuthentication reads the server's answers to the handshake response, handing
// every AuthSwitchRequest and AuthMoreData to relay, and returns the status of the OK
// packet.
func (c *clientConn) relayAuthentication(relay AuthRelay) (uint16, error) {
	for i := 0; ; i++ {
		p, status, done, err := c.nextAuthReply()
		if done {
			return status, err
		}
		switch p[0] {
		case 0xfe, 0x01:
			if i == maxRelayedExchanges {
				return 0, fmt.Errorf("%w: more than %d authentication exchanges", ErrProtocol, maxRelayedExchanges)
			}
			reply, ok, err := relay.Continue(p)
			if err != nil {
				return 0, err
			}
			if ok {
				err = c.write(reply)
				clear(reply)
				if err != nil {
					return 0, err
				}
			}
		default:
			return 0, fmt.Errorf("%w: unexpected authentication reply %#x", ErrProtocol, p[0])
		}
	}
}

// switchReply decodes an AuthSwitchRequest and returns the answer.
func switchReply(p []byte, password Password) ([]byte, error) {
	if len(p) == 1 {
		return nil, fmt.Errorf("%w: switch to mysql_old_password", ErrUnsupported)
	}
	d := decoder{b: p[1:]}
	plugin := string(d.cString(maxPluginLen, "auth plugin name"))
	if d.err != nil {
		return nil, d.err
	}
	data := d.b
	switch plugin {
	case pluginNative:
		if n := len(data); n > 0 && data[n-1] == 0 {
			data = data[:n-1]
		}
		if len(data) != scrambleLen {
			return nil, fmt.Errorf("%w: mysql_native_password scramble of %d bytes, want %d", ErrProtocol, len(data), scrambleLen)
		}
		return appendNativeAuth(make([]byte, 0, sha1.Size), data, password), nil
	case pluginCleartext:
		if strings.IndexByte(string(password), 0) >= 0 {
			return nil, errors.New("mysqlwire: NUL in password for mysql_clear_password")
		}
		return append(append(make([]byte, 0, len(password)+1), password...), 0), nil
	default:
		return nil, fmt.Errorf("%w: server asks for authentication plugin %q", ErrUnsupported, plugin)
	}
}
