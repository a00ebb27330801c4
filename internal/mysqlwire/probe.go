package mysqlwire

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// ErrProbeNoTLS is returned by ProbeTLS when the server's greeting does not offer TLS.
var ErrProbeNoTLS = errors.New("mysqlwire: the server does not offer TLS")

// ProbeMaxGreeting bounds the greeting ProbeGreeting reads; real ones are about 100 bytes.
const ProbeMaxGreeting = 1 << 10

// The capability flags a probe reads and sends (CLIENT_PROTOCOL_41, CLIENT_SSL,
// CLIENT_SECURE_CONNECTION, CLIENT_PLUGIN_AUTH), and the SSLRequest's character set
// (utf8mb4_general_ci).
const (
	probeCapProtocol41   = 1 << 9
	probeCapSSL          = 1 << 11
	probeCapSecureConn   = 1 << 15
	probeCapPluginAuth   = 1 << 19
	probeCharsetUTF8MB4  = 45
	probeSSLRequestLen   = 32
	probeMaxClientPacket = 1 << 24
)

// ProbeHandshake is what a probe learns from the server's greeting (HandshakeV10).
type ProbeHandshake struct {
	ServerVersion string
	Capabilities  uint32 // the server's capability flags, lower and (if sent) upper half
}

// OffersTLS reports whether the greeting has CLIENT_SSL.
func (h ProbeHandshake) OffersTLS() bool { return h.Capabilities&probeCapSSL != 0 }

// ProbeGreeting reads the server's first packet from r, for diagnostics such as "iamdb
// doctor": a HandshakeV10 greeting, or an ERR packet (a server refusing the client's
// address, too many connections), which is returned as an error quoting the server. It
// reads at most ProbeMaxGreeting bytes of payload. A read error (such as a timeout: a
// PostgreSQL server waits for the client instead) is wrapped.
func ProbeGreeting(r io.Reader) (ProbeHandshake, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return ProbeHandshake{}, fmt.Errorf("mysqlwire: reading the greeting: %w", err)
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	if n == 0 || n > ProbeMaxGreeting {
		return ProbeHandshake{}, fmt.Errorf("mysqlwire: a greeting of %d bytes: not a MySQL server?", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return ProbeHandshake{}, fmt.Errorf("mysqlwire: reading the greeting: %w", err)
	}
	return probeParseGreeting(p)
}

// probeParseGreeting decodes a greeting's payload.
func probeParseGreeting(p []byte) (ProbeHandshake, error) {
	switch {
	case len(p) >= 3 && p[0] == 0xff:
		msg := p[3:]
		if len(msg) >= 6 && msg[0] == '#' { // an SQL state
			msg = msg[6:]
		}
		return ProbeHandshake{}, fmt.Errorf("mysqlwire: the server refused the connection: %d %q", binary.LittleEndian.Uint16(p[1:]), msg)
	case len(p) == 0 || p[0] != 10:
		return ProbeHandshake{}, errors.New("mysqlwire: not a HandshakeV10 greeting")
	}
	end := 1
	for end < len(p) && p[end] != 0 {
		end++
	}
	h := ProbeHandshake{ServerVersion: string(p[1:end])}
	i := end + 1 + 4 + 8 + 1 // NUL, connection id, scramble part 1, filler
	if i+2 > len(p) {
		return ProbeHandshake{}, errors.New("mysqlwire: a greeting without capability flags")
	}
	h.Capabilities = uint32(binary.LittleEndian.Uint16(p[i:]))
	if i += 2 + 1 + 2; i+2 <= len(p) { // character set, status flags
		h.Capabilities |= uint32(binary.LittleEndian.Uint16(p[i:])) << 16
	}
	return h, nil
}

// ProbeTLS continues a probe after ProbeGreeting read h from c: it sends an SSLRequest
// (ErrProbeNoTLS if h does not offer TLS) and performs the TLS handshake with conf. The
// deadline of ctx, if any, bounds every read and write on c; the caller closes c (or the
// returned conn, which owns it). Nothing is sent after the handshake: the server sees a
// client that went away.
func ProbeTLS(ctx context.Context, c net.Conn, h ProbeHandshake, conf *tls.Config) (*tls.Conn, error) {
	if !h.OffersTLS() {
		return nil, ErrProbeNoTLS
	}
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)
		defer c.SetDeadline(time.Time{})
	}
	pkt := make([]byte, 4, 4+probeSSLRequestLen)
	pkt[0], pkt[3] = probeSSLRequestLen, 1 // length, sequence number 1
	pkt = binary.LittleEndian.AppendUint32(pkt, probeCapProtocol41|probeCapSecureConn|probeCapPluginAuth|probeCapSSL)
	pkt = binary.LittleEndian.AppendUint32(pkt, probeMaxClientPacket)
	pkt = append(pkt, probeCharsetUTF8MB4)
	pkt = append(pkt, make([]byte, 23)...)
	if _, err := c.Write(pkt); err != nil {
		return nil, fmt.Errorf("mysqlwire: sending SSLRequest: %w", err)
	}
	tc := tls.Client(c, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return tc, nil
}
