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
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/internal/store/storesql"
)

var _ store.Store = (*Store)(nil)

// channel is the LISTEN/NOTIFY channel on which a commit announces its revision.
const channel = "iamdb_store"

// cleanupTimeout bounds a rollback, which runs even when the caller's context has ended.
const cleanupTimeout = 5 * time.Second

// commitTimeout bounds the commit of an Update, which runs even when the caller's context
// has ended: once it is sent, the caller could not learn whether it took effect.
const commitTimeout = 30 * time.Second

// sessionDefaults are the settings every pool session starts with, unless connString sets
// them.
var sessionDefaults = map[string]string{
	"idle_in_transaction_session_timeout": "60s",
	"tcp_keepalives_idle":                 "30",
	"tcp_keepalives_interval":             "10",
	"tcp_keepalives_count":                "3",
}

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
	hint       hint          // what the listener's connection was notified of; its goroutine's
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
	// A replica that freezes or loses its network in the middle of an Update would hold the
	// revision row's lock, and with it every replica's writes, until TCP gave up on it
	// (hours): the server ends such a session after a minute idle in its transaction, and
	// probes a silent client after 30 s. Settings in connString win.
	for k, v := range sessionDefaults {
		if _, ok := cfg.ConnConfig.RuntimeParams[k]; !ok {
			cfg.ConnConfig.RuntimeParams[k] = v
		}
	}
	s := &Store{
		sem:        make(chan struct{}, 1),
		log:        o.logger,
		listenCfg:  cfg.ConnConfig.Copy(),
		listenDone: make(chan struct{}),
		poll:       o.poll,
	}
	s.listenCfg.OnNotification = func(_ *pgconn.PgConn, n *pgconn.Notification) { s.hint.note(n) }

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if err := setup(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	s.pool = pool
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

// errStandby is returned when a pool connection reaches a hot standby.
var errStandby = errors.New("store: the server is a standby (in recovery): point the store at the primary (with several hosts, add target_session_attrs=read-write)")

// checkSession runs on every new pool connection.
func checkSession(ctx context.Context, c *pgx.Conn) error {
	if enc := c.PgConn().ParameterStatus("server_encoding"); enc != "UTF8" {
		return fmt.Errorf("store: database encoding is %q, want UTF8", enc)
	}
	var sc string
	var standby bool
	if err := c.QueryRow(ctx, "SELECT current_setting('synchronous_commit'), pg_is_in_recovery()").Scan(&sc, &standby); err != nil {
		return fmt.Errorf("store: read synchronous_commit: %w", err)
	}
	if sc == "off" {
		return errNotDurable
	}
	if standby {
		// A standby cannot take Updates, and its revision lags the primary's notifications.
		return errStandby
	}
	return nil
}

// Update implements store.Store. It runs in READ COMMITTED and first locks the revision
// row (FOR UPDATE), which serialises it with the Updates of every process; each later
// statement then sees everything committed before the lock was granted.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.update(ctx, fn, false)
}

// UpdateQuiet implements store.Store: Update without the new revision, log and
// notification; it takes the revision row's lock all the same, to serialise with Updates.
func (s *Store) UpdateQuiet(ctx context.Context, fn func(store.Tx) error) error {
	return s.update(ctx, fn, true)
}

func (s *Store) update(ctx context.Context, fn func(store.Tx) error, quiet bool) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	unlock, err := storesql.Lock(ctx, s.sem, &s.closed)
	if err != nil {
		return err
	}
	defer unlock()
	ptx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite})
	if err != nil {
		return s.fail("begin", err)
	}
	var rev int64
	t := newTx(ctx, ptx, true, &rev)
	defer func() {
		t.Done = true
		rollback(ctx, ptx) // after Commit a no-op
	}()
	var cur int64
	if err := ptx.QueryRow(ctx, qLockRevision).Scan(&cur); err != nil {
		return s.fail("lock revision", err)
	}
	rev = cur + 1
	if quiet {
		rev = cur
	}
	if commit, err := t.Apply(fn); !commit {
		return err // nothing to commit: the deferred rollback ends the transaction
	}
	// From here on the caller's cancellation is not heeded: a commit cut off in flight may
	// have taken effect, and Update must not then report that nothing was written.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if quiet {
		if err := ptx.Commit(cctx); err != nil {
			return s.fail("commit", err)
		}
		return nil
	}
	b := &pgx.Batch{}
	storesql.LogChanges(t, rev, func(q string, args ...any) error { b.Queue(q, args...); return nil })
	b.Queue(qSetRevision, rev)
	b.Queue(qNotify, channel, strconv.FormatInt(rev, 10))
	if err := ptx.SendBatch(cctx, b).Close(); err != nil {
		return s.fail("update revision", err)
	}
	if err := ptx.Commit(cctx); err != nil {
		return s.fail("commit", err)
	}
	s.observe(cctx, rev, s.pool) // still holding s.sem: this process's commits go out in order
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
	var rev int64 // a read-only transaction writes nothing
	return newTx(ctx, ptx, false, &rev).View(fn, func() { rollback(ctx, ptx) })
}

// Revision implements store.Store.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	return storesql.Revision(&s.closed, func(rev *int64) error {
		return s.pool.QueryRow(ctx, qRevision).Scan(rev)
	})
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

// observe delivers rev, a revision read from the database (committed by this process, or
// read by the listener). One older than a revision delivered before is normally a read
// that a later commit overtook; but it may mean the revision went back — the database
// failed over to a standby that had not received the last commits, or was restored from a
// backup — after which new commits reuse revision numbers watchers take for old, and
// caches built on them would stop following the store. So it reads the revision again,
// under the lock every delivery takes: if that is still older, the revision did go back,
// and watchers get it anyway (iam rebuilds its snapshot whenever the revision differs).
func (s *Store) observe(ctx context.Context, rev int64, q querier) {
	if rev >= s.delivered() {
		s.deliver(rev)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var now int64
	if err := q.QueryRow(ctx, qRevision).Scan(&now); err != nil || now >= s.last {
		if err == nil && now > s.last {
			s.last = now
			s.watch.Notify(now)
		}
		return
	}
	s.log.Error("store: the revision went back: the database lost commits (a failover to a standby that lagged, or a restore); caches follow it from here",
		"delivered", s.last, "now", now)
	s.last = now
	s.watch.Notify(now)
}

// querier is what observe reads the revision with: the pool, or the listener's connection.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
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
	return storesql.Fail(&s.closed, op, err)
}
