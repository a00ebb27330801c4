//go:build linux

package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/localdb"
)

// startDevChild runs "iamdb dev --dir dir" as a child process with TMPDIR=tmp, so that it
// can be killed with SIGKILL, and waits for "ready".
func startDevChild(t *testing.T, dir, tmp string) *child {
	t.Helper()
	c, _ := startChild(t, append(os.Environ(), "TMPDIR="+tmp), func(l string) bool { return l == "ready" }, "dev", "--dir", dir)
	return c
}

// serverDirs lists the throwaway servers' directories in tmp.
func serverDirs(t *testing.T, tmp string) []string {
	t.Helper()
	var dirs []string
	for _, pat := range []string{"iamdb-pg-*", "iamdb-mariadb-*"} {
		m, err := filepath.Glob(filepath.Join(tmp, pat))
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, m...)
	}
	slices.Sort(dirs)
	return dirs
}

// "iamdb dev" killed with SIGKILL leaves its servers' directories (with their keys) in the
// temp dir; the next run removes them as it starts, and logs it; a run that is still
// going keeps its own (issue 15, finding 11).
func TestDevKilledLeftovers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts iamdb dev three times")
	}
	if _, err := localdb.FindPostgres(); err != nil {
		needTool(t, false, "the PostgreSQL server binaries", "apt-get install -y postgresql")
	}
	tmp, err := os.MkdirTemp("", "iamdb-devkill-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o755); err != nil { // the servers' OS users search it
		t.Fatal(err)
	}
	dir := t.TempDir()

	first := startDevChild(t, dir, tmp)
	killed := serverDirs(t, tmp)
	if len(killed) == 0 {
		t.Fatalf("iamdb dev made no server directory in its TMPDIR %s", tmp)
	}
	first.cmd.Process.Kill() // kill -9
	first.wait()
	for _, d := range killed {
		if _, err := os.Stat(filepath.Join(d, "server.key")); err != nil {
			t.Fatalf("after kill -9: %s/server.key: %v (nothing left to clean up?)", d, err)
		}
	}

	// A second run, going while a third starts: the third removes the killed run's
	// directories, not the second's.
	second := startDevChild(t, filepath.Join(dir, "second"), tmp)
	defer second.stop(t, os.Interrupt)
	secondDirs := slices.DeleteFunc(serverDirs(t, tmp), func(d string) bool { return slices.Contains(killed, d) })
	third := startDevChild(t, filepath.Join(dir, "third"), tmp)
	if err := third.stop(t, os.Interrupt); err != nil {
		t.Errorf("the third iamdb dev: %v\n%s", err, third.logs.String())
	}
	removedBy := func(c *child) []string {
		var out []string
		for _, l := range strings.Split(c.logs.String(), "\n") {
			if strings.Contains(l, `msg="removed the leftovers of a run that did not stop"`) {
				_, d, _ := strings.Cut(l, "dir=")
				out = append(out, strings.Trim(strings.Fields(d)[0], `"`))
			}
		}
		slices.Sort(out)
		return out
	}
	if got := slices.Concat(removedBy(second), removedBy(third)); !slices.Equal(got, killed) {
		t.Errorf("the later runs logged removing %q, want the killed run's %q\nsecond:\n%s\nthird:\n%s", got, killed, second.logs.String(), third.logs.String())
	}
	for _, d := range killed {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the killed run's %s after the next start: %v, want it gone", d, err)
		}
	}
	for _, d := range secondDirs {
		if _, err := os.Stat(filepath.Join(d, "server.key")); err != nil {
			t.Errorf("the running second run's %s: %v, want it kept", d, err)
		}
	}
	if left := serverDirs(t, tmp); !slices.Equal(left, secondDirs) {
		t.Errorf("server directories while the second run goes on = %q, want its own %q", left, secondDirs)
	}
}
