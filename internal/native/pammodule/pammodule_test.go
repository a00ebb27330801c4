package pammodule

// The module is tested through real Linux-PAM: c/harness.c runs a PAM transaction the way
// PostgreSQL does (pam_start_confdir on a service file in a temp directory, the password
// answered through the conversation), and a scripted Go peer plays the verifier's side of the
// protocol on a Unix socket. The peer is scripted because the module's handling of every
// verifier failure is what is under test; the real verifier is wired end to end elsewhere.

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/testenv"
)

// PAM return codes (security/_pam_types.h).
const (
	pamSuccess         = 0
	pamServiceErr      = 3
	pamPermDenied      = 6
	pamAuthErr         = 7
	pamAuthinfoUnavail = 9
)

var (
	buildOnce sync.Once
	buildDir  string // holds pam_iamdb.so and harness
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// toolMissing skips the test, or fails it when IAMDB_REQUIRE_TOOLS=1, naming the install step.
func toolMissing(t testing.TB, what, install string) {
	t.Helper()
	if os.Getenv("IAMDB_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s (IAMDB_REQUIRE_TOOLS=1); install: %s", what, install)
	}
	t.Skipf("%s; install: %s (IAMDB_REQUIRE_TOOLS=1 makes this a failure)", what, install)
}

// built returns the directory holding pam_iamdb.so (built with -Werror) and the harness,
// building both once per test binary.
func built(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "pam_iamdb-test-")
		if buildErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if buildErr = build(ctx, pamTarget, filepath.Join(buildDir, "pam_iamdb.so"), []string{"-Werror"}); buildErr != nil {
			return
		}
		cc := "cc"
		if f := strings.Fields(os.Getenv("CC")); len(f) > 0 {
			cc = f[0]
		}
		out, err := exec.CommandContext(ctx, cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread",
			"-o", filepath.Join(buildDir, "harness"), filepath.Join("c", "harness.c"), "-lpam").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("compile c/harness.c: %v: %s", err, out)
		}
	})
	if errors.Is(buildErr, ErrToolchainMissing) {
		toolMissing(t, buildErr.Error(), "apt-get install gcc libpam0g-dev (scripts/setup)")
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// request is one request the peer received.
type request struct {
	user, host, token []byte
}

// readRequest reads one request per the protocol, refusing what the verifier refuses.
func readRequest(r io.Reader) (request, error) {
	var req request
	magic := make([]byte, 4)
	if _, err := io.ReadFull(r, magic); err != nil {
		return req, err
	}
	if string(magic) != "IDB1" {
		return req, fmt.Errorf("magic %q", magic)
	}
	field := func(name string, lo, hi int) ([]byte, error) {
		var n uint16
		if err := binary.Read(r, binary.BigEndian, &n); err != nil {
			return nil, fmt.Errorf("%s length: %w", name, err)
		}
		if int(n) < lo || int(n) > hi {
			return nil, fmt.Errorf("%s length %d not in %d..%d", name, n, lo, hi)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return b, nil
	}
	var err error
	if req.user, err = field("user", 1, 256); err != nil {
		return req, err
	}
	if req.host, err = field("host", 0, 255); err != nil {
		return req, err
	}
	if req.token, err = field("token", 1, 16384); err != nil {
		return req, err
	}
	return req, nil
}

// response encodes a well-formed response.
func response(verdict byte, reason string) []byte {
	return append([]byte{'I', 'D', 'B', '1', verdict, byte(len(reason))}, reason...)
}

// A script says what the peer does with one connection.
type script struct {
	readFirst bool     // read (and record) the request before answering
	answer    []byte   // written after the request, then the connection is closed
	answers   [][]byte // if set, the answer to the first, second, … request instead
	hang      bool     // after reading, keep the connection open until the test ends
}

// peer is a scripted verifier on a Unix socket.
type peer struct {
	path string
	ln   *net.UnixListener
	do   script
	done chan struct{}

	settled sync.WaitGroup // one per accepted connection, done once its request is read

	mu       sync.Mutex
	accepted int // connections accepted, sync probes included
	answered int // requests answered
	probes   int // sync probes answered
	reqs     []request
	errs     []error
}

const syncProbe = "SYNC"

func newPeer(t testing.TB, do script) *peer {
	t.Helper()
	p := &peer{path: filepath.Join(testenv.SocketDir(t, "pamv"), "v.sock"), do: do, done: make(chan struct{})}
	var err error
	p.ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: p.path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(p.done)
		p.ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := p.ln.AcceptUnix()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.accepted++
			p.mu.Unlock()
			p.settled.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(c)
			}()
		}
	}()
	return p
}

func (p *peer) serve(c *net.UnixConn) {
	defer c.Close()
	br := bufio.NewReader(c)
	if head, err := br.Peek(4); err == nil && string(head) == syncProbe {
		p.mu.Lock()
		p.probes++
		p.mu.Unlock()
		p.settled.Done()
		c.Write([]byte{1})
		return
	}
	if p.do.readFirst {
		req, err := readRequest(br)
		p.mu.Lock()
		if err != nil {
			p.errs = append(p.errs, err)
		} else {
			p.reqs = append(p.reqs, req)
		}
		p.mu.Unlock()
		if err != nil {
			p.settled.Done()
			return
		}
	}
	p.settled.Done()
	if p.do.hang {
		<-p.done
		return
	}
	answer := p.do.answer
	if p.do.answers != nil {
		p.mu.Lock()
		answer = p.do.answers[p.answered%len(p.do.answers)]
		p.answered++
		p.mu.Unlock()
	}
	c.Write(answer)
}

// connections returns the number of connections the peer accepted and the requests it read,
// once every connection made before this call is accepted and its request read: it makes a
// connection of its own and waits for the answer (the listen queue is FIFO), so "no
// connection" is not a race.
func (p *peer) connections(t testing.TB) (int, []request, []error) {
	t.Helper()
	c, err := net.Dial("unix", p.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(syncProbe)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatalf("sync with the peer: %v", err)
	}
	p.settled.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted - p.probes, slices.Clone(p.reqs), slices.Clone(p.errs)
}

// login describes one harness run.
type login struct {
	args      string // module arguments on the auth line; "{socket}" is replaced
	socket    string
	user      string
	rhost     string // "-" for none
	token     []byte
	acctOnly  bool
	reauth    bool // pam_authenticate twice on the same handle
	threads   int
	straceOut string   // when set, run under strace writing here
	extra     string   // more lines for the service file
	kept      []string // shared objects the harness reports as loaded or not after pam_end
}

type outcome struct {
	firstAuth, auth, acct, prompts int
	stdout, stderr                 string
	exitOK                         bool
	elapsed                        time.Duration
}

// service writes a PAM service file into a new directory and returns the directory.
func service(t testing.TB, module, args, extra string) string {
	t.Helper()
	dir := t.TempDir()
	conf := fmt.Sprintf("auth required %s %s\naccount required %s\n%s", module, args, module, extra)
	if err := os.WriteFile(filepath.Join(dir, "iamdb-test"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func run(t testing.TB, l login) outcome {
	t.Helper()
	dir := built(t)
	args := strings.ReplaceAll(l.args, "{socket}", l.socket)
	confdir := service(t, filepath.Join(dir, "pam_iamdb.so"), args, l.extra)
	if l.user == "" {
		l.user = "alice"
	}
	if l.rhost == "" {
		l.rhost = "-"
	}
	argv := []string{filepath.Join(dir, "harness")}
	if l.acctOnly {
		argv = append(argv, "-a")
	}
	if l.reauth {
		argv = append(argv, "-r")
	}
	if l.threads > 1 {
		argv = append(argv, "-t", fmt.Sprint(l.threads))
	}
	if len(l.kept) > 0 {
		argv = append(argv, "-k", strings.Join(l.kept, ","))
	}
	argv = append(argv, "iamdb-test", confdir, l.user, l.rhost)
	if l.straceOut != "" {
		argv = append([]string{"strace", "-f", "-qq", "-s", "1000000", "-xx", "-o", l.straceOut,
			"-e", "trace=connect,write,writev,sendto,sendmsg,pwrite64,pwritev,pwritev2"}, argv...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(l.token)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	o := outcome{stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start), exitOK: err == nil}
	// The harness's own measure leaves out its start (slow on a loaded machine).
	if _, after, ok := strings.Cut(o.stderr, "harness: elapsed_us="); ok {
		var us int64
		if _, err := fmt.Sscanf(after, "%d", &us); err == nil {
			o.elapsed = time.Duration(us) * time.Microsecond
		}
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run harness: %v (stderr %q)", err, o.stderr)
	}
	if l.acctOnly {
		o.auth = -1
		if _, err := fmt.Sscanf(o.stdout, "acct_mgmt=%d\n", &o.acct); err != nil {
			t.Fatalf("harness printed %q (stderr %q): %v", o.stdout, o.stderr, err)
		}
	} else if l.threads <= 1 {
		rest := o.stdout
		if l.reauth {
			first, after, _ := strings.Cut(rest, "\n")
			if _, err := fmt.Sscanf(first, "first_authenticate=%d", &o.firstAuth); err != nil {
				t.Fatalf("harness printed %q (stderr %q): %v", o.stdout, o.stderr, err)
			}
			rest = after
		}
		if _, err := fmt.Sscanf(rest, "authenticate=%d acct_mgmt=%d prompts=%d\n", &o.auth, &o.acct, &o.prompts); err != nil {
			t.Fatalf("harness printed %q (stderr %q): %v", o.stdout, o.stderr, err)
		}
	}
	return o
}

// testToken returns a token of n pseudo-random bytes, none of them NUL (a C string cannot
// hold one), so that a truncation or an offset error shows and any 16 bytes of it are unique.
func testToken(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 17))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(1 + r.IntN(255))
	}
	return b
}

const defaultArgs = "socket={socket} timeout=2000"

func TestAllowSendsUserHostAndToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		user  string
		rhost string
		token []byte
	}{
		{"short token", "alice", "127.0.0.1", []byte("tok")},
		{"4000-byte token", "bob", "2001:db8::1", testToken(4000)},
		{"16384-byte token", "carol", "192.0.2.7", testToken(16384)},
		{"no rhost", "dave", "-", testToken(900)},
		{"longest user and host", strings.Repeat("u", 256), strings.Repeat("h", 255), testToken(10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPeer(t, script{readFirst: true, answer: response(1, "")})
			o := run(t, login{args: defaultArgs, socket: p.path, user: tc.user, rhost: tc.rhost, token: tc.token})
			if o.auth != pamSuccess || o.acct != pamSuccess || !o.exitOK {
				t.Fatalf("login = %+v, want authenticate=0 acct_mgmt=0", o)
			}
			if o.prompts != 1 {
				t.Errorf("the conversation prompted %d times, want 1", o.prompts)
			}
			n, reqs, errs := p.connections(t)
			if n != 1 || len(reqs) != 1 || len(errs) != 0 {
				t.Fatalf("peer saw %d connections, requests %d, errors %v; want one request", n, len(reqs), errs)
			}
			wantHost := tc.rhost
			if wantHost == "-" {
				wantHost = ""
			}
			got := reqs[0]
			if string(got.user) != tc.user || string(got.host) != wantHost || !bytes.Equal(got.token, tc.token) {
				t.Errorf("peer received user %q (%d bytes), host %q, token of %d bytes (equal: %v); want %q, %q, %d bytes",
					clip(got.user), len(got.user), got.host, len(got.token), bytes.Equal(got.token, tc.token),
					clip([]byte(tc.user)), wantHost, len(tc.token))
			}
		})
	}
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

func TestFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		do       script
		args     string
		user     string
		rhost    string
		token    []byte
		wantAuth int
		wantConn int // connections the peer must have seen
	}{
		{name: "deny", do: script{readFirst: true, answer: response(0, "signature-mismatch")},
			wantAuth: pamAuthErr, wantConn: 1},
		{name: "verdict 2", do: script{readFirst: true, answer: response(2, "")},
			wantAuth: pamAuthErr, wantConn: 1},
		{name: "verdict 255 with reason", do: script{readFirst: true, answer: response(255, "implicit-deny")},
			wantAuth: pamAuthErr, wantConn: 1},
		{name: "bad magic", do: script{readFirst: true, answer: append([]byte("IDB2"), 1, 0)},
			wantAuth: pamAuthErr, wantConn: 1},
		{name: "garbage", do: script{readFirst: true, answer: []byte("HTTP/1.1 200 OK\r\n\r\n")},
			wantAuth: pamAuthErr, wantConn: 1},
		{name: "truncated header", do: script{readFirst: true, answer: []byte("IDB1\x01")},
			wantAuth: pamAuthErr, wantConn: 1},
		{name: "truncated reason", do: script{readFirst: true, answer: []byte("IDB1\x01\x05ab")},
			wantAuth: pamAuthErr, wantConn: 1},
		{name: "closes after the request", do: script{readFirst: true},
			wantAuth: pamAuthErr, wantConn: 1},
		{name: "closes before reading", do: script{},
			wantAuth: pamAuthErr, wantConn: 1},
		{name: "token of 16385 bytes", do: script{readFirst: true, answer: response(1, "")},
			token: testToken(16385), wantAuth: pamAuthErr, wantConn: 0},
		{name: "empty token", do: script{readFirst: true, answer: response(1, "")},
			token: []byte{}, wantAuth: pamAuthErr, wantConn: 0},
		{name: "user of 257 bytes", do: script{readFirst: true, answer: response(1, "")},
			user: strings.Repeat("u", 257), wantAuth: pamAuthErr, wantConn: 0},
		{name: "rhost of 256 bytes", do: script{readFirst: true, answer: response(1, "")},
			rhost: strings.Repeat("h", 256), wantAuth: pamAuthErr, wantConn: 0},
		{name: "no socket argument", do: script{readFirst: true, answer: response(1, "")},
			args: "timeout=2000", wantAuth: pamServiceErr, wantConn: 0},
		{name: "timeout out of range", do: script{readFirst: true, answer: response(1, "")},
			args: "socket={socket} timeout=49", wantAuth: pamServiceErr, wantConn: 0},
		{name: "timeout not a number", do: script{readFirst: true, answer: response(1, "")},
			args: "socket={socket} timeout=2s", wantAuth: pamServiceErr, wantConn: 0},
		{name: "unknown argument", do: script{readFirst: true, answer: response(1, "")},
			args: "socket={socket} debug", wantAuth: pamServiceErr, wantConn: 0},
		{name: "socket path too long", do: script{readFirst: true, answer: response(1, "")},
			args: "socket=/" + strings.Repeat("s", 120), wantAuth: pamServiceErr, wantConn: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPeer(t, tc.do)
			if tc.args == "" {
				tc.args = defaultArgs
			}
			if tc.token == nil {
				tc.token = []byte("token")
			}
			o := run(t, login{args: tc.args, socket: p.path, user: tc.user, rhost: tc.rhost, token: tc.token})
			if o.auth != tc.wantAuth || o.acct != pamPermDenied || o.exitOK {
				t.Errorf("login = authenticate=%d acct_mgmt=%d exit ok %v; want authenticate=%d acct_mgmt=%d and a failure",
					o.auth, o.acct, o.exitOK, tc.wantAuth, pamPermDenied)
			}
			if n, _, errs := p.connections(t); n != tc.wantConn || len(errs) != 0 {
				t.Errorf("peer saw %d connections (errors %v), want %d", n, errs, tc.wantConn)
			}
		})
	}
}

func TestSocketMissingFailsFast(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := run(t, login{args: "socket=" + filepath.Join(dir, "absent.sock"), token: []byte("token")})
	if o.auth != pamAuthinfoUnavail || o.acct != pamPermDenied || o.exitOK {
		t.Errorf("login = %+v, want authenticate=%d acct_mgmt=%d", o, pamAuthinfoUnavail, pamPermDenied)
	}
	if o.elapsed > time.Second {
		t.Errorf("a missing socket took %v to fail, want well under the 2 s deadline", o.elapsed)
	}
}

func TestSocketNotListeningFailsFast(t *testing.T) {
	t.Parallel()
	p := newPeer(t, script{})
	p.ln.Close() // the file stays, nothing listens: ECONNREFUSED
	o := run(t, login{args: defaultArgs, socket: p.path, token: []byte("token")})
	if o.auth != pamAuthinfoUnavail || o.exitOK {
		t.Errorf("login = %+v, want authenticate=%d", o, pamAuthinfoUnavail)
	}
	if o.elapsed > time.Second {
		t.Errorf("a refused connection took %v to fail", o.elapsed)
	}
}

func TestPeerThatNeverAnswersTimesOut(t *testing.T) {
	t.Parallel()
	p := newPeer(t, script{readFirst: true, hang: true})
	o := run(t, login{args: "socket={socket} timeout=300", socket: p.path, token: testToken(2000)})
	if o.auth != pamAuthinfoUnavail || o.acct != pamPermDenied || o.exitOK {
		t.Errorf("login = %+v, want authenticate=%d acct_mgmt=%d", o, pamAuthinfoUnavail, pamPermDenied)
	}
	if o.elapsed < 250*time.Millisecond || o.elapsed >= 1500*time.Millisecond {
		t.Errorf("gave up after %v, want the 300 ms deadline (0.25 s .. 1.5 s)", o.elapsed)
	}
	if n, reqs, _ := p.connections(t); n != 1 || len(reqs) != 1 {
		t.Errorf("peer saw %d connections and %d requests, want 1 and 1", n, len(reqs))
	}
}

// A peer that accepts and never reads (nor answers) cannot hold the module past its deadline.
func TestPeerThatNeverReadsTimesOut(t *testing.T) {
	t.Parallel()
	p := newPeer(t, script{hang: true})
	o := run(t, login{args: "socket={socket} timeout=300", socket: p.path, token: testToken(16384)})
	if o.auth == pamSuccess || o.exitOK {
		t.Errorf("login = %+v, want a failure", o)
	}
	if o.elapsed >= 1500*time.Millisecond {
		t.Errorf("gave up after %v, want the 300 ms deadline", o.elapsed)
	}
}

// A success is forgotten when the same handle authenticates again and is refused: the
// account step follows the last verdict.
func TestReauthenticationForgetsEarlierSuccess(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                string
		answers             [][]byte
		wantFirst, wantAuth int
		wantAcct            int
	}{
		{"allow then deny", [][]byte{response(1, ""), response(0, "expired")}, pamSuccess, pamAuthErr, pamPermDenied},
		{"allow then unreadable", [][]byte{response(1, ""), []byte("IDB1")}, pamSuccess, pamAuthErr, pamPermDenied},
		{"deny then allow", [][]byte{response(0, "expired"), response(1, "")}, pamAuthErr, pamSuccess, pamSuccess},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPeer(t, script{readFirst: true, answers: tc.answers})
			o := run(t, login{args: defaultArgs, socket: p.path, reauth: true, token: []byte("token")})
			if o.firstAuth != tc.wantFirst || o.auth != tc.wantAuth || o.acct != tc.wantAcct {
				t.Errorf("authenticate, authenticate, acct_mgmt = %d, %d, %d; want %d, %d, %d",
					o.firstAuth, o.auth, o.acct, tc.wantFirst, tc.wantAuth, tc.wantAcct)
			}
			if o.prompts != 2 {
				t.Errorf("the conversation prompted %d times, want 2 (libpam forgets PAM_AUTHTOK after pam_authenticate)", o.prompts)
			}
		})
	}
}

func TestAcctMgmtAloneFails(t *testing.T) {
	t.Parallel()
	p := newPeer(t, script{readFirst: true, answer: response(1, "")})
	o := run(t, login{args: defaultArgs, socket: p.path, acctOnly: true, token: []byte("token")})
	if o.acct != pamPermDenied || o.exitOK {
		t.Errorf("acct_mgmt alone = %d (exit ok %v), want %d", o.acct, o.exitOK, pamPermDenied)
	}
	if n, _, _ := p.connections(t); n != 0 {
		t.Errorf("acct_mgmt contacted the verifier %d times", n)
	}
}

// MariaDB's v1 plugin runs PAM on many threads of one process at once (keep_loaded too:
// dl_iterate_phdr and dlopen on every thread).
func TestConcurrentTransactions(t *testing.T) {
	t.Parallel()
	for _, args := range []string{defaultArgs, defaultArgs + " keep_loaded"} {
		p := newPeer(t, script{readFirst: true, answer: response(1, "")})
		const threads = 16
		o := run(t, login{args: args, socket: p.path, threads: threads, token: testToken(3000)})
		if !o.exitOK || strings.Count(o.stdout, "authenticate=0 acct_mgmt=0 prompts=1\n") != threads {
			t.Fatalf("%s: harness -t %d printed %q (stderr %q), want %d successes", args, threads, o.stdout, o.stderr, threads)
		}
		n, reqs, errs := p.connections(t)
		if n != threads || len(reqs) != threads || len(errs) != 0 {
			t.Fatalf("%s: peer saw %d connections, %d requests, errors %v; want %d", args, n, len(reqs), errs, threads)
		}
	}
}

// systemModule returns the path of one of the system's PAM modules (libpam-modules is part
// of every Debian system), or skips.
func systemModule(t *testing.T, name string) string {
	t.Helper()
	for _, pat := range []string{"/lib/*/security/", "/usr/lib/*/security/", "/lib64/security/", "/lib/security/"} {
		if m, _ := filepath.Glob(pat + name); len(m) > 0 {
			return m[0]
		}
	}
	t.Skipf("no %s on this system", name)
	return ""
}

// keep_loaded leaves the PAM modules of the stack loaded after pam_end — this module and
// another module of the service (pam_permit on a session line) — and only with the option:
// libpam's default is to unload them all. A refused login keeps them loaded too.
func TestKeepLoaded(t *testing.T) {
	t.Parallel()
	permit := systemModule(t, "pam_permit.so")
	self := filepath.Join(built(t), "pam_iamdb.so")
	for _, tc := range []struct {
		args    string
		verdict byte
		want    string
	}{
		{defaultArgs, 1, "0"},
		{defaultArgs + " keep_loaded", 1, "1"},
		{"keep_loaded " + defaultArgs, 0, "1"},
	} {
		p := newPeer(t, script{readFirst: true, answer: response(tc.verdict, "")})
		o := run(t, login{args: tc.args, socket: p.path, token: testToken(100),
			extra: "session optional " + permit + "\n", kept: []string{self, permit}})
		if (tc.verdict == 1) != o.exitOK {
			t.Fatalf("%s: harness printed %q (stderr %q)", tc.args, o.stdout, o.stderr)
		}
		for _, so := range []string{self, permit} {
			if line := "loaded " + so + "=" + tc.want + "\n"; !strings.Contains(o.stdout, line) {
				t.Errorf("%s (verdict %d): harness printed %q, want the line %q", tc.args, tc.verdict, o.stdout, line)
			}
		}
	}
}

// exports returns the names of the symbols the shared object at path exports.
func exports(t *testing.T, path string) []string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	var exported []string
	for _, s := range syms {
		if s.Section != elf.SHN_UNDEF && elf.ST_BIND(s.Info) != elf.STB_LOCAL && s.Name != "" {
			exported = append(exported, s.Name)
		}
	}
	slices.Sort(exported)
	return exported
}

// The shared object exports the three pam_sm_* functions and nothing else.
func TestExportsOnlyPAMEntryPoints(t *testing.T) {
	t.Parallel()
	exported := exports(t, filepath.Join(built(t), "pam_iamdb.so"))
	want := []string{"pam_sm_acct_mgmt", "pam_sm_authenticate", "pam_sm_setcred"}
	if !slices.Equal(exported, want) {
		t.Errorf("exported symbols = %v, want %v", exported, want)
	}
}

// BuildMariaDBPlugin builds auth_iamdb.so, which exports what MariaDB looks up in a plugin
// library (its declarations and the one service it uses) and nothing else. The plugin's
// behaviour in a real server is tested in internal/localdb (TestMariaDBPlugin) and
// end to end in cmd/iamdb (TestDevEndToEnd/native-seed002).
func TestBuildMariaDBPlugin(t *testing.T) {
	t.Parallel()
	built(t) // skips without a compiler
	out := filepath.Join(t.TempDir(), "auth_iamdb.so")
	err := build(context.Background(), mariaDBTarget(), out, []string{"-Werror"})
	if errors.Is(err, ErrToolchainMissing) {
		toolMissing(t, err.Error(), "apt-get install -y libmariadbd-dev")
	}
	if err != nil {
		t.Fatal(err)
	}
	exported := exports(t, out)
	want := []string{"_maria_plugin_declarations_", "_maria_plugin_interface_version_", "_maria_sizeof_struct_st_plugin_", "my_print_error_service"}
	if !slices.Equal(exported, want) {
		t.Errorf("exported symbols = %v, want %v", exported, want)
	}
}

// Without MariaDB's headers, BuildMariaDBPlugin says which package to install.
func TestBuildMariaDBPluginWithoutHeaders(t *testing.T) {
	built(t)
	tgt := mariaDBTarget()
	tgt.flags = []string{"-DMYSQL_DYNAMIC_PLUGIN", "-I" + t.TempDir()} // as if none of MariaDBHeaderDirs existed
	err := build(context.Background(), tgt, filepath.Join(t.TempDir(), "auth_iamdb.so"), nil)
	if !errors.Is(err, ErrToolchainMissing) || !strings.Contains(err.Error(), "libmariadbd-dev") {
		t.Errorf("build without MariaDB's headers = %v, want ErrToolchainMissing naming libmariadbd-dev", err)
	}
}

// hexEscaped renders b the way strace -xx prints strings.
func hexEscaped(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		fmt.Fprintf(&s, `\x%02x`, c)
	}
	return s.String()
}

// The token reaches the verifier's socket and is written nowhere else: not to stdout, not to
// syslog or the audit socket, not to a file. Every write-like system call of the harness and
// the module is traced.
func TestNeverWritesTheTokenAnywhereElse(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("strace"); err != nil {
		toolMissing(t, "strace not found", "apt-get install strace (scripts/setup)")
	}
	built(t)
	for _, tc := range []struct {
		name     string
		answer   []byte
		wantAuth int
	}{
		{"allow", response(1, ""), pamSuccess},
		{"deny", response(0, "expired"), pamAuthErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPeer(t, script{readFirst: true, answer: tc.answer})
			token := testToken(4000)
			trace := filepath.Join(t.TempDir(), "strace.out")
			o := run(t, login{args: defaultArgs, socket: p.path, rhost: "127.0.0.1", token: token, straceOut: trace})
			if o.auth != tc.wantAuth {
				t.Fatalf("under strace: login = %+v, want authenticate=%d", o, tc.wantAuth)
			}
			out, err := os.ReadFile(trace)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(out), "\n")

			// The descriptor connected to the verifier's socket.
			connectPrefix := `, {sa_family=AF_UNIX, sun_path="` + hexEscaped([]byte(p.path)) + `"}`
			verifierFD := ""
			for _, l := range lines {
				if i := strings.Index(l, "connect("); i >= 0 && strings.Contains(l, connectPrefix) && strings.HasSuffix(l, "= 0") {
					verifierFD = l[i+len("connect(") : i+len("connect(")+strings.Index(l[i+len("connect("):], ",")]
				}
			}
			if verifierFD == "" {
				t.Fatalf("no successful connect to %s in the trace:\n%s", p.path, clipTrace(out))
			}

			for _, needle := range []struct {
				what string
				s    string
			}{
				{"the whole token", hexEscaped(token)},
				{"a 16-byte slice of it", hexEscaped(token[1000:1016])},
			} {
				if got := strings.Count(string(out), needle.s); got != 1 {
					t.Errorf("%s appears %d times in the trace, want exactly once (the request)", needle.what, got)
				}
				for _, l := range lines {
					if !strings.Contains(l, needle.s) {
						continue
					}
					// "PID  call(…": strace pads the process id.
					call := strings.TrimLeft(l[strings.IndexByte(l, ' ')+1:], " ")
					if !strings.HasPrefix(call, "sendto("+verifierFD+", ") {
						t.Errorf("%s written by %.60s…, want only sendto on the verifier's socket (fd %s)", needle.what, call, verifierFD)
					}
				}
			}
		})
	}
}

func clipTrace(b []byte) string {
	if len(b) > 3000 {
		return string(b[:3000]) + "…"
	}
	return string(b)
}

func TestBuild(t *testing.T) {
	t.Parallel()
	built(t) // skips without a toolchain
	dir := t.TempDir()
	out := filepath.Join(dir, "pam_iamdb.so")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Build(context.Background(), out); err != nil {
		t.Fatalf("Build: %v", err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("module mode = %v, want 0755", fi.Mode().Perm())
	}
	if f, err := elf.Open(out); err != nil {
		t.Errorf("built module is not an ELF file: %v", err)
	} else {
		f.Close()
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("Build left %d files in the directory, want only the module", len(entries))
	}
	if !bytes.Equal(Source(), source) || len(Source()) == 0 {
		t.Error("Source() differs from the embedded source")
	}
}

func TestBuildWithoutCompiler(t *testing.T) {
	t.Setenv("CC", "/nonexistent/cc")
	dir := t.TempDir()
	err := Build(context.Background(), filepath.Join(dir, "pam_iamdb.so"))
	if !errors.Is(err, ErrToolchainMissing) || !strings.Contains(err.Error(), "install gcc") {
		t.Errorf("Build with CC=/nonexistent/cc = %v, want ErrToolchainMissing naming gcc", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Build left %d files behind", len(entries))
	}
}

// A compiler that cannot find libpam's headers yields ErrToolchainMissing naming
// libpam0g-dev: the test hides security/ from the compiler's include path.
func TestBuildWithoutPAMHeaders(t *testing.T) {
	built(t)
	out, err := exec.Command("cc", "-E", "-Wp,-v", "-x", "c", os.DevNull).CombinedOutput()
	if err != nil {
		t.Fatalf("cc -E -Wp,-v: %v\n%s", err, out)
	}
	dir := t.TempDir()
	var flags []string
	inList := false
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "#include <...> search starts here"):
			inList = true
			continue
		case strings.HasPrefix(l, "End of search list"):
			inList = false
		}
		inc := strings.TrimSpace(l)
		if !inList || inc == "" {
			continue
		}
		// A copy of the directory made of symbolic links, less its security/ subdirectory.
		shadow := filepath.Join(dir, fmt.Sprint(len(flags)))
		if err := os.Mkdir(shadow, 0o755); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(inc)
		for _, e := range entries {
			if e.Name() == "security" {
				continue
			}
			if err := os.Symlink(filepath.Join(inc, e.Name()), filepath.Join(shadow, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
		flags = append(flags, "-isystem", shadow)
	}
	if len(flags) == 0 {
		t.Fatalf("no include directories in\n%s", out)
	}
	wrapper := filepath.Join(dir, "cc-without-pam")
	script := "#!/bin/sh\nexec cc -nostdinc " + strings.Join(flags, " ") + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CC", wrapper)
	err = Build(context.Background(), filepath.Join(dir, "pam_iamdb.so"))
	if !errors.Is(err, ErrToolchainMissing) || !strings.Contains(err.Error(), "install libpam0g-dev") {
		t.Errorf("Build without libpam's headers = %v, want ErrToolchainMissing naming libpam0g-dev", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pam_iamdb.so")); !os.IsNotExist(err) {
		t.Errorf("a failed Build left the module behind (stat: %v)", err)
	}
}

// The Makefile builds and installs the same module under DESTDIR and PAMDIR.
func TestMakefileInstall(t *testing.T) {
	t.Parallel()
	built(t)
	if _, err := exec.LookPath("make"); err != nil {
		toolMissing(t, "make not found", "apt-get install make")
	}
	src := t.TempDir()
	for _, name := range []string{"Makefile", "pam_iamdb.c", "auth_iamdb.c", "iamdb_verifier.h"} {
		b, err := os.ReadFile(filepath.Join("c", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dest := t.TempDir()
	out, err := exec.Command("make", "-C", src, "install", "DESTDIR="+dest, "PAMDIR=/lib/security", "CFLAGS=-O2 -Werror").CombinedOutput()
	if err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	if _, err := elf.Open(filepath.Join(dest, "lib", "security", "pam_iamdb.so")); err != nil {
		t.Errorf("make install did not install an ELF module: %v", err)
	}
	if mariaDBTarget().flags[len(mariaDBTarget().flags)-1] == "-DMYSQL_DYNAMIC_PLUGIN" {
		return // no MariaDB headers: TestBuildMariaDBPlugin says so
	}
	out, err = exec.Command("make", "-C", src, "install-mariadb", "DESTDIR="+dest, "PLUGINDIR=/plugin", "CFLAGS=-O2 -Werror").CombinedOutput()
	if err != nil {
		t.Fatalf("make install-mariadb: %v\n%s", err, out)
	}
	if _, err := elf.Open(filepath.Join(dest, "plugin", "auth_iamdb.so")); err != nil {
		t.Errorf("make install-mariadb did not install an ELF plugin: %v", err)
	}
}

// FuzzModuleResponse feeds the module arbitrary verifier responses: it must succeed exactly
// when the bytes begin with a complete, well-formed response whose verdict is allow, and fail
// with PAM_AUTH_ERR otherwise. withMagic prefixes the input with the right magic, so that the
// fuzzer (which cannot see the C code's coverage) spends its time past the magic too. Each
// input runs the harness once: slow, but it is the C parser that is under test.
func FuzzModuleResponse(f *testing.F) {
	for _, seed := range [][]byte{
		response(1, ""),
		response(1, "ok"),
		response(0, "expired"),
		response(2, ""),
		[]byte("IDB2\x01\x00"),
		[]byte("IDB1\x01"),
		[]byte("IDB1\x01\x05ab"),
		append(response(1, ""), "trailing"...),
		{},
	} {
		f.Add(false, seed)
	}
	f.Add(true, []byte("\x01\x03abc"))
	f.Add(true, []byte("\x01\x03ab"))
	f.Fuzz(func(t *testing.T, withMagic bool, resp []byte) {
		if len(resp) > 600 {
			return
		}
		if withMagic {
			resp = append([]byte("IDB1"), resp...)
		}
		p := newPeer(t, script{readFirst: true, answer: resp})
		o := run(t, login{args: defaultArgs, socket: p.path, token: []byte("token")})
		allow := len(resp) >= 6 && string(resp[:4]) == "IDB1" && resp[4] == 1 && len(resp) >= 6+int(resp[5])
		want := pamAuthErr
		if allow {
			want = pamSuccess
		}
		if o.auth != want {
			t.Errorf("response %q: authenticate = %d, want %d", resp, o.auth, want)
		}
	})
}

// keep_loaded must not use the names the loader gives dl_iterate_phdr's callback after it
// returns: another thread of the server (MariaDB runs PAM on many) may unload an object
// meanwhile, and the loader frees its name. The module and the harness are built with
// AddressSanitizer here, and the harness unloads and loads a library of its own in a loop
// while four threads run transactions; each load or unload also makes the next
// transaction scan the loaded objects again. No verifier listens: the scan comes first.
func TestKeepLoadedWhileUnloading(t *testing.T) {
	t.Parallel()
	built(t) // the toolchain, or skip
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	asan := []string{"-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O1"}
	module := filepath.Join(dir, "pam_iamdb.so")
	if err := build(ctx, pamTarget, module, asan); err != nil {
		toolMissing(t, "cannot build the module with AddressSanitizer: "+err.Error(), "apt-get install gcc (scripts/setup)")
	}
	cc := "cc"
	if f := strings.Fields(os.Getenv("CC")); len(f) > 0 {
		cc = f[0]
	}
	churn := filepath.Join(dir, "libchurn.so")
	if err := os.WriteFile(filepath.Join(dir, "churn.c"), []byte("int churn_marker(void) { return 1; }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-shared", "-fPIC", "-o", churn, filepath.Join(dir, "churn.c")},
		append(append([]string{"-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread"}, asan...),
			"-o", filepath.Join(dir, "harness"), filepath.Join("c", "harness.c"), "-lpam"),
	} {
		if out, err := exec.CommandContext(ctx, cc, args...).CombinedOutput(); err != nil {
			toolMissing(t, fmt.Sprintf("cannot build %s with AddressSanitizer: %v: %s", args[len(args)-2], err, out), "apt-get install gcc (scripts/setup)")
		}
	}
	confdir := service(t, module, "socket="+filepath.Join(dir, "none.sock")+" timeout=2000 keep_loaded", "")
	const threads, count = 4, 150
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "harness"), "-t", fmt.Sprint(threads), "-n", fmt.Sprint(count), "-u", churn,
		"iamdb-test", confdir, "alice", "-")
	cmd.Env = append(os.Environ(), "ASAN_OPTIONS=detect_leaks=0:exitcode=86", "UBSAN_OPTIONS=halt_on_error=1:exitcode=87")
	cmd.Stdin = bytes.NewReader(testToken(100))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && (!errors.As(err, &exitErr) || exitErr.ExitCode() != 1) || strings.Contains(stderr.String(), "Sanitizer") {
		t.Fatalf("harness: %v\n%s", err, stderr.String())
	}
	// No verifier: every transaction fails, closed, with PAM_AUTHINFO_UNAVAIL.
	want := fmt.Sprintf("authenticate=%d acct_mgmt=%d", pamAuthinfoUnavail, pamPermDenied)
	if got := strings.Count(stdout.String(), want); got != threads {
		t.Errorf("harness printed %q, want %d lines %q", stdout.String(), threads, want)
	}
}
