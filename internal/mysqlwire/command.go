package mysqlwire

import (
	"bufio"
	"encoding/binary"
)

// Commands (COM_* in MySQL's sources): the first byte of a packet the client sends after
// authentication.
const (
	ComQuit            byte = 0x01
	ComInitDB          byte = 0x02
	ComQuery           byte = 0x03
	ComFieldList       byte = 0x04
	ComStatistics      byte = 0x09
	ComProcessKill     byte = 0x0c
	ComDebug           byte = 0x0d
	ComPing            byte = 0x0e
	ComChangeUser      byte = 0x11
	ComBinlogDump      byte = 0x12
	ComStmtPrepare     byte = 0x16
	ComStmtExecute     byte = 0x17
	ComStmtSendLong    byte = 0x18
	ComStmtClose       byte = 0x19
	ComStmtReset       byte = 0x1a
	ComSetOption       byte = 0x1b
	ComStmtFetch       byte = 0x1c
	ComResetConnection byte = 0x1f
	ComStmtBulkExecute byte = 0xfa // MariaDB
)

// Server status flags of OK and EOF packets that the Tracker reads.
const (
	StatusMoreResultsExist uint16 = 0x0008 // SERVER_MORE_RESULTS_EXISTS
	StatusCursorExists     uint16 = 0x0040 // SERVER_STATUS_CURSOR_EXISTS
)

// Packet headers: the first byte of a server's response packet.
const (
	HeaderOK          byte = 0x00
	HeaderLocalInfile byte = 0xfb
	HeaderEOF         byte = 0xfe // also OK ending a result set with CapDeprecateEOF
	HeaderERR         byte = 0xff
)

// CommandPacket returns a one-frame packet (sequence ID 0) of command cmd with arg.
func CommandPacket(cmd byte, arg []byte) []byte {
	n := 1 + len(arg)
	if n >= MaxPayloadLen {
		p, _ := AppendPacket(make([]byte, 0, 8+n), 0, append([]byte{cmd}, arg...))
		return p
	}
	p := make([]byte, 0, 4+n)
	p = append(p, byte(n), byte(n>>8), byte(n>>16), 0, cmd)
	return append(p, arg...)
}

// WriteHeader writes a frame header: the payload length n (at most MaxPayloadLen) and
// the sequence ID.
func WriteHeader(w *bufio.Writer, n int, seq byte) {
	w.WriteByte(byte(n))
	w.WriteByte(byte(n >> 8))
	w.WriteByte(byte(n >> 16))
	w.WriteByte(seq)
}

// OKStatus returns the status flags of an OK packet p (header 0x00, or 0xFE ending a
// result set with CapDeprecateEOF). p may be only the start of the packet. ok is false
// when p is too short.
func OKStatus(p []byte) (status uint16, ok bool) {
	i := 1
	for range 2 { // affected rows, last insert id
		_, n, ok := LenEncInt(p[min(i, len(p)):])
		if !ok {
			return 0, false
		}
		i += n
	}
	if i+2 > len(p) {
		return 0, false
	}
	return binary.LittleEndian.Uint16(p[i:]), true
}

// EOFStatus returns the status flags of an EOF packet p (0xFE, warnings, status). ok
// is false when p is too short.
func EOFStatus(p []byte) (status uint16, ok bool) {
	if len(p) < 5 {
		return 0, false
	}
	return binary.LittleEndian.Uint16(p[3:]), true
}

// DecodeError decodes an ERR packet (4.1 protocol; the SQLSTATE marker is optional).
func DecodeError(p []byte) (*Error, error) {
	return decodeErr(p)
}

// FastAuthSuccess reports whether p, a packet of the server's authentication exchange,
// is caching_sha2_password's fast-auth success (0x01 0x03): the server's OK follows
// and the client sends no reply.
func FastAuthSuccess(p []byte) bool {
	return len(p) == 2 && p[0] == 0x01 && p[1] == 0x03
}
