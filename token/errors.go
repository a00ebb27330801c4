package token

import "errors"

// The reasons a token is refused. Every error Verify returns wraps exactly one of them (test
// with errors.Is); Reason names it in a word for logs, audit records and metrics. The error
// messages never contain the token, its signature or its session token.
var (
	ErrOversized           = errors.New("token: oversized")
	ErrMalformed           = errors.New("token: malformed")
	ErrAction              = errors.New("token: wrong action")
	ErrAlgorithm           = errors.New("token: wrong algorithm")
	ErrSignedHeaders       = errors.New("token: signed headers must be host")
	ErrScopeService        = errors.New("token: wrong credential scope service")
	ErrScopeRegion         = errors.New("token: wrong credential scope region")
	ErrScopeDay            = errors.New("token: credential scope day differs from the date")
	ErrExpiresTooLong      = errors.New("token: expiry too long")
	ErrExpired             = errors.New("token: expired")
	ErrNotYetValid         = errors.New("token: not yet valid")
	ErrUserMismatch        = errors.New("token: user mismatch")
	ErrHostNotAllowed      = errors.New("token: host not allowed")
	ErrPortNotAllowed      = errors.New("token: port not allowed")
	ErrUnknownKey          = errors.New("token: unknown access key")
	ErrInactiveKey         = errors.New("token: inactive access key")
	ErrMissingSessionToken = errors.New("token: missing session token")
	ErrInvalidSessionToken = errors.New("token: invalid session token")
	ErrSessionExpired      = errors.New("token: session credentials expired")
	ErrSignatureMismatch   = errors.New("token: signature mismatch")
)

var reasons = []struct {
	err  error
	word string
}{
	{ErrOversized, "oversized"},
	{ErrMalformed, "malformed"},
	{ErrAction, "wrong-action"},
	{ErrAlgorithm, "wrong-algorithm"},
	{ErrSignedHeaders, "signed-headers"},
	{ErrScopeService, "wrong-scope-service"},
	{ErrScopeRegion, "wrong-scope-region"},
	{ErrScopeDay, "wrong-scope-day"},
	{ErrExpiresTooLong, "expiry-too-long"},
	{ErrExpired, "expired"},
	{ErrNotYetValid, "not-yet-valid"},
	{ErrUserMismatch, "user-mismatch"},
	{ErrHostNotAllowed, "host-not-allowed"},
	{ErrPortNotAllowed, "port-not-allowed"},
	{ErrUnknownKey, "unknown-key"},
	{ErrInactiveKey, "inactive-key"},
	{ErrMissingSessionToken, "missing-session-token"},
	{ErrInvalidSessionToken, "invalid-session-token"},
	{ErrSessionExpired, "session-expired"},
	{ErrSignatureMismatch, "signature-mismatch"},
}

// Reason returns the one-word reason of a verification error ("expired",
// "signature-mismatch", …), "" for nil, and "error" for an error that is not one of this
// package's reasons (a failing key lookup, say).
func Reason(err error) string {
	if err == nil {
		return ""
	}
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.word
		}
	}
	return "error"
}

// Reasons returns every reason word Reason can return for a refusal, in a stable order.
func Reasons() []string {
	out := make([]string, len(reasons))
	for i, r := range reasons {
		out[i] = r.word
	}
	return out
}
