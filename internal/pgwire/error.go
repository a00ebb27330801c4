package pgwire

import (
	"errors"

	"github.com/jackc/pgx/v5/pgproto3"
)

// SQLSTATE codes pgwire and the gateway send.
const (
	CodeInvalidAuthorization = "28000" // invalid_authorization_specification
	CodeInvalidPassword      = "28P01" // invalid_password
	CodeProtocolViolation    = "08P01" // protocol_violation
	CodeConnectionFailure    = "08006" // connection_failure
	CodeFeatureNotSupported  = "0A000" // feature_not_supported
	CodeAdminShutdown        = "57P01" // admin_shutdown
	CodeCannotConnectNow     = "57P03" // cannot_connect_now
	CodeTooManyConnections   = "53300" // too_many_connections ("sorry, too many clients already")
	CodeInternalError        = "XX000" // internal_error
)

// Severities of ErrorResponse and NoticeResponse.
const (
	SeverityFatal   = "FATAL"
	SeverityPanic   = "PANIC"
	SeverityError   = "ERROR"
	SeverityNotice  = "NOTICE"
	SeverityWarning = "WARNING"
)

// Error is an ErrorResponse (or NoticeResponse) as the client sees it.
type Error struct {
	Severity string // SeverityFatal if empty
	Code     string // SQLSTATE
	Message  string
	Detail   string
	Hint     string
}

// Fatal returns a FATAL error with code and message.
func Fatal(code, message string) *Error {
	return &Error{Severity: SeverityFatal, Code: code, Message: message}
}

func (e *Error) Error() string {
	return "pgwire: " + e.severity() + " " + e.Code + " " + e.Message
}

func (e *Error) severity() string {
	if e.Severity == "" {
		return SeverityFatal
	}
	return e.Severity
}

// AppendTo appends e as an ErrorResponse message to b. It is for answers written on a
// raw connection, before any message of the client was read: the gateway's refusal of
// a connection beyond its limits ("sorry, too many clients already"), which PostgreSQL
// also sends without waiting for the startup packet.
func (e *Error) AppendTo(b []byte) ([]byte, error) {
	return e.response().Encode(b)
}

func (e *Error) response() *pgproto3.ErrorResponse {
	s := e.severity()
	return &pgproto3.ErrorResponse{
		Severity: s, SeverityUnlocalized: s, Code: e.Code,
		Message: e.Message, Detail: e.Detail, Hint: e.Hint,
	}
}

// Errors of the handshake. Handshake's errors wrap one of them; for the ones caused by the
// client, a FATAL ErrorResponse has been sent when the connection allowed it.
var (
	// ErrCancelRequest: the connection was a CancelRequest, handed to Config.OnCancel.
	ErrCancelRequest = errors.New("pgwire: cancel request")
	// ErrProtocol: the client broke the protocol (bad length, unknown request code,
	// malformed startup packet, unsupported major version, missing user, …).
	ErrProtocol = errors.New("pgwire: protocol violation")
	// ErrTLS: the TLS handshake failed.
	ErrTLS = errors.New("pgwire: tls handshake failed")
	// ErrTooLong: a message exceeded its bound.
	ErrTooLong = errors.New("pgwire: message too long")
)
