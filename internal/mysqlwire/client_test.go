package mysqlwire

import (
	"context"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/iamdb/iamdb/internal/testenv"
)

// seen is what an in-test server saw of one login.
type seen struct {
	user, database, plugin string
	password               Password
	tls                    bool
	attrs                  map[string]string
	err                    error // of Handshake or RequestCleartextPassword
}

// serveOne accepts one connection on a loopback listener, runs the handshake and the
// switch to mysql_clear_password, answers with reply (OK if nil), then answers every
// command with an ERR packet until the client quits or closes.
func serveOne(t *testing.T, cfg Config, reply func(c *Conn) *Error) (addr string, result <-chan seen) {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan seen, 1)
	go func() {
		var r seen
		defer func() { ch <- r }()
		nc, err := ln.Accept()
		if err != nil {
			r.err = err
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(30 * time.Second))
		c, err := s.Handshake(context.Background(), nc)
		if err != nil {
			r.err = err
			return
		}
		r.user, r.database, r.plugin, r.tls, r.attrs = c.User(), c.Database(), c.PluginName(), c.TLS() != nil, c.Attrs()
		if r.password, r.err = c.RequestCleartextPassword(); r.err != nil {
			return
		}
		if reply != nil {
			if e := reply(c); e != nil {
				c.SendError(e.Code, e.SQLState, e.Message)
				return
			}
		}
		if err := c.SendOK(0, 0, statusAutocommit, 0); err != nil {
			r.err = err
			return
		}
		for { // the command phase: refuse everything
			p, _, err := ReadPacket(c.Reader(), 1<<20)
			if err != nil || len(p) == 0 || p[0] == 0x01 { // COM_QUIT
				return
			}
			c.seq = 1
			c.SendError(1047, "08S01", "mysqlwire test server serves no commands")
		}
	}()
	return ln.Addr().String(), ch
}

func TestGoSQLDriver(t *testing.T) {
	if err := mysql.RegisterTLSConfig("mysqlwire-test", testenv.ClientTLS("localhost")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		cleartext bool
		wantErr   error // of Connect
		wantSrv   error
	}{
		{"cleartext allowed", true, nil, nil},
		{"cleartext not allowed", false, mysql.ErrCleartextPassword, ErrCleartextNotEnabled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr, result := serveOne(t, Config{TLS: testenv.ServerTLS(), RequireTLS: true}, nil)
			cfg := mysql.NewConfig()
			cfg.User, cfg.Passwd, cfg.DBName = "alice", "rds-token?X-Amz-Signature=abc", "shop"
			cfg.Net, cfg.Addr = "tcp", addr
			cfg.TLSConfig = "mysqlwire-test"
			cfg.AllowCleartextPasswords = tt.cleartext
			cfg.Timeout = 10 * time.Second
			conn, err := mysql.NewConnector(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			dc, err := conn.Connect(ctx)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Connect = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				dc.Close()
			}
			r := <-result
			if !errors.Is(r.err, tt.wantSrv) {
				t.Fatalf("server: %v, want %v", r.err, tt.wantSrv)
			}
			if r.user != "alice" || r.database != "shop" || !r.tls || r.attrs["_client_name"] != "Go-MySQL-Driver" {
				t.Errorf("server saw %+v", r)
			}
			if tt.wantSrv == nil && r.password != "rds-token?X-Amz-Signature=abc" {
				t.Errorf("server saw password %q", string(r.password))
			}
		})
	}
}

// TestMariaDBClient runs the mariadb command-line client against an in-test server.
func TestMariaDBClient(t *testing.T) {
	bin, err := exec.LookPath("mariadb")
	if err != nil {
		t.Skip("mariadb client not installed")
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: testenv.Cert().Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	const token = "db.example:3306/?Action=connect&DBUser=u&X-Amz-Security-Token=" + "IQoJb3JpZ2luX2VjE" // a long-ish token
	denied := func(c *Conn) *Error { return AccessDenied(c.User(), "127.0.0.1", true) }
	tests := []struct {
		name       string
		args       []string
		reply      func(c *Conn) *Error
		wantPlugin string
		wantTLS    bool
		wantStderr string
		wantSrv    error
	}{
		{"cleartext plugin enabled", []string{"--ssl", "--ssl-ca=" + ca, "--ssl-verify-server-cert", "--enable-cleartext-plugin"}, nil,
			pluginNative, true, "ERROR 1047 (08S01) at line 1: mysqlwire test server serves no commands", nil},
		// MariaDB's client always allows mysql_clear_password: --enable-cleartext-plugin is
		// a no-op kept for MySQL compatibility.
		{"cleartext plugin option absent", []string{"--ssl", "--ssl-ca=" + ca}, nil,
			pluginNative, true, "ERROR 1047 (08S01)", nil},
		{"cleartext as default plugin", []string{"--ssl-ca=" + ca, "--default-auth=mysql_clear_password"}, nil,
			pluginCleartext, true, "ERROR 1047 (08S01)", nil},
		{"access denied", []string{"--ssl-ca=" + ca}, denied,
			pluginNative, true, "ERROR 1045 (28000): Access denied for user 'u'@'127.0.0.1' (using password: YES)", nil},
		{"plaintext refused", []string{"--skip-ssl"}, nil,
			"", false, "ERROR 3159 (HY000): Connections using insecure transport are prohibited", ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, result := serveOne(t, Config{TLS: testenv.ServerTLS(), RequireTLS: true}, tt.reply)
			_, port, _ := net.SplitHostPort(addr)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			args := append([]string{"--no-defaults", "--connect-timeout=10", "-h", "127.0.0.1", "-P", port, "-u", "u", "-p" + token, "-D", "shop"}, tt.args...)
			cmd := exec.CommandContext(ctx, bin, append(args, "-e", "select 1")...)
			cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Errorf("mariadb succeeded: %s", out)
			}
			if !strings.Contains(string(out), tt.wantStderr) {
				t.Errorf("mariadb said %q, want …%s…", out, tt.wantStderr)
			}
			r := <-result
			if !errors.Is(r.err, tt.wantSrv) {
				t.Fatalf("server: %v, want %v", r.err, tt.wantSrv)
			}
			if tt.wantSrv != nil {
				return
			}
			if r.user != "u" || r.database != "shop" || r.tls != tt.wantTLS || r.plugin != tt.wantPlugin || r.password != token {
				t.Errorf("server saw user %q db %q tls %v plugin %q password ok %v", r.user, r.database, r.tls, r.plugin, r.password == token)
			}
			if r.attrs["_client_name"] == "" {
				t.Errorf("attrs = %v", r.attrs)
			}
			t.Logf("mariadb: %s; attrs %s", strings.TrimSpace(string(out)), strconv.Quote(strings.Join(mapKeys(r.attrs), ",")))
		})
	}
}

func mapKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
