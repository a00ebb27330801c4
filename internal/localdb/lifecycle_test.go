package localdb_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/testenv"
)

// lifecycleServer is what both engines' servers have in common.
type lifecycleServer interface {
	Port() int
	Host() string
	Addr() string
	DataDir() string
	SocketDir() string
	LogFile() string
	CAFile() string
	Stop(context.Context) error
	Restart(context.Context) error
	Exec(context.Context, ...string) error
	ExecDB(context.Context, string, ...string) error
}

// lifecycleEngine starts one engine's server in dir on port (0: a free one).
type lifecycleEngine struct {
	name   string
	prefix string // of the server's directory
	find   func() error
	start  func(ctx context.Context, ca *pki.CA, dir string, port int) (lifecycleServer, error)
}

var (
	postgresEngine = lifecycleEngine{"postgres", "iamdb-pg-",
		func() error { _, err := localdb.FindPostgres(); return err },
		func(ctx context.Context, ca *pki.CA, dir string, port int) (lifecycleServer, error) {
			return localdb.StartPostgres(ctx, localdb.PostgresOptions{CA: ca, Dir: dir, Port: port})
		}}
	mariaDBEngine = lifecycleEngine{"mariadb", "iamdb-mariadb-",
		func() error { _, _, err := localdb.FindMariaDB(); return err },
		func(ctx context.Context, ca *pki.CA, dir string, port int) (lifecycleServer, error) {
			return localdb.StartMariaDB(ctx, localdb.MariaDBOptions{CA: ca, Dir: dir, Port: port})
		}}
	lifecycleEngines = []lifecycleEngine{postgresEngine, mariaDBEngine}
)

// searchableDir is a new empty directory the servers' OS users can search.
func searchableDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	// t.TempDir makes two 0700 levels; the server's OS user must get in.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// startEngine starts e's server, or skips the test when e's binaries are missing.
func startEngine(t *testing.T, e lifecycleEngine, dir string, port int) (lifecycleServer, error) {
	t.Helper()
	if err := e.find(); err != nil {
		t.Skip(err)
	}
	s, err := e.start(testenv.Context(t), localdbtest.CA(t), dir, port)
	if errors.Is(err, localdb.ErrNotFound) {
		t.Skip(err)
	}
	return s, err
}

// started skips the test when the server's binaries are missing and fails it when err
// (from StartPostgres or StartMariaDB) is another error.
func started(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, localdb.ErrNotFound) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// checkStartStop starts a server with start (named fn), checks its layout (checkLayout),
// runs check on it, and stops it (checkStop).
func checkStartStop[S lifecycleServer](t *testing.T, fn string, start func() (S, error), reserved int, osUser string, check func(S)) {
	t.Helper()
	begin := time.Now()
	s, err := start()
	started(t, err)
	t.Logf("%s took %v", fn, time.Since(begin))
	stopped := false
	defer func() {
		if !stopped {
			s.Stop(context.Background())
		}
	}()
	checkLayout(t, s, reserved, osUser)
	check(s)
	checkStop(t, s)
	stopped = true
}

// checkLayout checks where s listens and its key: a port other than 0 and reserved, at
// 127.0.0.1; a socket directory of mode 0700; a server.key of mode 0600, owned by osUser
// when running as root.
func checkLayout(t *testing.T, s lifecycleServer, reserved int, osUser string) {
	t.Helper()
	if s.Port() == reserved || s.Port() == 0 {
		t.Errorf("Port() = %d", s.Port())
	}
	if want := "127.0.0.1:" + strconv.Itoa(s.Port()); s.Addr() != want || s.Host() != "127.0.0.1" {
		t.Errorf("Addr() = %q, Host() = %q; want %q", s.Addr(), s.Host(), want)
	}
	if fi, err := os.Stat(s.SocketDir()); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("socket dir mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	key := filepath.Join(filepath.Dir(s.DataDir()), "server.key")
	fi, err := os.Stat(key)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("server.key mode = %v, want 0600", fi.Mode().Perm())
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup(osUser)
		if err != nil {
			t.Fatal(err)
		}
		if uid := strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)); uid != u.Uid {
			t.Errorf("server.key owner = %s, want %s (%s)", uid, osUser, u.Uid)
		}
	}
}

// checkStop stops s and checks that its directory is gone, that a second Stop does
// nothing, that Restart is refused and that its port no longer accepts connections.
func checkStop(t *testing.T, s lifecycleServer) {
	t.Helper()
	dir := filepath.Dir(s.DataDir())
	start := time.Now()
	if err := s.Stop(testenv.Context(t)); err != nil {
		t.Fatalf("Stop = %v", err)
	}
	t.Logf("Stop took %v", time.Since(start))
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Stop, %s: %v; want removed", dir, err)
	}
	if err := s.Stop(testenv.Context(t)); err != nil {
		t.Errorf("second Stop = %v, want nil", err)
	}
	if err := s.Restart(testenv.Context(t)); err == nil {
		t.Errorf("Restart after Stop = nil error, want error")
	}
	if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		c.Close()
		t.Errorf("port %d still accepts connections after Stop", s.Port())
	}
}

// checkRestart restarts s and checks that it listens where it did before.
func checkRestart(t *testing.T, s lifecycleServer) {
	t.Helper()
	port, addr := s.Port(), s.Addr()
	start := time.Now()
	if err := s.Restart(testenv.Context(t)); err != nil {
		t.Fatalf("Restart = %v", err)
	}
	t.Logf("Restart took %v", time.Since(start))
	if s.Port() != port || s.Addr() != addr {
		t.Errorf("after Restart Addr() = %q, want %q", s.Addr(), addr)
	}
}

// checkKeep checks that Stop leaves the data directory of s, started with Keep, in place
// with file in it. err is from starting s.
func checkKeep(t *testing.T, s lifecycleServer, err error, file string) {
	t.Helper()
	started(t, err)
	defer os.RemoveAll(filepath.Dir(s.DataDir()))
	if err := s.Stop(testenv.Context(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.DataDir(), file)); err != nil {
		t.Errorf("Keep: data dir after Stop: %v", err)
	}
}

// startError is options that StartPostgres or StartMariaDB refuses, and a part of the error.
type startError[O any] struct {
	name string
	opt  O
	want string
}

// checkStartErrors checks that start (named fn) refuses each case's options.
func checkStartErrors[O any, S any](t *testing.T, fn string, start func(context.Context, O) (S, error), cases []startError[O]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := start(testenv.Context(t), tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s = %v, want error containing %q", fn, err, tc.want)
			}
		})
	}
}

// One lifecycle for both engines: a locked directory of its own holding the data, the
// log and the CA; a Restart on the same port that keeps the data; a Stop that removes
// everything and is idempotent; no Restart after Stop.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	for _, e := range lifecycleEngines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			parent := searchableDir(t)
			s, err := startEngine(t, e, parent, 0)
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			defer s.Stop(context.Background())
			base := filepath.Dir(s.DataDir())
			if filepath.Dir(base) != parent || !strings.HasPrefix(filepath.Base(base), e.prefix) {
				t.Errorf("server directory %s, want %s/%s*", base, parent, e.prefix)
			}
			for _, f := range []string{filepath.Join(base, "owner.lock"), s.LogFile(), s.CAFile(), s.SocketDir()} {
				if _, err := os.Stat(f); err != nil {
					t.Errorf("after start: %v", err)
				}
			}
			if removed, err := localdb.RemoveLeftovers(parent); len(removed) != 0 || err != nil {
				t.Errorf("RemoveLeftovers(a live server's parent) = %q, %v; want nothing removed", removed, err)
			}
			if err := s.Exec(testenv.Context(t), "CREATE DATABASE kept"); err != nil {
				t.Fatal(err)
			}
			checkRestart(t, s)
			if err := s.ExecDB(testenv.Context(t), "kept", "SELECT 1"); err != nil {
				t.Errorf("the database created before Restart: %v", err)
			}
			if err := s.Stop(testenv.Context(t)); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if left, _ := os.ReadDir(parent); len(left) != 0 {
				t.Errorf("left behind after Stop: %v", left)
			}
			if err := s.Stop(testenv.Context(t)); err != nil {
				t.Errorf("second Stop = %v, want nil", err)
			}
			if err := s.Restart(testenv.Context(t)); err == nil {
				t.Errorf("Restart after Stop succeeded")
			}
		})
	}
}

// A server that cannot start (its port is taken) fails fast, leaves nothing behind, and
// the error carries the server log.
func TestLifecycleStartFails(t *testing.T) {
	t.Parallel()
	for _, e := range lifecycleEngines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			parent := searchableDir(t)
			s, err := startEngine(t, e, parent, l.Addr().(*net.TCPAddr).Port)
			if err == nil {
				s.Stop(context.Background())
				t.Fatal("start on a taken port succeeded")
			}
			if !strings.Contains(err.Error(), "server log") || !strings.Contains(err.Error(), "Address already in use") {
				t.Errorf("start on a taken port = %v, want the server log with \"Address already in use\"", err)
			}
			if left, _ := os.ReadDir(parent); len(left) != 0 {
				t.Errorf("left behind in %s: %v", parent, left)
			}
		})
	}
}

// As root, a parent the server's OS user cannot enter is reported clearly.
func TestLifecycleUnsearchableDir(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, e := range lifecycleEngines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			s, err := startEngine(t, e, t.TempDir(), 0) // 0700 root
			if err == nil {
				s.Stop(context.Background())
			}
			if err == nil || !strings.Contains(err.Error(), "not searchable") {
				t.Fatalf("start in a 0700 root dir = %v, want not searchable", err)
			}
		})
	}
}

// Both engines refuse the same bad options before touching the disk.
func TestLifecycleOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  func() error
		want string
	}{
		{"postgres without CA", func() error {
			_, err := localdb.StartPostgres(testenv.Context(t), localdb.PostgresOptions{})
			return err
		}, "PostgresOptions.CA is nil"},
		{"mariadb without CA", func() error { _, err := localdb.StartMariaDB(testenv.Context(t), localdb.MariaDBOptions{}); return err }, "MariaDBOptions.CA is nil"},
		{"postgres on 5432", func() error {
			_, err := localdb.StartPostgres(testenv.Context(t), localdb.PostgresOptions{CA: localdbtest.CA(t), Port: 5432})
			return err
		}, "port 5432 belongs to the machine's instance"},
		{"mariadb on 3306", func() error {
			_, err := localdb.StartMariaDB(testenv.Context(t), localdb.MariaDBOptions{CA: localdbtest.CA(t), Port: 3306})
			return err
		}, "port 3306 belongs to the machine's instance"},
		{"postgres bad port", func() error {
			_, err := localdb.StartPostgres(testenv.Context(t), localdb.PostgresOptions{CA: localdbtest.CA(t), Port: -1})
			return err
		}, "bad port -1"},
		{"mariadb bad port", func() error {
			_, err := localdb.StartMariaDB(testenv.Context(t), localdb.MariaDBOptions{CA: localdbtest.CA(t), Port: 65536})
			return err
		}, "bad port 65536"},
	} {
		if err := tc.err(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
