package testenv

import (
	"context"
	"os"
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
