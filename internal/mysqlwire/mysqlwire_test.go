package mysqlwire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// frame returns payload framed as one packet frame with seq (no splitting).
func frame(seq byte, payload []byte) []byte {
	n := len(payload)
	return append([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}, payload...)
}

// clientCaps are what a typical 4.1 client sets.
const clientCaps = CapLongPassword | CapLongFlag | CapProtocol41 | CapTransactions |
	CapSecureConnection | CapMultiResults | CapPluginAuth | CapPluginAuthLenEncClientData

// resp describes a HandshakeResponse41 for the test encoder.
type resp struct {
	caps      Capability
	user      string
	auth      []byte
	db        string
	plugin    string
	attrs     []string // pairs
	rawAttrs  []byte   // overrides attrs when set
	authShort bool     // encode auth with a 1-byte length even with lenenc caps
}

// encode returns the payload of a HandshakeResponse41.
func (r resp) encode() []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(r.caps))
	b = binary.LittleEndian.AppendUint32(b, 1<<24)
	b = append(b, 45)
	b = append(b, make([]byte, 23)...)
	b = append(append(b, r.user...), 0)
	switch {
	case r.caps&CapPluginAuthLenEncClientData != 0 && !r.authShort:
		b = append(appendLenEnc(b, uint64(len(r.auth))), r.auth...)
	case r.caps&CapSecureConnection != 0:
		b = append(append(b, byte(len(r.auth))), r.auth...)
	default:
		b = append(append(b, r.auth...), 0)
	}
	if r.caps&CapConnectWithDB != 0 {
		b = append(append(b, r.db...), 0)
	}
	if r.caps&CapPluginAuth != 0 {
		b = append(append(b, r.plugin...), 0)
	}
	if r.caps&CapConnectAttrs != 0 {
		a := r.rawAttrs
		if a == nil {
			for _, s := range r.attrs {
				a = append(appendLenEnc(a, uint64(len(s))), s...)
			}
		}
		b = append(appendLenEnc(b, uint64(len(a))), a...)
	}
	return b
}

// sslRequest returns the payload of an SSLRequest.
func sslRequest(caps Capability) []byte {
	return resp{caps: caps | CapSSL}.encode()[:sslRequestLen]
}

var scramble20 = bytes.Repeat([]byte{'s'}, 20)

func TestDecodeResponse(t *testing.T) {
	t.Parallel()
	full := clientCaps | CapConnectWithDB | CapConnectAttrs
	tests := []struct {
		name    string
		payload []byte
		want    response
		wantErr error
	}{
		{"mysql", resp{caps: full, user: "alice", auth: scramble20, db: "db", plugin: pluginNative, attrs: []string{"_client_name", "libmariadb", "program_name", "mysql"}}.encode(),
			response{caps: full, maxPacket: 1 << 24, charset: 45, user: "alice", auth: scramble20, database: "db", plugin: pluginNative,
				attrs: map[string]string{"_client_name": "libmariadb", "program_name": "mysql"}}, nil},
		{"no db no attrs", resp{caps: clientCaps, user: "u", auth: []byte{}, plugin: pluginNative}.encode(),
			response{caps: clientCaps, maxPacket: 1 << 24, charset: 45, user: "u", auth: []byte{}, plugin: pluginNative}, nil},
		{"1-byte auth length", resp{caps: clientCaps &^ CapPluginAuthLenEncClientData, user: "u", auth: scramble20, plugin: pluginNative}.encode(),
			response{caps: clientCaps &^ CapPluginAuthLenEncClientData, maxPacket: 1 << 24, charset: 45, user: "u", auth: scramble20, plugin: pluginNative}, nil},
		{"NUL-terminated auth", resp{caps: CapProtocol41, user: "u", auth: []byte("pw")}.encode(),
			response{caps: CapProtocol41, maxPacket: 1 << 24, charset: 45, user: "u", auth: []byte("pw")}, nil},
		{"cleartext up front", resp{caps: clientCaps, user: "u", auth: []byte("token\x00"), plugin: pluginCleartext}.encode(),
			response{caps: clientCaps, maxPacket: 1 << 24, charset: 45, user: "u", auth: []byte("token\x00"), plugin: pluginCleartext}, nil},
		{"trailing fields missing", resp{caps: clientCaps, user: "u", auth: []byte{}}.encode()[:32+2+1],
			response{caps: clientCaps, maxPacket: 1 << 24, charset: 45, user: "u", auth: []byte{}}, nil},
		{"ssl request", sslRequest(clientCaps), response{caps: clientCaps | CapSSL, maxPacket: 1 << 24, charset: 45, ssl: true}, nil},
		{"empty user", resp{caps: clientCaps, plugin: pluginNative}.encode(),
			response{caps: clientCaps, maxPacket: 1 << 24, charset: 45, auth: []byte{}, plugin: pluginNative}, nil},
		{"pre-4.1", []byte{0x85, 0x00, 0, 0, 0, 'u', 0, 0}, response{caps: 0x85}, ErrUnsupported},
		{"empty", nil, response{}, ErrProtocol},
		{"short prefix", resp{caps: clientCaps}.encode()[:20], response{caps: clientCaps}, ErrProtocol},
		{"short prefix without ssl", resp{caps: clientCaps}.encode()[:32], response{caps: clientCaps}, ErrProtocol},
		{"user unterminated", resp{caps: clientCaps, user: "alice"}.encode()[:32+3], response{caps: clientCaps}, ErrProtocol},
		{"user too long", resp{caps: clientCaps, user: strings.Repeat("u", maxUserLen+1)}.encode(), response{caps: clientCaps}, ErrTooLong},
		{"user at limit", resp{caps: CapProtocol41, user: strings.Repeat("u", maxUserLen)}.encode(),
			response{caps: CapProtocol41, maxPacket: 1 << 24, charset: 45, user: strings.Repeat("u", maxUserLen), auth: []byte{}}, nil},
		{"auth truncated", resp{caps: clientCaps, user: "u", auth: scramble20}.encode()[:32+2+1+5], response{caps: clientCaps}, ErrProtocol},
		{"auth too long", resp{caps: clientCaps, user: "u", auth: make([]byte, 1001)}.encode(), response{caps: clientCaps}, ErrTooLong},
		{"auth NULL length", append(resp{caps: clientCaps, user: "u"}.encode()[:32+2], 0xfb), response{caps: clientCaps}, ErrProtocol},
		{"db too long", resp{caps: full, user: "u", db: strings.Repeat("d", maxDatabaseLen+1)}.encode(), response{caps: full}, ErrTooLong},
		{"plugin unterminated", resp{caps: clientCaps, user: "u", plugin: "x"}.encode()[:32+2+1+1], response{caps: clientCaps}, ErrProtocol},
		{"junk after", append(resp{caps: clientCaps, user: "u", plugin: pluginNative}.encode(), 1), response{caps: clientCaps}, ErrProtocol},
		{"attrs odd", resp{caps: full, user: "u", attrs: []string{"k"}}.encode(), response{caps: full}, ErrProtocol},
		{"attrs length beyond packet", append(resp{caps: full, user: "u", rawAttrs: []byte{}}.encode()[:32+2+1+1+1], 10, 1, 'k'), response{caps: full}, ErrProtocol},
		{"attr value too long", resp{caps: full, user: "u", attrs: []string{"k", strings.Repeat("v", maxAttrValueLen+1)}}.encode(), response{caps: full}, ErrTooLong},
		{"attr name too long", resp{caps: full, user: "u", attrs: []string{strings.Repeat("k", maxAttrKeyLen+1), ""}}.encode(), response{caps: full}, ErrTooLong},
		{"attr duplicate", resp{caps: full, user: "u", attrs: []string{"k", "1", "k", "2"}}.encode(), response{caps: full}, ErrProtocol},
	}
	var many []string
	for i := range maxAttrs + 1 {
		many = append(many, strings.Repeat("k", i+1), "")
	}
	tests = append(tests, struct {
		name    string
		payload []byte
		want    response
		wantErr error
	}{"too many attrs", resp{caps: full, user: "u", attrs: many}.encode(), response{caps: full}, ErrTooLong})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeResponse(tt.payload, 1000)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("decodeResponse = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(response{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("decodeResponse (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzHandshakeResponse(f *testing.F) {
	f.Add(resp{caps: clientCaps | CapConnectWithDB | CapConnectAttrs, user: "alice", auth: scramble20, db: "db", plugin: pluginNative, attrs: []string{"a", "b"}}.encode())
	f.Add(resp{caps: clientCaps &^ CapPluginAuthLenEncClientData, user: "u", auth: scramble20, plugin: pluginNative}.encode())
	f.Add(resp{caps: CapProtocol41, user: "u", auth: []byte("pw")}.encode())
	f.Add(sslRequest(clientCaps))
	f.Add([]byte{0x85, 0x00, 0, 0, 0, 'u', 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := decodeResponse(p, 1000)
		if err != nil {
			return
		}
		if len(r.user) > maxUserLen || len(r.database) > maxDatabaseLen || len(r.plugin) > maxPluginLen || len(r.auth) > 1000 || len(r.attrs) > maxAttrs {
			t.Fatalf("bounds exceeded: %d %d %d %d %d", len(r.user), len(r.database), len(r.plugin), len(r.auth), len(r.attrs))
		}
		if strings.IndexByte(r.user, 0) >= 0 || strings.IndexByte(r.database, 0) >= 0 || r.caps&CapProtocol41 == 0 {
			t.Fatalf("bad response %+v", r)
		}
	})
}

func TestReadPacket(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte{'x'}, MaxPayloadLen)
	tests := []struct {
		name    string
		in      []byte
		max     int
		want    []byte
		wantSeq byte
		wantErr error
	}{
		{"simple", frame(3, []byte("hello")), 100, []byte("hello"), 3, nil},
		{"empty", frame(0, nil), 100, []byte{}, 0, nil},
		{"at bound", frame(1, make([]byte, 100)), 100, make([]byte, 100), 1, nil},
		{"over bound", frame(1, make([]byte, 101)), 100, nil, 0, ErrTooLong},
		{"announced over bound", []byte{0xff, 0xff, 0xff, 0}, 100, nil, 0, ErrTooLong},
		{"continuation refused", append(frame(0, big), frame(1, nil)...), 64 << 10, nil, 0, ErrTooLong},
		{"continuation", append(frame(0, big), frame(1, []byte("yz"))...), MaxPayloadLen + 2, append(append([]byte{}, big...), "yz"...), 1, nil},
		{"continuation exactly", append(frame(7, big), frame(8, nil)...), MaxPayloadLen, big, 8, nil},
		{"continuation over bound", append(frame(0, big), frame(1, []byte("yz"))...), MaxPayloadLen + 1, nil, 0, ErrTooLong},
		{"continuation out of order", append(frame(0, big), frame(2, nil)...), MaxPayloadLen + 1, nil, 0, ErrProtocol},
		{"continuation missing", frame(0, big), MaxPayloadLen + 1, nil, 0, io.ErrUnexpectedEOF},
		{"nothing", nil, 100, nil, 0, io.EOF},
		{"short header", []byte{1, 0}, 100, nil, 0, io.ErrUnexpectedEOF},
		{"short body", []byte{5, 0, 0, 0, 'a'}, 100, nil, 0, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, seq, err := ReadPacket(bytes.NewReader(tt.in), tt.max)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("ReadPacket = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !bytes.Equal(got, tt.want) || (got == nil) != (tt.want == nil) || seq != tt.wantSeq {
				t.Errorf("ReadPacket = %d bytes, seq %d; want %d bytes, seq %d", len(got), seq, len(tt.want), tt.wantSeq)
			}
		})
	}
}

func TestAppendPacket(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 250, MaxPayloadLen - 1, MaxPayloadLen, MaxPayloadLen + 1, 2*MaxPayloadLen + 3} {
		payload := bytes.Repeat([]byte{'p'}, n)
		b, next := AppendPacket([]byte("x"), 250, payload)
		frames := n/MaxPayloadLen + 1
		if len(b) != 1+n+4*frames || next != byte(250+frames) {
			t.Errorf("AppendPacket(%d bytes) = %d bytes, next %d; want %d, %d", n, len(b), next, 1+n+4*frames, byte(250+frames))
		}
		got, seq, err := ReadPacket(bytes.NewReader(b[1:]), n)
		if err != nil || !bytes.Equal(got, payload) || seq != next-1 {
			t.Errorf("ReadPacket(AppendPacket(%d bytes)) = %d bytes, seq %d, %v", n, len(got), seq, err)
		}
	}
}

func FuzzPacket(f *testing.F) {
	f.Add(frame(3, []byte("hello")), 100)
	f.Add(frame(0, nil), 0)
	f.Add([]byte{0xff, 0xff, 0xff, 0}, 100)
	f.Add([]byte{5, 0, 0, 0, 'a'}, 10)
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		p, seq, err := ReadPacket(bytes.NewReader(in), max)
		if err != nil {
			return
		}
		if len(p) > max {
			t.Fatalf("%d bytes > %d", len(p), max)
		}
		b, _ := AppendPacket(nil, seq, p)
		if !bytes.HasPrefix(in, b) {
			t.Fatalf("re-encoding differs: %x vs %x", b, in)
		}
	})
}

func TestLenEnc(t *testing.T) {
	t.Parallel()
	for _, v := range []uint64{0, 250, 251, 0xffff, 0x10000, 0xffffff, 0x1000000, 1<<64 - 1} {
		d := decoder{b: appendLenEnc(nil, v)}
		if got := d.lenEnc("v"); got != v || d.err != nil || len(d.b) != 0 {
			t.Errorf("lenEnc(appendLenEnc(%d)) = %d, %v, %d left", v, got, d.err, len(d.b))
		}
	}
	for _, b := range [][]byte{{0xfb}, {0xff}, {0xfc, 1}, {0xfd, 1, 2}, {0xfe, 1, 2, 3, 4, 5, 6, 7}, {}} {
		d := decoder{b: b}
		if d.lenEnc("v"); !errors.Is(d.err, ErrProtocol) {
			t.Errorf("lenEnc(%x) error = %v, want ErrProtocol", b, d.err)
		}
	}
}

func TestDecodeSwitchReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    Password
		wantErr error
	}{
		{"libmysql", "token\x00", "token", nil},
		{"no NUL", "token", "token", nil},
		{"empty", "", "", nil},
		{"just NUL", "\x00", "", nil},
		{"two NULs", "token\x00\x00", "", ErrProtocol},
		{"inner NUL", "to\x00ken", "", ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeSwitchReply([]byte(tt.in))
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) || got != tt.want {
				t.Errorf("decodeSwitchReply(%q) = %q, %v; want %q, %v", tt.in, string(got), err, string(tt.want), tt.wantErr)
			}
		})
	}
}

func FuzzAuthSwitchReply(f *testing.F) {
	for _, s := range []string{"token\x00", "token", "", "\x00", "to\x00ken"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		pw, err := decodeSwitchReply(p)
		if err != nil {
			return
		}
		if strings.IndexByte(string(pw), 0) >= 0 || len(pw) < len(p)-1 || len(pw) > len(p) {
			t.Fatalf("decodeSwitchReply(%q) = %d bytes", p, len(pw))
		}
	})
}

func TestPasswordRedacted(t *testing.T) {
	t.Parallel()
	pw := Password("secret-token")
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "pw", pw)
	for _, s := range []string{pw.String(), pw.GoString(), buf.String(), slogString(pw)} {
		if strings.Contains(s, "secret") {
			t.Errorf("password printed: %s", s)
		}
	}
}

func slogString(pw Password) string { return pw.LogValue().String() }

func TestAccessDenied(t *testing.T) {
	t.Parallel()
	e := AccessDenied("u", "10.0.0.1", true)
	if got, want := e.Error(), "mysqlwire: ERROR 1045 (28000): Access denied for user 'u'@'10.0.0.1' (using password: YES)"; got != want {
		t.Errorf("AccessDenied = %q, want %q", got, want)
	}
	if got := AccessDenied("u", "h", false).Message; !strings.HasSuffix(got, "(using password: NO)") {
		t.Errorf("AccessDenied(false) = %q", got)
	}
}

func TestGreeting(t *testing.T) {
	t.Parallel()
	scr := []byte("abcdefghijklmnopqrst")
	got := appendGreeting(nil, "v1", 0x01020304, scr, DefaultCapabilities|CapSSL)
	want := []byte("\x0av1\x00\x04\x03\x02\x01abcdefgh\x00")
	caps := uint32(DefaultCapabilities | CapSSL)
	want = binary.LittleEndian.AppendUint16(want, uint16(caps))
	want = append(want, 45, 2, 0)
	want = binary.LittleEndian.AppendUint16(want, uint16(caps>>16))
	want = append(want, 21)
	want = append(want, make([]byte, 10)...)
	want = append(want, "ijklmnopqrst\x00mysql_native_password\x00"...)
	if !bytes.Equal(got, want) {
		t.Errorf("appendGreeting =\n%q\nwant\n%q", got, want)
	}
}
