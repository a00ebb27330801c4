package pgwire

import (
	"bufio"
	"bytes"
	"encoding/binary"
)

// Message types after the startup phase that the gateway's relay looks at
// (PostgreSQL's "Message Formats"). Frontend and backend types share letters.
const (
	// Frontend (client to server).
	TypeQuery        byte = 'Q'
	TypeFunctionCall byte = 'F'
	TypeSync         byte = 'S'
	TypeParse        byte = 'P'
	TypeBind         byte = 'B'
	TypeExecute      byte = 'E'
	TypeDescribe     byte = 'D'
	TypeClose        byte = 'C'
	TypeFlush        byte = 'H'
	TypeTerminate    byte = 'X'

	// Backend (server to client).
	TypeReadyForQuery   byte = 'Z'
	TypeParameterStatus byte = 'S'
	TypeErrorResponse   byte = 'E'
)

// Transaction status of ReadyForQuery.
const (
	TxIdle   byte = 'I'
	TxInTx   byte = 'T'
	TxFailed byte = 'E'
)

// SSLAccepted is a server's one-byte answer to an SSLRequest when it goes on with TLS
// ('N' when it does not).
const SSLAccepted byte = 'S'

// WriteHeader writes a message header: type typ and the length word of a body of n
// bytes (at most MaxMessageLen).
func WriteHeader(w *bufio.Writer, typ byte, n int) {
	w.Write(binary.BigEndian.AppendUint32(append(w.AvailableBuffer(), typ), uint32(n+4)))
}

// AppendQuery appends a simple-protocol Query message of q to b.
func AppendQuery(b []byte, q string) []byte {
	b = append(b, TypeQuery)
	b = binary.BigEndian.AppendUint32(b, uint32(4+len(q)+1))
	b = append(b, q...)
	return append(b, 0)
}

// AppendTerminate appends a Terminate message to b.
func AppendTerminate(b []byte) []byte {
	return append(b, TypeTerminate, 0, 0, 0, 4)
}

// AppendSSLRequest appends an SSLRequest to b.
func AppendSSLRequest(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint32(b, codeSSLRequest)
}

// AppendCancelRequest appends a CancelRequest for the backend process pid with its
// cancel key to b.
func AppendCancelRequest(b []byte, pid uint32, key []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(12+len(key)))
	b = binary.BigEndian.AppendUint32(b, codeCancelRequest)
	b = binary.BigEndian.AppendUint32(b, pid)
	return append(b, key...)
}

// ParseReadyForQuery decodes a ReadyForQuery body: the transaction status (TxIdle,
// TxInTx, TxFailed). ok is false when it is malformed.
func ParseReadyForQuery(body []byte) (tx byte, ok bool) {
	if len(body) != 1 {
		return 0, false
	}
	return body[0], true
}

// ParseParameterStatus decodes a ParameterStatus body. ok is false when it is
// malformed.
func ParseParameterStatus(body []byte) (name, value string, ok bool) {
	i := bytes.IndexByte(body, 0)
	if i < 0 {
		return "", "", false
	}
	j := bytes.IndexByte(body[i+1:], 0)
	if j < 0 {
		return "", "", false
	}
	return string(body[:i]), string(body[i+1 : i+1+j]), true
}

// errorFields calls fn for each field of an ErrorResponse or NoticeResponse body, up
// to the first malformed one.
func errorFields(body []byte, fn func(code byte, value []byte)) {
	for len(body) > 1 && body[0] != 0 {
		code := body[0]
		i := bytes.IndexByte(body[1:], 0)
		if i < 0 {
			return
		}
		fn(code, body[1:1+i])
		body = body[2+i:]
	}
}

// ErrorSummary returns "SEVERITY CODE: message" of an ErrorResponse body.
func ErrorSummary(body []byte) string {
	var sev, code, msg string
	errorFields(body, func(c byte, v []byte) {
		switch c {
		case 'S':
			sev = string(v)
		case 'C':
			code = string(v)
		case 'M':
			msg = string(v)
		}
	})
	return sev + " " + code + ": " + msg
}

// IsFatal reports whether an ErrorResponse body is FATAL or PANIC (by its localized
// or its unlocalized severity).
func IsFatal(body []byte) bool {
	fatal := false
	errorFields(body, func(c byte, v []byte) {
		if c == 'V' || c == 'S' {
			if s := string(v); s == SeverityFatal || s == SeverityPanic {
				fatal = true
			}
		}
	})
	return fatal
}
