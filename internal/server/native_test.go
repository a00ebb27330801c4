package server

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/native"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/iamdb/iamdb/token"
)

// nativeTestConfig is a server with a database registered on the gateway's port 6432 and
// a native endpoint for it on port 5544, its socket under a short directory.
func nativeTestConfig(t *testing.T) Config {
	t.Helper()
	cfg := testConfig(t)
	dir := testenv.SocketDir(t, "nvs")
	cfg.Databases = []DatabaseConfig{{Identifier: "app", Engine: "postgres", Endpoints: []string{"localhost"}, Port: 6432, IAMAuth: true}}
	cfg.Native = []NativeConfig{{Database: "app", Socket: filepath.Join(dir, "app.sock"), Port: 5544}}
	if os.Getuid() != 0 {
		// The default (root and postgres) would refuse the test itself.
		cfg.Native[0].AllowedUsers = []string{strconv.Itoa(os.Getuid())}
	}
	return cfg
}

// A [[native]] table starts an endpoint that answers for the registered database on its
// own port, and Shutdown removes its socket.
func TestServerNative(t *testing.T) {
	cfg := nativeTestConfig(t)
	srv := serve(t, cfg)
	eps := srv.NativeEndpoints()
	if len(eps) != 1 || eps[0].Kind != "native" || eps[0].Addr != cfg.Native[0].Socket || eps[0].Port != 5544 || eps[0].Database.Identifier != "app" || eps[0].Database.Port != 6432 {
		t.Fatalf("NativeEndpoints() = %+v, want the endpoint of app on 5544", eps)
	}
	fi, err := os.Lstat(eps[0].Addr)
	if err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket: %v, %v; want a socket of mode 0660", fi, err)
	}
	// As root, the socket is given the group of the engine's OS user, who may connect.
	if u, err := user.Lookup("postgres"); err == nil && os.Geteuid() == 0 {
		if gid := strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Gid)); gid != u.Gid {
			t.Errorf("socket group %s, want postgres's %s", gid, u.Gid)
		}
	}

	ctx := context.Background()
	root := srv.svc.Root(cfg.Bootstrap.AccountID)
	if _, err := srv.svc.CreateUser(ctx, root, iam.CreateUserInput{UserName: "alice"}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"Connect","Effect":"Allow","Action":"rds-db:connect","Resource":"arn:aws:rds-db:*:*:dbuser:*/alice"}]}`
	if err := srv.svc.PutUserPolicy(ctx, root, "alice", "connect", doc); err != nil {
		t.Fatal(err)
	}
	k, err := srv.svc.CreateAccessKey(ctx, root, "alice")
	if err != nil {
		t.Fatal(err)
	}
	creds := token.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}
	ask := func(port int) native.Response {
		t.Helper()
		tok, err := token.Build("localhost:"+strconv.Itoa(port), "us-east-1", "alice", creds, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		resp, err := native.Ask(actx, eps[0].Addr, native.Request{User: "alice", Host: "127.0.0.1", Token: tok})
		if err != nil {
			t.Fatalf("Ask: %v", err)
		}
		return resp
	}
	if resp := ask(5544); !resp.Allow {
		t.Errorf("Ask(token for 5544) = %+v, want allowed", resp)
	}
	if resp := ask(6432); resp.Allow || resp.Reason != "port-not-allowed" {
		t.Errorf("Ask(token for the gateway's 6432) = %+v, want refused/port-not-allowed", resp)
	}

	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(eps[0].Addr); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Shutdown: Lstat(socket) = %v, want it removed", err)
	}
}

// The defaults: root and the engine's OS user; port the registered one; a server that
// never runs removes its socket too.
func TestServerNativeDefaults(t *testing.T) {
	cfg := nativeTestConfig(t)
	cfg.Native[0].Port = 0
	srv := newServer(t, cfg)
	n := srv.natives[0]
	if n.port != 6432 {
		t.Errorf("port = %d, want the registered 6432", n.port)
	}
	uids, err := allowedUIDs(nil, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	want := []uint32{0}
	if u, err := user.Lookup("postgres"); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		want = append(want, uint32(uid))
	}
	if !slices.Equal(uids, want) {
		t.Errorf("default allowed uids %v, want %v (root and postgres)", uids, want)
	}
	if uids, _ := allowedUIDs(nil, "mysql"); uids[0] != 0 {
		t.Errorf("default allowed uids of mysql %v, want root first", uids)
	}
	socket := cfg.Native[0].Socket
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(socket); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Shutdown without Run: Lstat(socket) = %v, want it removed", err)
	}
}

func TestServerNativeConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*NativeConfig)
		want string
	}{
		{"no database", func(n *NativeConfig) { n.Database = "" }, "native[0]: database required"},
		{"no socket", func(n *NativeConfig) { n.Socket = "" }, "native[0]: socket required"},
		{"bad mode", func(n *NativeConfig) { n.SocketMode = "660x" }, "native[0].socket_mode"},
		{"mode too wide", func(n *NativeConfig) { n.SocketMode = "1777" }, "native[0].socket_mode"},
		{"unknown user", func(n *NativeConfig) { n.AllowedUsers = []string{"root", "no-such-user-iamdb"} }, `unknown user "no-such-user-iamdb"`},
		{"unknown group", func(n *NativeConfig) { n.SocketGroup = "no-such-group-iamdb" }, `unknown group "no-such-group-iamdb"`},
		{"port", func(n *NativeConfig) { n.Port = 70000 }, "native[0].port 70000 out of range"},
	} {
		cfg := nativeTestConfig(t)
		c.edit(&cfg.Native[0])
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate() = %v, want %q", c.name, err, c.want)
		}
	}
	// An unregistered database is refused by New.
	cfg := nativeTestConfig(t)
	cfg.Native[0].Database = "other"
	if _, err := New(context.Background(), cfg, Options{}); err == nil || !strings.Contains(err.Error(), `database "other" is not registered`) {
		t.Errorf("New with an unregistered database = %v", err)
	}
}

// [[native]] in TOML: socket_mode is an octal string, secure_transport defaults to true.
func TestServerNativeTOML(t *testing.T) {
	var cfg Config
	md, err := toml.Decode(`
[[native]]
database = "app"
socket = "/run/iamdb/app.sock"
port = 5432
socket_mode = "0600"
allowed_users = ["postgres", "0"]
secure_transport = false
`, &cfg)
	if err != nil || len(md.Undecoded()) != 0 {
		t.Fatalf("Decode: %v, undecoded %v", err, md.Undecoded())
	}
	n := cfg.Native[0]
	if m, _ := parseSocketMode(n.SocketMode); m != 0o600 || n.Port != 5432 || n.SecureTransport == nil || *n.SecureTransport || len(n.AllowedUsers) != 2 {
		t.Errorf("decoded %+v", n)
	}
	if _, err := toml.Decode("[[native]]\nsocket_mode = 0o660\n", &Config{}); err == nil {
		t.Error("socket_mode as a TOML integer decoded, want an error (it is an octal string)")
	}
}
