// Package nativetest serves native endpoints (internal/native) in tests. It is for tests
// only; repo_test.go keeps it out of production code.
package nativetest

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/native"
)

// Start starts a native endpoint configured by cfg (AllowedUIDs nil: this process's uid)
// and serves it; served receives what Serve returns. Shutting it down is the caller's.
func Start(t testing.TB, cfg native.Config) (ep *native.Endpoint, served <-chan error) {
	t.Helper()
	if cfg.AllowedUIDs == nil {
		cfg.AllowedUIDs = []uint32{uint32(os.Getuid())}
	}
	ep, err := native.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.Listen(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan error, 1)
	go func() { ch <- ep.Serve() }()
	return ep, ch
}

// Serve is Start with the shutdown done when t ends: it checks that Shutdown succeeds and
// that Serve returned native.ErrServerClosed.
func Serve(t testing.TB, cfg native.Config) *native.Endpoint {
	t.Helper()
	ep, served := Start(t, cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ep.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, native.ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	})
	return ep
}

// StaleSocket leaves a Unix socket at path that nothing accepts on: the one a verifier that
// is gone left behind.
func StaleSocket(t testing.TB, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
}
