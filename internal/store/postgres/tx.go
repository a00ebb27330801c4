package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/internal/store/storesql"
)

// The queries. Table names are unqualified: they resolve in the session's search_path,
// where Open created them.
const (
	qRevision     = `SELECT value FROM iamdb_meta WHERE name = 'revision'`
	qLockRevision = qRevision + ` FOR UPDATE`
	qSetRevision  = `UPDATE iamdb_meta SET value = $1 WHERE name = 'revision'`
	qNotify       = `SELECT pg_notify($1, $2)`
)

// queries are the item statements of storesql.Tx.
var queries = storesql.ItemQueries("iamdb_items", "iamdb_changes", "iamdb_meta")

// newTx returns a store.Tx over ptx. None of the sentinel outcomes (absent, present) is a
// PostgreSQL error, so a sentinel never aborts the transaction; any other error does, and
// is kept in Err. Writes are stamped with rev (read under the lock at an Update's start).
func newTx(ctx context.Context, ptx pgx.Tx, writable bool, rev *int64) *storesql.Tx {
	return &storesql.Tx{
		Ctx: ctx, Conn: conn{ptx}, Q: &queries, Writable: writable,
		Rev: func() (int64, error) { return *rev, nil },
	}
}

// conn adapts a pgx transaction to storesql.Conn.
type conn struct{ tx pgx.Tx }

func (c conn) QueryRow(ctx context.Context, q string, args []any, dest ...any) error {
	err := c.tx.QueryRow(ctx, q, args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

func (c conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := c.tx.Exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (c conn) Query(ctx context.Context, q string, args ...any) (storesql.Rows, func(), error) {
	rows, err := c.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	return rows, rows.Close, nil
}
