// Package nativetest serves native endpoints (internal/native) in tests. It is for tests
// only; repo_test.go keeps it out of production code.
package nativetest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/native"
)

// Serve starts a native endpoint configured by cfg (AllowedUIDs nil: this process's uid)
// and serves it until t ends; then it shuts the endpoint down and checks that Serve
// returned native.ErrServerClosed.
func Serve(t testing.TB, cfg native.Config) *native.Endpoint {
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
	served := make(chan error, 1)
	go func() { served <- ep.Serve() }()
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
