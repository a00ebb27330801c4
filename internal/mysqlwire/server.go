package mysqlwire

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"

	"github.com/iamdb/iamdb/internal/servertls"
)

// DefaultServerVersion is the version a Server announces unless configured otherwise. It
// is MariaDB-style ("5.5.5-" is MariaDB's prefix for clients that compare major
// versions) because the gateway relays to MariaDB: clients pick SQL dialect by it (MySQL
// 8 clients query @@transaction_isolation, which MariaDB 10.11 lacks). The gateway should
// announce its backend's version when it knows it.
const DefaultServerVersion = "5.5.5-10.11.0-MariaDB-iamdb"

// DefaultMaxHandshakeLen bounds the handshake response (and SSLRequest) unless configured
// otherwise. MySQL clients send a few hundred bytes; an RDS token sent up front (the
// client's default plugin being mysql_clear_password) fits.
const DefaultMaxHandshakeLen = 64 << 10

// DefaultMaxPasswordLen bounds a cleartext password unless configured otherwise. RDS
// tokens are 0.8–2 KiB, several KiB with a session token.
const DefaultMaxPasswordLen = 32 << 10

// DefaultReadBufferSize is the size of a Conn's read buffer unless configured otherwise.
const DefaultReadBufferSize = 16 << 10

// Config configures a Server.
type Config struct {
	// TLS is the configuration of TLS toward clients. If nil, CLIENT_SSL is not offered
	// and an SSLRequest is refused. The Server uses a clone with MinVersion raised to
	// MinTLSVersion.
	TLS *tls.Config
	// MinTLSVersion is the oldest TLS version accepted. If zero, TLS 1.2.
	MinTLSVersion uint16
	// RequireTLS refuses clients that do not request TLS, with MySQL's error 3159
	// (require_secure_transport). It needs TLS.
	RequireTLS bool
	// ServerVersion is the version string of the greeting. If empty,
	// DefaultServerVersion.
	ServerVersion string
	// Capabilities are the capabilities offered in the greeting. If zero,
	// DefaultCapabilities. They must include CapProtocol41, CapSecureConnection and
	// CapPluginAuth and must not include compression; CapSSL is set from TLS.
	Capabilities Capability
	// ConnectionID returns the connection ID of the greeting. If nil, a counter from 1.
	ConnectionID func() uint32
	// Rand is the source of the greeting's scramble. If nil, crypto/rand.
	Rand io.Reader
	// MaxHandshakeLen bounds the handshake response. If zero, DefaultMaxHandshakeLen; at
	// most MaxPayloadLen-1 (multi-packet handshake responses are refused).
	MaxHandshakeLen int
	// MaxPasswordLen bounds the cleartext password. If zero, DefaultMaxPasswordLen.
	MaxPasswordLen int
	// ReadBufferSize is the size of a Conn's read buffer. If zero, DefaultReadBufferSize.
	ReadBufferSize int
}

// Server accepts MySQL client connections. It is safe for concurrent use.
type Server struct {
	tls          *tls.Config
	requireTLS   bool
	version      atomic.Pointer[string]
	caps         Capability
	connID       func() uint32
	rand         io.Reader
	maxHandshake int
	maxPassword  int
	bufSize      int
	nextID       atomic.Uint32
}

// NewServer validates cfg and returns a Server.
func NewServer(cfg Config) (*Server, error) {
	s := &Server{
		requireTLS: cfg.RequireTLS, caps: cfg.Capabilities,
		connID: cfg.ConnectionID, rand: cfg.Rand, maxHandshake: cfg.MaxHandshakeLen,
		maxPassword: cfg.MaxPasswordLen, bufSize: cfg.ReadBufferSize,
	}
	version := cfg.ServerVersion
	if version == "" {
		version = DefaultServerVersion
	}
	if err := s.SetServerVersion(version); err != nil {
		return nil, fmt.Errorf("mysqlwire: config: %w", err)
	}
	if s.caps == 0 {
		s.caps = DefaultCapabilities
	}
	if s.caps&requiredCapabilities != requiredCapabilities {
		return nil, errors.New("mysqlwire: config: Capabilities lack CapProtocol41, CapSecureConnection or CapPluginAuth")
	}
	if s.caps&(CapCompress|CapZstdCompression) != 0 {
		return nil, errors.New("mysqlwire: config: compression is not supported")
	}
	s.caps &^= neverCapabilities
	if s.connID == nil {
		s.connID = func() uint32 { return s.nextID.Add(1) }
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	switch {
	case s.maxHandshake == 0:
		s.maxHandshake = DefaultMaxHandshakeLen
	case s.maxHandshake < sslRequestLen || s.maxHandshake >= MaxPayloadLen:
		return nil, fmt.Errorf("mysqlwire: config: MaxHandshakeLen %d out of range", s.maxHandshake)
	}
	switch {
	case s.maxPassword == 0:
		s.maxPassword = DefaultMaxPasswordLen
	case s.maxPassword < 0 || s.maxPassword >= MaxPayloadLen:
		return nil, fmt.Errorf("mysqlwire: config: MaxPasswordLen %d out of range", s.maxPassword)
	}
	if s.bufSize <= 0 {
		s.bufSize = DefaultReadBufferSize
	}
	if cfg.TLS == nil {
		if cfg.RequireTLS {
			return nil, errors.New("mysqlwire: config: RequireTLS without TLS")
		}
		return s, nil
	}
	c, err := servertls.Config(cfg.TLS, cfg.MinTLSVersion)
	if err != nil {
		return nil, fmt.Errorf("mysqlwire: config: %w", err)
	}
	s.tls = c
	s.caps |= CapSSL
	return s, nil
}

// SetServerVersion changes the version the greetings of new connections announce (the
// gateway announces its backend's once it has seen it). It may be called concurrently
// with Handshake.
func (s *Server) SetServerVersion(v string) error {
	if v == "" || strings.IndexByte(v, 0) >= 0 || len(v) > maxServerVersionLen {
		return errors.New("invalid server version")
	}
	s.version.Store(&v)
	return nil
}

// ServerVersion returns the version greetings announce.
func (s *Server) ServerVersion() string { return *s.version.Load() }

// Handshake sends the greeting (HandshakeV10) on a new connection, reads the client's
// handshake response — after an SSLRequest and a TLS handshake if the client asks for
// TLS; the SSLRequest decides, whatever CLIENT_SSL says in the response after it — and
// returns the Conn, ready for the caller to authenticate it. ctx bounds the
// TLS handshake; the caller sets nc's deadline for the rest.
//
// When the client breaks the protocol Handshake sends an ERR packet when it can and
// returns an error wrapping ErrProtocol or ErrTooLong; a client asking for what the
// Server does not do (pre-4.1 protocol, compression, TLS without Config.TLS, plaintext
// with Config.RequireTLS) gets ErrUnsupported; a failed TLS handshake wraps ErrTLS. On
// any error the caller closes nc.
func (s *Server) Handshake(ctx context.Context, nc net.Conn) (*Conn, error) {
	c := &Conn{nc: nc, serverCaps: s.caps, maxPassword: s.maxPassword, connID: s.connID()}
	c.scramble = make([]byte, scrambleLen)
	if _, err := io.ReadFull(s.rand, c.scramble); err != nil {
		return nil, fmt.Errorf("mysqlwire: scramble: %w", err)
	}
	for i, b := range c.scramble { // printable-ish and NUL-free, as MySQL's
		b &= 0x7f
		if b == 0 || b == '$' {
			b++
		}
		c.scramble[i] = b
	}
	if err := c.writePacket(appendGreeting(nil, *s.version.Load(), c.connID, c.scramble, s.caps)); err != nil {
		return nil, err
	}
	// Read unbuffered until TLS is on: no byte of the TLS handshake may be consumed here.
	r, err := c.readResponse(c.nc, s.maxHandshake)
	if err != nil {
		return nil, err
	}
	if r.ssl {
		if s.tls == nil {
			return nil, c.refuse(ErHandshake, StateHandshake, fmt.Errorf("%w: SSL requested but not offered", ErrUnsupported))
		}
		tc := tls.Server(c.nc, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTLS, err)
		}
		st := tc.ConnectionState()
		c.nc, c.tls = tc, &st
		if r, err = c.readResponse(c.nc, s.maxHandshake); err != nil {
			return nil, err
		}
		// The SSLRequest decided TLS. MariaDB Connector/J 2.x sets CLIENT_SSL on the
		// SSLRequest only, not on the HandshakeResponse after TLS, and MariaDB accepts
		// that: so does this server. A second SSLRequest is refused.
		if r.ssl {
			return nil, c.refuse(ErHandshake, StateHandshake, fmt.Errorf("%w: Bad handshake: SSLRequest after TLS", ErrProtocol))
		}
		r.caps |= CapSSL
	} else if s.requireTLS {
		return nil, c.refuse(ErSecureTransportRequired, StateGeneral, fmt.Errorf("%w: Connections using insecure transport are prohibited", ErrUnsupported))
	}
	if r.caps&(CapCompress|CapZstdCompression) != 0 {
		return nil, c.refuse(ErHandshake, StateHandshake, fmt.Errorf("%w: compression is not supported", ErrUnsupported))
	}
	if r.caps&CapSSL != 0 && c.tls == nil {
		return nil, c.refuse(ErHandshake, StateHandshake, fmt.Errorf("%w: Bad handshake: SSL flag without SSLRequest", ErrProtocol))
	}
	c.caps = r.caps & s.caps
	c.user, c.database, c.plugin, c.attrs = r.user, r.database, r.plugin, r.attrs
	c.charset, c.maxPacket, c.auth = r.charset, r.maxPacket, r.auth
	if c.attrs == nil {
		c.attrs = map[string]string{}
	}
	c.r = bufio.NewReaderSize(c.nc, s.bufSize)
	return c, nil
}

// readResponse reads and decodes a handshake response or SSLRequest from r.
func (c *Conn) readResponse(r io.Reader, max int) (response, error) {
	p, err := c.readPacket(r, max)
	if err != nil {
		return response{}, err
	}
	resp, err := decodeResponse(p, c.maxPassword+1)
	clear(p)
	switch {
	case errors.Is(err, ErrUnsupported): // pre-4.1: no SQLSTATE in its ERR packet
		c.old = true
		return resp, c.refuse(ErNotSupportedAuthMode, StateAuthMode, fmt.Errorf("%w: Client does not support authentication protocol requested by server; consider upgrading MySQL client", err))
	case err != nil:
		return resp, c.refuse(ErHandshake, StateHandshake, err)
	}
	return resp, nil
}

// readPacket reads a packet of at most max bytes with the next sequence ID. Bound and
// order violations are refused.
func (c *Conn) readPacket(r io.Reader, max int) ([]byte, error) {
	p, seq, err := ReadPacket(r, max)
	if err != nil || seq != c.seq {
		c.seq = seq + 1 // the ERR packet answers the client's packet
	}
	switch {
	case errors.Is(err, ErrTooLong):
		return nil, c.refuse(ErPacketTooLarge, StateHandshake, err)
	case errors.Is(err, ErrProtocol):
		return nil, c.refuse(ErPacketsOutOfOrder, StateHandshake, err)
	case err != nil:
		return nil, err
	case seq != c.seq:
		clear(p)
		return nil, c.refuse(ErPacketsOutOfOrder, StateHandshake, fmt.Errorf("%w: got packets out of order (sequence %d, want %d)", ErrProtocol, seq, c.seq))
	}
	c.seq++
	return p, nil
}

// refuse sends an ERR packet with the message of err (after the "mysqlwire: …:" prefix
// of its sentinel) and returns err.
func (c *Conn) refuse(code uint16, state string, err error) error {
	msg := err.Error()
	for _, s := range []error{ErrProtocol, ErrTooLong, ErrUnsupported} {
		if p := s.Error() + ": "; strings.HasPrefix(msg, p) {
			msg = msg[len(p):]
			break
		}
	}
	c.SendError(code, state, msg) // best effort
	return err
}
