package client

import (
	"errors"
	"strings"
)

// The kinds of failure. Every error this package and its adapters return wraps exactly one
// of them (test with errors.Is) inside an *Error that says what was being done and how to fix
// it. No error ever contains a token, a secret access key or a session token.
var (
	// ErrNoCredentials: the credentials provider failed or returned no key.
	ErrNoCredentials = errors.New("client: no credentials")
	// ErrExpiredCredentials: the provider returned credentials that have already expired.
	ErrExpiredCredentials = errors.New("client: credentials expired")
	// ErrNoRegion: no region was given, none is in the host name and the credentials
	// source knows none.
	ErrNoRegion = errors.New("client: no region")
	// ErrInvalidTarget: the host, port or user to sign for is missing or malformed.
	ErrInvalidTarget = errors.New("client: invalid target")
	// ErrInvalidConfig: a Config or adapter option is unusable.
	ErrInvalidConfig = errors.New("client: invalid configuration")
	// ErrInsecureTransport: a driver adapter refused to send a token over a connection that
	// is not, or may not be, protected by TLS. Nothing was sent.
	ErrInsecureTransport = errors.New("client: refusing to send a token without TLS")
)

// Error is a failure with its context. Kind is one of the Err… sentinels; Err, if not nil, is
// the underlying cause (a provider's or a driver's error). errors.Is matches both.
type Error struct {
	Op   string // what was being done: "token", "credentials", "pgxauth", "mysqlauth"
	Kind error  // one of the Err… sentinels
	Hint string // how to fix it, for a human; may be empty
	Err  error  // the cause, or nil
}

// Error returns "client: OP: KIND: CAUSE (hint: HINT)" with the empty parts left out.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("client: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Kind != nil {
		b.WriteString(strings.TrimPrefix(e.Kind.Error(), "client: "))
	} else {
		b.WriteString("error")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Hint != "" {
		b.WriteString(" (hint: ")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns Kind and Err, so that errors.Is and errors.As see both.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}
