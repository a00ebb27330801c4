package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/internal/store/storesql"
)

// The queries, in SQL that PostgreSQL accepts as is.
const (
	qRevision    = `SELECT value FROM meta WHERE name = 'revision'`
	qSetRevision = `UPDATE meta SET value = $1 WHERE name = 'revision'`
)

// queries are the item statements of storesql.Tx.
var queries = storesql.ItemQueries("items", "changes", "meta")

// newTx returns a store.Tx over stx.
func newTx(ctx context.Context, stx *sql.Tx, writable bool) *storesql.Tx {
	t := &storesql.Tx{Ctx: ctx, Conn: conn{stx}, Q: &queries, Writable: writable}
	var rev int64
	t.Rev = func() (int64, error) { return nextRev(t, stx, &rev) }
	return t
}

// nextRev returns the revision t commits as: one past the committed one, read once into
// *rev. The writer holds the write lock since BEGIN IMMEDIATE, so nobody else can take it.
func nextRev(t *storesql.Tx, stx *sql.Tx, rev *int64) (int64, error) {
	if *rev == 0 {
		var cur int64
		if err := stx.QueryRowContext(t.Ctx, qRevision).Scan(&cur); err != nil {
			return 0, t.Broken("read revision", err)
		}
		*rev = cur + 1
	}
	return *rev, nil
}

// conn adapts a database/sql transaction to storesql.Conn.
type conn struct{ tx *sql.Tx }

func (c conn) QueryRow(ctx context.Context, q string, args []any, dest ...any) error {
	err := c.tx.QueryRowContext(ctx, q, args...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

func (c conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := c.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c conn) Query(ctx context.Context, q string, args ...any) (storesql.Rows, func(), error) {
	rows, err := c.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	return rows, func() { rows.Close() }, nil
}
