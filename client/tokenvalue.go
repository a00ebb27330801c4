package client

import (
	"fmt"
	"log/slog"
	"time"
)

// Token is an RDS auth token: the password of one login. Value returns it; String,
// GoString, LogValue and MarshalJSON redact it, so a Token printed with fmt, logged with
// log/slog or encoded as JSON by mistake does not leak. The zero Token is empty.
type Token struct {
	value   string
	expires time.Time
	target  Target
}

// Value returns the token itself, to be sent as the password. Do not log it, put it in a
// connection string or keep it beyond Expires.
func (t Token) Value() string { return t.value }

// Expires is when the token stops being accepted: 15 minutes after signing, or earlier if
// the credentials that signed it expire first.
func (t Token) Expires() time.Time { return t.expires }

// IsZero reports whether t is the zero Token.
func (t Token) IsZero() bool { return t.value == "" }

// String describes the token without revealing it.
func (t Token) String() string {
	if t.value == "" {
		return "client.Token{}"
	}
	return fmt.Sprintf("client.Token{%s, expires %s, [redacted]}", t.target, t.expires.UTC().Format(time.RFC3339))
}

// GoString is String, so that %#v does not reveal the token either.
func (t Token) GoString() string { return t.String() }

// LogValue implements slog.LogValuer: the target and expiry, never the token.
func (t Token) LogValue() slog.Value {
	if t.value == "" {
		return slog.StringValue("")
	}
	return slog.GroupValue(
		slog.String("target", t.target.String()),
		slog.Time("expires", t.expires),
		slog.String("token", "[redacted]"),
	)
}

// MarshalJSON encodes the string "[redacted]".
func (t Token) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// Format implements fmt.Formatter so that every verb (%v, %s, %q, %x, %d, %#v, …) prints
// String and none prints the token.
func (t Token) Format(f fmt.State, verb rune) { fmt.Fprint(f, t.String()) }
