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

// newTx returns a store.Tx over stx; a quiet one stamps writes with the committed
// revision rather than the next.
func newTx(ctx context.Context, stx *sql.Tx, writable, quiet bool) *storesql.Tx {
	t := &storesql.Tx{Ctx: ctx, Conn: conn{stx}, Q: &queries, Writable: writable}
	var rev int64
	read := false
	t.Rev = func() (int64, error) {
		if !read {
			// The writer holds the write lock since BEGIN IMMEDIATE, so nobody else can
			// commit meanwhile.
			if err := stx.QueryRowContext(t.Ctx, qRevision).Scan(&rev); err != nil {
				return 0, t.Broken("read revision", err)
			}
			if !quiet {
				rev++
			}
			read = true
		}
		return rev, nil
	}
	return t
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
