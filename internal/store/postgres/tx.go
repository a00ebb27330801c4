package postgres

import (
	"context"
	"errors"
	"fmt"

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
	qGet          = `SELECT value, rev FROM iamdb_items WHERE kind = $1 AND key = $2`
	qCreate       = `INSERT INTO iamdb_items (kind, key, value, rev) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, key) DO NOTHING`
	qPut = `INSERT INTO iamdb_items (kind, key, value, rev) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, rev = excluded.rev`
	qDelete = `DELETE FROM iamdb_items WHERE kind = $1 AND key = $2`
)

var errTxDone = errors.New("store: transaction used after its function returned")

// tx implements store.Tx over one pgx transaction. None of the sentinel outcomes (absent,
// present) is a PostgreSQL error, so a sentinel never aborts the transaction; any other
// error does, and is kept in err.
type tx struct {
	ctx      context.Context
	pg       pgx.Tx
	writable bool
	done     bool  // fn returned
	wrote    bool  // a write changed something
	rev      int64 // revision an Update commits as (read under the lock at its start)
	err      error // first failure that was not a store sentinel: the transaction is unusable
}

// check is the preamble of every method.
func (t *tx) check(write bool) error {
	switch {
	case t.done:
		return errTxDone
	case write && !t.writable:
		return store.ErrReadOnly
	case t.err != nil:
		return t.err
	}
	return nil
}

// broken records a database failure: Update will not commit after it.
func (t *tx) broken(op string, err error) error {
	err = fmt.Errorf("store: %s: %w", op, err)
	if t.err == nil {
		t.err = err
	}
	return err
}

func (t *tx) Get(kind, key string) (store.Item, error) {
	if err := t.check(false); err != nil {
		return store.Item{}, err
	}
	if err := store.CheckItem(kind, key, nil); err != nil {
		return store.Item{}, err
	}
	it := store.Item{Kind: kind, Key: key}
	err := t.pg.QueryRow(t.ctx, qGet, kind, key).Scan(&it.Value, &it.Rev)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Item{}, store.ErrNotFound
	}
	if err != nil {
		return store.Item{}, t.broken("get", err)
	}
	if it.Value == nil {
		it.Value = []byte{}
	}
	return it, nil
}

func (t *tx) Create(kind, key string, value []byte) error {
	return t.write("create", qCreate, kind, key, value)
}

func (t *tx) Put(kind, key string, value []byte) error {
	return t.write("put", qPut, kind, key, value)
}

func (t *tx) write(op, q, kind, key string, value []byte) error {
	if err := t.check(true); err != nil {
		return err
	}
	if err := store.CheckItem(kind, key, value); err != nil {
		return err
	}
	if value == nil {
		value = []byte{} // pgx binds a nil slice as NULL
	}
	tag, err := t.pg.Exec(t.ctx, q, kind, key, value, t.rev)
	if err != nil {
		return t.broken(op, err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrExists // only Create's DO NOTHING affects no row
	}
	t.wrote = true
	return nil
}

func (t *tx) Delete(kind, key string) error {
	if err := t.check(true); err != nil {
		return err
	}
	if err := store.CheckItem(kind, key, nil); err != nil {
		return err
	}
	tag, err := t.pg.Exec(t.ctx, qDelete, kind, key)
	if err != nil {
		return t.broken("delete", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	t.wrote = true
	return nil
}

func (t *tx) List(kind, prefix, after string, limit int) ([]store.Item, error) {
	if err := t.check(false); err != nil {
		return nil, err
	}
	if err := store.CheckList(kind, prefix, after, limit); err != nil {
		return nil, err
	}
	q, args := storesql.ListQuery("iamdb_items", kind, prefix, after, limit)
	rows, err := t.pg.Query(t.ctx, q, args...)
	if err != nil {
		return nil, t.broken("list", err)
	}
	defer rows.Close()
	items, err := storesql.ScanItems(rows, kind)
	if err != nil {
		return nil, t.broken("list", err)
	}
	return items, nil
}
