package testenv

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// SocketDir is a new temporary directory with a short path, for Unix sockets (a socket's
// path has at most 107 bytes; t.TempDir's can be longer): its name begins with prefix,
// everyone may read and search it (a database server running as its own OS user reaches
// sockets there), and it is removed when t ends.
func SocketDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Context is a context that ends after a minute, or when t ends: the bound of one test's
// calls to a real server.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Child runs the test named test of this test binary again, in a child process with env
// added, for what must happen in another process (a flood of connections that would use
// up this one's file descriptors): the test finds its part by its environment. Child
// returns the child's standard output as lines, and stop, which closes the child's
// standard input — the child is to end then — and waits for it; t's cleanup stops it too.
// The child's standard error is this process's.
func Child(t testing.TB, test string, env ...string) (lines *bufio.Scanner, stop func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			stdin.Close()
			go io.Copy(io.Discard, stdout) // what the child still writes
			cmd.Wait()
		})
	}
	t.Cleanup(stop)
	return bufio.NewScanner(stdout), stop
}
