package mysqlwire

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/iamdb/iamdb/internal/wireio"
)

// MaxPayloadLen is the largest payload one packet frame carries (2²⁴-1 bytes). A payload of
// that length or longer is split into frames of MaxPayloadLen bytes followed by a shorter
// one, possibly empty.
const MaxPayloadLen = 1<<24 - 1

// DefaultMaxPacketLen is a bound for whole (reassembled) packets after authentication, for
// a relay that reassembles them: MariaDB's default max_allowed_packet.
const DefaultMaxPacketLen = 16 << 20

// ReadHeader reads a packet frame's header and returns its payload length and sequence
// ID. A length of MaxPayloadLen means another frame continues the payload. It is the
// framing of every packet in both directions; the relay streams frames with it.
func ReadHeader(r io.Reader) (n int, seq byte, err error) {
	if br, ok := r.(*bufio.Reader); ok { // the relays': no copy, no allocation
		h, err := br.Peek(4)
		if err != nil {
			if len(h) > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, 0, err
		}
		n, seq = decodeHeader([4]byte(h))
		br.Discard(4)
		return n, seq, nil
	}
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, 0, err
	}
	n, seq = decodeHeader(h)
	return n, seq, nil
}

// Scan walks the frames that buf holds whole, from its start, calling visit with each
// one's payload length n (MaxPayloadLen: another frame continues the packet), sequence
// ID and payload (a slice of buf). It stops before a frame that buf holds only part of
// and after a frame for which visit returns false. walked is the length of the frames
// visited. Scan does not allocate; it is the relay's way of taking in, at once, a batch
// of frames that arrived together.
func Scan(buf []byte, visit func(n int, seq byte, payload []byte) bool) (walked int) {
	for len(buf)-walked >= 4 {
		n, seq := decodeHeader([4]byte(buf[walked : walked+4]))
		end := walked + 4 + n
		if end > len(buf) {
			break
		}
		payload := buf[walked+4 : end]
		walked = end
		if !visit(n, seq, payload) {
			break
		}
	}
	return walked
}

func decodeHeader(h [4]byte) (int, byte) {
	return int(h[0]) | int(h[1])<<8 | int(h[2])<<16, h[3]
}

// ReadPacket reads one packet, joining continuation frames, and returns its payload and
// the sequence ID of its last frame. Consecutive frames must have consecutive sequence
// IDs. A payload longer than maxLen is not buffered: ReadPacket returns an error wrapping
// ErrTooLong as soon as a header announces it, leaving the rest of the packet unread (the
// connection is then unusable). On an error wrapping ErrTooLong or ErrProtocol, seq is
// that of the last header read, so that an ERR packet can follow it. maxLen must be at
// least 0. The payload's buffer grows as its bytes arrive (wireio.ReadAppend): a peer
// that announces a long packet and sends nothing holds little memory.
func ReadPacket(r io.Reader, maxLen int) (payload []byte, seq byte, err error) {
	for first := true; ; first = false {
		n, s, err := ReadHeader(r)
		if err != nil {
			if !first && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, 0, err
		}
		if !first && s != seq+1 {
			return nil, s, fmt.Errorf("%w: got packets out of order (%d after %d)", ErrProtocol, s, seq)
		}
		seq = s
		if len(payload)+n > maxLen {
			if n == MaxPayloadLen || !first {
				return nil, seq, fmt.Errorf("%w: multi-packet payload exceeds %d bytes", ErrTooLong, maxLen)
			}
			return nil, seq, fmt.Errorf("%w: packet of %d bytes exceeds %d", ErrTooLong, n, maxLen)
		}
		payload, err = wireio.ReadAppend(r, payload, n)
		if err != nil {
			clear(payload)
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, 0, err
		}
		if n < MaxPayloadLen {
			if payload == nil {
				payload = []byte{}
			}
			return payload, seq, nil
		}
	}
}

// AppendPacket appends payload framed as one packet starting at sequence ID seq —
// several frames if it is MaxPayloadLen bytes or longer — and returns the extended
// buffer and the sequence ID that follows.
func AppendPacket(dst []byte, seq byte, payload []byte) ([]byte, byte) {
	for {
		n := min(len(payload), MaxPayloadLen)
		dst = append(dst, byte(n), byte(n>>8), byte(n>>16), seq)
		dst = append(dst, payload[:n]...)
		payload = payload[n:]
		seq++
		if n < MaxPayloadLen {
			return dst, seq
		}
	}
}

// Little-endian and length-encoded fields.

// appendLenEnc appends v as a length-encoded integer.
func appendLenEnc(b []byte, v uint64) []byte {
	switch {
	case v < 0xfb:
		return append(b, byte(v))
	case v < 1<<16:
		return append(b, 0xfc, byte(v), byte(v>>8))
	case v < 1<<24:
		return append(b, 0xfd, byte(v), byte(v>>8), byte(v>>16))
	default:
		return binary.LittleEndian.AppendUint64(append(b, 0xfe), v)
	}
}

// decoder reads fields from a payload; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) { d.failWith(ErrProtocol, format, args...) }

func (d *decoder) failWith(sentinel error, format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
	}
}

func (d *decoder) bytes(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail("%s truncated", what)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) uint8(what string) uint8 {
	b := d.bytes(1, what)
	if b == nil {
		return 0
	}
	return b[0]
}

func (d *decoder) uint32(what string) uint32 {
	b := d.bytes(4, what)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

// lenEnc reads a length-encoded integer; NULL (0xfb) and 0xff are errors.
func (d *decoder) lenEnc(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n, ok := LenEncInt(d.b)
	if !ok {
		if len(d.b) > 0 && (d.b[0] == 0xfb || d.b[0] == 0xff) {
			d.fail("%s: invalid length-encoded integer %#x", what, d.b[0])
		} else {
			d.fail("%s truncated", what)
		}
		return 0
	}
	d.b = d.b[n:]
	return v
}

// LenEncInt decodes the length-encoded integer at the start of b and returns it and its
// size in bytes. ok is false when b is too short or starts with 0xFB (NULL) or 0xFF.
func LenEncInt(b []byte) (v uint64, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	switch b[0] {
	case 0xfb, 0xff:
		return 0, 0, false
	case 0xfc:
		n = 3
	case 0xfd:
		n = 4
	case 0xfe:
		n = 9
	default:
		return uint64(b[0]), 1, true
	}
	if len(b) < n {
		return 0, 0, false
	}
	for i := n - 1; i >= 1; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, n, true
}

// lenEncBytes reads a length-encoded string of at most max bytes.
func (d *decoder) lenEncBytes(max int, what string) []byte {
	n := d.lenEnc(what)
	if d.err != nil {
		return nil
	}
	if n > uint64(max) {
		d.failWith(ErrTooLong, "%s of %d bytes exceeds %d", what, n, max)
		return nil
	}
	return d.bytes(int(n), what)
}

// cString reads a NUL-terminated string of at most max bytes (without the NUL).
func (d *decoder) cString(max int, what string) []byte {
	if d.err != nil {
		return nil
	}
	for i, c := range d.b {
		if c == 0 {
			if i > max {
				d.failWith(ErrTooLong, "%s of %d bytes exceeds %d", what, i, max)
				return nil
			}
			v := d.b[:i:i]
			d.b = d.b[i+1:]
			return v
		}
		if i >= max {
			d.failWith(ErrTooLong, "%s exceeds %d bytes", what, max)
			return nil
		}
	}
	d.fail("%s not terminated", what)
	return nil
}
