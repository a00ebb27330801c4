//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/testenv"
)

// devChild is "iamdb dev" running as a child process (this test binary), with its own
// temp dir, so that it can be killed with SIGKILL.
type devChild struct {
	cmd  *exec.Cmd
	logs testenv.LogBuffer // its stderr
}

// startDevChild runs "iamdb dev --dir dir" with TMPDIR=tmp and waits for "ready".
func startDevChild(t *testing.T, dir, tmp string) *devChild {
	t.Helper()
	c := &devChild{cmd: exec.Command(os.Args[0], "-test.run=^TestDevKilledLeftovers$")}
	c.cmd.Env = append(os.Environ(), "IAMDB_DEV_CHILD_DIR="+dir, "TMPDIR="+tmp)
	c.cmd.Stderr = &c.logs
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if sc.Text() == "ready" && !ok {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			c.cmd.Wait()
			t.Fatalf("iamdb dev exited before it was ready:\n%s", c.logs.String())
		}
	case <-time.After(2 * time.Minute):
		c.cmd.Process.Kill()
		c.cmd.Wait()
		t.Fatalf("iamdb dev not ready after 2 minutes:\n%s", c.logs.String())
	}
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
	if dir := os.Getenv("IAMDB_DEV_CHILD_DIR"); dir != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err := run(ctx, []string{"dev", "--dir", dir}, os.Stdout, os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "iamdb dev:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
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
	first.cmd.Wait()
	for _, d := range killed {
		if _, err := os.Stat(filepath.Join(d, "server.key")); err != nil {
			t.Fatalf("after kill -9: %s/server.key: %v (nothing left to clean up?)", d, err)
		}
	}

	// A second run, going while a third starts: the third removes the killed run's
	// directories, not the second's.
	second := startDevChild(t, filepath.Join(dir, "second"), tmp)
	defer func() {
		second.cmd.Process.Signal(os.Interrupt)
		second.cmd.Wait()
	}()
	secondDirs := slices.DeleteFunc(serverDirs(t, tmp), func(d string) bool { return slices.Contains(killed, d) })
	third := startDevChild(t, filepath.Join(dir, "third"), tmp)
	third.cmd.Process.Signal(os.Interrupt)
	if err := third.cmd.Wait(); err != nil {
		t.Errorf("the third iamdb dev: %v\n%s", err, third.logs.String())
	}
	removedBy := func(c *devChild) []string {
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
