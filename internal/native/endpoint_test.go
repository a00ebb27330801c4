package native_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/access"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/native"
	"github.com/iamdb/iamdb/internal/native/nativetest"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/iamdb/iamdb/internal/testenv/accessenv"
	"github.com/iamdb/iamdb/internal/testenv/authority"
)

// The database is registered with the gateway's port; the native endpoint serves it on
// the server's own port, which tokens must name.
const (
	gatewayPort = accessenv.RegisteredPort
	nativePort  = accessenv.ServerPort
)

// childEnv switches the test binary into a client that asks the socket named by it and
// prints the answer (TestEndpointPeerCredentials runs it as another user).
const childEnv = "IAMDB_NATIVE_TEST_ASK"

func TestMain(m *testing.M) {
	if socket := os.Getenv(childEnv); socket != "" {
		resp, err := native.Ask(context.Background(), socket, native.Request{User: "alice", Host: "127.0.0.1", Token: os.Getenv(childEnv + "_TOKEN")})
		if err != nil {
			fmt.Println("no answer:", err)
		} else {
			fmt.Printf("answer: allow=%v reason=%q\n", resp.Allow, resp.Reason)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// newEnv is an authority with a registered database and users, the Authorizer the
// endpoints ask, and the keys to sign with.
func newEnv(t *testing.T) *accessenv.Env {
	t.Helper()
	return accessenv.New(t, authority.Options{})
}

// audits collects audit records.
type audits struct {
	mu   sync.Mutex
	recs []access.Record
}

func (a *audits) add(r access.Record) { a.mu.Lock(); a.recs = append(a.recs, r); a.mu.Unlock() }

func (a *audits) last() access.Record {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.recs) == 0 {
		return access.Record{}
	}
	return a.recs[len(a.recs)-1]
}

// running is a served endpoint.
type running struct {
	socket string
	logs   *testenv.LogBuffer
	audits *audits
}

// start serves an endpoint for e configured by cfg (Socket, Authorizer, AllowedUIDs,
// Logger and Audit are filled in when empty); it is shut down when t ends.
func start(t *testing.T, e *accessenv.Env, cfg native.Config) *running {
	t.Helper()
	r := &running{logs: &testenv.LogBuffer{}, audits: &audits{}}
	if cfg.Socket == "" {
		cfg.Socket = filepath.Join(testenv.SocketDir(t, "nv"), "app.sock")
	}
	if cfg.Authorizer == nil {
		cfg.Authorizer = e.Authorizer
	}
	cfg.Engine, cfg.Logger, cfg.Audit = "postgres", r.logs.Logger(), r.audits.add
	nativetest.Serve(t, cfg)
	r.socket = cfg.Socket
	return r
}

func (r *running) ask(t *testing.T, req native.Request) (native.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return native.Ask(ctx, r.socket, req)
}

func TestEndpointDecisions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := start(t, e, native.Config{SecureTransport: true})
	valid := e.Token(t, nativePort, "alice", "alice", time.Time{})
	last := valid[len(valid)-1]
	tampered := valid[:len(valid)-1] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", last)+1)%16])
	cases := []struct {
		name   string
		req    native.Request
		allow  bool
		reason string
	}{
		{"allowed", native.Request{User: "alice", Host: "127.0.0.1", Token: valid}, true, ""},
		{"allowed without host (MariaDB)", native.Request{User: "alice", Token: valid}, true, ""},
		{"allowed with a host name", native.Request{User: "alice", Host: "client.example", Token: valid}, true, ""},
		{"wrong token", native.Request{User: "alice", Host: "127.0.0.1", Token: tampered}, false, "signature-mismatch"},
		{"not a token", native.Request{User: "alice", Host: "127.0.0.1", Token: "a password"}, false, "malformed"},
		{"signed for the gateway port", native.Request{User: "alice", Host: "127.0.0.1", Token: e.Token(t, gatewayPort, "alice", "alice", time.Time{})}, false, "port-not-allowed"},
		{"expired", native.Request{User: "alice", Host: "127.0.0.1", Token: e.Token(t, nativePort, "alice", "alice", e.Clock.Now().Add(-16*time.Minute))}, false, "expired"},
		{"another user", native.Request{User: "bob", Host: "127.0.0.1", Token: valid}, false, "user-mismatch"},
		{"implicit deny", native.Request{User: "nobody", Host: "127.0.0.1", Token: e.Token(t, nativePort, "nobody", "nobody", time.Time{})}, false, "implicit-deny"},
		{"Deny on aws:SourceIp", native.Request{User: "blocked", Host: "198.51.100.4", Token: e.Token(t, nativePort, "blocked", "blocked", time.Time{})}, false, "explicit-deny"},
		{"Deny on aws:SourceIp, another address", native.Request{User: "blocked", Host: "203.0.113.1", Token: e.Token(t, nativePort, "blocked", "blocked", time.Time{})}, true, ""},
		{"Deny on aws:SourceIp, IPv4-mapped", native.Request{User: "blocked", Host: "::ffff:198.51.100.4", Token: e.Token(t, nativePort, "blocked", "blocked", time.Time{})}, false, "explicit-deny"},
		{"NotIpAddress Deny, no host", native.Request{User: "office", Token: e.Token(t, nativePort, "office", "office", time.Time{})}, false, "explicit-deny"},
		{"NotIpAddress Deny, host inside", native.Request{User: "office", Host: "192.0.2.10", Token: e.Token(t, nativePort, "office", "office", time.Time{})}, true, ""},
	}
	var secrets []string
	for _, c := range cases {
		secrets = append(secrets, c.req.Token)
		resp, err := r.ask(t, c.req)
		if err != nil {
			t.Fatalf("%s: Ask: %v", c.name, err)
		}
		if resp.Allow != c.allow || resp.Reason != c.reason {
			t.Errorf("%s: Ask = %+v, want allow=%v reason %q", c.name, resp, c.allow, c.reason)
		}
		rec := r.audits.last()
		wantOutcome := access.OutcomeRefused
		if c.allow {
			wantOutcome = access.OutcomeOK
		}
		if rec.User != c.req.User || rec.Mode != access.ModeNative || rec.Engine != "postgres" || rec.Database != "app" || !rec.IAM || rec.Outcome != wantOutcome || rec.Reason != c.reason {
			t.Errorf("%s: audit record %+v, want a native postgres record of %s: %s/%s", c.name, rec, c.req.User, wantOutcome, c.reason)
		}
		if a, err := netip.ParseAddr(c.req.Host); err == nil && rec.Source.Addr() != a.Unmap() {
			t.Errorf("%s: audit record's source %v, want %v", c.name, rec.Source, a.Unmap())
		}
		if c.allow {
			r.logs.WaitLine(t, `"msg":"connection authorized"`, `"user":"`+c.req.User+`"`, `"statement":"Connect"`)
		} else {
			r.logs.WaitLine(t, `"msg":"authentication failed"`, `"user":"`+c.req.User+`"`, `"reason":"`+c.reason+`"`)
		}
	}
	r.logs.NoSecret(t, secrets...)
	for _, s := range secrets {
		// Not even the signature alone.
		if i := strings.Index(s, "X-Amz-Signature="); i >= 0 {
			r.logs.NoSecret(t, s[i+len("X-Amz-Signature="):])
		}
	}
}

// secure_transport false: a policy that requires TLS denies.
func TestEndpointSecureTransport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.Token(t, nativePort, "plain", "plain", time.Time{}) // denied without TLS
	for _, secure := range []bool{true, false} {
		r := start(t, e, native.Config{SecureTransport: secure})
		resp, err := r.ask(t, native.Request{User: "plain", Host: "127.0.0.1", Token: tok})
		if err != nil || resp.Allow != secure {
			t.Errorf("SecureTransport %v: Ask = %+v, %v; want allow=%v", secure, resp, err, secure)
		}
	}
}

// Disabling IAM authentication on the database (registered with the gateway's port)
// applies to the native endpoint at once.
func TestEndpointIAMAuthDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := start(t, e, native.Config{SecureTransport: true})
	req := native.Request{User: "alice", Host: "127.0.0.1", Token: e.Token(t, nativePort, "alice", "alice", time.Time{})}
	if resp, err := r.ask(t, req); err != nil || !resp.Allow {
		t.Fatalf("Ask before disabling = %+v, %v; want allowed", resp, err)
	}
	off := false
	if _, err := e.IAM.ModifyDBInstance(context.Background(), e.Root(), iam.ModifyDBInput{Identifier: "app", EnableIAMDatabaseAuthentication: &off, ApplyImmediately: true}); err != nil {
		t.Fatal(err)
	}
	if resp, err := r.ask(t, req); err != nil || resp.Allow || resp.Reason != access.ReasonIAMAuthDisabled {
		t.Errorf("Ask after disabling = %+v, %v; want refused/%s", resp, err, access.ReasonIAMAuthDisabled)
	}
}

// A peer whose uid is not allowed gets no answer, whatever the socket's mode.
func TestEndpointPeerNotAllowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other := uint32(os.Getuid()) + 1000
	r := start(t, e, native.Config{AllowedUIDs: []uint32{other}, Mode: 0o666})
	resp, err := r.ask(t, native.Request{User: "alice", Host: "127.0.0.1", Token: e.Token(t, nativePort, "alice", "alice", time.Time{})})
	if err == nil {
		t.Fatalf("Ask from uid %d (allowed: %d) = %+v, want no answer", os.Getuid(), other, resp)
	}
	r.logs.WaitLine(t, `"msg":"native peer refused"`, `"uid":`+strconv.Itoa(os.Getuid()))
	if r.audits.last().User != "" {
		t.Errorf("a refused peer was audited: %+v", r.audits.last())
	}
}

// As root: the test binary, re-executed as nobody (65534), is refused by a socket that
// allows only root and answered by one that allows 65534 too. SO_PEERCRED, not the
// file mode (0666), makes the difference.
func TestEndpointPeerCredentials(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a process as another user; TestEndpointPeerNotAllowed covers the refusal")
	}
	t.Parallel()
	e := newEnv(t)
	dir := testenv.SocketDir(t, "nv")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "child")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	tok := e.Token(t, nativePort, "alice", "alice", time.Time{})
	ask := func(socket string) string {
		cmd := exec.Command(bin)
		cmd.Env = []string{childEnv + "=" + socket, childEnv + "_TOKEN=" + tok}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v: %s", err, out)
		}
		return string(out)
	}
	refusing := start(t, e, native.Config{Socket: filepath.Join(dir, "root.sock"), AllowedUIDs: []uint32{0}, Mode: 0o666})
	if out := ask(refusing.socket); !strings.HasPrefix(out, "no answer") {
		t.Errorf("uid 65534 on a socket allowing uid 0: %q, want no answer", out)
	}
	refusing.logs.WaitLine(t, `"msg":"native peer refused"`, `"uid":65534`)
	answering := start(t, e, native.Config{Socket: filepath.Join(dir, "nobody.sock"), AllowedUIDs: []uint32{0, 65534}, Mode: 0o666})
	if out := ask(answering.socket); !strings.HasPrefix(out, "answer: allow=true") {
		t.Errorf("uid 65534 on a socket allowing it: %q, want an allow", out)
	}
}

// Malformed requests get no answer, are logged without their bytes, and the endpoint
// goes on serving.
func TestEndpointMalformed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := start(t, e, native.Config{})
	for _, raw := range [][]byte{
		[]byte("GET / HTTP/1.0\r\nX-Secret: abcdefgh\r\n\r\n"),
		append([]byte("IDB1"), 0xff, 0xff, 'x'),
		append([]byte("IDB1\x00\x05alice\x00\x00"), 0x7f, 0xff), // token too long
		append([]byte("IDB1\x00\x00"), "abcdefgh"...),           // empty user
	} {
		c, err := net.Dial("unix", r.socket)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(raw); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(c)
		c.Close()
		if errors.Is(err, syscall.ECONNRESET) { // closed with our bytes unread
			err = nil
		}
		if err != nil || len(got) != 0 {
			t.Errorf("malformed %q: read %q, %v; want EOF without an answer", raw, got, err)
		}
	}
	r.logs.WaitLine(t, `"msg":"malformed native request"`, "wrong magic")
	r.logs.WaitLine(t, `"msg":"malformed native request"`, "token length 32767 out of range")
	r.logs.NoSecret(t, "abcdefgh", "HTTP/1.0")
	resp, err := r.ask(t, native.Request{User: "alice", Host: "127.0.0.1", Token: e.Token(t, nativePort, "alice", "alice", time.Time{})})
	if err != nil || !resp.Allow {
		t.Errorf("Ask after malformed requests = %+v, %v; want allowed", resp, err)
	}
}

// A peer that sends nothing is closed after RequestTimeout.
func TestEndpointRequestTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := start(t, e, native.Config{RequestTimeout: 200 * time.Millisecond})
	c, err := net.Dial("unix", r.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	begin := time.Now()
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("Read on a silent connection = %v, want EOF", err)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("closed after %v, want about 200ms", d)
	}
}

// Beyond MaxConns a connection is closed at once; below it again, answers resume.
func TestEndpointMaxConns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := start(t, e, native.Config{MaxConns: 2, RequestTimeout: time.Minute})
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("unix", r.socket)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		c.Write([]byte("IDB1")) // in the request: the endpoint waits for the rest
	}
	c, err := net.Dial("unix", r.socket)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	begin := time.Now()
	if _, err := c.Read(make([]byte, 1)); err == nil || time.Since(begin) > 5*time.Second {
		t.Errorf("third connection: Read = %v after %v, want closed at once", err, time.Since(begin))
	}
	c.Close()
	r.logs.WaitLine(t, `"msg":"native connection refused"`, `"reason":"too-many-connections"`)
	for _, c := range held {
		c.Close()
	}
	req := native.Request{User: "alice", Host: "127.0.0.1", Token: e.Token(t, nativePort, "alice", "alice", time.Time{})}
	// The held connections end asynchronously; the endpoint answers again once they have.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := r.ask(t, req)
		if err == nil && resp.Allow {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ask after releasing the connections = %+v, %v; want allowed", resp, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The socket has the configured mode on disk, a stale socket is replaced, anything
// else at the path is refused, and Shutdown removes the socket.
func TestEndpointSocketFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := testenv.SocketDir(t, "nv")
	newEP := func(path string, mode os.FileMode) *native.Endpoint {
		ep, err := native.New(native.Config{Socket: path, Mode: mode, Authorizer: e.Authorizer, AllowedUIDs: []uint32{0}})
		if err != nil {
			t.Fatal(err)
		}
		return ep
	}
	for _, mode := range []os.FileMode{0, 0o600, 0o666} {
		path := filepath.Join(dir, "m.sock")
		ep := newEP(path, mode)
		if err := ep.Listen(); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(path)
		want := mode
		if want == 0 {
			want = native.DefaultMode
		}
		if err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != want {
			t.Errorf("socket of mode %v: %v, %v; want a socket of mode %v", mode, fi.Mode(), err, want)
		}
		if err := ep.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after Shutdown: Lstat = %v, want the socket removed", err)
		}
	}

	// A stale socket (bound, nobody accepting) is replaced.
	stale := filepath.Join(dir, "stale.sock")
	nativetest.StaleSocket(t, stale)
	ep := newEP(stale, 0)
	if err := ep.Listen(); err != nil {
		t.Errorf("Listen over a stale socket: %v", err)
	}
	// A socket in use is not.
	if err := newEP(stale, 0).Listen(); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("Listen over a socket in use = %v, want an error", err)
	}
	ep.Shutdown(context.Background())

	// A file that is not a socket is left alone.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := newEP(file, 0).Listen(); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen over a regular file = %v, want an error", err)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep" {
		t.Errorf("the regular file: %q, %v; want it unchanged", b, err)
	}
}

// Shutdown waits for an answer in flight: a request whose bytes arrive after Shutdown
// began is still answered.
func TestEndpointShutdownWaits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := testenv.SocketDir(t, "nv")
	socket := filepath.Join(dir, "w.sock")
	ep, served := nativetest.Start(t, native.Config{Socket: socket, Authorizer: e.Authorizer})
	c, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// A first byte, so that the connection is accepted and being served.
	if _, err := c.Write([]byte("I")); err != nil {
		t.Fatal(err)
	}
	var req strings.Builder
	if err := native.WriteRequest(&req, native.Request{User: "alice", Host: "127.0.0.1", Token: e.Token(t, nativePort, "alice", "alice", time.Time{})}); err != nil {
		t.Fatal(err)
	}
	// A full exchange on a second connection: the endpoint accepts in order, so once it
	// is answered the first connection is being served.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := native.Ask(ctx, socket, native.Request{User: "alice", Token: "x"}); err != nil {
		t.Fatal(err)
	}
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- ep.Shutdown(ctx)
	}()
	time.Sleep(50 * time.Millisecond)
	if _, err := c.Write([]byte(req.String()[1:])); err != nil {
		t.Fatal(err)
	}
	resp, err := native.ReadResponse(c)
	if err != nil || !resp.Allow {
		t.Errorf("answer during Shutdown = %+v, %v; want allowed", resp, err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	if err := <-served; !errors.Is(err, native.ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
	if _, err := os.Lstat(socket); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Shutdown: Lstat = %v, want the socket removed", err)
	}
}

// A flood of malformed requests logs a burst at warn level, the rest at debug level.
func TestEndpointMalformedFloodRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	clock := testenv.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	r := start(t, e, native.Config{Now: clock.Now})
	flood := func(n int) {
		for range n {
			c, err := net.Dial("unix", r.socket)
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte("XXXX"))
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.ReadAll(c) // closed unanswered: the line is logged by then
			c.Close()
		}
	}
	count := func(level string) int {
		n := 0
		for _, l := range r.logs.Lines() {
			if strings.Contains(l, `"msg":"malformed native request"`) && strings.Contains(l, `"level":"`+level+`"`) {
				n++
			}
		}
		return n
	}
	flood(30)
	r.logs.WaitLine(t, `"level":"DEBUG"`, `"msg":"malformed native request"`)
	for deadline := time.Now().Add(5 * time.Second); count("WARN")+count("DEBUG") < 30 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if w, d := count("WARN"), count("DEBUG"); w != 10 || d != 20 {
		t.Errorf("30 malformed requests: %d warn and %d debug lines, want 10 and 20", w, d)
	}
	clock.Advance(time.Second)
	flood(1)
	r.logs.WaitLine(t, `"level":"WARN"`, `"msg":"malformed native request"`, `"suppressed":20`)
}

// A connection carries further requests, one at a time (MariaDB's plugin keeps its
// connections): each is answered; a connection idle past IdleTimeout is closed; Shutdown
// closes idle connections at once instead of waiting for them.
func TestEndpointKeptConnections(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	socket := filepath.Join(testenv.SocketDir(t, "nk"), "kept.sock")
	logs := &testenv.LogBuffer{}
	ep, served := nativetest.Start(t, native.Config{Socket: socket, Authorizer: e.Authorizer, Engine: "mysql",
		SecureTransport: true, Logger: logs.Logger(), IdleTimeout: 300 * time.Millisecond})
	ok := native.Request{User: "alice", Host: "127.0.0.1", Token: e.Token(t, nativePort, "alice", "alice", time.Time{})}
	bad := native.Request{User: "bob", Host: "127.0.0.1", Token: ok.Token}
	dial := func() net.Conn {
		c, err := net.Dial("unix", socket)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}
	c := dial()
	defer c.Close()
	for i, tc := range []struct {
		req   native.Request
		allow bool
	}{{ok, true}, {bad, false}, {ok, true}} {
		if err := native.WriteRequest(c, tc.req); err != nil {
			t.Fatal(err)
		}
		resp, err := native.ReadResponse(c)
		if err != nil || resp.Allow != tc.allow {
			t.Fatalf("request %d on one connection = %+v, %v; want allow %v", i+1, resp, err, tc.allow)
		}
	}
	if n := strings.Count(logs.String(), `"msg":"connection authorized"`); n != 2 {
		t.Errorf("%d logins authorized on the kept connection, want 2:\n%s", n, logs)
	}
	// Idle past IdleTimeout: the endpoint closes the connection.
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("read on an idle connection = %v, want EOF when the endpoint closes it", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("the idle connection was closed after %v, want about IdleTimeout (300ms)", d)
	}
	// Shutdown does not wait for a connection between requests.
	idle := dial()
	defer idle.Close()
	if err := native.WriteRequest(idle, ok); err != nil {
		t.Fatal(err)
	}
	if resp, err := native.ReadResponse(idle); err != nil || !resp.Allow {
		t.Fatalf("first request = %+v, %v", resp, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start = time.Now()
	if err := ep.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown with an idle kept connection: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v with an idle kept connection, want it closed at once", d)
	}
	if err := <-served; !errors.Is(err, native.ErrServerClosed) {
		t.Errorf("Serve = %v", err)
	}
	if _, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("read on the idle connection after Shutdown = %v, want EOF", err)
	}
}
