package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/internal/store/storesql"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store in one SQLite file. Open it with Open; it is safe for concurrent
// use.
type Store struct {
	writer  *sql.DB       // one connection; transactions BEGIN IMMEDIATE
	readers *sql.DB       // query_only connections for View and Revision
	sem     chan struct{} // one token: held by the running Update
	closed  atomic.Bool
	once    sync.Once
	watch   store.Notifier
}

// Option configures Open.
type Option func(*options)

type options struct {
	readers     int
	busyTimeout time.Duration
}

// WithReaders sets the number of reader connections, which bounds concurrent Views. If zero
// or not given, max(4, GOMAXPROCS).
func WithReaders(n int) Option { return func(o *options) { o.readers = n } }

// WithBusyTimeout sets how long a connection waits for a lock another process holds before
// failing. If zero or not given, 5s.
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// Open opens the store in the SQLite file at path, creating it (mode 0600, in an existing
// directory) if absent, and applies the schema migrations it lacks.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{readers: max(4, runtime.GOMAXPROCS(0)), busyTimeout: 5 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if o.readers <= 0 || o.busyTimeout <= 0 {
		return nil, fmt.Errorf("store: open: readers (%d) and busy timeout (%v) must be positive", o.readers, o.busyTimeout)
	}
	if path == "" {
		return nil, errors.New("store: open: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	// Create the file ourselves so that it is private from the start; SQLite would use 0644.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	f.Close()

	busy := "busy_timeout(" + strconv.FormatInt(o.busyTimeout.Milliseconds(), 10) + ")"
	writer, err := sql.Open("sqlite", dsn(abs, url.Values{
		"_pragma": {busy, "journal_mode(WAL)", "synchronous(FULL)"},
		"_txlock": {"immediate"},
	}))
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	ctx := context.Background()
	if err := checkPragmas(ctx, writer); err != nil {
		writer.Close()
		return nil, err
	}
	if err := migrate(ctx, writer, migrations); err != nil {
		writer.Close()
		return nil, err
	}
	readers, err := sql.Open("sqlite", dsn(abs, url.Values{
		"_pragma": {busy, "query_only(1)"},
	}))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	readers.SetMaxOpenConns(o.readers)
	readers.SetMaxIdleConns(o.readers)
	readers.SetConnMaxLifetime(0)
	readers.SetConnMaxIdleTime(0)
	if err := readers.PingContext(ctx); err != nil {
		readers.Close()
		writer.Close()
		return nil, fmt.Errorf("store: open readers: %w", err)
	}
	return &Store{writer: writer, readers: readers, sem: make(chan struct{}, 1)}, nil
}

// dsn builds a file: URI, which escapes any '?', '#' or '%' in the path; modernc.org/sqlite
// reads the underscore parameters and SQLite ignores them.
func dsn(path string, params url.Values) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: params.Encode()}
	return u.String()
}

// checkPragmas makes sure the settings durability rests on took effect (journal_mode=WAL can
// fail quietly, for example where shared memory is unavailable).
func checkPragmas(ctx context.Context, db *sql.DB) error {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("store: open: %w", err)
	}
	var sync int
	if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return fmt.Errorf("store: open: %w", err)
	}
	if !strings.EqualFold(mode, "wal") || sync != 2 {
		return fmt.Errorf("store: open: journal_mode=%s synchronous=%d, want wal and 2 (FULL)", mode, sync)
	}
	return nil
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.update(ctx, fn, false)
}

// UpdateQuiet implements store.Store.
func (s *Store) UpdateQuiet(ctx context.Context, fn func(store.Tx) error) error {
	return s.update(ctx, fn, true)
}

func (s *Store) update(ctx context.Context, fn func(store.Tx) error, quiet bool) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	unlock, err := storesql.Lock(ctx, s.sem, &s.closed)
	if err != nil {
		return err
	}
	defer unlock()
	stx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return s.fail("begin", err)
	}
	t := newTx(ctx, stx, true, quiet)
	defer func() {
		t.Done = true
		stx.Rollback() // after Commit a no-op returning sql.ErrTxDone
	}()
	if commit, err := t.Apply(fn); !commit {
		return err // nothing to commit: the deferred rollback ends the transaction
	}
	if quiet {
		if err := stx.Commit(); err != nil {
			return s.fail("commit", err)
		}
		return nil
	}
	rev, err := t.Rev()
	if err != nil {
		return err
	}
	err = storesql.LogChanges(t, rev, func(q string, args ...any) error {
		_, err := stx.ExecContext(ctx, q, args...)
		return err
	})
	if err != nil {
		return s.fail("log changes", err)
	}
	if _, err := stx.ExecContext(ctx, qSetRevision, rev); err != nil {
		return s.fail("update revision", err)
	}
	if err := stx.Commit(); err != nil {
		return s.fail("commit", err)
	}
	s.watch.Notify(rev) // still holding s.sem: notifications go out in commit order
	return nil
}

// View implements store.Store.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	stx, err := s.readers.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s.fail("begin", err)
	}
	return newTx(ctx, stx, false, false).View(fn, func() { stx.Rollback() })
}

// Revision implements store.Store.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	return storesql.Revision(&s.closed, func(rev *int64) error {
		return s.readers.QueryRowContext(ctx, qRevision).Scan(rev)
	})
}

// Watch implements store.Store.
func (s *Store) Watch(ctx context.Context) <-chan int64 {
	return s.watch.Watch(ctx)
}

// Close implements store.Store. It waits for a running Update, closes the watch channels and
// both pools; the writer closes last, so SQLite checkpoints the log into the file.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.closed.Store(true)
		s.watch.Close()
		s.sem <- struct{}{} // wait for the running Update; the closed flag stops new ones
		err = errors.Join(s.readers.Close(), s.writer.Close())
		<-s.sem // let Updates that were waiting see the flag
		if err != nil {
			err = fmt.Errorf("store: close: %w", err)
		}
	})
	return err
}

// fail wraps a database error, or reports ErrClosed if the store closed under the caller.
func (s *Store) fail(op string, err error) error {
	return storesql.Fail(&s.closed, op, err)
}
