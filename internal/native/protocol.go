package native

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// The protocol's constants (protocol.md; the C module has the same).
const (
	// Magic opens every request and response.
	Magic = "IDB1"
	// MaxUserLen bounds the user name (PAM_USER), at least 1 byte.
	MaxUserLen = 256
	// MaxHostLen bounds the client address (PAM_RHOST); 0 means not provided.
	MaxHostLen = 255
	// MaxTokenLen bounds the token (the password the client sent), at least 1 byte.
	MaxTokenLen = 16384
	// MaxReasonLen bounds a response's reason.
	MaxReasonLen = 255
	// MaxRequestLen is the longest request on the wire.
	MaxRequestLen = len(Magic) + 2 + MaxUserLen + 2 + MaxHostLen + 2 + MaxTokenLen
)

// Verdicts of a response.
const (
	verdictDeny  = 0
	verdictAllow = 1
)

// ErrMalformed is wrapped by every error ReadRequest and ReadResponse return for bytes
// that break the protocol: a wrong magic, a length out of range, a reason that is not
// printable ASCII. Errors of the reader itself (EOF, timeouts) are returned as they are,
// io.EOF mid-message as io.ErrUnexpectedEOF. No error holds the bytes read.
var ErrMalformed = errors.New("native: malformed message")

// Request is what the PAM module asks: may User log in with Token from Host?
//
// Its String, GoString and LogValue never show the token.
type Request struct {
	User  string // PAM_USER, as the database passed it
	Host  string // the client's address (PAM_RHOST, or the MariaDB plugin's peer); "" when not provided (MariaDB through PAM)
	Token string // the password the client sent: the IAM auth token
}

// String shows the user and host and the token's length only.
func (r Request) String() string {
	return fmt.Sprintf("{User:%q Host:%q Token:<%d bytes>}", r.User, r.Host, len(r.Token))
}

// GoString redacts the token under %#v too.
func (r Request) GoString() string { return "native.Request" + r.String() }

// LogValue logs the user and host and the token's length only.
func (r Request) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", r.User), slog.String("host", r.Host), slog.Int("token_bytes", len(r.Token)))
}

// Response is the verifier's answer: Allow only on an explicit allow; Reason is the
// refusal's reason code ("expired", "implicit-deny", …), "" on allow.
type Response struct {
	Allow  bool
	Reason string
}

// ReadRequest reads one request from r, exactly its declared lengths and nothing more.
func ReadRequest(r io.Reader) (Request, error) {
	if err := readMagic(r); err != nil {
		return Request{}, err
	}
	user, err := readField(r, "user", 1, MaxUserLen)
	if err != nil {
		return Request{}, err
	}
	host, err := readField(r, "host", 0, MaxHostLen)
	if err != nil {
		return Request{}, err
	}
	tok, err := readField(r, "token", 1, MaxTokenLen)
	if err != nil {
		return Request{}, err
	}
	return Request{User: user, Host: host, Token: tok}, nil
}

// WriteRequest writes req to w in one Write; it refuses a request whose fields are out
// of the protocol's bounds.
func WriteRequest(w io.Writer, req Request) error {
	for _, f := range []struct {
		name     string
		v        string
		min, max int
	}{{"user", req.User, 1, MaxUserLen}, {"host", req.Host, 0, MaxHostLen}, {"token", req.Token, 1, MaxTokenLen}} {
		if len(f.v) < f.min || len(f.v) > f.max {
			return fmt.Errorf("native: request %s of %d bytes (want %d to %d)", f.name, len(f.v), f.min, f.max)
		}
	}
	b := make([]byte, 0, len(Magic)+6+len(req.User)+len(req.Host)+len(req.Token))
	b = append(b, Magic...)
	for _, v := range []string{req.User, req.Host, req.Token} {
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
	}
	_, err := w.Write(b)
	return err
}

// ReadResponse reads one response from r. A verdict other than allow (1) is a deny, as
// the C module reads it.
func ReadResponse(r io.Reader) (Response, error) {
	if err := readMagic(r); err != nil {
		return Response{}, err
	}
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Response{}, eofIsUnexpected(err)
	}
	reason := make([]byte, hdr[1])
	if _, err := io.ReadFull(r, reason); err != nil {
		return Response{}, eofIsUnexpected(err)
	}
	if !printable(reason) {
		return Response{}, fmt.Errorf("%w: reason is not printable ASCII", ErrMalformed)
	}
	return Response{Allow: hdr[0] == verdictAllow, Reason: string(reason)}, nil
}

// WriteResponse writes resp to w in one Write; the reason must be printable ASCII of at
// most MaxReasonLen bytes.
func WriteResponse(w io.Writer, resp Response) error {
	if len(resp.Reason) > MaxReasonLen || !printable([]byte(resp.Reason)) {
		return fmt.Errorf("native: response reason must be at most %d bytes of printable ASCII", MaxReasonLen)
	}
	b := make([]byte, 0, len(Magic)+2+len(resp.Reason))
	b = append(b, Magic...)
	v := byte(verdictDeny)
	if resp.Allow {
		v = verdictAllow
	}
	b = append(b, v, byte(len(resp.Reason)))
	b = append(b, resp.Reason...)
	_, err := w.Write(b)
	return err
}

func readMagic(r io.Reader) error {
	var m [len(Magic)]byte
	if _, err := io.ReadFull(r, m[:]); err != nil {
		return err
	}
	if string(m[:]) != Magic {
		return fmt.Errorf("%w: wrong magic", ErrMalformed)
	}
	return nil
}

// readField reads a uint16 length in [min, max] and that many bytes.
func readField(r io.Reader, name string, min, max int) (string, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return "", eofIsUnexpected(err)
	}
	n := int(binary.BigEndian.Uint16(l[:]))
	if n < min || n > max {
		return "", fmt.Errorf("%w: %s length %s out of range %d to %d", ErrMalformed, name, strconv.Itoa(n), min, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", eofIsUnexpected(err)
	}
	return string(b), nil
}

func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// printable reports whether b is printable ASCII (space to tilde).
func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
