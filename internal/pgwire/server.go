package pgwire

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/iamdb/iamdb/internal/servertls"
)

// alpnPostgreSQL is the ALPN protocol PostgreSQL 17 clients offer (and require for direct
// SSL negotiation).
const alpnPostgreSQL = "postgresql"

// DefaultMaxPasswordLen is the longest PasswordMessage a Conn accepts unless configured
// otherwise: PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH. RDS tokens are 0.8–2 KiB, several KiB
// with a session token.
const DefaultMaxPasswordLen = 65535

// DefaultReadBufferSize is the size of a Conn's read buffer unless configured otherwise.
const DefaultReadBufferSize = 8 << 10

// Config configures a Server.
type Config struct {
	// TLS is the configuration of TLS toward clients (certificates, usually through
	// GetCertificate). If nil, SSLRequest is answered 'N' and clients continue in
	// plaintext. The Server uses a clone, with MinVersion raised to MinTLSVersion and
	// "postgresql" added to NextProtos.
	TLS *tls.Config
	// MinTLSVersion is the oldest TLS version accepted. If zero, TLS 1.2.
	MinTLSVersion uint16
	// OnCancel receives the process ID and secret key of a CancelRequest. It is called on
	// the handshaking goroutine, must not block for long, and must not log the key. If nil,
	// cancel requests are dropped.
	OnCancel func(pid uint32, key []byte)
	// MaxPasswordLen bounds a PasswordMessage's body. If zero, DefaultMaxPasswordLen.
	MaxPasswordLen int
	// ReadBufferSize is the size of a Conn's read buffer. If zero, DefaultReadBufferSize.
	ReadBufferSize int
}

// Server accepts PostgreSQL client connections. It is safe for concurrent use.
type Server struct {
	tls         *tls.Config
	onCancel    func(uint32, []byte)
	maxPassword int
	bufSize     int
}

// NewServer validates cfg and returns a Server.
func NewServer(cfg Config) (*Server, error) {
	s := &Server{onCancel: cfg.OnCancel, maxPassword: cfg.MaxPasswordLen, bufSize: cfg.ReadBufferSize}
	if s.maxPassword == 0 {
		s.maxPassword = DefaultMaxPasswordLen
	}
	if s.maxPassword < 0 {
		return nil, errors.New("pgwire: config: negative MaxPasswordLen")
	}
	if s.bufSize <= 0 {
		s.bufSize = DefaultReadBufferSize
	}
	if cfg.TLS != nil {
		c, err := servertls.Config(cfg.TLS, cfg.MinTLSVersion)
		if err != nil {
			return nil, fmt.Errorf("pgwire: config: %w", err)
		}
		if !slices.Contains(c.NextProtos, alpnPostgreSQL) {
			c.NextProtos = append(slices.Clone(c.NextProtos), alpnPostgreSQL)
		}
		s.tls = c
	}
	return s, nil
}

// Handshake reads a new connection's first messages up to and including the
// StartupMessage, negotiating TLS on the way, and returns the Conn. ctx bounds the TLS
// handshake; the caller sets nc's deadline for the rest.
//
// A CancelRequest is handed to Config.OnCancel and returned as ErrCancelRequest. For
// a protocol violation Handshake sends a FATAL ErrorResponse when it can and returns an
// error wrapping ErrProtocol; a failed TLS handshake wraps ErrTLS. On any error the
// caller closes nc.
func (s *Server) Handshake(ctx context.Context, nc net.Conn) (*Conn, error) {
	c := &Conn{raw: nc, nc: nc, maxPassword: s.maxPassword}
	gssDone := false
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(c.nc, hdr[:]); err != nil {
			return nil, err
		}
		if hdr[0] == 0x16 && c.tls == nil && s.tls != nil { // a TLS record: direct SSL
			if err := c.startTLS(ctx, s.tls, &prefixConn{Conn: nc, prefix: hdr[:]}, true); err != nil {
				return nil, err
			}
			continue
		}
		n := int(int32(binary.BigEndian.Uint32(hdr[:]))) - 4
		if n < 4 || n > MaxStartupLen {
			return nil, c.refuse(CodeProtocolViolation, fmt.Errorf("%w: invalid length of startup packet", ErrProtocol))
		}
		body, err := readBody(c.nc, n)
		if err != nil {
			return nil, err
		}
		p, err := decodePacket(body)
		if err != nil {
			return nil, c.refuse(CodeProtocolViolation, err)
		}
		switch p.kind {
		case packetSSL:
			if c.tls != nil {
				return nil, c.refuse(CodeProtocolViolation, fmt.Errorf("%w: unsupported frontend protocol 1234.5679: server supports 3.0 to 3.0", ErrProtocol))
			}
			if s.tls == nil {
				if _, err := c.nc.Write([]byte{'N'}); err != nil {
					return nil, err
				}
				continue
			}
			if _, err := c.nc.Write([]byte{'S'}); err != nil {
				return nil, err
			}
			if err := c.startTLS(ctx, s.tls, nc, false); err != nil {
				return nil, err
			}
		case packetGSSENC:
			if gssDone || c.tls != nil {
				return nil, c.refuse(CodeProtocolViolation, fmt.Errorf("%w: unsupported frontend protocol 1234.5680: server supports 3.0 to 3.0", ErrProtocol))
			}
			gssDone = true
			if _, err := c.nc.Write([]byte{'N'}); err != nil {
				return nil, err
			}
		case packetCancel:
			if s.onCancel != nil {
				s.onCancel(p.pid, p.key)
			}
			clear(p.key)
			return nil, ErrCancelRequest
		case packetStartup:
			if p.version>>16 != 3 {
				return nil, c.refuse(CodeFeatureNotSupported, fmt.Errorf("%w: unsupported frontend protocol %d.%d: server supports 3.0 to 3.0", ErrProtocol, p.version>>16, p.version&0xffff))
			}
			c.version = p.version
			c.params = p.params
			c.user = p.params["user"]
			if c.user == "" {
				return nil, c.refuse(CodeInvalidAuthorization, fmt.Errorf("%w: no PostgreSQL user name specified in startup packet", ErrProtocol))
			}
			c.database = p.params["database"]
			if c.database == "" {
				c.database = c.user
			}
			if p.version != Version30 || len(p.options) > 0 {
				c.Send(&pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: Version30, UnrecognizedOptions: p.options})
			}
			c.r = bufio.NewReaderSize(c.nc, s.bufSize)
			return c, nil
		}
	}
}

// startTLS runs the server side of a TLS handshake on under and makes it the connection.
// direct is PostgreSQL 17's direct SSL negotiation, which requires ALPN "postgresql".
func (c *Conn) startTLS(ctx context.Context, cfg *tls.Config, under net.Conn, direct bool) error {
	tc := tls.Server(under, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrTLS, err)
	}
	st := tc.ConnectionState()
	if direct && st.NegotiatedProtocol != alpnPostgreSQL {
		c.nc = tc
		return c.refuse(CodeProtocolViolation, fmt.Errorf("%w: direct SSL connection without ALPN protocol negotiation extension", ErrProtocol))
	}
	c.nc, c.tls = tc, &st
	return nil
}

// refuse sends a FATAL error with the message of err (after its "pgwire: …:" prefix)
// and returns err.
func (c *Conn) refuse(code string, err error) error {
	msg := err.Error()
	if i := len(ErrProtocol.Error()) + 2; errors.Is(err, ErrProtocol) && len(msg) > i {
		msg = msg[i:]
	}
	c.Fatal(Fatal(code, msg)) // best effort
	return err
}

// prefixConn is a net.Conn whose first bytes were already read.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}
