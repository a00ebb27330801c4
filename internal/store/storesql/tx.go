package storesql

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/iamdb/iamdb/internal/store"
)

// Conn runs the statements of one database transaction for [Tx]; each backend adapts its
// driver's transaction (pgx.Tx, *sql.Tx) to it.
type Conn interface {
	// QueryRow runs q and scans its one row into dest; no row is store.ErrNotFound.
	QueryRow(ctx context.Context, q string, args []any, dest ...any) error
	// Exec runs q and returns how many rows it affected.
	Exec(ctx context.Context, q string, args ...any) (int64, error)
	// Query runs q; the caller calls done when it has read the rows.
	Query(ctx context.Context, q string, args ...any) (rows Rows, done func(), err error)
}

// Queries are a backend's statements over its items table, whose columns are kind, key,
// value and rev, its change log, whose columns are rev, kind and key, and its meta table
// (name, value), which holds the revision and the change log's floor (every change after
// it is in the log). Create and Put take (kind, key, value, rev); Create does nothing when
// the item exists. LogChange takes (rev, kind, key); Prune and SetFloor take the new floor.
type Queries struct {
	Table                    string
	Get, Create, Put, Delete string
	Revision, Floor, Changes string
	LogChange, Prune         string
	SetFloor                 string
}

// ItemQueries returns the statements over table, its change log changes and its meta
// table, in SQL that SQLite and PostgreSQL both accept.
func ItemQueries(table, changes, meta string) Queries {
	return Queries{
		Table:     table,
		Revision:  `SELECT value FROM ` + meta + ` WHERE name = 'revision'`,
		Floor:     `SELECT value FROM ` + meta + ` WHERE name = 'changes_floor'`,
		Changes:   `SELECT rev, kind, key FROM ` + changes + ` WHERE rev > $1 ORDER BY rev, kind, key`,
		LogChange: `INSERT INTO ` + changes + ` (rev, kind, key) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		Prune:     `DELETE FROM ` + changes + ` WHERE rev <= $1`,
		SetFloor:  `UPDATE ` + meta + ` SET value = $1 WHERE name = 'changes_floor' AND value < $1`,
		Get:       `SELECT value, rev FROM ` + table + ` WHERE kind = $1 AND key = $2`,
		Create: `INSERT INTO ` + table + ` (kind, key, value, rev) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, key) DO NOTHING`,
		Put: `INSERT INTO ` + table + ` (kind, key, value, rev) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, rev = excluded.rev`,
		Delete: `DELETE FROM ` + table + ` WHERE kind = $1 AND key = $2`,
	}
}

var errTxDone = errors.New("store: transaction used after its function returned")

// Tx implements [store.Tx] over one SQL transaction. The backend fills in the fields above
// the line, runs the caller's function, sets Done when it returns, and commits only if Err
// is nil and Wrote is set. None of the sentinel outcomes (absent, present) is a database
// error, so a sentinel never spoils the transaction; any other failure does, and is kept in
// Err.
type Tx struct {
	Ctx      context.Context
	Conn     Conn
	Q        *Queries
	Writable bool
	// Rev returns the revision the writes are stamped with; it is called before each write.
	Rev func() (int64, error)

	Done  bool  // the caller's function returned
	Wrote bool  // a write changed something
	Err   error // first failure that was not a store sentinel: the transaction is unusable

	written map[[2]string]struct{} // (kind, key) of every item written or deleted
}

// Written returns the (kind, key) of every item the transaction wrote or deleted, sorted,
// for the backend to log with the commit (LogChanges).
func (t *Tx) Written() [][2]string {
	out := make([][2]string, 0, len(t.written))
	for k := range t.written {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	})
	return out
}

func (t *Tx) noteWrite(kind, key string) {
	if t.written == nil {
		t.written = map[[2]string]struct{}{}
	}
	t.written[[2]string{kind, key}] = struct{}{}
	t.Wrote = true
}

// pruneEvery is how often, in revisions, a commit prunes the change log.
const pruneEvery = 64

// LogChanges runs, in the transaction c of an Update about to commit as rev, the
// statements that log its changes and, every pruneEvery revisions, prune the log to
// store.ChangeRetention revisions. exec runs one statement (a backend may queue them).
func LogChanges(t *Tx, rev int64, exec func(q string, args ...any) error) error {
	for _, w := range t.Written() {
		if err := exec(t.Q.LogChange, rev, w[0], w[1]); err != nil {
			return err
		}
	}
	if floor := rev - store.ChangeRetention; floor > 0 && rev%pruneEvery == 0 {
		if err := exec(t.Q.Prune, floor); err != nil {
			return err
		}
		if err := exec(t.Q.SetFloor, floor); err != nil {
			return err
		}
	}
	return nil
}

// Call calls fn with t and returns fn's error, else the failure that broke t.
func (t *Tx) Call(fn func(store.Tx) error) error {
	if err := fn(t); err != nil {
		return err
	}
	return t.Err
}

// View is Call for a read-only t: when fn returns, it marks t done and calls end, which
// rolls the transaction back.
func (t *Tx) View(fn func(store.Tx) error, end func()) error {
	defer func() {
		t.Done = true
		end()
	}()
	return t.Call(fn)
}

// Apply calls fn with t and reports whether to commit: not if fn failed, t broke or t.Ctx
// ended (err says which), nor if nothing was written.
func (t *Tx) Apply(fn func(store.Tx) error) (commit bool, err error) {
	if err := t.Call(fn); err != nil {
		return false, err
	}
	if err := t.Ctx.Err(); err != nil {
		return false, err
	}
	return t.Wrote, nil
}

// check is the preamble of every method.
func (t *Tx) check(write bool) error {
	switch {
	case t.Done:
		return errTxDone
	case write && !t.Writable:
		return store.ErrReadOnly
	case t.Err != nil:
		return t.Err
	}
	return nil
}

// Broken records a database failure of op: the transaction will not commit after it.
func (t *Tx) Broken(op string, err error) error {
	err = fmt.Errorf("store: %s: %w", op, err)
	if t.Err == nil {
		t.Err = err
	}
	return err
}

// Get implements store.Tx.
func (t *Tx) Get(kind, key string) (store.Item, error) {
	if err := t.check(false); err != nil {
		return store.Item{}, err
	}
	if err := store.CheckItem(kind, key, nil); err != nil {
		return store.Item{}, err
	}
	it := store.Item{Kind: kind, Key: key}
	err := t.Conn.QueryRow(t.Ctx, t.Q.Get, []any{kind, key}, &it.Value, &it.Rev)
	if errors.Is(err, store.ErrNotFound) {
		return store.Item{}, store.ErrNotFound
	}
	if err != nil {
		return store.Item{}, t.Broken("get", err)
	}
	if it.Value == nil {
		it.Value = []byte{}
	}
	return it, nil
}

// Create implements store.Tx.
func (t *Tx) Create(kind, key string, value []byte) error {
	return t.write("create", t.Q.Create, kind, key, value)
}

// Put implements store.Tx.
func (t *Tx) Put(kind, key string, value []byte) error {
	return t.write("put", t.Q.Put, kind, key, value)
}

func (t *Tx) write(op, q, kind, key string, value []byte) error {
	if err := t.check(true); err != nil {
		return err
	}
	if err := store.CheckItem(kind, key, value); err != nil {
		return err
	}
	rev, err := t.Rev()
	if err != nil {
		return err
	}
	if value == nil {
		value = []byte{} // the drivers bind a nil slice as NULL
	}
	n, err := t.Conn.Exec(t.Ctx, q, kind, key, value, rev)
	if err != nil {
		return t.Broken(op, err)
	}
	if n == 0 {
		return store.ErrExists // only Create's DO NOTHING affects no row
	}
	t.noteWrite(kind, key)
	return nil
}

// Delete implements store.Tx.
func (t *Tx) Delete(kind, key string) error {
	if err := t.check(true); err != nil {
		return err
	}
	if err := store.CheckItem(kind, key, nil); err != nil {
		return err
	}
	n, err := t.Conn.Exec(t.Ctx, t.Q.Delete, kind, key)
	if err != nil {
		return t.Broken("delete", err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	t.noteWrite(kind, key)
	return nil
}

// Revision implements store.Tx.
func (t *Tx) Revision() (int64, error) {
	if err := t.check(false); err != nil {
		return 0, err
	}
	var rev int64
	if err := t.Conn.QueryRow(t.Ctx, t.Q.Revision, nil, &rev); err != nil {
		return 0, t.Broken("revision", err)
	}
	return rev, nil
}

// Changes implements store.Tx.
func (t *Tx) Changes(since int64, limit int) ([]store.Change, error) {
	if limit < 0 {
		return nil, fmt.Errorf("%w: negative limit %d", store.ErrInvalid, limit)
	}
	rev, err := t.Revision()
	if err != nil {
		return nil, err
	}
	var floor int64
	if err := t.Conn.QueryRow(t.Ctx, t.Q.Floor, nil, &floor); err != nil {
		return nil, t.Broken("changes", err)
	}
	if since < floor || since > rev {
		return nil, fmt.Errorf("%w: since %d, log from %d to %d", store.ErrChangesGone, since, floor, rev)
	}
	q, args := t.Q.Changes, []any{since}
	if limit > 0 {
		q += ` LIMIT $2`
		args = append(args, limit)
	}
	rows, done, err := t.Conn.Query(t.Ctx, q, args...)
	if err != nil {
		return nil, t.Broken("changes", err)
	}
	defer done()
	var out []store.Change
	for rows.Next() {
		var c store.Change
		if err := rows.Scan(&c.Rev, &c.Kind, &c.Key); err != nil {
			return nil, t.Broken("changes", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, t.Broken("changes", err)
	}
	return out, nil
}

// List implements store.Tx.
func (t *Tx) List(kind, prefix, after string, limit int) ([]store.Item, error) {
	if err := t.check(false); err != nil {
		return nil, err
	}
	if err := store.CheckList(kind, prefix, after, limit); err != nil {
		return nil, err
	}
	q, args := ListQuery(t.Q.Table, kind, prefix, after, limit)
	rows, done, err := t.Conn.Query(t.Ctx, q, args...)
	if err != nil {
		return nil, t.Broken("list", err)
	}
	defer done()
	items, err := ScanItems(rows, kind)
	if err != nil {
		return nil, t.Broken("list", err)
	}
	return items, nil
}
