package storesql

import (
	"fmt"

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
