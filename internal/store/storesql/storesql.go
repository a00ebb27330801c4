package storesql

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/iamdb/iamdb/internal/store"
)

// ListQuery returns the query and arguments of [store.Tx.List] on table, whose columns are
// kind, key, value and rev, for arguments [store.CheckList] accepted. It selects a range of
// the primary key, never LIKE, so '%' and '_' in a prefix are plain characters.
func ListQuery(table, kind, prefix, after string, limit int) (string, []any) {
	q := `SELECT key, value, rev FROM ` + table + ` WHERE kind = $1`
	args := []any{kind}
	if after >= prefix {
		args = append(args, after)
		q += ` AND key > $2`
	} else {
		args = append(args, prefix)
		q += ` AND key >= $2`
	}
	if end, ok := store.PrefixEnd(prefix); ok {
		args = append(args, end)
		q += ` AND key < $3`
	}
	q += ` ORDER BY key`
	if limit > 0 {
		args = append(args, limit)
		q += fmt.Sprintf(` LIMIT $%d`, len(args))
	}
	return q, args
}

// Revision implements [store.Store.Revision] with read, which reads the revision; closed
// is the store's closed flag.
func Revision(closed *atomic.Bool, read func(rev *int64) error) (int64, error) {
	if closed.Load() {
		return 0, store.ErrClosed
	}
	var rev int64
	if err := read(&rev); err != nil {
		return 0, Fail(closed, "revision", err)
	}
	return rev, nil
}

// Lock takes sem, the store's one token for the running Update, for an Update; it fails if
// ctx ends first or the store (closed is its flag) has closed by then. unlock gives the
// token back.
func Lock(ctx context.Context, sem chan struct{}, closed *atomic.Bool) (unlock func(), err error) {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	unlock = func() { <-sem }
	if closed.Load() {
		unlock()
		return nil, store.ErrClosed
	}
	return unlock, nil
}

// Fail wraps a database error of op, or reports ErrClosed if the store closed (closed is
// its flag) under the caller.
func Fail(closed *atomic.Bool, op string, err error) error {
	if closed.Load() && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("store: %s: %w", op, store.ErrClosed)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// Rows is what ScanItems reads: database/sql's *Rows and pgx's Rows both are.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ScanItems reads the rows of a ListQuery into items of kind; a nil value is returned
// empty, never nil. The caller closes rows.
func ScanItems(rows Rows, kind string) ([]store.Item, error) {
	var items []store.Item
	for rows.Next() {
		it := store.Item{Kind: kind}
		if err := rows.Scan(&it.Key, &it.Value, &it.Rev); err != nil {
			return nil, err
		}
		if it.Value == nil {
			it.Value = []byte{}
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return items, nil
}
