package gateway

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/mysqlwire"
	"github.com/jackc/pgx/v5/pgproto3"
)

// dialIdle opens n connections to the gateway that send nothing, closed at the end of
// the test.
func dialIdle(t *testing.T, gw *testGW, n int) []net.Conn {
	t.Helper()
	var out []net.Conn
	for range n {
		nc := gw.dial(t, 0)
		if nc == nil {
			t.FailNow()
		}
		t.Cleanup(func() { nc.Close() })
		out = append(out, nc)
	}
	return out
}

// waitClients waits until the gateway holds n client connections: Serve registers a
// connection after the client's connect returned.
func waitClients(t *testing.T, gw *testGW, n int) {
	t.Helper()
	for i := 0; gw.sessionCount() != n; i++ {
		if i == 500 {
			t.Fatalf("the gateway holds %d connections after 5s, want %d", gw.sessionCount(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// refusedPG dials the gateway and returns the ErrorResponse it answers with before any
// message of the client, having checked that the connection is closed after it.
func refusedPG(t *testing.T, gw *testGW) *pgproto3.ErrorResponse {
	t.Helper()
	nc := gw.dial(t, 5*time.Second)
	if nc == nil {
		t.FailNow()
	}
	defer nc.Close()
	msg, err := pgproto3.NewFrontend(nc, nc).Receive()
	if err != nil {
		t.Fatalf("no answer before the startup packet: %v", err)
	}
	er, ok := msg.(*pgproto3.ErrorResponse)
	if !ok {
		t.Fatalf("answer %T, want ErrorResponse", msg)
	}
	er = &pgproto3.ErrorResponse{Severity: er.Severity, Code: er.Code, Message: er.Message}
	if _, err := nc.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("after the error: %v, want EOF", err)
	}
	return er
}

// refusedMySQL dials the gateway and returns its first packet, which must be an ERR
// packet, having checked that the connection is closed after it.
func refusedMySQL(t *testing.T, gw *testGW) (code uint16, state, msg string) {
	t.Helper()
	nc := gw.dial(t, 5*time.Second)
	if nc == nil {
		t.FailNow()
	}
	defer nc.Close()
	p, seq, err := mysqlwire.ReadPacket(nc, 1<<10)
	if err != nil {
		t.Fatalf("no first packet: %v", err)
	}
	if seq != 0 || len(p) < 9 || p[0] != 0xff || p[3] != '#' {
		t.Fatalf("first packet %q (sequence %d), want an ERR packet", p, seq)
	}
	if _, err := nc.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("after the error: %v, want EOF", err)
	}
	return uint16(p[1]) | uint16(p[2])<<8, string(p[4:9]), string(p[9:])
}

// Beyond MaxClientConns a PostgreSQL client gets 53300 "sorry, too many clients
// already" before it sends anything, and room is made when a connection ends.
func TestMaxClientConnsPG(t *testing.T) {
	t.Parallel()
	gw := newGateway(t, func(c *Config) { c.MaxClientConns = 3 })
	idle := dialIdle(t, gw, 3)
	waitClients(t, gw, 3)
	er := refusedPG(t, gw)
	if er.Severity != "FATAL" || er.Code != "53300" || er.Message != "sorry, too many clients already" {
		t.Errorf("refusal %s %s %q, want FATAL 53300 \"sorry, too many clients already\"", er.Severity, er.Code, er.Message)
	}
	if n := counter(t, gw, "iamdb_gateway_connections_total", map[string]string{"outcome": "refused", "reason": "too-many-clients"}); n != 1 {
		t.Errorf("refused/too-many-clients counted %v times, want 1", n)
	}
	if findLog(gw, `"level":"WARN"`, `"msg":"connection refused"`, `"reason":"too-many-clients"`) == "" {
		t.Errorf("no warning for the refusal:\n%s", gw.logs.String())
	}
	idle[0].Close()
	waitClients(t, gw, 2)
	c := gw.mustConnect(t, "alice", gw.token(t, "alice", "alice", time.Time{}))
	if err := c.Ping(context.Background()); err != nil {
		t.Errorf("login after a connection ended: %v", err)
	}
}

// Beyond MaxClientConns a MySQL client gets ERROR 1040 (08004) "Too many connections"
// in place of the greeting, as from MariaDB.
func TestMaxClientConnsMySQL(t *testing.T) {
	t.Parallel()
	gw := newMySQLGateway(t, func(c *Config) { c.MaxClientConns = 2 })
	dialIdle(t, gw, 2)
	waitClients(t, gw, 2)
	code, state, msg := refusedMySQL(t, gw)
	if code != 1040 || state != "08004" || msg != "Too many connections" {
		t.Errorf("refusal %d (%s) %q, want 1040 (08004) \"Too many connections\"", code, state, msg)
	}
	if n := counter(t, gw, "iamdb_gateway_connections_total", map[string]string{"engine": "mysql", "outcome": "refused", "reason": "too-many-clients"}); n != 1 {
		t.Errorf("refused/too-many-clients counted %v times, want 1", n)
	}
}

// MaxUnauthenticatedPerIP counts the connections of one address that have not logged
// in: sessions past login leave room for more logins from the same address.
func TestMaxUnauthenticatedPerIP(t *testing.T) {
	t.Parallel()
	gw := newGateway(t, func(c *Config) { c.MaxUnauthenticatedPerIP = 2 })
	idle := dialIdle(t, gw, 2)
	waitClients(t, gw, 2)
	if er := refusedPG(t, gw); er.Code != "53300" || er.Message != "sorry, too many clients already" {
		t.Errorf("refusal %s %q, want 53300", er.Code, er.Message)
	}
	if n := counter(t, gw, "iamdb_gateway_connections_total", map[string]string{"outcome": "refused", "reason": "too-many-unauthenticated"}); n != 1 {
		t.Errorf("refused/too-many-unauthenticated counted %v times, want 1", n)
	}
	for _, nc := range idle {
		nc.Close()
	}
	waitClients(t, gw, 0)
	tok := gw.token(t, "alice", "alice", time.Time{})
	for i := range 3 {
		c := gw.mustConnect(t, "alice", tok)
		if err := c.Ping(context.Background()); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
	}
	// Three sessions and two connections in login: none refused.
	dialIdle(t, gw, 2)
	waitClients(t, gw, 5)
	if n := counter(t, gw, "iamdb_gateway_connections_total", map[string]string{"outcome": "refused", "reason": "too-many-unauthenticated"}); n != 1 {
		t.Errorf("refused/too-many-unauthenticated counted %v times after the sessions, want still 1", n)
	}
}

// A client that sends nothing is closed after StartupTimeout, well before AuthTimeout,
// with a warning; a client that goes away before its first byte is only a debug line.
func TestStartupTimeout(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{EnginePostgres, EngineMySQL} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			mutate := func(c *Config) { c.StartupTimeout = 300 * time.Millisecond }
			var gw *testGW
			if engine == EngineMySQL {
				gw = newMySQLGateway(t, mutate)
			} else {
				gw = newGateway(t, mutate)
			}
			nc := dialIdle(t, gw, 1)[0]
			start := time.Now()
			nc.SetDeadline(start.Add(10 * time.Second))
			_, err := io.Copy(io.Discard, nc) // MySQL: the greeting, then EOF
			if err != nil || time.Since(start) > 5*time.Second {
				t.Fatalf("idle connection: %v after %v, want closed after about 300ms", err, time.Since(start))
			}
			waitClients(t, gw, 0)
			if findLog(gw, `"level":"WARN"`, `"msg":"handshake failed"`, `"reason":"startup-timeout"`) == "" {
				t.Errorf("no warning for the startup timeout:\n%s", gw.logs.String())
			}
			dialIdle(t, gw, 1)[0].Close()
			waitClients(t, gw, 0)
			if n := strings.Count(gw.logs.String(), `"level":"WARN"`); n != 1 {
				t.Errorf("%d warnings, want 1 (a client that went away is no warning):\n%s", n, gw.logs.String())
			}
		})
	}
}

// The startup deadline ends with the first message: a login that then takes longer
// than StartupTimeout (a client slow to send its password) still succeeds.
func TestStartupTimeoutEndsAtStartup(t *testing.T) {
	t.Parallel()
	gw := newGateway(t, func(c *Config) {
		c.StartupTimeout = 200 * time.Millisecond
		c.AllowPlaintextPasswords = true
	})
	nc := dialIdle(t, gw, 1)[0]
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "pwuser", "database": "postgres"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	if msg, err := fe.Receive(); err != nil {
		t.Fatal(err)
	} else if _, ok := msg.(*pgproto3.AuthenticationCleartextPassword); !ok {
		t.Fatalf("got %T, want AuthenticationCleartextPassword", msg)
	}
	time.Sleep(500 * time.Millisecond)
	fe.Send(&pgproto3.PasswordMessage{Password: testPassword})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	msg, err := fe.Receive()
	if _, ok := msg.(*pgproto3.AuthenticationOk); !ok {
		t.Fatalf("after a slow password: %T %v, want AuthenticationOk", msg, err)
	}
}

func TestDefaultMaxClientConns(t *testing.T) {
	t.Parallel()
	n := DefaultMaxClientConns()
	if n < minDefaultClientConns || n > MaxDefaultClientConns {
		t.Errorf("DefaultMaxClientConns() = %d, want within [%d, %d]", n, minDefaultClientConns, MaxDefaultClientConns)
	}
	if limit, ok := fileLimit(); ok && uint64(n) > max(limit/8, minDefaultClientConns) {
		t.Errorf("DefaultMaxClientConns() = %d with RLIMIT_NOFILE %d, want at most an eighth", n, limit)
	}
}

// MaxUnauthenticatedPerIP counts an IPv4 address (mapped or not) by itself and an IPv6
// address by its /64, which one host commonly holds whole.
func TestLimitKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":                   "192.0.2.7",
		"::ffff:192.0.2.7":            "192.0.2.7",
		"2001:db8:1:2:aaaa:bbbb:cc:1": "2001:db8:1:2::",
		"2001:db8:1:2::ffff":          "2001:db8:1:2::",
		"2001:db8:1:3::1":             "2001:db8:1:3::",
		"::1":                         "::",
	} {
		if got := limitKey(netip.MustParseAddr(in)); got != netip.MustParseAddr(want) {
			t.Errorf("limitKey(%s) = %s, want %s", in, got, want)
		}
	}
}
