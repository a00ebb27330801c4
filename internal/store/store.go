package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Errors returned by every backend. Callers test for them with errors.Is: backends may wrap
// them with detail.
var (
	// ErrNotFound: Get or Delete of an absent key.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: Create of a key that is present.
	ErrExists = errors.New("store: already exists")
	// ErrClosed: any use of a store after Close.
	ErrClosed = errors.New("store: closed")
	// ErrTooLarge: a kind, key or value over its bound (MaxKindLen, MaxKeyLen, MaxValueLen).
	ErrTooLarge = errors.New("store: too large")
	// ErrInvalid: an empty kind or key, one that is not valid UTF-8 or contains NUL, or a
	// negative List limit.
	ErrInvalid = errors.New("store: invalid argument")
	// ErrReadOnly: a write inside View.
	ErrReadOnly = errors.New("store: read-only transaction")
	// ErrSchemaTooNew: the database was written by a newer binary whose schema this one does
	// not know.
	ErrSchemaTooNew = errors.New("store: schema is newer than this binary")
	// ErrChangesGone: Tx.Changes cannot list the changes since a revision: the store no
	// longer keeps them all (see ChangeRetention), or the revision is ahead of the store's
	// (its database lost commits). The caller reloads everything instead.
	ErrChangesGone = errors.New("store: changes since that revision are not kept")
)

// ChangeRetention is how many revisions back the change log reaches at least: Tx.Changes
// since an older revision returns ErrChangesGone. Backends prune the log as they commit.
const ChangeRetention = 1 << 14

// Change is an item that a committed Update wrote (created, replaced) or deleted.
type Change struct {
	Rev       int64 // the revision of that Update
	Kind, Key string
}

// Bounds on what a store accepts, in bytes. They are small on purpose: items are documents
// and index entries, not blobs.
const (
	MaxKindLen  = 64
	MaxKeyLen   = 1024
	MaxValueLen = 1 << 20
)

// Item is one stored value.
type Item struct {
	Kind  string
	Key   string
	Value []byte
	// Rev is the global revision of the commit that last wrote the item. Inside an Update
	// that wrote it, Rev is the revision that Update will commit as.
	Rev int64
}

// Tx is one transaction, handed to the function given to Update or View. It is valid only
// until that function returns and must not be used from several goroutines at once.
// Values passed in are copied; values returned belong to the caller.
type Tx interface {
	// Get returns the item, or ErrNotFound.
	Get(kind, key string) (Item, error)
	// Create stores a new item, or returns ErrExists if the key is present.
	Create(kind, key string, value []byte) error
	// Put creates or replaces an item.
	Put(kind, key string, value []byte) error
	// Delete removes an item, or returns ErrNotFound if it is absent.
	Delete(kind, key string) error
	// List returns the items of kind whose keys start with prefix and sort after after
	// (strictly; "" means from the start), in byte order of the keys, at most limit of them
	// (0 means no limit). To page, pass the last key returned as the next after.
	List(kind, prefix, after string, limit int) ([]Item, error)
	// Revision returns the revision of the state the transaction sees; inside an Update,
	// the one committed before it.
	Revision() (int64, error)
	// Changes returns the items written or deleted by the commits after revision since, up
	// to the revision the transaction sees: each item once per revision that changed it,
	// ordered by revision, then kind, then key; at most limit of them (0 means no limit).
	// It returns ErrChangesGone if the log does not reach back to since (it keeps at least
	// ChangeRetention revisions) or since is ahead of Revision. A cache at revision since
	// that reloads the listed items in the same transaction is then at Revision.
	Changes(since int64, limit int) ([]Change, error)
}

// Store is the authority's storage, as its consumers use it. Implementations are safe for
// concurrent use.
type Store interface {
	// Update runs fn in one read-write transaction, serialised with every other Update:
	// either everything fn wrote is committed durably (fsync'ed) before Update returns nil,
	// or nothing is. fn may be retried on a serialisation failure, so it must have no side
	// effects outside tx. If fn returns an error, the transaction is rolled back and that
	// error returned as is. If a Tx method failed for a reason other than the sentinel
	// errors of this package (an I/O error, say), Update rolls back and returns that failure
	// even if fn swallowed it.
	Update(ctx context.Context, fn func(Tx) error) error
	// UpdateQuiet is Update for bookkeeping that no cache follows (usage records): it is
	// serialised with every Update and as durable, but it neither advances the revision,
	// nor logs its changes for Tx.Changes, nor notifies watchers; the items it writes carry
	// the current revision. Nothing a cache is built from may be written with it.
	UpdateQuiet(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only snapshot transaction: it sees the state of one committed
	// revision throughout, whatever commits meanwhile. Writes return ErrReadOnly. An error
	// from fn is returned as is.
	View(ctx context.Context, fn func(Tx) error) error
	// Revision returns the global revision: incremented once by every Update that wrote
	// something, never by a read-only or rolled-back one, nor by UpdateQuiet.
	Revision(ctx context.Context) (int64, error)
	// Watch returns a channel that receives the new revision after each committed Update
	// that wrote something. It coalesces: a slow reader may miss intermediate values but
	// always gets the latest. It is closed when ctx ends or the store closes. To keep a
	// cache, call Watch before loading, then reload on every receive.
	Watch(ctx context.Context) <-chan int64
	// Close releases the store, waiting for a running Update to finish. Later calls do
	// nothing and return nil; every other method then returns ErrClosed.
	Close() error
}

// CheckKind reports whether kind is acceptable: non-empty, at most MaxKindLen bytes, valid
// UTF-8 without NUL.
func CheckKind(kind string) error {
	if kind == "" {
		return fmt.Errorf("%w: empty kind", ErrInvalid)
	}
	if len(kind) > MaxKindLen {
		return fmt.Errorf("%w: kind is %d bytes, limit %d", ErrTooLarge, len(kind), MaxKindLen)
	}
	return checkText("kind", kind)
}

// CheckKey reports whether key is acceptable: non-empty, at most MaxKeyLen bytes, valid
// UTF-8 without NUL.
func CheckKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalid)
	}
	return checkKeyish("key", key)
}

// CheckValue reports whether value is at most MaxValueLen bytes.
func CheckValue(value []byte) error {
	if len(value) > MaxValueLen {
		return fmt.Errorf("%w: value is %d bytes, limit %d", ErrTooLarge, len(value), MaxValueLen)
	}
	return nil
}

// CheckItem reports whether the kind, key and value of an item are acceptable (CheckKind,
// CheckKey, CheckValue).
func CheckItem(kind, key string, value []byte) error {
	if err := CheckKind(kind); err != nil {
		return err
	}
	if err := CheckKey(key); err != nil {
		return err
	}
	return CheckValue(value)
}

// CheckList reports whether the arguments of Tx.List are acceptable: a valid kind; prefix
// and after empty or valid as keys; limit not negative.
func CheckList(kind, prefix, after string, limit int) error {
	if err := CheckKind(kind); err != nil {
		return err
	}
	if err := checkKeyish("prefix", prefix); err != nil {
		return err
	}
	if err := checkKeyish("after", after); err != nil {
		return err
	}
	if limit < 0 {
		return fmt.Errorf("%w: negative limit %d", ErrInvalid, limit)
	}
	return nil
}

func checkKeyish(what, s string) error {
	if len(s) > MaxKeyLen {
		return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrTooLarge, what, len(s), MaxKeyLen)
	}
	return checkText(what, s)
}

func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, what)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s contains NUL", ErrInvalid, what)
	}
	return nil
}

// PrefixEnd returns the least string, in byte order, that sorts after every string starting
// with prefix, so that "key >= prefix AND key < end" selects exactly the keys with that
// prefix (a range predicate, immune to LIKE wildcards and able to use an index). It works on
// code points so that end is valid UTF-8 whenever prefix is, which PostgreSQL requires of
// text. ok is false when no such string exists (prefix empty, or only U+10FFFF): then
// "key >= prefix" alone is exact.
func PrefixEnd(prefix string) (end string, ok bool) {
	rs := []rune(prefix)
	for i := len(rs) - 1; i >= 0; i-- {
		r := rs[i] + 1
		if r == 0xD800 { // surrogates are not valid in UTF-8
			r = 0xE000
		}
		if r <= utf8.MaxRune {
			rs[i] = r
			return string(rs[:i+1]), true
		}
	}
	return "", false
}
