//go:build linux

package localdb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/pki"
)

// A directory whose owner is gone but whose server still runs (no parent-death signal on
// the platform, or one slow to act): RemoveLeftovers stops the server first, then removes
// the directory. The owner's death is played by closing its lock.
func TestRemoveLeftoversStopsOrphan(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	parent, err := os.MkdirTemp("", "iamdb-leftover-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(parent)
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	ca, err := pki.NewCA("leftover test CA", time.Hour, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	type orphan struct {
		name    string
		srv     *server
		pidFile string
		stop    func(context.Context) error
	}
	var orphans []orphan
	p, err := StartPostgres(ctx, PostgresOptions{CA: ca, Dir: parent})
	if errors.Is(err, ErrNotFound) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	orphans = append(orphans, orphan{"postgres", &p.server, filepath.Join(p.DataDir(), "postmaster.pid"), p.Stop})
	m, err := StartMariaDB(ctx, MariaDBOptions{CA: ca, Dir: parent})
	switch {
	case errors.Is(err, ErrNotFound):
		t.Log(err)
	case err != nil:
		t.Fatal(err)
	default:
		orphans = append(orphans, orphan{"mariadbd", &m.server, m.PIDFile(), m.Stop})
	}
	var pids []int
	for _, o := range orphans {
		defer o.stop(context.Background())
		b, err := os.ReadFile(o.pidFile)
		if err != nil {
			t.Fatal(err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		pid, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
		o.srv.release() // the owner "dies"; the server runs on
	}
	removed, err := RemoveLeftovers(parent)
	if err != nil || len(removed) != len(orphans) {
		t.Fatalf("RemoveLeftovers = %q, %v; want the %d orphans' directories", removed, err, len(orphans))
	}
	for i, o := range orphans {
		// A killed server this process started stays a zombie until its Wait reaps it:
		// that is exited, as RemoveLeftovers itself counts it.
		if processAlive(pids[i]) {
			t.Errorf("%s (pid %d) still runs after RemoveLeftovers", o.name, pids[i])
		}
		if _, err := os.Stat(o.srv.baseDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s's directory after RemoveLeftovers: %v, want it gone", o.name, err)
		}
	}
}
