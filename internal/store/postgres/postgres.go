package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/iamdb/iamdb/internal/store"
)

var _ store.Store = (*Store)(nil)

// channel is the LISTEN/NOTIFY channel on which a commit announces its revision.
const channel = "iamdb_store"

// cleanupTimeout bounds a rollback, which runs even when the caller's context has ended.
const cleanupTimeout = 5 * time.Second

// Store is a store.Store in a PostgreSQL database, shared by every process that opens the
// same database (and schema). Open it with Open; it is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	sem  chan struct{} // one token: held by the running Update of this process
	log  *slog.Logger

	closed atomic.Bool
	once   sync.Once

	watch store.Notifier
	mu    sync.Mutex // serialises deliver
	last  int64      // the latest revision delivered to watchers; guarded by mu

	listenCfg  *pgx.ConnConfig
	stopListen context.CancelFunc
	listenDone chan struct{} // closed when the listener goroutine has returned
	listenPID  atomic.Uint32 // backend PID of the listening connection, 0 while down (tests)
	poll       time.Duration // heartbeat interval of the listener
}

// Option configures Open.
type Option func(*options)

type options struct {
	maxConns int
	logger   *slog.Logger
	poll     time.Duration // if zero, pollInterval; shortened by tests
}

// WithMaxConns sets the size of the connection pool, which bounds concurrent Views (an
// Update uses one connection; the listener has its own, outside the pool). If zero or not
// given, pool_max_conns from the connection string, else pgxpool's default, max(4, NumCPU).
// Keep it at least 2: an Update started inside a View waits for a second connection.
func WithMaxConns(n int) Option { return func(o *options) { o.maxConns = n } }

// WithLogger sets where the listener reports losing and regaining its connection. If nil or
// not given, nothing is logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Open connects to the PostgreSQL database named by connString (a libpq URL or key=value
// string, as pgx parses it), creates or migrates the schema it lacks, and starts listening
// for other processes' commits.
//
// As with libpq, settings absent from connString come from the PG* environment variables
// and the password file. Open refuses a database whose encoding is not UTF8, and a session
// whose synchronous_commit is off (an acknowledged Update could then be lost). Errors never
// quote connString, which may hold a password.
func Open(ctx context.Context, connString string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxConns < 0 || o.maxConns > 1<<16 {
		return nil, fmt.Errorf("store: open: max conns %d out of range", o.maxConns)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.poll <= 0 {
		o.poll = pollInterval
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, &parseError{err: err}
	}
	if o.maxConns > 0 {
		cfg.MaxConns = int32(o.maxConns)
	}
	cfg.AfterConnect = checkSession
	listenCfg := cfg.ConnConfig.Copy()

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if err := setup(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{
		pool:       pool,
		sem:        make(chan struct{}, 1),
		log:        o.logger,
		listenCfg:  listenCfg,
		listenDone: make(chan struct{}),
		poll:       o.poll,
	}
	// Listen before returning, so that a Watch begun after Open misses no commit, and a
	// database that refuses LISTEN fails Open rather than every Watch silently.
	c, err := s.subscribe(ctx)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: open: listen: %w", err)
	}
	lctx, cancel := context.WithCancel(context.Background())
	s.stopListen = cancel
	go s.listen(lctx, c)
	return s, nil
}

// setup checks one connection (AfterConnect runs on it) and migrates the schema.
func setup(ctx context.Context, pool *pgxpool.Pool) error {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("store: open: %w", err)
	}
	defer c.Release()
	return migrate(ctx, c.Conn(), migrations)
}

// parseError reports a connection string that pgx could not parse without quoting it: pgx
// redacts passwords only on a best-effort basis. The pgx error stays reachable with
// errors.As for a caller that knows it is safe to show.
type parseError struct{ err error }

func (e *parseError) Error() string {
	return "store: open: cannot parse the connection string (not shown: it may hold a password)"
}

func (e *parseError) Unwrap() error { return e.err }

// errNotDurable is returned by Open (and by any later pool connection) when commits would
// not wait for the write-ahead log to be flushed.
var errNotDurable = errors.New("store: synchronous_commit is off for this session, so an acknowledged update could be lost; set it to on (or local, remote_write, remote_apply) for the database or role")

// checkSession runs on every new pool connection.
func checkSession(ctx context.Context, c *pgx.Conn) error {
	if enc := c.PgConn().ParameterStatus("server_encoding"); enc != "UTF8" {
		return fmt.Errorf("store: database encoding is %q, want UTF8", enc)
	}
	var sc string
	if err := c.QueryRow(ctx, "SHOW synchronous_commit").Scan(&sc); err != nil {
		return fmt.Errorf("store: read synchronous_commit: %w", err)
	}
	if sc == "off" {
		return errNotDurable
	}
	return nil
}

// Update implements store.Store. It runs in READ COMMITTED and first locks the revision
// row (FOR UPDATE), which serialises it with the Updates of every process; each later
// statement then sees everything committed before the lock was granted.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.sem }()
	if s.closed.Load() {
		return store.ErrClosed
	}
	ptx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite})
	if err != nil {
		return s.fail("begin", err)
	}
	t := &tx{ctx: ctx, pg: ptx, writable: true}
	defer func() {
		t.done = true
		rollback(ctx, ptx) // after Commit a no-op
	}()
	var cur int64
	if err := ptx.QueryRow(ctx, qLockRevision).Scan(&cur); err != nil {
		return s.fail("lock revision", err)
	}
	t.rev = cur + 1
	if err := fn(t); err != nil {
		return err
	}
	if t.err != nil {
		return t.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !t.wrote {
		return nil // nothing to commit: the deferred rollback ends the transaction
	}
	b := &pgx.Batch{}
	b.Queue(qSetRevision, t.rev)
	b.Queue(qNotify, channel, strconv.FormatInt(t.rev, 10))
	if err := ptx.SendBatch(ctx, b).Close(); err != nil {
		return s.fail("update revision", err)
	}
	if err := ptx.Commit(ctx); err != nil {
		return s.fail("commit", err)
	}
	s.deliver(t.rev) // still holding s.sem: this process's commits go out in order
	return nil
}

// rollback ends ptx even if ctx has ended, so that the connection goes back to the pool
// clean instead of being closed.
func rollback(ctx context.Context, ptx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	ptx.Rollback(ctx)
}

// View implements store.Store: a REPEATABLE READ, READ ONLY transaction, whose snapshot is
// taken at its first statement.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ptx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return s.fail("begin", err)
	}
	t := &tx{ctx: ctx, pg: ptx}
	defer func() {
		t.done = true
		rollback(ctx, ptx)
	}()
	if err := fn(t); err != nil {
		return err
	}
	return t.err
}

// Revision implements store.Store.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	var rev int64
	if err := s.pool.QueryRow(ctx, qRevision).Scan(&rev); err != nil {
		return 0, s.fail("revision", err)
	}
	return rev, nil
}

// Watch implements store.Store. It reports the commits of every process sharing the
// database, this one's at once and others' as their notifications arrive.
func (s *Store) Watch(ctx context.Context) <-chan int64 {
	return s.watch.Watch(ctx)
}

// deliver hands rev to the watchers if it is newer than any delivered so far, so that what
// they receive only ever increases, whichever of Update and the listener gets there first.
func (s *Store) deliver(rev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev > s.last {
		s.last = rev
		s.watch.Notify(rev)
	}
}

// delivered returns the latest revision delivered.
func (s *Store) delivered() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Close implements store.Store. It closes the watch channels, waits for a running Update,
// stops the listener and closes the pool, which waits for running Views.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		s.watch.Close()
		s.sem <- struct{}{} // wait for the running Update; the closed flag stops new ones
		s.stopListen()
		<-s.listenDone
		s.pool.Close()
		<-s.sem // let Updates that were waiting see the flag
	})
	return nil
}

// fail wraps a database error, or reports ErrClosed if the store closed under the caller.
func (s *Store) fail(op string, err error) error {
	if s.closed.Load() && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("store: %s: %w", op, store.ErrClosed)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}
