package mysqlwire

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/rdsiam"
	"github.com/iamdb/iamdb/internal/testenv"
)

// checkNative verifies a mysql_native_password answer as a server does, knowing only
// SHA1(SHA1(password)); the comparison is constant-time.
func checkNative(scramble, reply []byte, password string) bool {
	if len(reply) != sha1.Size {
		return false
	}
	s1 := sha1.Sum([]byte(password))
	stage2 := sha1.Sum(s1[:])
	h := sha1.Sum(append(append([]byte(nil), scramble...), stage2[:]...))
	var cand [sha1.Size]byte
	subtle.XORBytes(cand[:], h[:], reply)
	got := sha1.Sum(cand[:])
	return subtle.ConstantTimeCompare(got[:], stage2[:]) == 1
}

func TestAppendNativeAuth(t *testing.T) {
	scramble := []byte("abcdefghijklmnopqrst")
	if got := appendNativeAuth(nil, scramble, ""); len(got) != 0 {
		t.Errorf("appendNativeAuth(empty password) = %x, want nothing", got)
	}
	got := appendNativeAuth(nil, scramble, "pw")
	if !checkNative(scramble, got, "pw") {
		t.Errorf("appendNativeAuth = %x does not verify", got)
	}
	if checkNative(scramble, got, "px") {
		t.Errorf("appendNativeAuth = %x verifies a wrong password", got)
	}
	dst := make([]byte, 0, sha1.Size)
	if n := testing.AllocsPerRun(100, func() { appendNativeAuth(dst, scramble, "pw") }); n > 1 {
		t.Errorf("appendNativeAuth: %v allocations, want at most 1", n)
	}
}

// scripted runs ClientHandshake against a Server on a pipe; script plays the server after
// the client's handshake response.
func scripted(t *testing.T, scfg Config, ccfg ClientConfig, script func(c *Conn) error) (*ClientConn, error, error) {
	t.Helper()
	s, err := NewServer(scfg)
	if err != nil {
		t.Fatal(err)
	}
	server, client := net.Pipe()
	t.Cleanup(func() { server.Close(); client.Close() })
	srvErr := make(chan error, 1)
	go func() {
		server.SetDeadline(time.Now().Add(10 * time.Second))
		c, err := s.Handshake(context.Background(), server)
		if err == nil {
			err = script(c)
		}
		if err != nil {
			server.Close()
		}
		srvErr <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ccfg.TLS == nil {
		ccfg.TLS = testenv.ClientTLS("localhost")
	}
	cc, err := ClientHandshake(ctx, client, ccfg)
	if err != nil {
		client.Close()
	}
	return cc, err, <-srvErr
}

func TestClientHandshakeScripted(t *testing.T) {
	t.Parallel()
	base := ClientConfig{User: "u", Password: "secret", Database: "shop", Attrs: map[string]string{"_client_name": "iamdb", "k": "v"}}
	// checkResponse checks what the server saw in the handshake response.
	checkResponse := func(c *Conn) error {
		if c.User() != "u" || c.Database() != "shop" || c.PluginName() != pluginNative || c.TLS() == nil ||
			c.Attrs()["k"] != "v" || c.Attrs()["_client_name"] != "iamdb" || c.Charset() != charsetUTF8MB4GeneralCI ||
			c.MaxPacketSize() != DefaultMaxPacketLen {
			return errors.New("unexpected handshake response")
		}
		if !checkNative(c.scramble, c.auth, "secret") {
			return errors.New("native auth data does not verify")
		}
		return nil
	}
	switchTo := func(c *Conn, payload []byte) ([]byte, error) {
		if err := c.writePacket(payload); err != nil {
			return nil, err
		}
		return c.readPacket(c.r, 1<<10)
	}
	newScramble := []byte("0123456789ABCDEFGHIJ")
	tests := []struct {
		name    string
		script  func(c *Conn) error
		wantErr error  // errors.Is
		wantMsg string // substring of the error
		wantSQL *Error
	}{
		{"native ok", func(c *Conn) error {
			if err := checkResponse(c); err != nil {
				return err
			}
			return c.SendOK(0, 0, statusAutocommit, 0)
		}, nil, "", nil},
		{"access denied", func(c *Conn) error {
			return c.SendError(ErAccessDenied, StateAccessDenied, "Access denied for user 'u'@'h' (using password: YES)")
		}, nil, "", &Error{Code: 1045, SQLState: "28000", Message: "Access denied for user 'u'@'h' (using password: YES)"}},
		{"switch to cleartext", func(c *Conn) error {
			pw, err := c.RequestCleartextPassword()
			if err != nil {
				return err
			}
			if pw != "secret" {
				return errors.New("wrong cleartext password")
			}
			return c.SendOK(0, 0, statusAutocommit, 0)
		}, nil, "", nil},
		{"switch to native", func(c *Conn) error {
			p, err := switchTo(c, append(append(append([]byte{0xfe}, pluginNative...), 0), append(newScramble, 0)...))
			if err != nil {
				return err
			}
			if !checkNative(newScramble, p, "secret") {
				return errors.New("switched native auth data does not verify")
			}
			return c.SendOK(0, 0, statusAutocommit, 0)
		}, nil, "", nil},
		{"switch to unknown plugin", func(c *Conn) error {
			c.writePacket(append([]byte("\xfeclient_ed25519\x00"), newScramble...))
			return nil
		}, ErrUnsupported, `"client_ed25519"`, nil},
		{"switch to old password", func(c *Conn) error {
			c.writePacket([]byte{0xfe})
			return nil
		}, ErrUnsupported, "mysql_old_password", nil},
		{"native switch with short scramble", func(c *Conn) error {
			c.writePacket([]byte("\xfemysql_native_password\x00short\x00"))
			return nil
		}, ErrProtocol, "scramble", nil},
		{"second switch", func(c *Conn) error {
			if _, err := c.RequestCleartextPassword(); err != nil {
				return err
			}
			c.writePacket([]byte("\xfemysql_clear_password\x00"))
			return nil
		}, ErrProtocol, "second AuthSwitchRequest", nil},
		{"auth more data", func(c *Conn) error {
			c.writePacket([]byte{0x01, 0x03})
			return nil
		}, ErrProtocol, "AuthMoreData", nil},
		{"reply out of order", func(c *Conn) error {
			c.seq = 7
			c.SendOK(0, 0, 0, 0)
			return nil
		}, ErrProtocol, "out of order", nil},
		{"reply too long", func(c *Conn) error {
			c.writePacket(make([]byte, maxAuthReplyLen+1))
			return nil
		}, ErrTooLong, "", nil},
		{"truncated OK", func(c *Conn) error {
			c.writePacket([]byte{0x00, 0x00})
			return nil
		}, ErrProtocol, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cc, err, srvErr := scripted(t, Config{TLS: testenv.ServerTLS(), RequireTLS: true}, base, tt.script)
			switch {
			case tt.wantSQL != nil:
				var e *Error
				if !errors.As(err, &e) || *e != *tt.wantSQL {
					t.Fatalf("ClientHandshake = %v, want %v", err, tt.wantSQL)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("ClientHandshake = %v, want %v …%s…", err, tt.wantErr, tt.wantMsg)
				}
			case err != nil:
				t.Fatalf("ClientHandshake = %v (server: %v)", err, srvErr)
			}
			if tt.wantErr == nil && srvErr != nil {
				t.Errorf("server: %v", srvErr)
			}
			if err != nil {
				if cc != nil {
					t.Errorf("ClientHandshake returned a conn with error %v", err)
				}
				return
			}
			if cc.ServerVersion != DefaultServerVersion || cc.ConnectionID != 1 || cc.Status != statusAutocommit {
				t.Errorf("ClientConn = %+v", cc)
			}
			if want := (DefaultCapabilities | CapSSL); cc.Capabilities != want {
				t.Errorf("Capabilities = %#x, want %#x", cc.Capabilities, want)
			}
			if _, ok := cc.Conn.(*tls.Conn); !ok {
				t.Errorf("Conn is a %T, want *tls.Conn", cc.Conn)
			}
		})
	}
}

// TestClientHandshakeBuffered checks that bytes the server sent right after the OK packet
// are not lost.
func TestClientHandshakeBuffered(t *testing.T) {
	t.Parallel()
	cc, err, srvErr := scripted(t, Config{TLS: testenv.ServerTLS()}, ClientConfig{User: "u"}, func(c *Conn) error {
		b := appendLenEnc([]byte{0x00}, 0)
		b = appendLenEnc(b, 0)
		b = append(b, 2, 0, 0, 0)
		out, _ := AppendPacket(nil, 3, b)
		out, _ = AppendPacket(out, 1, []byte("after ok"))
		_, err := c.nc.Write(out) // one TLS record
		return err
	})
	if err != nil || srvErr != nil {
		t.Fatalf("ClientHandshake = %v, server %v", err, srvErr)
	}
	if cc.Capabilities&CapConnectWithDB != 0 {
		t.Errorf("CapConnectWithDB negotiated without a database")
	}
	cc.Conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	p, seq, err := ReadPacket(cc.Reader, 100)
	if err != nil || seq != 1 || string(p) != "after ok" {
		t.Errorf("ReadPacket = %q, %d, %v, want \"after ok\", 1", p, seq, err)
	}
}

func TestClientHandshakeNoTLS(t *testing.T) {
	t.Parallel()
	_, err, _ := scripted(t, Config{}, ClientConfig{User: "u"}, func(c *Conn) error { return nil })
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("ClientHandshake against a server without TLS = %v, want ErrUnsupported", err)
	}
	if _, err := ClientHandshake(context.Background(), nil, ClientConfig{User: "u"}); err == nil {
		t.Errorf("ClientHandshake without TLS config succeeded")
	}
}

func TestClientHandshakeContext(t *testing.T) {
	t.Parallel()
	server, client := net.Pipe()
	defer server.Close()
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := ClientHandshake(ctx, client, ClientConfig{User: "u", TLS: testenv.ClientTLS("localhost")}) // nobody greets
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ClientHandshake = %v, want context.DeadlineExceeded", err)
	}
}

func TestDecodeGreeting(t *testing.T) {
	scramble := []byte("abcdefghijklmnopqrst")
	good := appendGreeting(nil, "5.5.5-10.11.6-MariaDB", 42, scramble, DefaultCapabilities|CapSSL)
	g, err := decodeGreeting(good)
	if err != nil {
		t.Fatal(err)
	}
	if g.version != "5.5.5-10.11.6-MariaDB" || g.connID != 42 || !bytes.Equal(g.scramble, scramble) ||
		g.plugin != pluginNative || g.caps != DefaultCapabilities|CapSSL || g.status != statusAutocommit {
		t.Errorf("decodeGreeting = %+v", g)
	}
	unterminated := good[:len(good)-1]
	if g, err := decodeGreeting(unterminated); err != nil || g.plugin != pluginNative {
		t.Errorf("decodeGreeting(unterminated plugin) = %+v, %v", g, err)
	}
	for _, tt := range []struct {
		name string
		p    []byte
		want error
	}{
		{"empty", nil, ErrProtocol},
		{"protocol 9", append([]byte{9}, good[1:]...), ErrUnsupported},
		{"truncated", good[:30], ErrProtocol},
		{"long version", append(append([]byte{10}, bytes.Repeat([]byte{'v'}, 300)...), good[1:]...), ErrTooLong},
		{"short scramble", appendGreeting(nil, "v", 1, scramble[:16], DefaultCapabilities), ErrProtocol},
		{"pre-4.1", func() []byte {
			p := bytes.Clone(good)
			i := bytes.IndexByte(p[1:], 0) + 1 + 1 + 4 + 9 // version NUL, id, part 1, filler
			p[i+1] &^= byte(CapProtocol41 >> 8)
			return p
		}(), ErrUnsupported},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeGreeting(tt.p); !errors.Is(err, tt.want) {
				t.Errorf("decodeGreeting = %v, want %v", err, tt.want)
			}
		})
	}
	var e *Error
	if _, err := decodeGreeting([]byte("\xff\x10\x04Too many connections")); !errors.As(err, &e) || e.Code != 1040 || e.Message != "Too many connections" {
		t.Errorf("decodeGreeting(ERR) = %v", err)
	}
}

func FuzzClientGreeting(f *testing.F) {
	scramble := []byte("abcdefghijklmnopqrst")
	good := appendGreeting(nil, "5.5.5-10.11.6-MariaDB", 42, scramble, DefaultCapabilities|CapSSL)
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(good[:20])
	f.Add([]byte("\xff\x10\x04#08004Too many connections"))
	f.Add(appendGreeting(nil, "", 0, make([]byte, 20), CapProtocol41|CapSecureConnection))
	f.Fuzz(func(t *testing.T, p []byte) {
		g, err := decodeGreeting(p)
		if err != nil {
			return
		}
		if len(g.scramble) != scrambleLen || strings.IndexByte(g.version, 0) >= 0 || len(g.version) > maxServerVersionLen ||
			len(g.plugin) > maxPluginLen || g.caps&(CapProtocol41|CapSecureConnection) != CapProtocol41|CapSecureConnection {
			t.Errorf("decodeGreeting(%x) = %+v", p, g)
		}
	})
}

// TestClientHandshakeMariaDB logs in to a real MariaDB server: the only test in this
// package that starts one.
func TestClientHandshakeMariaDB(t *testing.T) {
	t.Parallel()
	ca, err := pki.NewCA("mysqlwire test CA", 24*time.Hour, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m := localdbtest.MariaDB(t, ca)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stmts := append(rdsiam.MySQLIAMUserSQL("iam_u"), "CREATE USER 'pw_u'@'%' IDENTIFIED BY 'pw'")
	if err := m.Exec(ctx, stmts...); err != nil {
		t.Fatal(err)
	}
	certFor := func(user string) *tls.Config {
		c := m.TLSConfig()
		if user != "" {
			cert, err := ca.ClientCert(user, 5*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			c.Certificates = []tls.Certificate{cert}
		}
		return c
	}
	login := func(t *testing.T, cfg ClientConfig) (*ClientConn, error) {
		t.Helper()
		nc, err := net.Dial("tcp", m.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		return ClientHandshake(ctx, nc, cfg)
	}
	tests := []struct {
		name     string
		cfg      ClientConfig
		wantCode uint16 // 0: success
		want     string // current_user()
	}{
		{"iam user with certificate", ClientConfig{User: "iam_u", TLS: certFor("iam_u")}, 0, "iam_u@%"},
		{"iam user with wrong certificate", ClientConfig{User: "iam_u", TLS: certFor("mallory")}, ErAccessDenied, ""},
		{"iam user without certificate", ClientConfig{User: "iam_u", TLS: certFor("")}, ErAccessDenied, ""},
		{"password user", ClientConfig{User: "pw_u", Password: "pw", TLS: certFor("")}, 0, "pw_u@%"},
		{"password user with wrong password", ClientConfig{User: "pw_u", Password: "px", TLS: certFor("")}, ErAccessDenied, ""},
		{"password user without password", ClientConfig{User: "pw_u", TLS: certFor("")}, ErAccessDenied, ""},
		{"admin with database and attributes", ClientConfig{User: m.AdminUser, Password: Password(m.AdminPassword), Database: "mysql",
			TLS: certFor(""), Attrs: map[string]string{"program_name": "mysqlwire-test"}}, 0, m.AdminUser + "@%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, err := login(t, tt.cfg)
			if tt.wantCode != 0 {
				var e *Error
				if !errors.As(err, &e) || e.Code != tt.wantCode || e.SQLState != StateAccessDenied {
					t.Fatalf("ClientHandshake = %v, want error %d (28000)", err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("ClientHandshake = %v", err)
			}
			if !strings.Contains(cc.ServerVersion, "MariaDB") || cc.ConnectionID == 0 || cc.Capabilities&CapSSL == 0 {
				t.Errorf("ClientConn = %+v", cc)
			}
			if got := queryOne(t, cc, "select current_user()"); got != tt.want {
				t.Errorf("current_user() = %q, want %q", got, tt.want)
			}
			if tt.cfg.Database != "" {
				if got := queryOne(t, cc, "select database()"); got != tt.cfg.Database {
					t.Errorf("database() = %q, want %q", got, tt.cfg.Database)
				}
			}
		})
	}

	t.Run("unsupported plugin", func(t *testing.T) {
		if err := m.Exec(ctx, "INSTALL SONAME 'auth_ed25519'", "CREATE USER 'ed_u'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('pw')"); err != nil {
			t.Skipf("ed25519 plugin: %v", err)
		}
		_, err := login(t, ClientConfig{User: "ed_u", Password: "pw", TLS: certFor("")})
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "client_ed25519") {
			t.Errorf("ClientHandshake = %v, want ErrUnsupported for client_ed25519", err)
		}
	})
}

// queryOne sends a COM_QUERY over cc and returns the first column of the single row of
// its result set.
func queryOne(t *testing.T, cc *ClientConn, q string) string {
	t.Helper()
	cc.Conn.SetDeadline(time.Now().Add(20 * time.Second))
	defer cc.Conn.SetDeadline(time.Time{})
	b, _ := AppendPacket(nil, 0, append([]byte{0x03}, q...))
	if _, err := cc.Conn.Write(b); err != nil {
		t.Fatal(err)
	}
	seq := byte(1)
	read := func() []byte {
		t.Helper()
		p, s, err := ReadPacket(cc.Reader, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if s != seq {
			t.Fatalf("sequence %d, want %d", s, seq)
		}
		seq++
		if len(p) > 0 && p[0] == 0xff {
			e, _ := decodeErr(p)
			t.Fatalf("%s: %v", q, e)
		}
		return p
	}
	if p := read(); len(p) != 1 || p[0] != 1 {
		t.Fatalf("column count packet %x, want 1", p)
	}
	read() // column definition
	if cc.Capabilities&CapDeprecateEOF == 0 {
		read() // EOF
	}
	d := decoder{b: read()}
	v := d.lenEncBytes(1<<10, "value")
	if d.err != nil {
		t.Fatal(d.err)
	}
	if p := read(); len(p) == 0 || p[0] != 0xfe { // EOF or OK
		t.Fatalf("end of result set %x", p)
	}
	return string(v)
}

// recordingRelay answers a relayed authentication from a script and records what it saw.
type recordingRelay struct {
	startPlugin string
	scramble    []byte
	seen        [][]byte
	replies     [][]byte // one per Continue that wants a reply
}

func (r *recordingRelay) Start(plugin string, scramble []byte) ([]byte, error) {
	r.startPlugin, r.scramble = plugin, append([]byte(nil), scramble...)
	return []byte("start-reply"), nil
}

func (r *recordingRelay) Continue(p []byte) ([]byte, bool, error) {
	r.seen = append(r.seen, append([]byte(nil), p...))
	if len(p) == 2 && p[0] == 0x01 && p[1] == 0x03 {
		return nil, false, nil
	}
	if len(r.replies) == 0 {
		return nil, false, errors.New("no reply scripted")
	}
	reply := r.replies[0]
	r.replies = r.replies[1:]
	return reply, true, nil
}

// TestClientHandshakeRelay plays a caching_sha2_password server (MySQL 8's default
// plugin, which MariaDB lacks) against ClientConfig.Relay; the server side drives
// Conn.AuthExchange, as the gateway does toward its clients.
func TestClientHandshakeRelay(t *testing.T) {
	t.Parallel()
	sha2Scramble := []byte("ABCDEFGHIJ0123456789")
	tests := []struct {
		name     string
		replies  [][]byte
		script   func(c *Conn) error
		wantSeen int
		wantErr  error
	}{
		{"full authentication", [][]byte{[]byte("sha2-scrambled"), []byte("secret\x00")}, func(c *Conn) error {
			if string(c.auth) != "start-reply" || c.PluginName() != pluginNative {
				return errors.New("handshake response lacks the relay's start reply")
			}
			p, err := c.AuthExchange(SwitchAuthRequest("caching_sha2_password", sha2Scramble), true)
			if err != nil || string(p) != "sha2-scrambled" {
				return errors.New("switch reply wrong")
			}
			if p, err = c.AuthExchange([]byte{0x01, 0x04}, true); err != nil || string(p) != "secret\x00" {
				return errors.New("full auth reply wrong")
			}
			return c.SendOK(0, 0, statusAutocommit, 0)
		}, 2, nil},
		{"fast authentication", [][]byte{[]byte("sha2-scrambled")}, func(c *Conn) error {
			if _, err := c.AuthExchange(SwitchAuthRequest("caching_sha2_password", sha2Scramble), true); err != nil {
				return err
			}
			if _, err := c.AuthExchange([]byte{0x01, 0x03}, false); err != nil {
				return err
			}
			return c.SendOK(0, 0, statusAutocommit, 0)
		}, 2, nil},
		{"refused", nil, func(c *Conn) error {
			return c.SendError(ErAccessDenied, StateAccessDenied, "Access denied")
		}, 0, &Error{}},
		{"endless exchange", [][]byte{{1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}}, func(c *Conn) error {
			for range maxRelayedExchanges + 1 {
				if _, err := c.AuthExchange([]byte{0x01, 0x02}, true); err != nil {
					return nil
				}
			}
			return nil
		}, maxRelayedExchanges, ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			relay := &recordingRelay{replies: tt.replies}
			cc, err, srvErr := scripted(t, Config{TLS: testenv.ServerTLS()}, ClientConfig{User: "u", Relay: relay}, tt.script)
			var sqlErr *Error
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("ClientHandshake = %v (server: %v)", err, srvErr)
			case errors.As(tt.wantErr, &sqlErr):
				if !errors.As(err, &sqlErr) || sqlErr.Code != ErAccessDenied {
					t.Fatalf("ClientHandshake = %v, want ERR 1045", err)
				}
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("ClientHandshake = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && (srvErr != nil || cc == nil) {
				t.Fatalf("server: %v", srvErr)
			}
			if relay.startPlugin != pluginNative || len(relay.scramble) != scrambleLen {
				t.Errorf("Start(%q, %d bytes), want the greeting's plugin and scramble", relay.startPlugin, len(relay.scramble))
			}
			if len(relay.seen) != tt.wantSeen {
				t.Errorf("Continue called %d times, want %d", len(relay.seen), tt.wantSeen)
			}
		})
	}
}
