package pgwire

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/iamdb/iamdb/internal/wireio"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Conn is a client connection after its StartupMessage. It is not safe for concurrent use.
type Conn struct {
	raw         net.Conn // the accepted connection
	nc          net.Conn // raw, or the TLS connection over it
	tls         *tls.ConnectionState
	r           *bufio.Reader
	wbuf        []byte
	werr        error
	version     uint32
	params      map[string]string
	user        string
	database    string
	maxPassword int
}

// NetConn returns the connection to the client: a *tls.Conn after TLS, else the accepted
// connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Reader returns the buffered reader of the connection. After authentication the relay
// reads through it: it may hold bytes the client already sent.
func (c *Conn) Reader() *bufio.Reader { return c.r }

// TLS returns the state of the TLS connection, nil for a plaintext one.
func (c *Conn) TLS() *tls.ConnectionState { return c.tls }

// User returns the startup parameter "user" (never empty).
func (c *Conn) User() string { return c.user }

// Database returns the startup parameter "database", or the user if it was empty.
func (c *Conn) Database() string { return c.database }

// Version returns the protocol version the client asked for (the connection speaks 3.0).
func (c *Conn) Version() uint32 { return c.version }

// Params returns the startup parameters ("user", "database", "application_name",
// "options", run-time parameters), without "_pq_." protocol options. The map is the
// Conn's: do not modify it.
func (c *Conn) Params() map[string]string { return c.params }

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// Send buffers msg for the next Flush.
func (c *Conn) Send(msg pgproto3.BackendMessage) {
	if c.werr != nil {
		return
	}
	b, err := msg.Encode(c.wbuf)
	if err != nil {
		c.werr = err
		return
	}
	c.wbuf = b
}

// Flush writes the buffered messages.
func (c *Conn) Flush() error {
	if c.werr != nil {
		return c.werr
	}
	_, err := c.nc.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	return err
}

// SendError buffers an ErrorResponse.
func (c *Conn) SendError(e *Error) { c.Send(e.response()) }

// SendNotice buffers a NoticeResponse; Severity defaults to NOTICE.
func (c *Conn) SendNotice(e *Error) {
	r := e.response()
	if e.Severity == "" {
		r.Severity, r.SeverityUnlocalized = SeverityNotice, SeverityNotice
	}
	n := pgproto3.NoticeResponse(*r)
	c.Send(&n)
}

// Fatal sends an ErrorResponse now. The caller closes the connection afterwards.
func (c *Conn) Fatal(e *Error) error {
	c.SendError(e)
	return c.Flush()
}

// SendAuthOK buffers AuthenticationOk.
func (c *Conn) SendAuthOK() { c.Send(&pgproto3.AuthenticationOk{}) }

// SendParameterStatus buffers a ParameterStatus.
func (c *Conn) SendParameterStatus(name, value string) {
	c.Send(&pgproto3.ParameterStatus{Name: name, Value: value})
}

// SendBackendKeyData buffers a BackendKeyData.
func (c *Conn) SendBackendKeyData(pid uint32, key []byte) {
	c.Send(&pgproto3.BackendKeyData{ProcessID: pid, SecretKey: key})
}

// SendReadyForQuery buffers a ReadyForQuery with the transaction status ('I', 'T', 'E').
func (c *Conn) SendReadyForQuery(status byte) {
	c.Send(&pgproto3.ReadyForQuery{TxStatus: status})
}

// Password is a password (or IAM token) a client sent. It never prints itself.
type Password string

// String returns a placeholder.
func (Password) String() string { return "<redacted>" }

// GoString returns a placeholder.
func (Password) GoString() string { return "<redacted>" }

// LogValue returns a placeholder.
func (Password) LogValue() slog.Value { return slog.StringValue("<redacted>") }

// RequestPassword sends AuthenticationCleartextPassword and reads the PasswordMessage:
// AskPassword, then ReadPassword.
func (c *Conn) RequestPassword() (Password, error) {
	if err := c.AskPassword(); err != nil {
		return "", err
	}
	return c.ReadPassword()
}

// AskPassword sends AuthenticationCleartextPassword. A server that holds many clients
// at that point can wait for the answer where it likes (Reader().Peek) before
// ReadPassword.
func (c *Conn) AskPassword() error {
	c.Send(&pgproto3.AuthenticationCleartextPassword{})
	return c.Flush()
}

// ReadPassword reads the PasswordMessage that answers AskPassword. A client that closes
// the connection instead (psql does, to prompt for a password) yields an error wrapping
// io.EOF or io.ErrUnexpectedEOF. A protocol violation is sent to the client as FATAL and
// returned wrapping ErrProtocol or ErrTooLong. The body's buffer grows as its bytes
// arrive (readBody): a client that announces a long message and sends nothing holds
// little memory.
func (c *Conn) ReadPassword() (Password, error) {
	typ, n, err := ReadHeader(c.r)
	if err != nil {
		return "", err
	}
	if typ != 'p' {
		return "", c.refuse(CodeProtocolViolation, fmt.Errorf("%w: expected password response, got message type %d", ErrProtocol, typ))
	}
	if n > c.maxPassword {
		return "", c.refuse(CodeProtocolViolation, fmt.Errorf("%w: password packet of %d bytes exceeds %d", ErrTooLong, n, c.maxPassword))
	}
	body, err := readBody(c.r, n)
	if err != nil {
		clear(body)
		return "", err
	}
	pw, err := decodePassword(body)
	clear(body)
	if err != nil {
		return "", c.refuse(CodeProtocolViolation, err)
	}
	return pw, nil
}

// readBody reads a body of n bytes from r, growing its buffer as the bytes arrive
// (wireio.ReadAppend); on an error the bytes that arrived are returned.
func readBody(r io.Reader, n int) ([]byte, error) {
	b, err := wireio.ReadAppend(r, nil, n)
	if b == nil && err == nil {
		b = []byte{}
	}
	return b, err
}

// decodePassword decodes a PasswordMessage body: one NUL-terminated string.
func decodePassword(body []byte) (Password, error) {
	if len(body) == 0 || body[len(body)-1] != 0 {
		return "", fmt.Errorf("%w: invalid password packet size", ErrProtocol)
	}
	s := body[:len(body)-1]
	for _, b := range s {
		if b == 0 {
			return "", fmt.Errorf("%w: invalid password packet size", ErrProtocol)
		}
	}
	return Password(s), nil
}

// MaxMessageLen is the longest message body ReadHeader accepts: PostgreSQL's
// PQ_LARGE_MESSAGE_LIMIT (1 GiB - 1) less the length word.
const MaxMessageLen = 0x3fffffff - 4

// ReadHeader reads a message header — the type byte and the length word — and returns
// the type and the body's length (the length word less itself). It is the framing of
// every message after the startup phase, in both directions.
func ReadHeader(r *bufio.Reader) (typ byte, n int, err error) {
	if r.Buffered() >= 5 {
		h, _ := r.Peek(5)
		typ, n, err = decodeHeader(h)
		if err == nil {
			r.Discard(5)
		}
		return typ, n, err
	}
	h, err := r.Peek(5) // blocks until 5 bytes are buffered: no copy, no allocation
	if err != nil {
		if len(h) > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, 0, err
	}
	typ, n, err = decodeHeader(h)
	if err == nil {
		r.Discard(5)
	}
	return typ, n, err
}

// Scan walks the messages that buf holds whole, from its start, calling visit with each
// one's type and body (a slice of buf). It stops before a message that buf holds only
// part of, after a message for which visit returns false, and before a header that is
// not valid, which it returns as an error wrapping ErrProtocol. walked is the length of
// the messages visited. Scan does not allocate; it is the relays' way of taking in, at
// once, a batch of messages that arrived together.
func Scan(buf []byte, visit func(typ byte, body []byte) bool) (walked int, err error) {
	for len(buf)-walked >= 5 {
		typ, n, err := decodeHeader(buf[walked : walked+5])
		if err != nil {
			return walked, err
		}
		end := walked + 5 + n
		if end > len(buf) || end < walked { // partial (or, on 32-bit, beyond any buffer)
			break
		}
		body := buf[walked+5 : end]
		walked = end
		if !visit(typ, body) {
			break
		}
	}
	return walked, nil
}

func decodeHeader(h []byte) (byte, int, error) {
	l := int64(int32(binary.BigEndian.Uint32(h[1:5])))
	if l < 4 || l-4 > MaxMessageLen {
		return 0, 0, fmt.Errorf("%w: invalid message length %d", ErrProtocol, l)
	}
	return h[0], int(l - 4), nil
}
