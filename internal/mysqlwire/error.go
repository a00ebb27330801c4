package mysqlwire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Error codes and SQLSTATEs mysqlwire and the gateway send (MySQL's errmsg numbering).
const (
	ErAccessDenied            uint16 = 1045 // ER_ACCESS_DENIED_ERROR, SQLSTATE 28000
	ErHandshake               uint16 = 1043 // ER_HANDSHAKE_ERROR, SQLSTATE 08S01
	ErPacketsOutOfOrder       uint16 = 1156 // ER_NET_PACKETS_OUT_OF_ORDER, SQLSTATE 08S01
	ErPacketTooLarge          uint16 = 1153 // ER_NET_PACKET_TOO_LARGE, SQLSTATE 08S01
	ErNotSupportedAuthMode    uint16 = 1251 // ER_NOT_SUPPORTED_AUTH_MODE, SQLSTATE 08004
	ErSecureTransportRequired uint16 = 3159 // ER_SECURE_TRANSPORT_REQUIRED, SQLSTATE HY000
	ErTooManyConnections      uint16 = 1040 // ER_CON_COUNT_ERROR, SQLSTATE 08004
	ErServerShutdown          uint16 = 1053 // ER_SERVER_SHUTDOWN, SQLSTATE 08S01
	ErNotSupportedYet         uint16 = 1235 // ER_NOT_SUPPORTED_YET, SQLSTATE 42000

	StateAccessDenied = "28000"
	StateHandshake    = "08S01"
	StateAuthMode     = "08004"
	StateGeneral      = "HY000"
	StateSyntaxAccess = "42000" // syntax error or access rule violation
)

// Error is an ERR packet as the client sees it.
type Error struct {
	Code     uint16
	SQLState string // five characters; "HY000" if empty
	Message  string
}

// Error formats e as the mysql client prints it.
func (e *Error) Error() string {
	return fmt.Sprintf("mysqlwire: ERROR %d (%s): %s", e.Code, e.state(), e.Message)
}

func (e *Error) state() string {
	if len(e.SQLState) != 5 {
		return StateGeneral
	}
	return e.SQLState
}

// AccessDenied returns the error RDS sends for every failed IAM login:
// ERROR 1045 (28000): Access denied for user 'u'@'host' (using password: YES).
func AccessDenied(user, host string, usingPassword bool) *Error {
	yes := "NO"
	if usingPassword {
		yes = "YES"
	}
	return &Error{Code: ErAccessDenied, SQLState: StateAccessDenied,
		Message: fmt.Sprintf("Access denied for user '%s'@'%s' (using password: %s)", user, host, yes)}
}

// TooManyConnections is what MariaDB sends in place of the greeting when it has no
// connection left: ERROR 1040 (08004): Too many connections.
func TooManyConnections() *Error {
	return &Error{Code: ErTooManyConnections, SQLState: StateAuthMode, Message: "Too many connections"}
}

// AppendPacket appends e as an ERR packet with sequence ID seq (a 4.1 ERR packet, with
// its SQLSTATE). It is for answers written on a raw connection, such as a refusal sent
// in place of the greeting.
func (e *Error) AppendPacket(b []byte, seq byte) []byte {
	p := binary.LittleEndian.AppendUint16([]byte{0xff}, e.Code)
	p = append(append(p, '#'), e.state()...)
	b, _ = AppendPacket(b, seq, append(p, e.Message...))
	return b
}

var (
	// ErrProtocol: the client broke the protocol (malformed or out-of-order packet).
	ErrProtocol = errors.New("mysqlwire: protocol violation")
	// ErrTooLong: a packet or a field exceeded its bound.
	ErrTooLong = errors.New("mysqlwire: packet too long")
	// ErrTLS: the TLS handshake failed.
	ErrTLS = errors.New("mysqlwire: tls handshake failed")
	// ErrUnsupported: the client asked for what this server does not do (pre-4.1
	// protocol, compression, TLS when none is configured) or did not ask for what it
	// requires (TLS when Config.RequireTLS).
	ErrUnsupported = errors.New("mysqlwire: unsupported client")
	// ErrCleartextNotEnabled: the client closed the connection in answer to the switch to
	// mysql_clear_password, which is what clients do when that plugin is not enabled
	// (mysql without --enable-cleartext-plugin reports 2059 locally; go-sql-driver without
	// allowCleartextPasswords=true reports ErrCleartextPassword).
	ErrCleartextNotEnabled = errors.New("mysqlwire: client did not enable mysql_clear_password")
)
