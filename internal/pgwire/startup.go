package pgwire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// Protocol version and request codes of the first message (PostgreSQL's pqcomm.h).
const (
	Version30 = 3 << 16 // protocol 3.0, the version pgwire speaks

	codeCancelRequest = 1234<<16 | 5678
	codeSSLRequest    = 1234<<16 | 5679
	codeGSSENCRequest = 1234<<16 | 5680
)

// Bounds of the first message.
const (
	// MaxStartupLen is the longest startup packet body (after the length word), as
	// PostgreSQL's MAX_STARTUP_PACKET_LENGTH.
	MaxStartupLen = 10000
	// MaxStartupParams bounds the name/value pairs of a StartupMessage.
	MaxStartupParams = 128
	// maxCancelKey is the longest cancel key of protocol 3.2.
	maxCancelKey = 256
)

// packetKind says what a first message is.
type packetKind uint8

const (
	packetStartup packetKind = iota + 1
	packetSSL
	packetGSSENC
	packetCancel
)

// packet is a decoded first message (the body after the length word).
type packet struct {
	kind    packetKind
	version uint32            // packetStartup: as requested
	params  map[string]string // packetStartup: every pair but "_pq_." options
	options []string          // packetStartup: "_pq_." options, in order
	pid     uint32            // packetCancel
	key     []byte            // packetCancel
}

// decodePacket decodes the body of a first message. A startup packet of an unsupported
// major version is returned as such with no parameters: the caller refuses it.
func decodePacket(body []byte) (packet, error) {
	if len(body) < 4 {
		return packet{}, fmt.Errorf("%w: invalid length of startup packet", ErrProtocol)
	}
	code := binary.BigEndian.Uint32(body)
	switch code {
	case codeSSLRequest, codeGSSENCRequest:
		if len(body) != 4 {
			return packet{}, fmt.Errorf("%w: invalid length of startup packet", ErrProtocol)
		}
		if code == codeSSLRequest {
			return packet{kind: packetSSL}, nil
		}
		return packet{kind: packetGSSENC}, nil
	case codeCancelRequest:
		if len(body) < 12 || len(body) > 8+maxCancelKey {
			return packet{}, fmt.Errorf("%w: invalid length of cancel request packet", ErrProtocol)
		}
		return packet{kind: packetCancel, pid: binary.BigEndian.Uint32(body[4:]), key: bytes.Clone(body[8:])}, nil
	}
	p := packet{kind: packetStartup, version: code}
	if code>>16 != 3 {
		return p, nil
	}
	p.params = make(map[string]string, 8)
	rest := body[4:]
	for n := 0; ; n++ {
		if len(rest) == 0 {
			return packet{}, fmt.Errorf("%w: invalid startup packet layout: expected terminator as last byte", ErrProtocol)
		}
		if rest[0] == 0 {
			if len(rest) != 1 {
				return packet{}, fmt.Errorf("%w: invalid startup packet layout: expected terminator as last byte", ErrProtocol)
			}
			break
		}
		if n == MaxStartupParams {
			return packet{}, fmt.Errorf("%w: more than %d startup parameters", ErrProtocol, MaxStartupParams)
		}
		name, r, ok := cstring(rest)
		if !ok {
			return packet{}, fmt.Errorf("%w: invalid startup packet layout: expected terminator as last byte", ErrProtocol)
		}
		value, r, ok := cstring(r)
		if !ok {
			return packet{}, fmt.Errorf("%w: invalid startup packet layout: expected terminator as last byte", ErrProtocol)
		}
		rest = r
		if strings.HasPrefix(name, "_pq_.") {
			p.options = append(p.options, name)
			continue
		}
		p.params[name] = value
	}
	return p, nil
}

// cstring splits a NUL-terminated string off b.
func cstring(b []byte) (string, []byte, bool) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", nil, false
	}
	return string(b[:i]), b[i+1:], true
}
