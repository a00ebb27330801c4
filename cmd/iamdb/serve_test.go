package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveOnce runs "iamdb serve" with cfg until it is ready, then stops it. It returns the
// error of a serve that failed to start.
func serveOnce(t *testing.T, cfgPath string) (stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	onServeReady = func(addr string) { ready <- addr }
	defer func() { onServeReady = nil }()
	var out, logs bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--config", cfgPath}, &out, &logs) }()
	select {
	case <-ready:
		cancel()
		err = <-done
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("iamdb serve neither got ready nor failed within 30s")
	}
	return logs.String(), err
}

// The bootstrap key is written once; a restart keeps it and writes nothing new; without the
// master key the store's secrets cannot be read, and serve says so instead of starting.
func TestServeBootstrapOnceAndMasterKey(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "iamdb.toml")
	if err := os.WriteFile(cfg, []byte("dir = \"state\"\n[authority]\nlisten = \"127.0.0.1:0\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if logs, err := serveOnce(t, cfg); err != nil {
		t.Fatalf("first start: %v\n%s", err, logs)
	}
	keyFile := filepath.Join(dir, "state", "admin-credentials")
	first, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatalf("admin key file: %v", err)
	}
	if fi, _ := os.Stat(keyFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("admin key file mode %v, want 0600", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(filepath.Join(dir, "state", "master.key")); fi == nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("master key file missing or not 0600")
	}
	if !strings.Contains(string(first), "aws_secret_access_key = ") {
		t.Errorf("admin key file %q lacks the secret", first)
	}

	logs, err := serveOnce(t, cfg)
	if err != nil {
		t.Fatalf("restart: %v\n%s", err, logs)
	}
	secret := strings.TrimSpace(strings.SplitN(strings.Split(string(first), "aws_secret_access_key = ")[1], "\n", 2)[0])
	if strings.Contains(logs, secret) {
		t.Errorf("the admin's secret appears in the log")
	}
	if again, _ := os.ReadFile(keyFile); !bytes.Equal(first, again) {
		t.Errorf("restart rewrote the admin key file")
	}

	if err := os.Remove(filepath.Join(dir, "state", "master.key")); err != nil {
		t.Fatal(err)
	}
	_, err = serveOnce(t, cfg)
	if err == nil || !strings.Contains(err.Error(), "master key") || !strings.Contains(err.Error(), "IAMDB_MASTER_KEY") {
		t.Errorf("start without the master key = %v, want an error naming the master key", err)
	}
}

func TestServeRefusesPlainHTTPBeyondLoopback(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "iamdb.toml")
	if err := os.WriteFile(cfg, []byte("dir = \"state\"\n[authority]\nlisten = \"0.0.0.0:0\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := serveOnce(t, cfg)
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("serve on 0.0.0.0 without TLS = %v, want a refusal", err)
	}
}
