package rdsiam_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/rdsiam"
	"github.com/iamdb/iamdb/internal/testenv"
)

// The round trips through a real server: each quoted value, selected, comes back as
// itself, and a quoted identifier names a column exactly. The servers start once per
// fuzz target; without -fuzz only the seeds (hostile) run.

// pgSafe reports whether PostgreSQL text can hold s: UTF-8 (the cluster's encoding)
// without NUL.
func pgSafe(s string) bool { return utf8.ValidString(s) && !strings.Contains(s, "\x00") }

func FuzzPostgresQuoteServer(f *testing.F) {
	p := localdbtest.Postgres(f, localdbtest.CA(f))
	c, err := pgconn.Connect(testenv.Context(f), p.AdminURL("postgres"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { c.Close(context.Background()) })
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !pgSafe(s) || len(s) > 1<<16 {
			return
		}
		for _, scs := range []string{"on", "off"} {
			q := "SET standard_conforming_strings = " + scs + "; SELECT " + rdsiam.QuotePostgresLiteral(s)
			res, err := c.Exec(testenv.Context(t), q).ReadAll()
			if err != nil || len(res) != 2 || len(res[1].Rows) != 1 || string(res[1].Rows[0][0]) != s {
				t.Fatalf("standard_conforming_strings %s: SELECT QuotePostgresLiteral(%q): %v, %v", scs, s, res, err)
			}
		}
		if s == "" || len(s) > rdsiam.MaxPostgresName {
			return // no empty identifiers; longer ones are truncated
		}
		res, err := c.Exec(testenv.Context(t), "SELECT 1 AS "+rdsiam.QuotePostgresIdent(s)).ReadAll()
		if err != nil || len(res) != 1 || len(res[0].FieldDescriptions) != 1 || res[0].FieldDescriptions[0].Name != s {
			t.Fatalf("SELECT 1 AS QuotePostgresIdent(%q): %v, %v", s, res, err)
		}
	})
}

// The connection-string quoting round-trips through pgconn's parser, libpq's rules.
func FuzzQuotePostgresConnValueParse(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !pgSafe(s) || s == "" || len(s) > 1<<16 {
			return // an empty user is the default user
		}
		cfg, err := pgconn.ParseConfig("host=/nonexistent user=" + rdsiam.QuotePostgresConnValue(s) + " sslmode=disable")
		if err != nil || cfg.User != s {
			t.Fatalf("ParseConfig(user=QuotePostgresConnValue(%q)): user %q, %v", s, cfg.User, err)
		}
	})
}

// mysqlModes are the session modes the MariaDB quoting must mean the same in (with
// RawBackslashes added when a literal holds a backslash).
var mysqlModes = []string{"", "NO_BACKSLASH_ESCAPES", "ANSI_QUOTES", "ANSI"}

func FuzzMySQLQuoteServer(f *testing.F) {
	m := localdbtest.MariaDB(f, localdbtest.CA(f))
	db := localdbtest.MariaDBAdmin(f, m) // one session: the sql_mode set below lasts
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || len(s) > 1<<16 {
			return
		}
		for _, mode := range mysqlModes {
			ctx := testenv.Context(t)
			if _, err := db.ExecContext(ctx, "SET SESSION sql_mode = '"+mode+"'"); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(s, `\`) {
				if _, err := db.ExecContext(ctx, rdsiam.RawBackslashes); err != nil {
					t.Fatal(err)
				}
			}
			var got []byte
			if err := db.QueryRowContext(ctx, "SELECT "+rdsiam.QuoteMySQLString(s)).Scan(&got); err != nil || string(got) != s {
				t.Fatalf("sql_mode %q: SELECT QuoteMySQLString(%q) = %q, %v", mode, s, got, err)
			}
			if !mysqlKeepsAlias(s) {
				continue
			}
			rows, err := db.QueryContext(ctx, "SELECT 1 AS "+rdsiam.QuoteMySQLIdent(s))
			if err != nil {
				t.Fatalf("sql_mode %q: SELECT 1 AS QuoteMySQLIdent(%q): %v", mode, s, err)
			}
			cols, err := rows.Columns()
			rows.Close()
			if err != nil || len(cols) != 1 || cols[0] != s {
				t.Fatalf("sql_mode %q: SELECT 1 AS QuoteMySQLIdent(%q): columns %q, %v", mode, s, cols, err)
			}
		}
	})
}

// mysqlKeepsAlias reports whether MariaDB names a column exactly s when s is its alias:
// not empty, at most 64 characters of utf8mb3 without NUL, and no space or control
// character at either end (MariaDB drops leading ones from aliases, with a warning, and
// trailing spaces from names).
func mysqlKeepsAlias(s string) bool {
	if s == "" || utf8.RuneCountInString(s) > 64 || strings.ContainsFunc(s, func(r rune) bool { return r == 0 || r > 0xFFFF }) {
		return false
	}
	trim := func(r rune) bool { return r <= ' ' || r == 0x7f }
	return strings.TrimFunc(s, trim) == s
}
