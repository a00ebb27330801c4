package mysqlwire

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/iamdb/iamdb/internal/testenv"
)

// testClient is a hand-written MySQL client for scripted tests.
type testClient struct {
	t   *testing.T
	nc  net.Conn
	seq byte
}

// read reads a packet and checks its sequence ID.
func (c *testClient) read() []byte {
	c.t.Helper()
	p, seq, err := ReadPacket(c.nc, 1<<20)
	if err != nil {
		c.t.Errorf("client read: %v", err)
		return nil
	}
	if seq != c.seq {
		c.t.Errorf("client read sequence %d, want %d", seq, c.seq)
	}
	c.seq = seq + 1
	return p
}

func (c *testClient) write(p []byte) {
	b, next := AppendPacket(nil, c.seq, p)
	c.seq = next
	c.nc.Write(b)
}

// startTLS sends an SSLRequest with caps and completes the TLS handshake; it reports
// whether TLS is up.
func (c *testClient) startTLS(caps Capability) bool {
	c.t.Helper()
	c.write(sslRequest(caps))
	tc := tls.Client(c.nc, testenv.ClientTLS("localhost"))
	if err := tc.Handshake(); err != nil {
		c.t.Errorf("TLS: %v", err)
		return false
	}
	c.nc = tc
	return true
}

// greeting is a decoded HandshakeV10.
type greeting struct {
	version  string
	connID   uint32
	caps     Capability
	scramble []byte
	plugin   string
}

func parseGreeting(t *testing.T, p []byte) greeting {
	t.Helper()
	var g greeting
	d := decoder{b: p}
	if v := d.uint8("protocol"); v != 10 {
		t.Fatalf("protocol %d", v)
	}
	g.version = string(d.cString(100, "version"))
	g.connID = d.uint32("id")
	g.scramble = append(g.scramble, d.bytes(8, "scramble")...)
	d.uint8("filler")
	lo := d.bytes(2, "caps")
	d.bytes(3, "charset, status")
	hi := d.bytes(2, "caps")
	n := int(d.uint8("scramble length"))
	d.bytes(10, "reserved")
	g.scramble = append(g.scramble, d.bytes(n-9, "scramble")...)
	d.uint8("NUL")
	g.plugin = string(d.cString(100, "plugin"))
	if d.err != nil || len(d.b) != 0 {
		t.Fatalf("greeting: %v, %d bytes left", d.err, len(d.b))
	}
	g.caps = Capability(binary.LittleEndian.Uint16(lo)) | Capability(binary.LittleEndian.Uint16(hi))<<16
	return g
}

// errPacket is a decoded ERR packet.
type errPacket struct {
	code  uint16
	state string // empty without '#'
	msg   string
}

func parseErr(p []byte) (errPacket, bool) {
	if len(p) < 3 || p[0] != 0xff {
		return errPacket{}, false
	}
	e := errPacket{code: binary.LittleEndian.Uint16(p[1:])}
	p = p[3:]
	if len(p) >= 6 && p[0] == '#' {
		e.state, p = string(p[1:6]), p[6:]
	}
	e.msg = string(p)
	return e, true
}

// start runs Handshake on one end of a pipe and script on the other; wait waits for the
// script.
func start(t *testing.T, cfg Config, script func(c *testClient)) (*Conn, error, func()) {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return testenv.Scripted(t, s.Handshake, func(nc net.Conn) { script(&testClient{t: t, nc: nc}) })
}

const loginCaps = clientCaps | CapConnectWithDB | CapConnectAttrs

func TestLoginPlaintext(t *testing.T) {
	t.Parallel()
	c, err, wait := start(t, Config{ConnectionID: func() uint32 { return 42 }}, func(cl *testClient) {
		g := parseGreeting(t, cl.read())
		if g.version != DefaultServerVersion || g.connID != 42 || g.plugin != pluginNative || len(g.scramble) != 20 || g.caps != DefaultCapabilities {
			t.Errorf("greeting = %+v", g)
		}
		if bytes.IndexByte(g.scramble, 0) >= 0 {
			t.Errorf("scramble %q has NUL", g.scramble)
		}
		cl.write(resp{caps: loginCaps, user: "alice", auth: scramble20, db: "shop", plugin: pluginNative,
			attrs: []string{"_client_name", "test", "_pid", "1"}}.encode())
		if sw := cl.read(); string(sw) != "\xfemysql_clear_password\x00" {
			t.Errorf("auth switch = %q", sw)
		}
		cl.write([]byte("tok\x00"))
		if ok := cl.read(); !bytes.Equal(ok, []byte{0, 0, 0, 2, 0, 0, 0}) {
			t.Errorf("OK = %x", ok)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{"user": c.User(), "db": c.Database(), "plugin": c.PluginName(), "caps": c.Capabilities(),
		"attrs": c.Attrs(), "tls": c.TLS() == nil, "charset": c.Charset(), "id": c.ConnectionID(), "max": c.MaxPacketSize()}
	want := map[string]any{"user": "alice", "db": "shop", "plugin": pluginNative, "caps": loginCaps & DefaultCapabilities,
		"attrs": map[string]string{"_client_name": "test", "_pid": "1"}, "tls": true, "charset": uint8(45), "id": uint32(42), "max": uint32(1 << 24)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Conn (-want +got):\n%s", diff)
	}
	pw, err := c.RequestCleartextPassword()
	if err != nil || pw != "tok" {
		t.Errorf("RequestCleartextPassword = %q, %v", string(pw), err)
	}
	if err := c.SendOK(0, 0, statusAutocommit, 0); err != nil {
		t.Error(err)
	}
	wait()
}

func TestLoginTLS(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		reply string
	}{
		{"libmysql NUL", "token-with-NUL\x00"},
		{"no NUL", "token-with-NUL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err, wait := start(t, Config{TLS: testenv.ServerTLS(), RequireTLS: true}, func(cl *testClient) {
				g := parseGreeting(t, cl.read())
				if g.caps&CapSSL == 0 {
					t.Errorf("greeting caps %#x lack SSL", g.caps)
				}
				if !cl.startTLS(loginCaps) {
					return
				}
				cl.write(resp{caps: loginCaps | CapSSL, user: "u", auth: scramble20, plugin: pluginNative}.encode())
				if sw := cl.read(); string(sw) != "\xfemysql_clear_password\x00" {
					t.Errorf("auth switch = %q", sw)
				}
				cl.write([]byte(tt.reply))
				if e, ok := parseErr(cl.read()); !ok || e != (errPacket{1045, "28000", "Access denied for user 'u'@'10.1.2.3' (using password: YES)"}) {
					t.Errorf("ERR = %+v", e)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if c.TLS() == nil || c.TLS().Version < tls.VersionTLS12 || c.Capabilities()&CapSSL == 0 {
				t.Errorf("TLS = %+v, caps %#x", c.TLS(), c.Capabilities())
			}
			pw, err := c.RequestCleartextPassword()
			if err != nil || pw != "token-with-NUL" {
				t.Errorf("RequestCleartextPassword = %q, %v", string(pw), err)
			}
			e := AccessDenied(c.User(), "10.1.2.3", true)
			if err := c.SendError(e.Code, e.SQLState, e.Message); err != nil {
				t.Error(err)
			}
			wait()
		})
	}
}

// MariaDB Connector/J 2.x sets CLIENT_SSL on its SSLRequest and not on the
// HandshakeResponse it sends after TLS. MariaDB accepts that; so does the server, and
// the Conn has TLS and CLIENT_SSL.
func TestLoginTLSConnectorJ(t *testing.T) {
	t.Parallel()
	c, err, wait := start(t, Config{TLS: testenv.ServerTLS()}, func(cl *testClient) {
		cl.read()
		if !cl.startTLS(loginCaps) {
			return
		}
		cl.write(resp{caps: loginCaps &^ CapSSL, user: "u", auth: scramble20, plugin: pluginNative}.encode())
		if ok := cl.read(); len(ok) == 0 || ok[0] != 0 {
			t.Errorf("OK = %x", ok)
		}
	})
	if err != nil {
		t.Fatalf("Connector/J's handshake: %v", err)
	}
	if c.TLS() == nil || c.Capabilities()&CapSSL == 0 || c.User() != "u" {
		t.Errorf("TLS = %v, caps %#x, user %q", c.TLS() != nil, c.Capabilities(), c.User())
	}
	c.SendOK(0, 0, 0, 0)
	wait()
}

// A second SSLRequest, after TLS, is refused.
func TestSecondSSLRequestRefused(t *testing.T) {
	t.Parallel()
	_, err, wait := start(t, Config{TLS: testenv.ServerTLS()}, func(cl *testClient) {
		cl.read()
		if !cl.startTLS(loginCaps) {
			return
		}
		cl.write(sslRequest(loginCaps))
		if e, ok := parseErr(cl.read()); !ok || e.code != 1043 || !strings.Contains(e.msg, "SSLRequest after TLS") {
			t.Errorf("ERR = %+v, want 1043 … SSLRequest after TLS", e)
		}
	})
	if !errors.Is(err, ErrProtocol) {
		t.Errorf("Handshake = %v, want ErrProtocol", err)
	}
	wait()
}

// TestLoginCleartextUpFront: a client whose default plugin is mysql_clear_password
// (mysql --default-auth=mysql_clear_password) sends the password in its response; no
// switch follows.
func TestLoginCleartextUpFront(t *testing.T) {
	t.Parallel()
	c, err, wait := start(t, Config{}, func(cl *testClient) {
		cl.read()
		cl.write(resp{caps: loginCaps, user: "u", auth: []byte("tok\x00"), plugin: pluginCleartext}.encode())
		if ok := cl.read(); len(ok) == 0 || ok[0] != 0 {
			t.Errorf("OK = %x", ok)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if pw, err := c.RequestCleartextPassword(); err != nil || pw != "tok" {
		t.Errorf("RequestCleartextPassword = %q, %v", string(pw), err)
	}
	c.SendOK(0, 0, 0, 0)
	wait()
}

func TestHandshakeRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		send    func(cl *testClient)
		want    errPacket // msg: substring
		wantErr error
	}{
		{"pre-4.1", Config{}, func(cl *testClient) { cl.write([]byte{0x85, 0x24, 0, 0, 0, 'u', 0, 0}) },
			errPacket{1251, "", "Client does not support authentication protocol"}, ErrUnsupported},
		{"compress", Config{}, func(cl *testClient) { cl.write(resp{caps: loginCaps | CapCompress, user: "u"}.encode()) },
			errPacket{1043, "08S01", "compression is not supported"}, ErrUnsupported},
		{"oversized user", Config{}, func(cl *testClient) { cl.write(resp{caps: loginCaps, user: strings.Repeat("u", 300)}.encode()) },
			errPacket{1043, "08S01", "user name"}, ErrTooLong},
		{"oversized attrs", Config{}, func(cl *testClient) {
			cl.write(resp{caps: loginCaps, user: "u", attrs: []string{"k", strings.Repeat("v", 5000)}}.encode())
		}, errPacket{1043, "08S01", "connection attribute value"}, ErrTooLong},
		{"oversized packet", Config{MaxHandshakeLen: 100}, func(cl *testClient) { cl.write(make([]byte, 101)) },
			errPacket{1153, "08S01", "exceeds 100"}, ErrTooLong},
		{"multi-packet", Config{}, func(cl *testClient) { cl.seq = 2; cl.nc.Write([]byte{0xff, 0xff, 0xff, 1}) },
			errPacket{1153, "08S01", "multi-packet"}, ErrTooLong},
		{"out of order", Config{}, func(cl *testClient) { cl.seq = 5; cl.write(resp{caps: loginCaps, user: "u"}.encode()) },
			errPacket{1156, "08S01", "out of order"}, ErrProtocol},
		{"malformed", Config{}, func(cl *testClient) { cl.write(resp{caps: loginCaps, user: "u"}.encode()[:34]) },
			errPacket{1043, "08S01", "auth response truncated"}, ErrProtocol},
		{"ssl not offered", Config{}, func(cl *testClient) { cl.write(sslRequest(loginCaps)) },
			errPacket{1043, "08S01", "SSL requested but not offered"}, ErrUnsupported},
		{"ssl flag without request", Config{TLS: testenv.ServerTLS()}, func(cl *testClient) { cl.write(resp{caps: loginCaps | CapSSL, user: "u"}.encode()) },
			errPacket{1043, "08S01", "SSL flag without SSLRequest"}, ErrProtocol},
		{"plaintext refused", Config{TLS: testenv.ServerTLS(), RequireTLS: true}, func(cl *testClient) { cl.write(resp{caps: loginCaps, user: "u"}.encode()) },
			errPacket{3159, "HY000", "insecure transport"}, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err, wait := start(t, tt.cfg, func(cl *testClient) {
				cl.read()
				go tt.send(cl)
				e, ok := parseErr(cl.read())
				if !ok || e.code != tt.want.code || e.state != tt.want.state || !strings.Contains(e.msg, tt.want.msg) {
					t.Errorf("ERR = %+v, want %+v", e, tt.want)
				}
			})
			wait()
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Handshake = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestHandshakeTLSFailure(t *testing.T) {
	t.Parallel()
	_, err, wait := start(t, Config{TLS: testenv.ServerTLS()}, func(cl *testClient) {
		cl.read()
		cl.write(sslRequest(loginCaps))
		cl.nc.Write([]byte("not a TLS ClientHello at all......"))
		io.Copy(io.Discard, cl.nc)
	})
	wait()
	if !errors.Is(err, ErrTLS) {
		t.Errorf("Handshake = %v, want ErrTLS", err)
	}
}

func TestRequestCleartextPasswordRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		reply   func(cl *testClient)
		want    uint16 // ERR code, 0 for none
		wantErr error
	}{
		{"client closes", func(cl *testClient) { cl.nc.Close() }, 0, ErrCleartextNotEnabled},
		{"client closes mid-packet", func(cl *testClient) { cl.nc.Write([]byte{9, 0}); cl.nc.Close() }, 0, ErrCleartextNotEnabled},
		{"too long", func(cl *testClient) { go cl.write(make([]byte, 1002)) }, 1153, ErrTooLong},
		{"inner NUL", func(cl *testClient) { go cl.write([]byte("a\x00b")) }, 1043, ErrProtocol},
		{"out of order", func(cl *testClient) { cl.seq = 9; go cl.write([]byte("tok")) }, 1156, ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err, wait := start(t, Config{MaxPasswordLen: 1000}, func(cl *testClient) {
				cl.read()
				cl.write(resp{caps: loginCaps, user: "u", auth: scramble20, plugin: pluginNative}.encode())
				cl.read()
				tt.reply(cl)
				if tt.want != 0 {
					if e, ok := parseErr(cl.read()); !ok || e.code != tt.want {
						t.Errorf("ERR = %+v, want code %d", e, tt.want)
					}
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.RequestCleartextPassword(); !errors.Is(err, tt.wantErr) {
				t.Errorf("RequestCleartextPassword = %v, want %v", err, tt.wantErr)
			}
			wait()
		})
	}
}

func TestNewServerConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cfg  Config
	}{
		{"compress", Config{Capabilities: DefaultCapabilities | CapCompress}},
		{"no protocol 41", Config{Capabilities: DefaultCapabilities &^ CapProtocol41}},
		{"require TLS without TLS", Config{RequireTLS: true}},
		{"TLS without cert", Config{TLS: &tls.Config{}}},
		{"TLS 1.1", Config{TLS: testenv.ServerTLS(), MinTLSVersion: tls.VersionTLS11}},
		{"huge handshake", Config{MaxHandshakeLen: MaxPayloadLen}},
		{"NUL in version", Config{ServerVersion: "8\x00"}},
	} {
		if _, err := NewServer(tt.cfg); err == nil {
			t.Errorf("NewServer(%s) succeeded", tt.name)
		}
	}
}

// FuzzHandshake feeds arbitrary bytes after the greeting: no panic, no hang.
// FuzzHandshakeAfterTLS feeds what a client sends after its SSLRequest and the TLS
// handshake: the response (with or without CLIENT_SSL, as Connector/J 2.x), a second
// SSLRequest, or anything else. Whatever it is, an accepted Conn has TLS and CLIENT_SSL.
func FuzzHandshakeAfterTLS(f *testing.F) {
	f.Add(frame(2, resp{caps: loginCaps | CapSSL, user: "u", auth: scramble20, plugin: pluginNative}.encode()))
	f.Add(frame(2, resp{caps: loginCaps, user: "u", auth: scramble20, plugin: pluginNative}.encode()))
	f.Add(frame(2, sslRequest(loginCaps)))
	f.Add([]byte{0xff, 0xff, 0xff, 2})
	s, err := NewServer(Config{TLS: testenv.ServerTLS()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		server, client := net.Pipe()
		defer client.Close()
		go func() {
			client.SetDeadline(time.Now().Add(5 * time.Second))
			if _, _, err := ReadPacket(client, 1<<10); err != nil {
				return
			}
			pkt, _ := AppendPacket(nil, 1, sslRequest(loginCaps))
			if _, err := client.Write(pkt); err != nil {
				return
			}
			tc := tls.Client(client, testenv.ClientTLS("localhost"))
			if tc.Handshake() != nil {
				return
			}
			done := make(chan struct{})
			go func() { io.Copy(io.Discard, tc); close(done) }() // net.Pipe: read while writing
			tc.Write(in)
			tc.CloseWrite()
			<-done
		}()
		server.SetDeadline(time.Now().Add(5 * time.Second))
		c, err := s.Handshake(context.Background(), server)
		if err == nil && (c.TLS() == nil || c.Capabilities()&CapSSL == 0) {
			t.Fatalf("accepted after TLS without TLS state: tls %v, caps %#x", c.TLS() != nil, c.Capabilities())
		}
		server.Close()
	})
}

func FuzzHandshake(f *testing.F) {
	f.Add(frame(1, resp{caps: loginCaps, user: "u", auth: scramble20, plugin: pluginNative}.encode()))
	f.Add(frame(1, sslRequest(loginCaps)))
	f.Add([]byte{0xff, 0xff, 0xff, 1})
	s, err := NewServer(Config{})
	if err != nil {
		f.Fatal(err)
	}
	testenv.FuzzHandshake(f, s.Handshake, func(t *testing.T, c *Conn, err error) {
		if err == nil && c.Capabilities()&CapProtocol41 == 0 {
			t.Fatal("accepted a pre-4.1 client")
		}
	})
}

// Before TLS and before any byte of a handshake response, a peer that sends only a
// 4-byte packet header announcing 65,535 bytes holds no more than the design's pre-login
// budget per connection (DESIGN.md: <= 16 KiB) until the startup timeout: ReadPacket
// grows the payload as it arrives (wireio.ReadAppend), where it used to allocate the
// announced 64 KiB at once. Measured over 200 connections, with a margin.
func TestHandshakeAnnouncedLengthMemory(t *testing.T) {
	srv, err := NewServer(Config{})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(nc net.Conn) { srv.Handshake(context.Background(), nc) }
	greeting := func(c net.Conn) error { // its header, then its payload
		var g [4]byte
		if _, err := io.ReadFull(c, g[:]); err != nil {
			return err
		}
		_, err := io.CopyN(io.Discard, c, int64(g[0])|int64(g[1])<<8|int64(g[2])<<16)
		return err
	}
	// A 65,535-byte packet, seq 1 — and nothing more.
	per := testenv.HeapPerConn(t, 200, serve, greeting, []byte{0xff, 0xff, 0x00, 0x01})
	t.Logf("heap per connection after a 4-byte header: %d bytes", per)
	if per > 16<<10 {
		t.Errorf("a 4-byte header pins %d bytes per connection before TLS, want <= 16 KiB", per)
	}
}
