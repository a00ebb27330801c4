package postgres

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/internal/store/storesql"
	"github.com/iamdb/iamdb/internal/store/storetest"
)

// One throwaway cluster serves every test of this binary; each test gets its own database.
var (
	clusterOnce sync.Once
	cluster     *localdb.Postgres
	clusterErr  error
	dbSeq       atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := cluster.Stop(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "stop PostgreSQL: %v\n", err)
		}
		cancel()
	}
	os.Exit(code)
}

// pg returns the shared cluster, starting it on first use. It skips the test when the
// PostgreSQL binaries are missing (fails with IAMDB_REQUIRE_TOOLS=1, as localdbtest does).
func pg(t testing.TB) *localdb.Postgres {
	t.Helper()
	clusterOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		ca, err := pki.NewCA("iamdb store test CA", 24*time.Hour, nil, time.Now())
		if err != nil {
			clusterErr = err
			return
		}
		// localdb turns synchronous_commit off for speed; Open refuses that. fsync stays
		// off for tests (durability of the throwaway cluster's disk is not under test) but
		// is on for benchmarks, which compare commits with SQLite's fsync'ed ones.
		settings := map[string]string{"synchronous_commit": "on"}
		if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
			settings["fsync"], settings["full_page_writes"] = "on", "on"
		}
		cluster, clusterErr = localdb.StartPostgres(ctx, localdb.PostgresOptions{CA: ca, Settings: settings})
	})
	if errors.Is(clusterErr, localdb.ErrNotFound) {
		if os.Getenv("IAMDB_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%v (IAMDB_REQUIRE_TOOLS=1)", clusterErr)
		}
		t.Skipf("%v", clusterErr)
	}
	if clusterErr != nil {
		t.Fatalf("start PostgreSQL: %v", clusterErr)
	}
	return cluster
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newDB creates an empty database and returns its name. Its default collation is ICU's
// en-US, under which "a" < "B" < "b" and punctuation is ignored at first: the schema's
// COLLATE "C" must give byte order regardless.
func newDB(t testing.TB) string {
	t.Helper()
	p := pg(t)
	name := "store_" + strconv.FormatInt(dbSeq.Add(1), 10)
	if err := p.Exec(ctxT(t), `CREATE DATABASE `+name+` TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`); err != nil {
		t.Fatalf("create database: %v", err)
	}
	return name
}

func openDB(t testing.TB, db string, opts ...Option) *Store {
	t.Helper()
	return openURL(t, pg(t).AdminURL(db), opts...)
}

func openURL(t testing.TB, connString string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(ctxT(t), connString, opts...)
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// withParams returns connString with extra URL query parameters.
func withParams(t testing.TB, connString string, params url.Values) string {
	t.Helper()
	u, err := url.Parse(connString)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// adminConn connects to db as the superuser, outside any store.
func adminConn(t testing.TB, db string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(ctxT(t), pg(t).AdminURL(db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func TestCompliance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openDB(t, newDB(t))
	})
}

func put(t testing.TB, s store.Store, kind, key, value string) {
	t.Helper()
	if err := s.Update(ctxT(t), func(tx store.Tx) error { return tx.Put(kind, key, []byte(value)) }); err != nil {
		t.Fatalf("Update(Put) = %v", err)
	}
}

func recvWithin(t testing.TB, ch <-chan int64, d time.Duration) (int64, bool) {
	t.Helper()
	select {
	case v, ok := <-ch:
		return v, ok
	case <-time.After(d):
		t.Fatalf("Watch: nothing within %v", d)
		return 0, false
	}
}

// recvUntil reads ch until it receives want, failing on a decrease, a value past want or
// a timeout.
func recvUntil(t testing.TB, ch <-chan int64, want int64) {
	t.Helper()
	prev := int64(-1)
	for prev != want {
		v, ok := recvWithin(t, ch, 10*time.Second)
		if !ok {
			t.Fatalf("Watch closed while waiting for %d", want)
		}
		if v <= prev || v > want {
			t.Fatalf("Watch received %d after %d, want increasing up to %d", v, prev, want)
		}
		prev = v
	}
}

// A commit through one Store reaches another Store's watchers and Views.
func TestSharedWatch(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	a, b := openDB(t, db), openDB(t, db)
	ch := b.Watch(t.Context())
	put(t, a, "user", "1/alice", "v1")
	rev, err := a.Revision(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := recvWithin(t, ch, 10*time.Second); !ok || v != rev {
		t.Fatalf("B's Watch received %d, %v; want A's revision %d", v, ok, rev)
	}
	err = b.View(ctxT(t), func(tx store.Tx) error {
		it, err := tx.Get("user", "1/alice")
		if err == nil && (string(it.Value) != "v1" || it.Rev != rev) {
			t.Errorf("B: Get() = %q rev %d, want v1 rev %d", it.Value, it.Rev, rev)
		}
		return err
	})
	if err != nil {
		t.Fatalf("B: View() = %v", err)
	}
	// And the other way round, with A's own watcher seeing B's commit.
	chA := a.Watch(t.Context())
	put(t, b, "user", "1/bob", "v1")
	if v, ok := recvWithin(t, chA, 10*time.Second); !ok || v != rev+1 {
		t.Fatalf("A's Watch received %d, %v; want %d", v, ok, rev+1)
	}
}

// Read-modify-write increments through two Stores (two pools, two processes' worth of
// connections) interleave without losing any, and revisions are handed out once each.
func TestSharedIncrements(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	stores := []*Store{openDB(t, db), openDB(t, db)}
	put(t, stores[0], "counter", "n", "0")
	r0, err := stores[0].Revision(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 4, 25 // per store: 100 increments each, 200 in all
	const total = 2 * goroutines * each

	// Watchers on both stores check that what they see only increases.
	var watchers sync.WaitGroup
	for _, s := range stores {
		ch := s.Watch(t.Context())
		watchers.Go(func() { recvUntil(t, ch, r0+total) })
	}

	var mu sync.Mutex
	var revs []int64
	var writers sync.WaitGroup
	for _, s := range stores {
		for range goroutines {
			writers.Go(func() {
				for range each {
					var rev int64
					err := s.Update(t.Context(), func(tx store.Tx) error {
						if _, err := storetest.Increment(tx, "counter", "n"); err != nil {
							return err
						}
						it, err := tx.Get("counter", "n")
						rev = it.Rev
						return err
					})
					if err != nil {
						t.Errorf("Update() = %v", err)
						return
					}
					mu.Lock()
					revs = append(revs, rev)
					mu.Unlock()
				}
			})
		}
	}
	writers.Wait()
	watchers.Wait()
	err = stores[1].View(ctxT(t), func(tx store.Tx) error {
		it, err := tx.Get("counter", "n")
		if err == nil && string(it.Value) != strconv.Itoa(total) {
			t.Errorf("counter = %s, want %d", it.Value, total)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(revs)
	for i, r := range revs {
		if r != r0+1+int64(i) {
			t.Fatalf("committed revisions (sorted) = %v…, want each of %d..%d once", revs[max(0, i-2):i+1], r0+1, r0+total)
		}
	}
	if len(revs) != total {
		t.Errorf("%d Updates committed, want %d", len(revs), total)
	}
	for i, s := range stores {
		if r, err := s.Revision(ctxT(t)); err != nil || r != r0+total {
			t.Errorf("store %d: Revision() = %d, %v; want %d", i, r, err, r0+total)
		}
	}
}

// The listener survives the loss of its connection: a commit made while it was down is
// delivered once it is back, and later commits keep arriving.
func TestListenerReconnect(t *testing.T) {
	t.Parallel()
	p := pg(t)
	db := newDB(t)
	a, b := openDB(t, db), openDB(t, db)
	ch := b.Watch(t.Context())
	put(t, a, "k", "1", "v") // also leaves an idle connection in A's pool
	r1, _ := a.Revision(ctxT(t))
	recvUntil(t, ch, r1)

	pid := b.listenPID.Load()
	if pid == 0 {
		t.Fatal("B has no listening connection")
	}
	// Keep B out while A commits: new connections to db are refused (superusers too),
	// while A's idle pooled connection still works.
	if err := p.Exec(ctxT(t),
		`ALTER DATABASE `+db+` ALLOW_CONNECTIONS false`,
		fmt.Sprintf(`SELECT pg_terminate_backend(%d, 10000)`, pid), // waits for the exit
	); err != nil {
		t.Fatal(err)
	}
	put(t, a, "k", "2", "v")
	r2, _ := a.Revision(ctxT(t))
	select {
	case v := <-ch:
		t.Fatalf("B's Watch received %d while B was not listening", v)
	default:
	}
	if err := p.Exec(ctxT(t), `ALTER DATABASE `+db+` ALLOW_CONNECTIONS true`); err != nil {
		t.Fatal(err)
	}
	recvUntil(t, ch, r2) // read by the reconnected listener: the notification was lost

	if got := b.listenPID.Load(); got == 0 || got == pid {
		t.Errorf("listener PID after reconnect = %d, want a new one (old %d)", got, pid)
	}
	put(t, a, "k", "3", "v")
	recvUntil(t, ch, r2+1)
}

// Payloads on the channel are hints: a forged revision is not delivered and does not hide
// later real ones; junk makes the listener read the revision, which has not changed.
func TestForgedNotification(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	s := openDB(t, db)
	ch := s.Watch(t.Context())
	c := adminConn(t, db)
	for _, payload := range []string{"999999", "junk", "", "-1", strings.Repeat("9", 40)} {
		if _, err := c.Exec(ctxT(t), `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
			t.Fatal(err)
		}
	}
	put(t, s, "k", "a", "1")
	r, _ := s.Revision(ctxT(t))
	if v, ok := recvWithin(t, ch, 10*time.Second); !ok || v != r {
		t.Fatalf("Watch received %d, %v; want %d (a forged payload must not be delivered)", v, ok, r)
	}
	// A later commit by another store, whose real revision is below the forged one.
	other := openDB(t, db)
	put(t, other, "k", "b", "1")
	recvUntil(t, ch, r+1)
}

func TestReopen(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	storetest.Reopen(t, openDB(t, db), func() *Store { return openDB(t, db) })
	var version int
	if err := adminConn(t, db).QueryRow(ctxT(t), `SELECT value FROM iamdb_meta WHERE name = 'schema_version'`).Scan(&version); err != nil || version != len(migrations) {
		t.Errorf("schema_version = %d, %v; want %d", version, err, len(migrations))
	}
}

// Openers racing on an empty database serialise on the advisory lock: all succeed and the
// schema is created once.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	url := pg(t).AdminURL(db)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := Open(ctxT(t), url)
			if err == nil {
				err = s.Update(ctxT(t), func(tx store.Tx) error { return tx.Put("k", strconv.Itoa(i), nil) })
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("opener %d: %v", i, err)
		}
	}
	s := openDB(t, db)
	if rev, err := s.Revision(ctxT(t)); err != nil || rev != n {
		t.Errorf("Revision() = %d, %v; want %d", rev, err, n)
	}
}

func TestSchemaTooNew(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	openDB(t, db).Close()
	if _, err := adminConn(t, db).Exec(ctxT(t), `UPDATE iamdb_meta SET value = value + 1 WHERE name = 'schema_version'`); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(ctxT(t), pg(t).AdminURL(db)); !errors.Is(err, store.ErrSchemaTooNew) {
		if err == nil {
			s.Close()
		}
		t.Errorf("Open(newer schema) = %v, want ErrSchemaTooNew", err)
	}
}

// Steps apply in order, each atomically with its version; a failing step leaves the
// database at the previous version, and a later run resumes there.
func TestMigrate(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	openDB(t, db).Close()
	c := adminConn(t, db)
	ctx := ctxT(t)
	storetest.CheckMigrate(t, storetest.Migration{
		Steps:   migrations,
		Migrate: func(steps [][]string) error { return migrate(ctx, c, steps) },
		Int: func(query string) (n int, err error) {
			err = c.QueryRow(ctx, query).Scan(&n)
			return n, err
		},
		VersionQuery: `SELECT value FROM iamdb_meta WHERE name = 'schema_version'`,
		Exists: func(table string) (ok bool, err error) {
			err = c.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&ok)
			return ok, err
		},
	})
}

// The tables live in the session's current schema, so two stores in two schemas of one
// database are independent, and nothing else in the database is touched.
func TestSchemas(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	c := adminConn(t, db)
	if _, err := c.Exec(ctxT(t), `CREATE SCHEMA tenant1; CREATE SCHEMA tenant2; CREATE TABLE public.unrelated (a int)`); err != nil {
		t.Fatal(err)
	}
	base := pg(t).AdminURL(db)
	s1 := openURL(t, withParams(t, base, url.Values{"search_path": {"tenant1"}}))
	s2 := openURL(t, withParams(t, base, url.Values{"search_path": {"tenant2"}}))
	ch2 := s2.Watch(t.Context())
	put(t, s1, "k", "a", "1")
	put(t, s1, "k", "b", "1")
	put(t, s2, "k", "a", "2")
	if v, _ := recvWithin(t, ch2, 10*time.Second); v != 1 {
		t.Errorf("tenant2's Watch received %d, want its own revision 1", v)
	}
	for name, tc := range map[string]struct {
		s    *Store
		want int64
	}{"tenant1": {s1, 2}, "tenant2": {s2, 1}} {
		if r, err := tc.s.Revision(ctxT(t)); err != nil || r != tc.want {
			t.Errorf("%s: Revision() = %d, %v; want %d", name, r, err, tc.want)
		}
	}
	var tables []string
	rows, err := c.Query(ctxT(t), `SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname IN ('public', 'tenant1', 'tenant2') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"public.unrelated", "tenant1.iamdb_changes", "tenant1.iamdb_items", "tenant1.iamdb_meta",
		"tenant2.iamdb_changes", "tenant2.iamdb_items", "tenant2.iamdb_meta"}
	if !slices.Equal(tables, want) {
		t.Errorf("tables = %q, want %q", tables, want)
	}
}

// Open refuses a session whose commits would not wait for the log flush, however it got
// that setting.
func TestSynchronousCommitOff(t *testing.T) {
	t.Parallel()
	p := pg(t)
	db := newDB(t)
	viaURL := withParams(t, p.AdminURL(db), url.Values{"options": {"-c synchronous_commit=off"}})
	if s, err := Open(ctxT(t), viaURL); err == nil || !strings.Contains(err.Error(), "synchronous_commit") {
		if err == nil {
			s.Close()
		}
		t.Errorf("Open(options=-c synchronous_commit=off) = %v, want a refusal naming synchronous_commit", err)
	}
	if err := p.Exec(ctxT(t), `ALTER DATABASE `+db+` SET synchronous_commit = off`); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(ctxT(t), p.AdminURL(db)); err == nil || !strings.Contains(err.Error(), "synchronous_commit") {
		if err == nil {
			s.Close()
		}
		t.Errorf("Open(database with synchronous_commit=off) = %v, want a refusal", err)
	}
	// local still waits for the local flush: accepted.
	if err := p.Exec(ctxT(t), `ALTER DATABASE `+db+` SET synchronous_commit = local`); err != nil {
		t.Fatal(err)
	}
	openDB(t, db)
}

// No error from Open quotes the password of the connection string.
func TestPasswordNotInErrors(t *testing.T) {
	t.Parallel()
	const secret = "Sup3rS3cretPw"
	p := pg(t)
	wrong, err := url.Parse(p.AdminURL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	wrong.User = url.UserPassword(p.AdminUser, secret)
	// Every string names the throwaway cluster (or no valid address), never a default host:
	// one that parsed would otherwise reach the machine's own server.
	addr := p.Addr()
	port := strconv.Itoa(p.Port())
	for name, cs := range map[string]string{
		"URL, bad port":        "postgres://u:" + secret + "@127.0.0.1:notaport/db",
		"URL, malformed":       "postgres://u:" + secret + "@[::1/db",
		"URL, @ in password":   "postgres://u:" + secret + "@x@127.0.0.1:99999/db",
		"URL, bad sslmode":     "postgres://u:" + secret + "@" + addr + "/db?sslmode=bogus",
		"keywords, bad port":   "host=127.0.0.1 port=abc password=" + secret,
		"keywords, quoted":     "host=127.0.0.1 port=" + port + " password='" + secret,
		"keywords, bad option": "host=127.0.0.1 port=" + port + " password=" + secret + " sslmode=bogus",
		"wrong password":       wrong.String(),
	} {
		s, err := Open(ctxT(t), cs)
		if err == nil {
			s.Close()
			t.Errorf("%s: Open() = nil error", name)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: Open() error quotes the password: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

// Close waits for a running Update, which commits; then every method reports ErrClosed,
// watchers are closed and the listener has stopped.
func TestCloseWaitsForUpdate(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	s := openDB(t, db)
	ch := s.Watch(t.Context())
	inside, release := make(chan struct{}), make(chan struct{})
	updated := make(chan error, 1)
	go func() {
		updated <- s.Update(t.Context(), func(tx store.Tx) error {
			close(inside)
			<-release
			return tx.Put("k", "a", []byte("1"))
		})
	}()
	<-inside
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while an Update was running")
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-updated; err != nil {
		t.Errorf("the running Update = %v, want nil", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close() = %v", err)
	}
	for {
		if _, ok := recvWithin(t, ch, 10*time.Second); !ok {
			break
		}
	}
	select {
	case <-s.listenDone:
	default:
		t.Error("the listener still runs after Close")
	}
	if err := s.Update(t.Context(), func(tx store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Update() after Close = %v, want ErrClosed", err)
	}
	other := openDB(t, db)
	err := other.View(ctxT(t), func(tx store.Tx) error {
		_, err := tx.Get("k", "a")
		return err
	})
	if err != nil {
		t.Errorf("the Update that Close waited for was not committed: %v", err)
	}
}

// Each session runs as the store expects: Updates READ COMMITTED read-write, Views
// REPEATABLE READ read-only.
func TestTransactionModes(t *testing.T) {
	t.Parallel()
	s := openDB(t, newDB(t))
	show := func(stx store.Tx) (string, string) {
		pt := stx.(*storesql.Tx).Conn.(conn).tx
		var iso, ro string
		if err := pt.QueryRow(ctxT(t), `SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')`).Scan(&iso, &ro); err != nil {
			t.Fatal(err)
		}
		return iso, ro
	}
	_ = s.Update(ctxT(t), func(tx store.Tx) error {
		if iso, ro := show(tx); iso != "read committed" || ro != "off" {
			t.Errorf("Update: isolation %q, read only %q; want read committed, off", iso, ro)
		}
		return nil
	})
	_ = s.View(ctxT(t), func(tx store.Tx) error {
		if iso, ro := show(tx); iso != "repeatable read" || ro != "on" {
			t.Errorf("View: isolation %q, read only %q; want repeatable read, on", iso, ro)
		}
		return nil
	})
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	if _, err := Open(ctxT(t), pg(t).AdminURL("postgres"), WithMaxConns(-1)); err == nil {
		t.Errorf("Open(WithMaxConns(-1)) = nil error")
	}
	db := newDB(t)
	c := adminConn(t, db)
	if _, err := c.Exec(ctxT(t), `CREATE TABLE iamdb_meta (name text)`); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(ctxT(t), pg(t).AdminURL(db)); err == nil {
		s.Close()
		t.Errorf("Open(foreign iamdb_meta table) = nil error")
	}
}

// withPoll shortens the listener's heartbeat.
func withPoll(d time.Duration) Option { return func(o *options) { o.poll = d } }

// Without any notification, the listener's heartbeat finds a revision that advanced (here
// by a write that bypassed pg_notify), and the timed-out wait leaves its TLS connection
// usable.
func TestHeartbeat(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	s := openDB(t, db, withPoll(100*time.Millisecond))
	ch := s.Watch(t.Context())
	pid := s.listenPID.Load()
	c := adminConn(t, db)
	for want := int64(1); want <= 3; want++ {
		time.Sleep(300 * time.Millisecond) // let a few heartbeats time out first
		if _, err := c.Exec(ctxT(t), `UPDATE iamdb_meta SET value = value + 1 WHERE name = 'revision'`); err != nil {
			t.Fatal(err)
		}
		if v, ok := recvWithin(t, ch, 10*time.Second); !ok || v != want {
			t.Fatalf("Watch received %d, %v; want %d", v, ok, want)
		}
	}
	if got := s.listenPID.Load(); got != pid {
		t.Errorf("listener PID %d, then %d: the heartbeat broke the connection", pid, got)
	}
}

// A flood of forged notifications in one transaction folds into a few reads of the
// revision: a real commit after it still arrives promptly.
func TestNotificationFlood(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	s := openDB(t, db)
	ch := s.Watch(t.Context())
	c := adminConn(t, db)
	if _, err := c.Exec(ctxT(t), `SELECT pg_notify($1, 'junk-' || i) FROM generate_series(1, 20000) AS i`, channel); err != nil {
		t.Fatal(err)
	}
	other := openDB(t, db)
	put(t, other, "k", "a", "1")
	recvUntil(t, ch, 1)
}

// The revision goes back (the database failed over to a standby that lacked the last
// commits, or was restored): the next commit, which reuses an old revision number, still
// reaches every watcher, its own process's and another's.
func TestRevisionGoesBack(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	a, b := openDB(t, db), openDB(t, db)
	wa, wb := a.Watch(t.Context()), b.Watch(t.Context())
	for _, v := range []string{"1", "2", "3"} {
		put(t, a, "k", "x", v)
	}
	recvUntil(t, wa, 3)
	recvUntil(t, wb, 3)
	if _, err := adminConn(t, db).Exec(ctxT(t), `UPDATE iamdb_meta SET value = 1 WHERE name = 'revision'`); err != nil {
		t.Fatal(err)
	}
	put(t, a, "k", "y", "1") // commits as revision 2
	for name, w := range map[string]<-chan int64{"own": wa, "other": wb} {
		if v, ok := recvWithin(t, w, 10*time.Second); !ok || v != 2 {
			t.Errorf("%s watcher after the revision went back: %d, %v; want 2", name, v, ok)
		}
	}
	put(t, b, "k", "z", "1") // and later commits follow from there
	recvUntil(t, wa, 3)
}

// Pool sessions end a transaction left idle for a minute (a frozen replica holding the
// revision row's lock), unless the connection string says otherwise.
func TestSessionDefaults(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	show := func(s *Store) string {
		var v string
		if err := s.pool.QueryRow(ctxT(t), `SHOW idle_in_transaction_session_timeout`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := show(openDB(t, db)); got != "1min" {
		t.Errorf("idle_in_transaction_session_timeout = %q, want 1min", got)
	}
	s := openURL(t, withParams(t, pg(t).AdminURL(db), url.Values{"idle_in_transaction_session_timeout": {"5s"}}))
	if got := show(s); got != "5s" {
		t.Errorf("idle_in_transaction_session_timeout set in the URL = %q, want 5s", got)
	}
}
