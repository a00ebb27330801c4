package rdsiam_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/iamdb/iamdb/internal/rdsiam"
)

// hostile are names and values that break naive quoting: quotes of every kind,
// backslashes before quotes (an escape in MariaDB's default sql_mode, a character under
// NO_BACKSLASH_ESCAPES), comments, separators, NUL, unicode, and a very long one.
var hostile = []string{
	"",
	"plain",
	`'`,
	`''`,
	`"`,
	"`",
	`\`,
	`\\`,
	`\'`,
	`'\`,
	`inj' IDENTIFIED BY "Passw0rd!" --`,
	`inj\' IDENTIFIED BY 'Passw0rd!' -- x`,
	`x\\'; CREATE USER evil IDENTIFIED BY 'Passw0rd!'; --`,
	`"; DROP TABLE t; --`,
	"back`tick`",
	`/* c */ #h`,
	`a/b+c`,
	`E'\x41'`,
	`$$dollar$$`,
	"nul\x00after",
	"new\nline\ttab",
	"Jöhn 用户 \U0001F600",
	"\xff\xfe not utf-8",
	strings.Repeat(`'\"`+"`", 5000),
}

// A quoting rule's lexer, as the server applies it: scan reads one quoted token from the
// start of q and returns its value, whether it was closed, and the rest of q.
type lexer func(q string) (value string, closed bool, rest string)

// scanQuoted reads a token opened by open and closed by quote, where a doubled quote
// stands for one, and escapes (if not nil) decodes a backslash and what follows it,
// reporting false for a sequence that means something other than the character.
func scanQuoted(open string, quote byte, escapes func(c byte) (byte, bool)) lexer {
	return func(q string) (string, bool, string) {
		if !strings.HasPrefix(q, open) {
			return "", false, q
		}
		var b strings.Builder
		for i := len(open); i < len(q); i++ {
			switch c := q[i]; {
			case c == quote && i+1 < len(q) && q[i+1] == quote:
				b.WriteByte(quote)
				i++
			case c == quote:
				return b.String(), true, q[i+1:]
			case c == '\\' && escapes != nil:
				if i+1 == len(q) {
					return b.String(), false, ""
				}
				d, ok := escapes(q[i+1])
				if !ok {
					return b.String() + "\uFFFD", false, q[i:] // a special escape: not ours
				}
				b.WriteByte(d)
				i++
			default:
				b.WriteByte(c)
			}
		}
		return b.String(), false, ""
	}
}

// literalEscape is the escapes both PostgreSQL's E” strings and MariaDB's default mode
// decode to the character itself among those we could write; letters and digits after a
// backslash mean something else (\n, \0, \x41, \u0041).
func literalEscape(c byte) (byte, bool) {
	if c == '\\' || c == '\'' || c == '"' {
		return c, true
	}
	return 0, false
}

var (
	pgIdent   = scanQuoted(`"`, '"', nil)
	pgLiteral = scanQuoted(`E'`, '\'', literalEscape)
	myRaw     = scanQuoted(`'`, '\'', nil) // NO_BACKSLASH_ESCAPES
	myDefault = scanQuoted(`'`, '\'', literalEscape)
	myIdent   = scanQuoted("`", '`', nil)
)

// connValue reads a libpq connection-string value: a backslash escapes any byte, and an
// unescaped quote ends the value.
func connValue(q string) (string, bool, string) {
	if !strings.HasPrefix(q, "'") {
		return "", false, q
	}
	var b strings.Builder
	for i := 1; i < len(q); i++ {
		switch c := q[i]; c {
		case '\\':
			if i+1 == len(q) {
				return b.String(), false, ""
			}
			b.WriteByte(q[i+1])
			i++
		case '\'':
			return b.String(), true, q[i+1:]
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), false, ""
}

// checkQuote checks that lex reads quote(s) back as s, closed exactly at its end, and that
// the quoted form without its last byte is not closed: a NUL that ends the statement early
// leaves an unterminated token, never a shorter one followed by SQL.
func checkQuote(t *testing.T, name string, quote func(string) string, lex lexer, s string) {
	t.Helper()
	q := quote(s)
	got, closed, rest := lex(q)
	if got != s || !closed || rest != "" {
		t.Errorf("%s(%q) = %q, read back as %q (closed %v, rest %q)", name, s, q, got, closed, rest)
	}
	if _, closed, _ := lex(q[:len(q)-1]); closed {
		t.Errorf("%s(%q) = %q closes before its end", name, s, q)
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		if _, closed, _ := lex(q[:strings.IndexByte(q, 0)]); closed {
			t.Errorf("%s(%q) = %q closes before its NUL", name, s, q)
		}
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	for _, s := range hostile {
		checkQuote(t, "QuotePostgresIdent", rdsiam.QuotePostgresIdent, pgIdent, s)
		checkQuote(t, "QuotePostgresLiteral", rdsiam.QuotePostgresLiteral, pgLiteral, s)
		checkQuote(t, "QuotePostgresConnValue", rdsiam.QuotePostgresConnValue, connValue, s)
		checkQuote(t, "QuoteMySQLString", rdsiam.QuoteMySQLString, myRaw, s)
		checkQuote(t, "QuoteMySQLIdent", rdsiam.QuoteMySQLIdent, myIdent, s)
		if !strings.Contains(s, `\`) {
			checkQuote(t, "QuoteMySQLString (default sql_mode)", rdsiam.QuoteMySQLString, myDefault, s)
		}
	}
}

func TestQuoteExamples(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		quote    func(string) string
		in, want string
	}{
		{"QuotePostgresIdent", rdsiam.QuotePostgresIdent, `We"ird \User`, `"We""ird \User"`},
		{"QuotePostgresLiteral", rdsiam.QuotePostgresLiteral, `o'b\x`, `E'o''b\\x'`},
		{"QuotePostgresConnValue", rdsiam.QuotePostgresConnValue, `/tmp/o'b\x`, `'/tmp/o\'b\\x'`},
		{"QuoteMySQLString", rdsiam.QuoteMySQLString, `o'b\x "y"`, `'o''b\x "y"'`},
		{"QuoteMySQLIdent", rdsiam.QuoteMySQLIdent, "a`b'c", "`a``b'c`"},
		{"MySQLAccount", rdsiam.MySQLAccount, `o'b`, `'o''b'@'%'`},
	} {
		if got := tc.quote(tc.in); got != tc.want {
			t.Errorf("%s(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func fuzzQuote(f *testing.F, name string, quote func(string) string, lex lexer) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1<<16 {
			return
		}
		checkQuote(t, name, quote, lex, s)
	})
}

func FuzzQuotePostgresIdent(f *testing.F) {
	fuzzQuote(f, "QuotePostgresIdent", rdsiam.QuotePostgresIdent, pgIdent)
}

func FuzzQuotePostgresLiteral(f *testing.F) {
	fuzzQuote(f, "QuotePostgresLiteral", rdsiam.QuotePostgresLiteral, pgLiteral)
}

func FuzzQuotePostgresConnValue(f *testing.F) {
	fuzzQuote(f, "QuotePostgresConnValue", rdsiam.QuotePostgresConnValue, connValue)
}

func FuzzQuoteMySQLString(f *testing.F) {
	fuzzQuote(f, "QuoteMySQLString", rdsiam.QuoteMySQLString, myRaw)
}

func FuzzQuoteMySQLIdent(f *testing.F) {
	fuzzQuote(f, "QuoteMySQLIdent", rdsiam.QuoteMySQLIdent, myIdent)
}

// Every literal in MySQLIAMUserSQL's statements reads back as written under the mode the
// statements run in, whatever the name: a name cannot end a literal and add SQL.
func FuzzMySQLIAMUserSQL(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, user string) {
		if len(user) > 1<<12 || !utf8.ValidString(user) {
			return
		}
		stmts := rdsiam.MySQLIAMUserSQL(user)
		lex := myDefault
		if strings.HasPrefix(stmts[0], "SET @iamdb_sql_mode") {
			lex = myRaw
			stmts = stmts[1 : len(stmts)-1]
		}
		acct := rdsiam.MySQLAccount(user)
		for _, s := range stmts {
			i := strings.Index(s, acct)
			if i < 0 {
				t.Fatalf("MySQLIAMUserSQL(%q): %q does not name %s", user, s, acct)
			}
			if got, closed, rest := lex(s[i:]); got != user || !closed || !strings.HasPrefix(rest, "@'%'") {
				t.Errorf("MySQLIAMUserSQL(%q): %q names %q (closed %v)", user, s, got, closed)
			}
		}
	})
}

// Every literal in MySQLNativeUserSQL's statements reads back as written under the mode
// the statements run in, whatever the name and service: neither can end a literal and add
// SQL.
func FuzzMySQLNativeUserSQL(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, user, service string) {
		if len(user) > 1<<12 || len(service) > 1<<12 || !utf8.ValidString(user) || !utf8.ValidString(service) {
			return
		}
		stmts := rdsiam.MySQLNativeUserSQL(user, service)
		lex := myDefault
		if strings.HasPrefix(stmts[0], "SET @iamdb_sql_mode") {
			lex = myRaw
			stmts = stmts[1 : len(stmts)-1]
		}
		if len(stmts) != 3 {
			t.Fatalf("MySQLNativeUserSQL(%q, %q): %d statements", user, service, len(stmts))
		}
		for _, s := range stmts {
			got, closed, rest := lex(s[strings.IndexByte(s, '\''):])
			if got != user || !closed || !strings.HasPrefix(rest, "@'%'") {
				t.Fatalf("MySQLNativeUserSQL(%q, %q): %q names %q (closed %v)", user, service, s, got, closed)
			}
		}
		_, _, rest := lex(stmts[0][strings.IndexByte(stmts[0], '\''):])
		rest = strings.TrimPrefix(rest, "@'%' IDENTIFIED VIA pam USING ")
		if got, closed, rest := lex(rest); got != service || !closed || rest != " REQUIRE SSL" {
			t.Fatalf("MySQLNativeUserSQL(%q, %q): %q: service %q (closed %v), then %q", user, service, stmts[0], got, closed, rest)
		}
	})
}
