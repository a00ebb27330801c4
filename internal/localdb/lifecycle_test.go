package localdb_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/pki"
)

// lifecycleServer is what both engines' servers have in common.
type lifecycleServer interface {
	Port() int
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
	start  func(ctx context.Context, ca *pki.CA, dir string, port int) (lifecycleServer, error)
}

var lifecycleEngines = []lifecycleEngine{
	{"postgres", "iamdb-pg-", func(ctx context.Context, ca *pki.CA, dir string, port int) (lifecycleServer, error) {
		if _, err := localdb.FindPostgres(); err != nil {
			return nil, err
		}
		return localdb.StartPostgres(ctx, localdb.PostgresOptions{CA: ca, Dir: dir, Port: port})
	}},
	{"mariadb", "iamdb-mariadb-", func(ctx context.Context, ca *pki.CA, dir string, port int) (lifecycleServer, error) {
		if _, _, err := localdb.FindMariaDB(); err != nil {
			return nil, err
		}
		return localdb.StartMariaDB(ctx, localdb.MariaDBOptions{CA: ca, Dir: dir, Port: port})
	}},
}

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

func startEngine(t *testing.T, e lifecycleEngine, dir string, port int) (lifecycleServer, error) {
	t.Helper()
	s, err := e.start(ctx(t), newCA(t), dir, port)
	if errors.Is(err, localdb.ErrNotFound) {
		t.Skip(err)
	}
	return s, err
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
			if err := s.Exec(ctx(t), "CREATE DATABASE kept"); err != nil {
				t.Fatal(err)
			}
			port := s.Port()
			if err := s.Restart(ctx(t)); err != nil {
				t.Fatalf("Restart: %v", err)
			}
			if s.Port() != port {
				t.Errorf("Port after Restart = %d, want %d", s.Port(), port)
			}
			if err := s.ExecDB(ctx(t), "kept", "SELECT 1"); err != nil {
				t.Errorf("the database created before Restart: %v", err)
			}
			if err := s.Stop(ctx(t)); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if left, _ := os.ReadDir(parent); len(left) != 0 {
				t.Errorf("left behind after Stop: %v", left)
			}
			if err := s.Stop(ctx(t)); err != nil {
				t.Errorf("second Stop = %v, want nil", err)
			}
			if err := s.Restart(ctx(t)); err == nil {
				t.Errorf("Restart after Stop succeeded")
			}
		})
	}
}

// A server that cannot start (its port is taken) leaves nothing behind, and the error
// carries the server log.
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
			if !strings.Contains(err.Error(), "server log") {
				t.Errorf("start on a taken port = %v, want the server log", err)
			}
			if left, _ := os.ReadDir(parent); len(left) != 0 {
				t.Errorf("left behind in %s: %v", parent, left)
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
		{"postgres without CA", func() error { _, err := localdb.StartPostgres(ctx(t), localdb.PostgresOptions{}); return err }, "PostgresOptions.CA is nil"},
		{"mariadb without CA", func() error { _, err := localdb.StartMariaDB(ctx(t), localdb.MariaDBOptions{}); return err }, "MariaDBOptions.CA is nil"},
		{"postgres on 5432", func() error {
			_, err := localdb.StartPostgres(ctx(t), localdb.PostgresOptions{CA: newCA(t), Port: 5432})
			return err
		}, "port 5432 belongs to the machine's instance"},
		{"mariadb on 3306", func() error {
			_, err := localdb.StartMariaDB(ctx(t), localdb.MariaDBOptions{CA: newCA(t), Port: 3306})
			return err
		}, "port 3306 belongs to the machine's instance"},
		{"postgres bad port", func() error {
			_, err := localdb.StartPostgres(ctx(t), localdb.PostgresOptions{CA: newCA(t), Port: -1})
			return err
		}, "bad port -1"},
		{"mariadb bad port", func() error {
			_, err := localdb.StartMariaDB(ctx(t), localdb.MariaDBOptions{CA: newCA(t), Port: 65536})
			return err
		}, "bad port 65536"},
	} {
		if err := tc.err(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
