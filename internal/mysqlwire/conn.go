package mysqlwire

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"syscall"
)

// Conn is a client connection after its handshake response. It is not safe for
// concurrent use.
type Conn struct {
	nc          net.Conn // the accepted connection, or the TLS connection over it
	r           *bufio.Reader
	tls         *tls.ConnectionState
	seq         byte // the sequence ID of the next packet, either way
	old         bool // a pre-4.1 client: ERR packets without SQLSTATE
	serverCaps  Capability
	caps        Capability
	connID      uint32
	scramble    []byte
	user        string
	database    string
	plugin      string
	attrs       map[string]string
	charset     uint8
	maxPacket   uint32
	auth        []byte
	maxPassword int

	askedCleartext bool // AskCleartextPassword sent the switch
}

// NetConn returns the connection to the client: a *tls.Conn after TLS, else the accepted
// connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Reader returns the buffered reader of the connection. After authentication the relay
// reads through it: it may hold bytes the client already sent.
func (c *Conn) Reader() *bufio.Reader { return c.r }

// TLS returns the state of the TLS connection, nil for a plaintext one.
func (c *Conn) TLS() *tls.ConnectionState { return c.tls }

// User returns the user name of the handshake response (possibly empty: MySQL's
// anonymous user).
func (c *Conn) User() string { return c.user }

// Database returns the database of the handshake response, empty if none.
func (c *Conn) Database() string { return c.database }

// Capabilities returns the negotiated capabilities: the client's, limited to those the
// Server offered. The gateway hands them on to the backend (limited again to the
// backend's), so that client and backend frame results alike (CapDeprecateEOF,
// CapSessionTrack, …).
func (c *Conn) Capabilities() Capability { return c.caps }

// Charset returns the collation ID the client asked for.
func (c *Conn) Charset() uint8 { return c.charset }

// MaxPacketSize returns the client's max packet size.
func (c *Conn) MaxPacketSize() uint32 { return c.maxPacket }

// Attrs returns the connection attributes (_client_name, _pid, program_name, …). The map
// is the Conn's: do not modify it.
func (c *Conn) Attrs() map[string]string { return c.attrs }

// PluginName returns the authentication plugin of the handshake response
// ("mysql_native_password" from most clients, answering the greeting).
func (c *Conn) PluginName() string { return c.plugin }

// ConnectionID returns the connection ID sent in the greeting.
func (c *Conn) ConnectionID() uint32 { return c.connID }

// UsingPassword reports whether the client sent authentication data with its handshake
// response: the "(using password: YES)" of MySQL's error 1045.
func (c *Conn) UsingPassword() bool { return len(c.auth) > 0 }

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// writePacket writes payload as the next packet.
func (c *Conn) writePacket(payload []byte) error {
	b, seq := AppendPacket(nil, c.seq, payload)
	c.seq = seq
	_, err := c.nc.Write(b)
	return err
}

// SendOK writes an OK packet, ending authentication successfully.
func (c *Conn) SendOK(affectedRows, lastInsertID uint64, status, warnings uint16) error {
	b := appendLenEnc([]byte{0x00}, affectedRows)
	b = appendLenEnc(b, lastInsertID)
	if !c.old {
		b = binary.LittleEndian.AppendUint16(b, status)
		b = binary.LittleEndian.AppendUint16(b, warnings)
	}
	return c.writePacket(b)
}

// SendError writes an ERR packet: code, '#' and sqlState (five characters, "HY000" if
// not) for 4.1 clients, and msg. The caller closes the connection afterwards.
func (c *Conn) SendError(code uint16, sqlState, msg string) error {
	b := binary.LittleEndian.AppendUint16([]byte{0xff}, code)
	if !c.old {
		b = append(append(b, '#'), (&Error{SQLState: sqlState}).state()...)
	}
	return c.writePacket(append(b, msg...))
}

// Password is a password (or IAM token) a client sent. It never prints itself.
type Password string

// String returns a placeholder.
func (Password) String() string { return "<redacted>" }

// GoString returns a placeholder.
func (Password) GoString() string { return "<redacted>" }

// LogValue returns a placeholder.
func (Password) LogValue() slog.Value { return slog.StringValue("<redacted>") }

// RequestCleartextPassword returns the client's password in cleartext:
// AskCleartextPassword, then ReadCleartextPassword.
func (c *Conn) RequestCleartextPassword() (Password, error) {
	if _, err := c.AskCleartextPassword(); err != nil {
		return "", err
	}
	return c.ReadCleartextPassword()
}

// AskCleartextPassword asks the client for its password in cleartext: usually it sends
// an AuthSwitchRequest to mysql_clear_password, and asked is true; a client that already
// answered the greeting with mysql_clear_password (its default plugin) has sent the
// password, and nothing is sent. ReadCleartextPassword returns the password. A server
// that holds many clients at that point can wait for the answer where it likes
// (Reader().Peek) in between.
func (c *Conn) AskCleartextPassword() (asked bool, err error) {
	if c.plugin == pluginCleartext && len(c.auth) > 0 {
		return false, nil
	}
	c.askedCleartext = true
	return true, c.writePacket(append(append([]byte{0xfe}, pluginCleartext...), 0))
}

// ReadCleartextPassword returns the password AskCleartextPassword asked for: it reads
// the reply to the switch, or decodes the handshake response's.
//
// A client that closes the connection in answer to the switch has not enabled the
// plugin: the error wraps ErrCleartextNotEnabled. A reply longer than
// Config.MaxPasswordLen (plus its NUL) is refused with ERR and wraps ErrTooLong.
func (c *Conn) ReadCleartextPassword() (Password, error) {
	if !c.askedCleartext {
		pw, err := decodeSwitchReply(c.auth)
		clear(c.auth)
		c.auth = nil
		if err != nil {
			return "", c.refuse(ErHandshake, StateHandshake, err)
		}
		return pw, nil
	}
	c.askedCleartext = false
	p, err := c.readPacket(c.r, c.maxPassword+1)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
			return "", fmt.Errorf("%w: %w", ErrCleartextNotEnabled, err)
		}
		return "", err
	}
	pw, err := decodeSwitchReply(p)
	clear(p)
	if err != nil {
		return "", c.refuse(ErHandshake, StateHandshake, err)
	}
	return pw, nil
}

// decodeSwitchReply decodes a mysql_clear_password reply: the password, with one
// trailing NUL (libmysql and go-sql-driver send one, other clients may not). A NUL inside
// the password is refused: no C client could have sent it.
func decodeSwitchReply(p []byte) (Password, error) {
	if n := len(p); n > 0 && p[n-1] == 0 {
		p = p[:n-1]
	}
	if bytes.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("%w: NUL in cleartext password", ErrProtocol)
	}
	return Password(p), nil
}

// AuthExchange sends payload to the client as the next packet of authentication — an
// AuthSwitchRequest (0xFE, plugin, data) or AuthMoreData (0x01, data) relayed from a
// backend — and, if wantReply, reads and returns the client's reply, bounded by
// Config.MaxPasswordLen (plus one). A client that closes the connection instead wraps
// io.EOF; an oversized reply is refused with ERR and wraps ErrTooLong.
func (c *Conn) AuthExchange(payload []byte, wantReply bool) ([]byte, error) {
	if err := c.writePacket(payload); err != nil {
		return nil, err
	}
	if !wantReply {
		return nil, nil
	}
	return c.readPacket(c.r, c.maxPassword+1)
}

// SwitchAuthRequest returns the payload of an AuthSwitchRequest to plugin with data (a
// scramble, to which a NUL is appended as servers do).
func SwitchAuthRequest(plugin string, data []byte) []byte {
	b := make([]byte, 0, 2+len(plugin)+len(data)+1)
	b = append(append(append(b, 0xfe), plugin...), 0)
	return append(append(b, data...), 0)
}
