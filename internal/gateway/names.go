package gateway

import (
	"strings"
	"unicode/utf8"
)

// Longest user names of the backends: PostgreSQL's NAMEDATALEN-1 bytes (longer names
// are truncated, so a longer name would be decided on for a role of its first 63
// bytes) and MariaDB's 80 characters (USERNAME_CHAR_LENGTH; MySQL 8 allows 32).
const (
	pgMaxUserLen    = 63 // bytes
	mysqlMaxUserLen = 80 // characters
)

// checkUserName returns why user cannot name an account of engine's backend, or "" if
// it can. It runs before anything is asked of the backend, so that names no account
// can have cost no query: invalid UTF-8 (which PostgreSQL's membership query would
// fail on), control characters and NUL, names over the engine's length limit, and on
// MySQL trailing spaces, which MariaDB's PAD SPACE comparison would ignore.
func checkUserName(engine, user string) string {
	if !utf8.ValidString(user) {
		return "not valid UTF-8"
	}
	if strings.ContainsFunc(user, isControl) {
		return "control character"
	}
	switch engine {
	case EngineMySQL:
		if utf8.RuneCountInString(user) > mysqlMaxUserLen {
			return "longer than 80 characters"
		}
		if strings.HasSuffix(user, " ") {
			return "trailing space"
		}
	default:
		if len(user) > pgMaxUserLen {
			return "longer than 63 bytes"
		}
	}
	return ""
}

// isControl reports C0 and C1 control characters and DEL.
func isControl(r rune) bool {
	return r < 0x20 || r >= 0x7f && r < 0xa0
}

// printableUser returns user fit to be echoed to a client in an error message:
// invalid UTF-8 and control characters become U+FFFD.
func printableUser(user string) string {
	user = strings.ToValidUTF8(user, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return utf8.RuneError
		}
		return r
	}, user)
}
