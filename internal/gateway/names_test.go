package gateway

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/iamdb/iamdb/internal/mysqlwire"
	"github.com/jackc/pgx/v5/pgproto3"
)

func TestCheckUserName(t *testing.T) {
	t.Parallel()
	long63 := strings.Repeat("a", 63)
	for _, tc := range []struct {
		engine, user, want string
	}{
		{EnginePostgres, "alice", ""},
		{EnginePostgres, long63, ""},
		{EnginePostgres, long63 + "b", "longer than 63 bytes"},
		{EnginePostgres, strings.Repeat("é", 32), "longer than 63 bytes"}, // 64 bytes
		{EnginePostgres, "\xff\xfe", "not valid UTF-8"},
		{EnginePostgres, "al\x01ice", "control character"},
		{EnginePostgres, "al\u0085ice", "control character"},
		{EnginePostgres, "alice ", ""},
		{EngineMySQL, "alice", ""},
		{EngineMySQL, "alice ", "trailing space"},
		{EngineMySQL, " alice", ""},
		{EngineMySQL, strings.Repeat("é", 80), ""},
		{EngineMySQL, strings.Repeat("é", 81), "longer than 80 characters"},
		{EngineMySQL, "a\x00b", "control character"},
		{EngineMySQL, "\xc3", "not valid UTF-8"},
	} {
		if got := checkUserName(tc.engine, tc.user); got != tc.want {
			t.Errorf("checkUserName(%s, %q) = %q, want %q", tc.engine, tc.user, got, tc.want)
		}
	}
}

func FuzzCheckUserName(f *testing.F) {
	for _, s := range []string{"alice", "alice ", "\xff", strings.Repeat("a", 64), "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, user string) {
		for _, engine := range []string{EnginePostgres, EngineMySQL} {
			if checkUserName(engine, user) != "" {
				continue
			}
			if !utf8.ValidString(user) || strings.ContainsFunc(user, isControl) {
				t.Fatalf("%s: %q accepted", engine, user)
			}
			if engine == EnginePostgres && len(user) > pgMaxUserLen || engine == EngineMySQL && strings.HasSuffix(user, " ") {
				t.Fatalf("%s: %q accepted", engine, user)
			}
		}
		p := printableUser(user)
		if !utf8.ValidString(p) || strings.ContainsFunc(p, isControl) {
			t.Fatalf("printableUser(%q) = %q", user, p)
		}
	})
}

// countingProxy relays TCP connections to a real server and counts them: every
// connection the gateway opens to its backend (admin logins included) goes through it.
type countingProxy struct {
	addr string
	n    atomic.Int64
}

func startCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	p := &countingProxy{}
	p.addr = copyRelay(t, target, func() { p.n.Add(1) }).String()
	return p
}

// pgGatewayViaProxy starts a PostgreSQL gateway whose backend connections go through a
// counting proxy.
func pgGatewayViaProxy(t *testing.T, mutate func(*Config)) (*testGW, *countingProxy) {
	t.Helper()
	e := env(t)
	p := startCountingProxy(t, e.pg.Addr())
	gw := startTestGateway(t, e, EnginePostgres, Backend{
		Addr: p.addr, TLS: e.ClientTLS(),
		AdminUser: e.pg.AdminUser, AdminPassword: e.pg.AdminPassword,
	}, mutate)
	return gw, p
}

// pgStartupRefused sends a plaintext StartupMessage for user and returns the answer,
// which must be an ErrorResponse.
func pgStartupRefused(t *testing.T, gw *testGW, user string) *pgproto3.ErrorResponse {
	nc := gw.dial(t, 10*time.Second)
	if nc == nil {
		return nil
	}
	defer nc.Close()
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": user}})
	if err := fe.Flush(); err != nil {
		t.Error(err)
		return nil
	}
	msg, err := fe.Receive()
	er, ok := msg.(*pgproto3.ErrorResponse)
	if !ok {
		t.Errorf("user %q: answer %T %v, want ErrorResponse", user, msg, err)
		return nil
	}
	return &pgproto3.ErrorResponse{Code: er.Code, Message: er.Message}
}

// burst runs f n times, 20 at a time.
func burst(n int, f func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 20)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}

// 200 plaintext startup packets with a name no role can have, then with a name no
// role has, cost no backend login (by default: plaintext is refused before the
// membership lookup) or at most one (when plaintext passwords are allowed), and log no
// error; the invalid names get 28000 at once.
func TestUnauthenticatedAmplificationPG(t *testing.T) {
	t.Parallel()
	for _, allowPlain := range []bool{false, true} {
		t.Run(fmt.Sprintf("allow_plaintext_passwords=%v", allowPlain), func(t *testing.T) {
			t.Parallel()
			gw, proxy := pgGatewayViaProxy(t, func(c *Config) { c.AllowPlaintextPasswords = allowPlain })
			burst(200, func(int) {
				if er := pgStartupRefused(t, gw, "\xff\xfe\xfd"); er != nil && (er.Code != "28000" || er.Message != "invalid user name: not valid UTF-8") {
					t.Errorf("non-UTF-8 user: %s %q, want 28000 invalid user name", er.Code, er.Message)
				}
			})
			if n := proxy.n.Load(); n != 0 {
				t.Errorf("200 startup packets with a non-UTF-8 user name cost %d backend connections, want 0", n)
			}
			if !allowPlain {
				burst(200, func(i int) {
					er := pgStartupRefused(t, gw, fmt.Sprintf("nosuchuser%d", i))
					if er != nil && (er.Code != "28000" || !strings.HasSuffix(er.Message, "SSL off")) {
						t.Errorf("plaintext login: %s %q, want 28000 … SSL off", er.Code, er.Message)
					}
				})
				if n := proxy.n.Load(); n != 0 {
					t.Errorf("200 plaintext logins cost %d backend connections, want 0", n)
				}
			} else {
				// The password prompt, then the client leaves: one membership query,
				// cached.
				burst(200, func(int) {
					nc := gw.dial(t, 10*time.Second)
					if nc == nil {
						return
					}
					defer nc.Close()
					fe := pgproto3.NewFrontend(nc, nc)
					fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "nosuchuser"}})
					fe.Flush()
					if msg, err := fe.Receive(); err != nil {
						t.Error(err)
					} else if _, ok := msg.(*pgproto3.AuthenticationCleartextPassword); !ok {
						t.Errorf("got %T, want the password prompt", msg)
					}
				})
				if n := proxy.n.Load(); n > 1 {
					t.Errorf("200 plaintext logins of one unknown user cost %d backend connections, want at most 1", n)
				}
			}
			if line := findLog(gw, `"level":"ERROR"`); line != "" {
				t.Errorf("an error was logged: %s", line)
			}
			if n := counter(t, gw, "iamdb_gateway_connections_total", map[string]string{"reason": "invalid-user"}); n != 200 {
				t.Errorf("invalid-user counted %v times, want 200", n)
			}
		})
	}
}

// A query error (not FATAL) keeps the admin connection: the membership query of a
// non-UTF-8 name, which the name check now stops earlier, fails without a new login.
func TestAdminKeepsConnectionOnQueryError(t *testing.T) {
	t.Parallel()
	gw, proxy := pgGatewayViaProxy(t, nil)
	admin := gw.engine.(*pgEngine).admin
	ctx := context.Background()
	for range 3 {
		if _, err := admin.isMember(ctx, "\xff\xfe"); err == nil {
			t.Fatal("membership query of a non-UTF-8 name succeeded")
		}
	}
	if ok, err := admin.isMember(ctx, "alice"); err != nil || !ok {
		t.Fatalf("isMember(alice) = %v, %v", ok, err)
	}
	if n := proxy.n.Load(); n != 1 {
		t.Errorf("three failed queries and one good one cost %d admin logins, want 1", n)
	}
}

// A name longer than 63 bytes whose first 63 are an IAM user's is refused before the
// lookup: PostgreSQL would truncate it to that user. The query compares exactly too.
func TestLongNamePG(t *testing.T) {
	t.Parallel()
	gw, proxy := pgGatewayViaProxy(t, nil)
	long := strings.Repeat("x", 63)
	if err := gw.env.pg.Exec(context.Background(), `CREATE USER `+long+` LOGIN; GRANT rds_iam TO `+long); err != nil {
		t.Fatal(err)
	}
	_, err := gw.connect(t, long+"y", gw.token(t, "alice", long+"y", time.Time{}))
	if pe := pgError(t, err); pe.Code != "28000" || pe.Message != "invalid user name: longer than 63 bytes" {
		t.Errorf("64-byte name: %s %q, want 28000 invalid user name", pe.Code, pe.Message)
	}
	if n := proxy.n.Load(); n != 0 {
		t.Errorf("the 64-byte name cost %d backend connections, want 0", n)
	}
	admin := gw.engine.(*pgEngine).admin
	for user, want := range map[string]bool{long: true, long + "y": false} {
		if ok, err := admin.isMember(context.Background(), user); err != nil || ok != want {
			t.Errorf("isMember(%d bytes) = %v, %v; want %v", len(user), ok, err, want)
		}
	}
}

// mysqlHandshake sends a plaintext HandshakeResponse41 for user (no TLS, no password) and
// returns the gateway's answer packet.
func mysqlHandshake(t *testing.T, gw *testGW, user string) []byte {
	nc := gw.dial(t, 10*time.Second)
	if nc == nil {
		return nil
	}
	defer nc.Close()
	if _, _, err := mysqlwire.ReadPacket(nc, 1<<10); err != nil {
		t.Errorf("greeting: %v", err)
		return nil
	}
	caps := mysqlwire.CapProtocol41 | mysqlwire.CapSecureConnection | mysqlwire.CapPluginAuth | mysqlwire.CapLongPassword
	p := binary.LittleEndian.AppendUint32(nil, uint32(caps))
	p = binary.LittleEndian.AppendUint32(p, 1<<24)
	p = append(p, 45)
	p = append(p, make([]byte, 23)...)
	p = append(append(p, user...), 0)
	p = append(p, 0) // no auth response
	p = append(append(p, "mysql_native_password"...), 0)
	pkt, _ := mysqlwire.AppendPacket(nil, 1, p)
	if _, err := nc.Write(pkt); err != nil {
		t.Error(err)
		return nil
	}
	answer, _, err := mysqlwire.ReadPacket(nc, 1<<10)
	if err != nil {
		t.Errorf("user %q: no answer: %v", user, err)
	}
	return answer
}

// mysqlGatewayViaProxy starts a MySQL gateway whose backend connections go through a
// counting proxy.
func mysqlGatewayViaProxy(t *testing.T, mutate func(*Config)) (*testGW, *countingProxy) {
	t.Helper()
	e := mysqlEnv(t)
	p := startCountingProxy(t, e.maria.Addr())
	gw := startTestGateway(t, e.testEnv, EngineMySQL, Backend{
		Addr: p.addr, TLS: e.maria.TLSConfig(),
		AdminUser: e.maria.AdminUser, AdminPassword: e.maria.AdminPassword,
	}, mutate)
	return gw, p
}

// The same burst on MySQL: names no account can have (invalid UTF-8, trailing space)
// get 1045 with no backend connection; plaintext attempts get 3159 with none either.
func TestUnauthenticatedAmplificationMySQL(t *testing.T) {
	t.Parallel()
	gw, proxy := mysqlGatewayViaProxy(t, nil)
	for _, user := range []string{"\xff\xfe", "alice ", "al\x01ice"} {
		burst(100, func(int) {
			p := mysqlHandshake(t, gw, user)
			if len(p) < 3 || p[0] != 0xff || binary.LittleEndian.Uint16(p[1:]) != 1045 {
				t.Errorf("user %q: answer %q, want ERR 1045", user, p)
			}
		})
	}
	burst(200, func(i int) {
		p := mysqlHandshake(t, gw, fmt.Sprintf("nosuchuser%d", i))
		if len(p) < 3 || p[0] != 0xff || binary.LittleEndian.Uint16(p[1:]) != 3159 {
			t.Errorf("plaintext login: answer %q, want ERR 3159", p)
		}
	})
	if n := proxy.n.Load(); n != 0 {
		t.Errorf("500 refused handshakes cost %d backend connections, want 0", n)
	}
	if line := findLog(gw, `"level":"ERROR"`); line != "" {
		t.Errorf("an error was logged: %s", line)
	}
}

// Before authentication, a plaintext attempt gets the same bytes whoever the user is —
// an IAM user, a password user, no user at all — so that it does not tell who is an IAM
// user. With plaintext passwords allowed, IAM users still get that same refusal.
func TestPlaintextRefusalSameForAllMySQL(t *testing.T) {
	t.Parallel()
	gw := newMySQLGateway(t, nil)
	want := mysqlHandshake(t, gw, "alice")
	if len(want) < 3 || binary.LittleEndian.Uint16(want[1:]) != 3159 || !bytes.Contains(want, []byte("insecure transport")) {
		t.Fatalf("plaintext IAM attempt: %q, want ERR 3159", want)
	}
	for _, user := range []string{"pwuser", "nina", "nosuchuser"} {
		if got := mysqlHandshake(t, gw, user); !bytes.Equal(got, want) {
			t.Errorf("plaintext attempt of %s: %q, want the same bytes as alice's %q", user, got, want)
		}
	}
	allow := newMySQLGateway(t, func(c *Config) { c.AllowPlaintextPasswords = true })
	if got := mysqlHandshake(t, allow, "alice"); !bytes.Equal(got, want) {
		t.Errorf("plaintext IAM attempt with plaintext passwords allowed: %q, want %q", got, want)
	}
}

// MariaDB ignores trailing spaces when it compares names (PAD SPACE): the membership
// query compares bytes, so 'alice ' is no IAM user, and the gateway refuses that name
// before asking.
func TestTrailingSpaceMySQL(t *testing.T) {
	t.Parallel()
	gw := newMySQLGateway(t, nil)
	admin := gw.engine.(*mysqlEngine).admin
	for user, want := range map[string]bool{"alice": true, "alice ": false, "alice  ": false, "nina": true, "nina ": false} {
		if ok, err := admin.isMember(context.Background(), user); err != nil || ok != want {
			t.Errorf("isMember(%q) = %v, %v; want %v", user, ok, err, want)
		}
	}
	_, err := gw.mysqlOpen(t, gw.mysqlConfig("alice ", gw.token(t, "alice", "alice ", time.Time{}), "app", gw.env.ClientTLS()))
	if me := mysqlError(t, err); me.Number != 1045 {
		t.Errorf("'alice ': %v, want 1045", err)
	}
	if findLog(gw, `"reason":"invalid-user"`, `"detail":"trailing space"`) == "" {
		t.Errorf("no invalid-user line:\n%s", gw.logs.String())
	}
}
