package pgwire

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/jackc/pgx/v5/pgproto3"
)

// startup encodes a startup packet (with its length word) of version with pairs.
func startup(version uint32, pairs ...string) []byte {
	b := binary.BigEndian.AppendUint32(make([]byte, 4), version)
	for _, s := range pairs {
		b = append(append(b, s...), 0)
	}
	b = append(b, 0)
	binary.BigEndian.PutUint32(b, uint32(len(b)))
	return b
}

func request(code uint32, extra ...byte) []byte {
	b := binary.BigEndian.AppendUint32(make([]byte, 4), code)
	b = append(b, extra...)
	binary.BigEndian.PutUint32(b, uint32(len(b)))
	return b
}

func TestDecodePacket(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		packet  []byte // with length word
		want    packet
		wantErr error
	}{
		{"startup", startup(Version30, "user", "alice", "database", "db", "application_name", "psql"),
			packet{kind: packetStartup, version: Version30, params: map[string]string{"user": "alice", "database": "db", "application_name": "psql"}}, nil},
		{"empty value", startup(Version30, "user", "u", "options", ""),
			packet{kind: packetStartup, version: Version30, params: map[string]string{"user": "u", "options": ""}}, nil},
		{"3.2 with options", startup(3<<16|2, "user", "u", "_pq_.a", "1", "_pq_.b", "2"),
			packet{kind: packetStartup, version: 3<<16 | 2, params: map[string]string{"user": "u"}, options: []string{"_pq_.a", "_pq_.b"}}, nil},
		{"no parameters", startup(Version30), packet{kind: packetStartup, version: Version30, params: map[string]string{}}, nil},
		{"version 2", startup(2 << 16), packet{kind: packetStartup, version: 2 << 16}, nil},
		{"ssl", request(codeSSLRequest), packet{kind: packetSSL}, nil},
		{"gssenc", request(codeGSSENCRequest), packet{kind: packetGSSENC}, nil},
		{"cancel", request(codeCancelRequest, 0, 0, 1, 0, 1, 2, 3, 4), packet{kind: packetCancel, pid: 256, key: []byte{1, 2, 3, 4}}, nil},
		{"cancel 3.2 key", request(codeCancelRequest, append([]byte{0, 0, 0, 9}, bytes.Repeat([]byte{7}, 32)...)...), packet{kind: packetCancel, pid: 9, key: bytes.Repeat([]byte{7}, 32)}, nil},
		{"cancel short", request(codeCancelRequest, 0, 0, 1, 0), packet{}, ErrProtocol},
		{"cancel long", request(codeCancelRequest, make([]byte, 4+257)...), packet{}, ErrProtocol},
		{"ssl with data", request(codeSSLRequest, 1), packet{}, ErrProtocol},
		{"no terminator", startup(Version30, "user", "u")[:15], packet{}, ErrProtocol},
		{"value unterminated", append(binary.BigEndian.AppendUint32([]byte{0, 0, 0, 0}, Version30), "user\x00u"...), packet{}, ErrProtocol},
		{"junk after terminator", append(startup(Version30, "user", "u"), 0, 0), packet{}, ErrProtocol},
		{"too short", []byte{0, 0, 0, 6, 0, 3}, packet{}, ErrProtocol},
	}
	var many []string
	for i := range MaxStartupParams + 1 {
		many = append(many, "k"+string(rune('a'+i%26))+strings.Repeat("x", i/26), "v")
	}
	tests = append(tests, struct {
		name    string
		packet  []byte
		want    packet
		wantErr error
	}{"too many parameters", startup(Version30, many...), packet{}, ErrProtocol})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodePacket(tt.packet[4:])
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("decodePacket = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(packet{})); err == nil && diff != "" {
				t.Errorf("decodePacket (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzStartup(f *testing.F) {
	f.Add(startup(Version30, "user", "alice", "database", "db")[4:])
	f.Add(startup(3<<16|2, "user", "u", "_pq_.x", "1")[4:])
	f.Add(request(codeCancelRequest, 0, 0, 1, 0, 1, 2, 3, 4)[4:])
	f.Add(request(codeSSLRequest)[4:])
	f.Add([]byte{0, 3, 0, 0, 'u', 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > MaxStartupLen {
			return
		}
		p, err := decodePacket(body)
		if err != nil {
			return
		}
		if p.kind == packetStartup && p.version>>16 == 3 {
			if len(p.params)+len(p.options) > MaxStartupParams {
				t.Fatalf("%d parameters", len(p.params)+len(p.options))
			}
			for k, v := range p.params {
				if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 || k == "" {
					t.Fatalf("bad pair %q=%q", k, v)
				}
			}
		}
		if p.kind == packetCancel && len(p.key) > maxCancelKey {
			t.Fatalf("key of %d bytes", len(p.key))
		}
	})
}

func TestDecodePassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		want    Password
		wantErr bool
	}{
		{"token", "host:5432/?Action=connect\x00", "host:5432/?Action=connect", false},
		{"empty", "\x00", "", false},
		{"no terminator", "abc", "", true},
		{"nothing", "", "", true},
		{"embedded NUL", "a\x00b\x00", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodePassword([]byte(tt.body))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("decodePassword(%q) = %q, %v; want %q, error %v", tt.body, string(got), err, string(tt.want), tt.wantErr)
			}
		})
	}
}

func FuzzPassword(f *testing.F) {
	for _, s := range []string{"tok\x00", "\x00", "", "a\x00b\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pw, err := decodePassword(body)
		if err == nil && (len(pw) != len(body)-1 || strings.IndexByte(string(pw), 0) >= 0) {
			t.Fatalf("decodePassword(%q) = %q", body, string(pw))
		}
	})
}

func TestReadHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      []byte
		typ     byte
		n       int
		wantErr bool
	}{
		{"query", []byte{'Q', 0, 0, 0, 9}, 'Q', 5, false},
		{"empty body", []byte{'S', 0, 0, 0, 4}, 'S', 0, false},
		{"length 3", []byte{'Q', 0, 0, 0, 3}, 0, 0, true},
		{"negative", []byte{'Q', 0xff, 0xff, 0xff, 0xff}, 0, 0, true},
		{"1 GiB", []byte{'d', 0x40, 0, 0, 0}, 0, 0, true},
		{"short", []byte{'Q', 0, 0}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{16, 4096} { // header split across reads, or buffered
				r := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(tt.in[:min(2, len(tt.in))]), bytes.NewReader(tt.in[min(2, len(tt.in)):])), size)
				typ, n, err := ReadHeader(r)
				if (err != nil) != tt.wantErr || typ != tt.typ || n != tt.n {
					t.Errorf("ReadHeader(%v) = %q, %d, %v; want %q, %d, error %v", tt.in, typ, n, err, tt.typ, tt.n, tt.wantErr)
				}
			}
		})
	}
}

func FuzzHeader(f *testing.F) {
	f.Add([]byte{'Q', 0, 0, 0, 9})
	f.Add([]byte{'Q', 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		typ, n, err := ReadHeader(bufio.NewReader(bytes.NewReader(in)))
		if err == nil && (n < 0 || n > MaxMessageLen || len(in) < 5 || typ != in[0]) {
			t.Fatalf("ReadHeader(%v) = %q, %d", in, typ, n)
		}
	})
}

// clientTLSHandshake completes a client's TLS handshake (with ALPN "postgresql") on nc;
// it returns nil after reporting a failure.
func clientTLSHandshake(t *testing.T, nc net.Conn) *tls.Conn {
	t.Helper()
	conf := testenv.ClientTLS("localhost")
	conf.NextProtos = []string{"postgresql"}
	tc := tls.Client(nc, conf)
	if err := tc.Handshake(); err != nil {
		t.Errorf("TLS: %v", err)
		return nil
	}
	return tc
}

// handshake runs Handshake on one end of a pipe and script on the other.
func handshake(t *testing.T, cfg Config, script func(c net.Conn)) (*Conn, error) {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err, wait := testenv.Scripted(t, s.Handshake, script)
	wait()
	return c, err
}

func readByte(t *testing.T, c net.Conn) byte {
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Errorf("read: %v", err)
	}
	return b[0]
}

// receive reads backend messages until (and including) one of type want.
func receive(t *testing.T, fe *pgproto3.Frontend, until func(pgproto3.BackendMessage) bool) []pgproto3.BackendMessage {
	var out []pgproto3.BackendMessage
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Errorf("receive: %v", err)
			return out
		}
		switch m := m.(type) { // copy what the next Receive overwrites
		case *pgproto3.ErrorResponse:
			c := *m
			out = append(out, &c)
		case *pgproto3.NegotiateProtocolVersion:
			c := *m
			out = append(out, &c)
		default:
			out = append(out, m)
		}
		if until(m) {
			return out
		}
	}
}

func TestHandshakeTLS(t *testing.T) {
	t.Parallel()
	c, err := handshake(t, Config{TLS: testenv.ServerTLS()}, func(nc net.Conn) {
		nc.Write(request(codeGSSENCRequest))
		if b := readByte(t, nc); b != 'N' {
			t.Errorf("GSSENCRequest answered %q", b)
		}
		nc.Write(request(codeSSLRequest))
		if b := readByte(t, nc); b != 'S' {
			t.Errorf("SSLRequest answered %q", b)
			return
		}
		tc := clientTLSHandshake(t, nc)
		if tc == nil {
			return
		}
		tc.Write(startup(Version30, "user", "alice", "application_name", "app"))
		go func() { // answer the password request
			fe := pgproto3.NewFrontend(tc, tc)
			msgs := receive(t, fe, func(m pgproto3.BackendMessage) bool {
				_, ok := m.(*pgproto3.AuthenticationCleartextPassword)
				return ok
			})
			if len(msgs) != 1 {
				t.Errorf("before the password request: %v", msgs)
			}
			fe.Send(&pgproto3.PasswordMessage{Password: strings.Repeat("t", 20000)})
			fe.Flush()
			msgs = receive(t, fe, func(m pgproto3.BackendMessage) bool { _, ok := m.(*pgproto3.ReadyForQuery); return ok })
			if len(msgs) != 4 {
				t.Errorf("after the password: %v", msgs)
			}
		}()
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS() == nil || c.TLS().Version < tls.VersionTLS12 || c.TLS().NegotiatedProtocol != "postgresql" {
		t.Errorf("TLS state %+v", c.TLS())
	}
	if c.User() != "alice" || c.Database() != "alice" || c.Params()["application_name"] != "app" {
		t.Errorf("user %q database %q params %v", c.User(), c.Database(), c.Params())
	}
	pw, err := c.RequestPassword()
	if err != nil || len(pw) != 20000 {
		t.Fatalf("RequestPassword = %d bytes, %v", len(pw), err)
	}
	if s := pw.String(); s != "<redacted>" {
		t.Errorf("Password.String() = %q", s)
	}
	c.SendAuthOK()
	c.SendParameterStatus("server_version", "15")
	c.SendBackendKeyData(42, []byte{1, 2, 3, 4})
	c.SendReadyForQuery('I')
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
}

func TestHandshakeDirectSSL(t *testing.T) {
	t.Parallel()
	c, err := handshake(t, Config{TLS: testenv.ServerTLS()}, func(nc net.Conn) {
		tc := clientTLSHandshake(t, nc)
		if tc == nil {
			return
		}
		tc.Write(startup(Version30, "user", "u", "database", "d"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS() == nil || c.Database() != "d" {
		t.Errorf("direct SSL: TLS %v, database %q", c.TLS() != nil, c.Database())
	}
}

func TestHandshakeNoTLS(t *testing.T) {
	t.Parallel()
	c, err := handshake(t, Config{}, func(nc net.Conn) {
		nc.Write(request(codeSSLRequest))
		if b := readByte(t, nc); b != 'N' {
			t.Errorf("SSLRequest answered %q", b)
		}
		nc.Write(startup(Version30, "user", "u"))
	})
	if err != nil || c.TLS() != nil {
		t.Fatalf("Handshake = %v, TLS %v", err, c != nil && c.TLS() != nil)
	}
}

func TestHandshakeNegotiate(t *testing.T) {
	t.Parallel()
	c, err := handshake(t, Config{}, func(nc net.Conn) {
		nc.Write(startup(3<<16|2, "user", "u", "_pq_.compression", "on"))
		go func() {
			fe := pgproto3.NewFrontend(nc, nc)
			msgs := receive(t, fe, func(m pgproto3.BackendMessage) bool {
				_, ok := m.(*pgproto3.AuthenticationCleartextPassword)
				return ok
			})
			want := &pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: Version30, UnrecognizedOptions: []string{"_pq_.compression"}}
			if len(msgs) != 2 || !cmp.Equal(msgs[0], pgproto3.BackendMessage(want)) {
				t.Errorf("messages %#v; want NegotiateProtocolVersion %v first", msgs, want)
			}
			fe.Send(&pgproto3.PasswordMessage{Password: "pw"})
			fe.Flush()
		}()
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Version() != 3<<16|2 {
		t.Errorf("Version = %#x", c.Version())
	}
	if pw, err := c.RequestPassword(); err != nil || pw != "pw" {
		t.Errorf("RequestPassword = %q, %v", string(pw), err)
	}
}

func TestHandshakeCancel(t *testing.T) {
	t.Parallel()
	var gotPID uint32
	var gotKey []byte
	cfg := Config{OnCancel: func(pid uint32, key []byte) { gotPID, gotKey = pid, bytes.Clone(key) }}
	_, err := handshake(t, cfg, func(nc net.Conn) {
		nc.Write(request(codeCancelRequest, 0, 0, 0, 7, 9, 8, 7, 6))
	})
	if !errors.Is(err, ErrCancelRequest) || gotPID != 7 || !bytes.Equal(gotKey, []byte{9, 8, 7, 6}) {
		t.Errorf("Handshake = %v; OnCancel(%d, %v)", err, gotPID, gotKey)
	}
}

func TestHandshakeRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		send     []byte
		code     string
		contains string
	}{
		{"protocol 2", startup(2 << 16), CodeFeatureNotSupported, "unsupported frontend protocol 2.0"},
		{"protocol 4", startup(4 << 16), CodeFeatureNotSupported, "unsupported frontend protocol 4.0"},
		{"no user", startup(Version30, "database", "d"), CodeInvalidAuthorization, "no PostgreSQL user name specified"},
		{"oversized", binary.BigEndian.AppendUint32(nil, 10009), CodeProtocolViolation, "invalid length of startup packet"},
		{"tiny", []byte{0, 0, 0, 7, 0, 0, 0}, CodeProtocolViolation, "invalid length of startup packet"},
		{"bad layout", startup(Version30, "user")[:13], CodeProtocolViolation, "invalid startup packet layout"},
		{"http", []byte("GET / HTTP/1.1\r\n\r\n"), CodeProtocolViolation, "invalid length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.name == "bad layout" {
				binary.BigEndian.PutUint32(tt.send, uint32(len(tt.send)))
			}
			_, err := handshake(t, Config{}, func(nc net.Conn) {
				go nc.Write(tt.send)
				fe := pgproto3.NewFrontend(nc, nc)
				msgs := receive(t, fe, func(pgproto3.BackendMessage) bool { return true })
				if len(msgs) != 1 {
					return
				}
				e, ok := msgs[0].(*pgproto3.ErrorResponse)
				if !ok || e.Severity != "FATAL" || e.Code != tt.code || !strings.Contains(e.Message, tt.contains) {
					t.Errorf("got %#v; want FATAL %s …%s…", msgs[0], tt.code, tt.contains)
				}
			})
			if !errors.Is(err, ErrProtocol) {
				t.Errorf("Handshake = %v, want ErrProtocol", err)
			}
		})
	}
}

func TestRequestPasswordRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		msg  []byte
		want error
	}{
		{"not a password", []byte{'Q', 0, 0, 0, 6, 'x', 0}, ErrProtocol},
		{"too long", append([]byte{'p', 0, 0, 0x40, 0}, make([]byte, 0)...), ErrTooLong},
		{"malformed", []byte{'p', 0, 0, 0, 7, 'a', 'b', 'c'}, ErrProtocol},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := handshake(t, Config{MaxPasswordLen: 1000}, func(nc net.Conn) {
				nc.Write(startup(Version30, "user", "u"))
				go func() {
					fe := pgproto3.NewFrontend(nc, nc)
					receive(t, fe, func(pgproto3.BackendMessage) bool { return true })
					nc.Write(tt.msg)
					io.Copy(io.Discard, nc)
				}()
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.RequestPassword(); !errors.Is(err, tt.want) {
				t.Errorf("RequestPassword = %v, want %v", err, tt.want)
			}
			c.Close()
		})
	}
}

// FuzzHandshake feeds arbitrary first bytes to a Server: it must not panic or hang.
func FuzzHandshake(f *testing.F) {
	f.Add(startup(Version30, "user", "u"))
	f.Add(append(request(codeGSSENCRequest), startup(3<<16|5, "user", "u", "_pq_.x", "")...))
	f.Add(request(codeCancelRequest, 0, 0, 0, 1, 1, 2, 3, 4))
	f.Add(request(codeSSLRequest))
	f.Add(binary.BigEndian.AppendUint32(nil, 0xffffffff))
	s, err := NewServer(Config{})
	if err != nil {
		f.Fatal(err)
	}
	testenv.FuzzHandshake(f, s.Handshake, func(t *testing.T, c *Conn, err error) {
		if err == nil && c.User() == "" {
			t.Fatal("accepted a startup without a user")
		}
	})
}

func TestScan(t *testing.T) {
	t.Parallel()
	q := AppendQuery(nil, "select 1")
	sync := []byte{TypeSync, 0, 0, 0, 4}
	batch := slices.Concat(q, sync, q)
	tests := []struct {
		name    string
		in      []byte
		stopAt  int // visit returns false for this message (0: never)
		walked  int
		types   string
		wantErr bool
	}{
		{"empty", nil, 0, 0, "", false},
		{"partial header", q[:4], 0, 0, "", false},
		{"partial body", q[:len(q)-1], 0, 0, "", false},
		{"one", q, 0, len(q), "Q", false},
		{"batch", batch, 0, len(batch), "QSQ", false},
		{"batch and a partial one", append(slices.Clip(batch), q[:7]...), 0, len(batch), "QSQ", false},
		{"stop after the second", batch, 2, len(q) + len(sync), "QS", false},
		{"bad length after one", append(slices.Clip(q), 'Q', 0, 0, 0, 3), 0, len(q), "Q", true},
		{"negative length", []byte{'Q', 0xff, 0xff, 0xff, 0xff}, 0, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var types []byte
			walked, err := Scan(tt.in, func(typ byte, body []byte) bool {
				types = append(types, typ)
				if typ == TypeQuery && string(body) != "select 1\x00" {
					t.Errorf("Query body %q", body)
				}
				return len(types) != tt.stopAt
			})
			if walked != tt.walked || string(types) != tt.types || (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrProtocol)) {
				t.Errorf("Scan(%q) = %d, %q, %v; want %d, %q, error %v", tt.in, walked, types, err, tt.walked, tt.types, tt.wantErr)
			}
		})
	}
}

// TestFramingAllocs checks that the relays' framing does not allocate per message.
func TestFramingAllocs(t *testing.T) {
	q := AppendQuery(nil, "select 1")
	batch := slices.Concat(q, []byte{TypeSync, 0, 0, 0, 4}, q)
	if n := testing.AllocsPerRun(100, func() { Scan(batch, func(byte, []byte) bool { return true }) }); n != 0 {
		t.Errorf("Scan allocates %v times", n)
	}
	testenv.HeaderAllocs(t, q,
		func(r *bufio.Reader) error { _, _, err := ReadHeader(r); return err },
		func(w *bufio.Writer) { WriteHeader(w, TypeQuery, len(q)-5) })
}

// FuzzScan checks Scan against ReadHeader: the messages Scan visits are those that a
// reader framing in with ReadHeader finds whole, in order, and Scan stops where the
// reader would block or fail.
func FuzzScan(f *testing.F) {
	q := AppendQuery(nil, "select 1")
	f.Add(slices.Concat(q, []byte{TypeSync, 0, 0, 0, 4}, q[:6]))
	f.Add([]byte{'Q', 0, 0, 0, 3})
	f.Add([]byte{'d', 0, 0, 0, 5, 'x', 'Z', 0, 0, 0, 5, 'I'})
	f.Fuzz(func(t *testing.T, in []byte) {
		testenv.CheckScan(t, in, 5, ErrProtocol, Scan, ReadHeader)
	})
}

// A client at the password prompt that sends only a 5-byte header announcing a
// 65,531-byte PasswordMessage holds no more than the design's pre-login budget per
// connection (DESIGN.md: <= 16 KiB) until the login timeout, a minute by default:
// ReadPassword grows the body as it arrives (wireio.ReadAppend), where it used to
// allocate the announced 64 KiB at once. Measured over 200 connections, with a margin.
func TestReadPasswordAnnouncedLengthMemory(t *testing.T) {
	srv, err := NewServer(Config{})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(nc net.Conn) {
		if c, err := srv.Handshake(context.Background(), nc); err == nil {
			c.RequestPassword()
		}
	}
	startup := binary.BigEndian.AppendUint32(nil, 0)
	startup = binary.BigEndian.AppendUint32(startup, Version30)
	startup = append(startup, "user\x00u\x00\x00"...)
	binary.BigEndian.PutUint32(startup, uint32(len(startup)))
	toPrompt := func(c net.Conn) error {
		if _, err := c.Write(startup); err != nil {
			return err
		}
		var ask [9]byte // AuthenticationCleartextPassword
		_, err := io.ReadFull(c, ask[:])
		return err
	}
	// A 65,531-byte body announced, nothing sent.
	per := testenv.HeapPerConn(t, 200, serve, toPrompt, []byte{'p', 0, 0, 0xff, 0xff})
	t.Logf("heap per connection after a 5-byte header: %d bytes", per)
	if per > 16<<10 {
		t.Errorf("a 5-byte header pins %d bytes per waiting login, want <= 16 KiB", per)
	}
}
