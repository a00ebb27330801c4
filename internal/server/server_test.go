package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iamdb/iamdb/internal/testenv"
)

// testConfig is a Config for a server on a temp dir, every socket on a free loopback port.
func testConfig(t *testing.T) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Dir = t.TempDir()
	cfg.Authority.Listen = "127.0.0.1:0"
	cfg.Ops.Listen = "127.0.0.1:0"
	return cfg
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// runUntilReady runs srv with ctx until it is ready; the channel gets Run's result.
func runUntilReady(t *testing.T, ctx context.Context, srv *Server) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatalf("Run = %v before Ready", err)
	}
	return done
}

// newServer returns a new server of cfg, with no options, or fails.
func newServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	srv, err := New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// stop shuts srv down, allowing it 30 seconds, and checks Run's result from done.
func stop(t *testing.T, srv *Server, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// serve starts a server of cfg and runs it until it is ready; it is shut down, and its
// Run checked, at t's cleanup.
func serve(t *testing.T, cfg Config) *Server {
	t.Helper()
	srv := newServer(t, cfg)
	done := runUntilReady(t, context.Background(), srv)
	t.Cleanup(func() { stop(t, srv, done) })
	return srv
}

// New binds every socket before Run; Run serves until its context ends, once.
func TestServerLifecycle(t *testing.T) {
	cfg := testConfig(t)
	srv := newServer(t, cfg)
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") || srv.URL() != "http://"+srv.Addr() || srv.OpsAddr() == "" {
		t.Fatalf("URL %q, Addr %q, OpsAddr %q", srv.URL(), srv.Addr(), srv.OpsAddr())
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, "admin-credentials")); err != nil {
		t.Errorf("the admin's key was not written: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := runUntilReady(t, ctx, srv)
	if code, body := get(t, "http://"+srv.OpsAddr()+"/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz = %d %q, want 200 ready", code, body)
	}
	if err := srv.Run(ctx); err == nil || !strings.Contains(err.Error(), "ran already") {
		t.Errorf("a second Run = %v, want an error", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if _, err := net.Dial("tcp", srv.Addr()); err == nil {
		t.Error("the authority still accepts connections after Run returned")
	}
}

// Shutdown stops a running server, and releases one that never ran.
func TestServerShutdown(t *testing.T) {
	cfg := testConfig(t)
	srv := newServer(t, cfg)
	stop(t, srv, runUntilReady(t, context.Background(), srv))

	// The store is free again: a second server on it starts, and Shutdown releases it
	// without Run.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatalf("New on the same store: %v", err)
	}
	addr := srv.Addr()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown before Run = %v", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("the authority's socket is still open after Shutdown")
	}
	if err := srv.Run(ctx); err == nil {
		t.Error("Run after Shutdown = nil, want an error")
	}
}

// Options.Listeners stand for the addresses they are bound to; the logger hears of them.
func TestServerListenersAndLogger(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Authority.Listen = ln.Addr().String()
	var logs testenv.LogBuffer
	srv, err := New(context.Background(), cfg, Options{Logger: NewLogger(&logs, cfg.Log), Listeners: map[string]net.Listener{cfg.Authority.Listen: ln}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	if srv.Addr() != ln.Addr().String() {
		t.Errorf("Addr = %s, want the given listener's %s", srv.Addr(), ln.Addr())
	}
	if !strings.Contains(logs.String(), `msg="authority listening" url=`+srv.URL()) {
		t.Errorf("logs lack the authority's address:\n%s", logs.String())
	}
}

// New refuses what serve refused, in the same words.
func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"plain HTTP beyond loopback", func(c *Config) { c.Authority.Listen = "0.0.0.0:0" }, "serve: authority.listen 0.0.0.0:0 is not a loopback address"},
		{"invalid", func(c *Config) { c.Log.Level = "loud" }, `config: log.level "loud"`},
		{"unregistered gateway database", func(c *Config) {
			c.Postgres = []GatewayConfig{{Database: "nope", TLSCertFile: "c", TLSKeyFile: "k", Backend: "127.0.0.1:1",
				BackendCAFile: "ca", BackendAdminUser: "a", BackendAdminPassword: "pw", CACertFile: "ca", CAKeyFile: "cak"}}
		}, `serve: postgres[0] (nope): database "nope" is not registered in account 123456789012`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			tt.edit(&cfg)
			srv, err := New(context.Background(), cfg, Options{})
			if err == nil {
				srv.Shutdown(context.Background())
				t.Fatalf("New = nil error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want %q", err, tt.want)
			}
		})
	}
}

// One list of gateways, each with its engine and the MySQL-only settings.
func TestGatewaySections(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Postgres = []GatewayConfig{{Database: "aurorapgsqlv1"}}
	cfg.MySQL = []MySQLGatewayConfig{{GatewayConfig: GatewayConfig{Database: "mysqlv1"}, AllowLocalInfile: true, ServerVersion: "8.0.36-iamdb"}}
	var sections []string
	for _, g := range cfg.gatewaySections() {
		sections = append(sections, fmt.Sprintf("%s %s %s %v %q", g.name, g.engine, g.Database, g.allowLocalInfile, g.serverVersion))
	}
	if diff := cmp.Diff([]string{`postgres[0] postgres aurorapgsqlv1 false ""`, `mysql[0] mysql mysqlv1 true "8.0.36-iamdb"`}, sections); diff != "" {
		t.Errorf("gatewaySections mismatch (-want +got):\n%s", diff)
	}
}

// A gateway's backend admin password comes from the Config itself, or from its file's
// first line; the file is required only without the password.
func TestBackendAdminPassword(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(cfg.Dir, "pw"), []byte("from-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		gc   GatewayConfig
		want string
	}{
		{GatewayConfig{BackendAdminPasswordFile: "pw"}, "from-file"},
		{GatewayConfig{BackendAdminPasswordFile: "pw", BackendAdminPassword: "given"}, "given"},
	} {
		if got, err := backendAdminPassword(&cfg, tt.gc); err != nil || got != tt.want {
			t.Errorf("backendAdminPassword(%+v) = %q, %v, want %q", tt.gc, got, err, tt.want)
		}
	}
	cfg.Postgres = []GatewayConfig{{Database: "d", TLSCertFile: "c", TLSKeyFile: "k", Backend: "127.0.0.1:1",
		BackendCAFile: "ca", BackendAdminUser: "a", BackendAdminPassword: "given", CACertFile: "ca", CAKeyFile: "cak"}}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate with backend_admin_password given = %v", err)
	}
	cfg.Postgres[0].BackendAdminPassword = ""
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "backend_admin_password_file required") {
		t.Errorf("Validate without a password = %v, want backend_admin_password_file required", err)
	}
}

// The secrets a Config may hold never show in its printed or logged form.
func TestSecretRedacted(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.MasterKey = Secret(strings.Repeat("ab", 32))
	cfg.Postgres = []GatewayConfig{{BackendAdminPassword: "hunter2-admin"}}
	var logs testenv.LogBuffer
	NewLogger(&logs, LogConfig{Level: "info", Format: "json"}).Info("config", "master_key", cfg.MasterKey, "password", cfg.Postgres[0].BackendAdminPassword)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), string(js), logs.String()} {
		if strings.Contains(out, "abab") || strings.Contains(out, "hunter2") || !strings.Contains(out, "REDACTED") {
			t.Errorf("a secret shows, or is not marked redacted, in %s", out)
		}
	}
	if cfg.MasterKey.Reveal() != strings.Repeat("ab", 32) {
		t.Error("Reveal does not return the secret")
	}
}

// rotate-master-key's core: the secrets move under a new key file it creates, once, and
// the store opens with the new key.
func TestRotateMasterKey(t *testing.T) {
	cfg := testConfig(t)
	srv := newServer(t, cfg)
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	newKeyFile := filepath.Join(t.TempDir(), "new.key")
	n, created, err := RotateMasterKey(context.Background(), &cfg, newKeyFile, nil)
	if err != nil || n != 1 || !created {
		t.Fatalf("RotateMasterKey = %d, %v, %v, want 1 secret, created, nil", n, created, err)
	}
	if n, created, err = RotateMasterKey(context.Background(), &cfg, newKeyFile, nil); err != nil || n != 0 || created {
		t.Errorf("RotateMasterKey again = %d, %v, %v, want nothing to do", n, created, err)
	}
	cfg.MasterKeyFile = newKeyFile
	srv, err = New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatalf("New with the new key: %v", err)
	}
	srv.Shutdown(context.Background())
}
