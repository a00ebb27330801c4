//go:build linux

package localdb_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/testenv"
)

// readPID returns the process ID on the first line of a pid file.
func readPID(file string) (int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(line))
}

// TestRemoveLeftovers: a process that started servers is killed with SIGKILL; their
// directories (keys, data) stay behind. RemoveLeftovers removes exactly those: not the
// directory of a server this process still runs, nor one kept with Keep (issue 15,
// finding 11).
func TestRemoveLeftovers(t *testing.T) {
	if parent := os.Getenv("LOCALDB_LEFTOVER_CHILD"); parent != "" {
		ca := localdbtest.CA(t)
		p, err := localdb.StartPostgres(context.Background(), localdb.PostgresOptions{CA: ca, Dir: parent})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(filepath.Dir(p.DataDir()))
		if m, err := localdb.StartMariaDB(context.Background(), localdb.MariaDBOptions{CA: ca, Dir: parent}); err == nil {
			fmt.Println(filepath.Dir(m.DataDir()))
		} else if !errors.Is(err, localdb.ErrNotFound) {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("ready")
		select {} // wait to be killed
	}
	t.Parallel()
	if _, err := localdb.FindPostgres(); err != nil {
		t.Skip(err)
	}
	parent := testenv.SocketDir(t, "iamdb-leftover-test-") // the servers' OS users search it, for Dir

	// What a crashed run leaves: the child's directories.
	cmd := exec.Command(os.Args[0], "-test.run=^TestRemoveLeftovers$")
	cmd.Env = append(os.Environ(), "LOCALDB_LEFTOVER_CHILD="+parent)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var dead []string
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "ready" {
		if !strings.HasPrefix(sc.Text(), parent+"/") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child: %q", sc.Text())
		}
		dead = append(dead, sc.Text())
	}
	var pids []int
	for _, f := range []string{filepath.Join(dead[0], "data", "postmaster.pid"), filepath.Join(dead[len(dead)-1], "mariadbd.pid")} {
		if pid, err := readPID(f); err == nil {
			pids = append(pids, pid)
		}
	}
	cmd.Process.Kill() // kill -9: no Stop
	cmd.Wait()
	for _, d := range dead {
		if _, err := os.Stat(filepath.Join(d, "server.key")); err != nil {
			t.Fatalf("the killed run's %s has no server.key: %v", d, err)
		}
	}

	// A server this process runs, and a directory kept after Stop.
	live := localdbtest.PostgresWithOptions(t, localdb.PostgresOptions{CA: localdbtest.CA(t), Dir: parent})
	kept, err := localdb.StartPostgres(testenv.Context(t), localdb.PostgresOptions{CA: localdbtest.CA(t), Dir: parent, Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := kept.Stop(testenv.Context(t)); err != nil {
		t.Fatal(err)
	}

	removed, err := localdb.RemoveLeftovers(parent)
	if err != nil {
		t.Errorf("RemoveLeftovers: %v", err)
	}
	slices.Sort(removed)
	slices.Sort(dead)
	if !slices.Equal(removed, dead) {
		t.Errorf("RemoveLeftovers(%s) = %q, want the killed run's %q", parent, removed, dead)
	}
	for _, d := range dead {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after RemoveLeftovers: %v, want it gone", d, err)
		}
	}
	for _, pid := range pids {
		if running(pid) {
			t.Errorf("the killed run's server %d still runs", pid)
		}
	}
	if err := live.Exec(testenv.Context(t), "select 1"); err != nil {
		t.Errorf("the live server after RemoveLeftovers: %v", err)
	}
	if _, err := os.Stat(filepath.Join(kept.DataDir(), "PG_VERSION")); err != nil {
		t.Errorf("the kept directory after RemoveLeftovers: %v", err)
	}
	if again, err := localdb.RemoveLeftovers(parent); len(again) != 0 || err != nil {
		t.Errorf("RemoveLeftovers again = %q, %v; want nothing", again, err)
	}
}

// TestOrphanStops: when the process that started a cluster dies without Stop, the kernel
// stops the server (Pdeathsig) rather than leaving it running.
func TestOrphanStops(t *testing.T) {
	testOrphanStops(t, postgresEngine, filepath.Join("data", "postmaster.pid"), syscall.SIGQUIT)
}

// TestMariaDBOrphanStops is TestOrphanStops for MariaDB.
func TestMariaDBOrphanStops(t *testing.T) {
	testOrphanStops(t, mariaDBEngine, "mariadbd.pid", syscall.SIGKILL)
}

// testOrphanStops runs the test itself in a child that starts e's server and is then
// killed; the server, found by its pidFile (relative to its directory), must stop. kill
// stops it if it does not.
func testOrphanStops(t *testing.T, e lifecycleEngine, pidFile string, kill syscall.Signal) {
	if os.Getenv("LOCALDB_ORPHAN_CHILD") == e.name {
		s, err := e.start(context.Background(), localdbtest.CA(t), "", 0)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(filepath.Dir(s.DataDir()))
		select {} // wait to be killed
	}
	t.Parallel()
	if err := e.find(); err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$")
	cmd.Env = append(os.Environ(), "LOCALDB_ORPHAN_CHILD="+e.name)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "/") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child: %q, %v", line, err)
	}
	dir := strings.TrimSpace(line)
	defer os.RemoveAll(dir)
	pid, err := readPID(filepath.Join(dir, pidFile))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for {
		// Signal 0 probes; the server is not our child, so there is no
		// zombie to reap.
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, kill)
			t.Fatalf("%s (pid %d) still running 20s after its parent died", e.name, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// running reports whether pid is a process that has not exited: a zombie has (the killed
// run's servers are orphans, reaped by the sandbox's init when it gets to it, if ever).
func running(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || (b[i+2] != 'Z' && b[i+2] != 'X')
}
