package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/internal/store/storesql"
)

// The queries, in SQL that PostgreSQL accepts as is.
const (
	qRevision    = `SELECT value FROM meta WHERE name = 'revision'`
	qSetRevision = `UPDATE meta SET value = $1 WHERE name = 'revision'`
	qGet         = `SELECT value, rev FROM items WHERE kind = $1 AND key = $2`
	qCreate      = `INSERT INTO items (kind, key, value, rev) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, key) DO NOTHING`
	qPut = `INSERT INTO items (kind, key, value, rev) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, rev = excluded.rev`
	qDelete = `DELETE FROM items WHERE kind = $1 AND key = $2`
)

var errTxDone = errors.New("store: transaction used after its function returned")

// tx implements store.Tx over one database/sql transaction.
type tx struct {
	ctx      context.Context
	sql      *sql.Tx
	writable bool
	done     bool  // fn returned
	wrote    bool  // a write changed something
	rev      int64 // revision this transaction commits as; 0 until needed
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

// nextRev returns the revision this transaction commits as: one past the committed one.
// The writer holds the write lock since BEGIN IMMEDIATE, so nobody else can take it.
func (t *tx) nextRev() (int64, error) {
	if t.rev == 0 {
		var cur int64
		if err := t.sql.QueryRowContext(t.ctx, qRevision).Scan(&cur); err != nil {
			return 0, t.broken("read revision", err)
		}
		t.rev = cur + 1
	}
	return t.rev, nil
}

func (t *tx) Get(kind, key string) (store.Item, error) {
	if err := t.check(false); err != nil {
		return store.Item{}, err
	}
	if err := store.CheckItem(kind, key, nil); err != nil {
		return store.Item{}, err
	}
	it := store.Item{Kind: kind, Key: key}
	err := t.sql.QueryRowContext(t.ctx, qGet, kind, key).Scan(&it.Value, &it.Rev)
	if errors.Is(err, sql.ErrNoRows) {
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
	rev, err := t.nextRev()
	if err != nil {
		return err
	}
	if value == nil {
		value = []byte{} // the driver binds a nil slice as NULL
	}
	res, err := t.sql.ExecContext(t.ctx, q, kind, key, value, rev)
	if err != nil {
		return t.broken(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.broken(op, err)
	}
	if n == 0 {
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
	res, err := t.sql.ExecContext(t.ctx, qDelete, kind, key)
	if err != nil {
		return t.broken("delete", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.broken("delete", err)
	}
	if n == 0 {
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
	q, args := storesql.ListQuery("items", kind, prefix, after, limit)
	rows, err := t.sql.QueryContext(t.ctx, q, args...)
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
