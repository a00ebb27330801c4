package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/testenv/gatewayenv"
	"github.com/jackc/pgx/v5"
	dto "github.com/prometheus/client_model/go"
)

func TestIAMLogin(t *testing.T) {
	t.Parallel()
	gw := newGateway(t, nil)
	tok := gw.token(t, "alice", "alice", time.Time{})
	ctx := context.Background()
	var pids []int32
	for i := range 3 {
		c := gw.mustConnect(t, "alice", tok)
		var user, app string
		var pid int32
		if err := c.QueryRow(ctx, "select current_user, current_setting('application_name'), pg_backend_pid()").Scan(&user, &app, &pid); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if user != "alice" || app != "itest" {
			t.Errorf("current_user, application_name = %q, %q; want alice, itest", user, app)
		}
		if got := c.PgConn().ParameterStatus("application_name"); got != "itest" {
			t.Errorf("ParameterStatus(application_name) = %q, want itest", got)
		}
		if got := c.PgConn().ParameterStatus("server_version"); got == "" {
			t.Error("ParameterStatus(server_version) is empty")
		}
		pids = append(pids, pid)
		c.Close(ctx)
		gw.waitReleased(t)
	}
	if pids[0] != pids[1] || pids[1] != pids[2] {
		t.Errorf("backend pids %v: want one pooled session", pids)
	}

	// Another application name on the pooled session; session state does not leak.
	cc := gw.connConfig(t, "alice", tok, false)
	cc.RuntimeParams["application_name"] = "other app"
	c, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		t.Fatal(err)
	}
	var app string
	var pid int32
	if err := c.QueryRow(ctx, "select current_setting('application_name'), pg_backend_pid()").Scan(&app, &pid); err != nil {
		t.Fatal(err)
	}
	if app != "other app" || pid != pids[0] {
		t.Errorf("application_name, pid = %q, %d; want %q, %d", app, pid, "other app", pids[0])
	}
	if _, err := c.Exec(ctx, "create temp table leak(x int); set search_path = nowhere; prepare p as select 1"); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	gw.waitReleased(t)
	c = gw.mustConnect(t, "alice", tok)
	var sp string
	var temps int
	if err := c.QueryRow(ctx, "select current_setting('search_path'), (select count(*) from pg_prepared_statements where name = 'p') + (select count(*) from pg_class where relname = 'leak')::int, pg_backend_pid()").Scan(&sp, &temps, &pid); err != nil {
		t.Fatal(err)
	}
	if sp == "nowhere" || temps != 0 || pid != pids[0] {
		t.Errorf("after reuse: search_path %q, leftovers %d, pid %d; want reset state on pid %d", sp, temps, pid, pids[0])
	}

	if got := counter(t, gw, "iamdb_gateway_connections_total", map[string]string{"outcome": "ok"}); got != 5 {
		t.Errorf("connections_total{outcome=ok} = %v, want 5", got)
	}
	if got := counter(t, gw, "iamdb_gateway_backend_dials_total", map[string]string{"outcome": "ok"}); got != 1 {
		t.Errorf("backend_dials_total{outcome=ok} = %v, want 1", got)
	}
	logs := gw.logs.String()
	for _, want := range []string{`"msg":"connection authorized"`, `"principal":"arn:aws:iam::123456789012:user/alice"`, `"tls_protocol":"TLSv1.3"`, `"application_name":"itest"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	checkNoSecrets(t, gw, tok)
}

func TestRevealReasons(t *testing.T) {
	t.Parallel()
	var log auditLog
	gw := newGateway(t, log.revealing)
	tok := gw.token(t, "alice", "alice", gw.env.clock.Now().Add(-20*time.Minute))
	_, err := gw.connect(t, "alice", tok)
	pe := pgError(t, err)
	if pe.Code != "28000" || pe.Detail != "reason: expired" {
		t.Errorf("error %s %q detail %q; want 28000 with detail %q", pe.Code, pe.Message, pe.Detail, "reason: expired")
	}
	if audits := log.all(); len(audits) != 1 || audits[0].Reason != "expired" || audits[0].Outcome != "refused" || !audits[0].IAM || audits[0].User != "alice" || audits[0].Mode != "gateway" {
		t.Errorf("audit records %+v; want one refused/expired for alice", audits)
	}
}

func TestPasswordUser(t *testing.T) {
	t.Parallel()
	gw := newGateway(t, func(c *Config) { c.AllowPlaintextPasswords = true })
	ctx := context.Background()
	for _, plaintext := range []bool{false, true} {
		c, err := pgx.ConnectConfig(ctx, gw.connConfig(t, "pwuser", testPassword, plaintext))
		if err != nil {
			t.Fatalf("plaintext=%v: %v", plaintext, err)
		}
		var user, app string
		if err := c.QueryRow(ctx, "select current_user, current_setting('application_name')").Scan(&user, &app); err != nil {
			t.Fatal(err)
		}
		if user != "pwuser" || app != "itest" {
			t.Errorf("current_user, application_name = %q, %q", user, app)
		}
		c.Close(ctx)
	}
	_, err := gw.connect(t, "pwuser", "wrong")
	pe := pgError(t, err)
	if pe.Code != "28P01" || pe.Message != `password authentication failed for user "pwuser"` {
		t.Errorf("wrong password: %s %q", pe.Code, pe.Message)
	}
	_, err = gw.connect(t, "nosuchuser", "x")
	if pe := pgError(t, err); pe.Code != "28P01" {
		t.Errorf("unknown user: %s %q; want 28P01", pe.Code, pe.Message)
	}
	if findLog(gw, `"msg":"authentication failed"`, `"reason":"password"`) == "" {
		t.Errorf("no password failure logged:\n%s", gw.logs.String())
	}
	checkNoSecrets(t, gw, testPassword)
}

func TestCancel(t *testing.T) {
	t.Parallel()
	gw := newGateway(t, nil)
	c := gw.mustConnect(t, "alice", gw.token(t, "alice", "alice", time.Time{}))
	ctx := context.Background()
	errc := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := c.Exec(ctx, "select pg_sleep(30)")
		errc <- err
	}()
	// A cancel that arrives before the query has started cancels nothing: send one
	// until the query ends.
	var err error
	for done := false; !done; {
		if err := c.PgConn().CancelRequest(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case err = <-errc:
			done = true
		case <-time.After(300 * time.Millisecond):
		}
	}
	if pe := pgError(t, err); pe.Code != "57014" {
		t.Errorf("error %s %q; want 57014 (query_canceled)", pe.Code, pe.Message)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancel took %v", d)
	}
	var one int
	if err := c.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
		t.Errorf("after cancel: %v %d", err, one)
	}
	if strings.Contains(gw.logs.String(), "cancel request failed") {
		t.Errorf("cancel failure logged:\n%s", gw.logs.String())
	}
}

func TestRelayLargeAndCopy(t *testing.T) {
	t.Parallel()
	gw := newGateway(t, nil)
	c := gw.mustConnect(t, "alice", gw.token(t, "alice", "alice", time.Time{}))
	ctx := context.Background()

	// A 17 MiB parameter in, a 16 MiB+ row out.
	checkLargeValues(t, 8388611, func(big string) (n int, sum string, err error) {
		err = c.QueryRow(ctx, "select length($1::text), md5($1::text)", big).Scan(&n, &sum)
		return n, sum, err
	}, func(n int) (out string, err error) {
		err = c.QueryRow(ctx, fmt.Sprintf("select repeat('xy', %d)", n)).Scan(&out)
		return out, err
	})
	var n int

	// COPY in and out.
	if _, err := c.Exec(ctx, "create temp table c (id int, s text)"); err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	for i := range 100000 {
		fmt.Fprintf(&in, "%d\trow %d %s\n", i, i, strings.Repeat("z", i%50))
	}
	tag, err := c.PgConn().CopyFrom(ctx, bytes.NewReader(in.Bytes()), "copy c from stdin")
	if err != nil {
		t.Fatal(err)
	}
	if tag.RowsAffected() != 100000 {
		t.Errorf("copy in: %d rows", tag.RowsAffected())
	}
	var got bytes.Buffer
	if _, err := c.PgConn().CopyTo(ctx, &got, "copy (select * from c order by id) to stdout"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), in.Bytes()) {
		t.Errorf("copy out differs: %d bytes, want %d", got.Len(), in.Len())
	}
	// A failing COPY leaves the session usable.
	if _, err := c.PgConn().CopyFrom(ctx, strings.NewReader("not a number\tx\n"), "copy c from stdin"); err == nil {
		t.Error("bad copy succeeded")
	}
	if err := c.QueryRow(ctx, "select count(*) from c").Scan(&n); err != nil || n != 100000 {
		t.Errorf("after failed copy: %v, %d rows", err, n)
	}
	// Extended protocol errors and a batch.
	if _, err := c.Exec(ctx, "select 1/0"); err == nil {
		t.Error("division by zero succeeded")
	}
	b := &pgx.Batch{}
	for i := range 50 {
		b.Queue("select $1::int", i)
	}
	br := c.SendBatch(ctx, b)
	for i := range 50 {
		var v int
		if err := br.QueryRow().Scan(&v); err != nil || v != i {
			t.Fatalf("batch %d: %v %d", i, err, v)
		}
	}
	br.Close()
}

func TestNotify(t *testing.T) {
	t.Parallel()
	gw := newGateway(t, nil)
	tok := gw.token(t, "alice", "alice", time.Time{})
	l := gw.mustConnect(t, "alice", tok)
	s := gw.mustConnect(t, "alice", tok)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := l.Exec(ctx, "listen ch"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec(ctx, "select pg_notify('ch', 'hello')"); err != nil {
		t.Fatal(err)
	}
	n, err := l.WaitForNotification(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.Channel != "ch" || n.Payload != "hello" {
		t.Errorf("notification %q %q", n.Channel, n.Payload)
	}
}

func TestConcurrentClients(t *testing.T) {
	t.Parallel()
	gw := newGateway(t, func(c *Config) { c.Pool.MaxSessionsPerKey = 40 })
	tok := gw.token(t, "alice", "alice", time.Time{})
	gw.concurrently(t, 200, func(i int) error {
		c, err := gw.connect(t, "alice", tok)
		if err != nil {
			return err
		}
		defer c.Close(context.Background())
		var v int
		if err := c.QueryRow(context.Background(), "select $1::int + 1", i).Scan(&v); err != nil || v != i+1 {
			return fmt.Errorf("client %d: %v %d", i, err, v)
		}
		return nil
	})
}

// TestPooledSessionCheck: a pooled session comes back with the client's
// application_name even when its last client changed it, and one whose backend was
// terminated while idle is replaced without the client noticing (the check looks at the
// socket, where the FATAL and the end of the stream wait, instead of a round trip).
func TestPooledSessionCheck(t *testing.T) {
	t.Parallel()
	gw := newGateway(t, nil)
	tok := gw.token(t, "alice", "alice", time.Time{})
	ctx := context.Background()
	state := func(c *pgx.Conn) (app string, pid int32) {
		t.Helper()
		if err := c.QueryRow(ctx, "select current_setting('application_name'), pg_backend_pid()").Scan(&app, &pid); err != nil {
			t.Fatal(err)
		}
		return app, pid
	}
	c := gw.mustConnect(t, "alice", tok)
	_, first := state(c)
	if _, err := c.Exec(ctx, "set application_name = 'changed'"); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	gw.waitReleased(t)
	if err := gw.peekIdleSession(t); err != nil {
		t.Fatalf("peek at the idle pooled session = %v, want nil (the check without a round trip)", err)
	}

	c = gw.mustConnect(t, "alice", tok)
	if app, pid := state(c); app != "itest" || pid != first {
		t.Fatalf("pooled session: application_name %q, pid %d; want itest, %d", app, pid, first)
	}
	if got := c.PgConn().ParameterStatus("application_name"); got != "itest" {
		t.Errorf("ParameterStatus(application_name) = %q, want itest", got)
	}
	// Terminate the idle pooled backend from another session of alice's, opened while
	// the first is busy.
	killer := gw.mustConnect(t, "alice", tok)
	defer killer.Close(ctx)
	c.Close(ctx)
	for i := 0; ; i++ {
		if idle, busy := gw.poolStats(); idle == 1 && busy == 1 {
			break
		} else if i == 500 {
			t.Fatalf("pool idle, busy = %d, %d after 5s; want 1, 1", idle, busy)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var ok bool
	if err := killer.QueryRow(ctx, "select pg_terminate_backend($1)", first).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", first, ok, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := killer.QueryRow(ctx, "select count(*) from pg_stat_activity where pid = $1", first).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backend %d still there after 10s", first)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := gw.peekIdleSession(t); err == nil || errors.Is(err, errCannotPeek) {
		t.Fatalf("peek at the terminated pooled session = %v, want the end of the stream or data", err)
	}
	c = gw.mustConnect(t, "alice", tok)
	defer c.Close(ctx)
	if app, pid := state(c); app != "itest" || pid == first {
		t.Fatalf("after the backend was terminated: application_name %q, pid %d (terminated: %d)", app, pid, first)
	}
}

// TestPooledSessionPeek: a client that logs in again with the same application_name
// gets the pooled session after a look at its socket, with no round trip to the backend —
// also when the session was born with another client's application_name, which DISCARD
// ALL would bring back at every release (issue 19: pgbench -C after idleconns paid a SET
// round trip on every login).
func TestPooledSessionPeek(t *testing.T) {
	t.Parallel()
	gw := newGateway(t, nil)
	tok := gw.token(t, "alice", "alice", time.Time{})
	ctx := context.Background()
	login := func(app string) (pid int32) {
		t.Helper()
		cc := gw.connConfig(t, "alice", tok, false)
		cc.RuntimeParams["application_name"] = app
		c, err := pgx.ConnectConfig(ctx, cc)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var got string
		if err := c.QueryRow(ctx, "select current_setting('application_name'), pg_backend_pid()").Scan(&got, &pid); err != nil {
			t.Fatal(err)
		}
		if got != app || c.PgConn().ParameterStatus("application_name") != app {
			t.Errorf("application_name %q, ParameterStatus %q; want %q", got, c.PgConn().ParameterStatus("application_name"), app)
		}
		return pid
	}
	first := login("born-elsewhere")
	for i := range 4 {
		gw.waitReleased(t)
		if got := login("itest"); got != first {
			t.Fatalf("login %d: backend pid %d, want the pooled session's %d", i+2, got, first)
		}
	}
	checks := func(check string) float64 {
		return counter(t, gw, "iamdb_gateway_pool_checks_total", map[string]string{"engine": EnginePostgres, "check": check, "outcome": "ok"})
	}
	// The first itest login finds born-elsewhere and sets its own; the release keeps it.
	if peeks, queries := checks("peek"), checks("query"); peeks != 3 || queries != 1 {
		t.Errorf("pooled session checks: %v peeks, %v round trips; want 3 and 1", peeks, queries)
	}
	gw.waitReleased(t)
	if got := login("born-elsewhere"); got != first {
		t.Fatalf("back to the first application_name: backend pid %d, want %d", got, first)
	}
}

// peekIdleSession peeks at the socket of the PostgreSQL pool's only idle session.
func (gw *testGW) peekIdleSession(t *testing.T) error {
	t.Helper()
	p := gw.engine.(*pgEngine).pool
	p.mu.Lock()
	var idle []*pgBackend
	for _, k := range p.keys {
		for _, is := range k.idle {
			idle = append(idle, is.s)
		}
	}
	p.mu.Unlock()
	if len(idle) != 1 {
		t.Fatalf("%d idle sessions in the pool, want 1", len(idle))
	}
	return idle[0].alive()
}

// TestBackendRestart is not parallel: it restarts the shared server.
func TestBackendRestart(t *testing.T) {
	gw := newGateway(t, func(c *Config) { c.MembershipTTL = -1 }) // every login asks the backend
	e := gw.env
	tok := gw.token(t, "alice", "alice", time.Time{})
	ctx := context.Background()
	pid := func(c *pgx.Conn) int32 {
		var p int32
		if err := c.QueryRow(ctx, "select pg_backend_pid()").Scan(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c := gw.mustConnect(t, "alice", tok)
	before := pid(c)
	c.Close(ctx)
	if gw.waitReleased(t) != 1 {
		t.Fatal("the session was not pooled")
	}
	active := gw.mustConnect(t, "alice", tok)
	pid(active)

	if err := e.pg.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := active.Exec(ctx, "select 1"); err == nil {
		t.Error("a session survived the restart")
	}
	// The membership cache may answer; the admin connection and the pooled session are
	// stale: both are replaced without the client noticing.
	c = gw.mustConnect(t, "alice", tok)
	if after := pid(c); after == before {
		t.Errorf("pid %d reused after restart", after)
	}
	c2 := gw.mustConnect(t, "pwuser", testPassword)
	pid(c2)
	pid(gw.mustConnect(t, "nina", gw.token(t, "alice", "nina", time.Time{})))
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	gw := newGateway(t, nil)
	tok := gw.token(t, "alice", "alice", time.Time{})
	ctx := context.Background()
	c := gw.mustConnect(t, "alice", tok)

	// Draining: the open session still works, new ones are refused.
	done := gw.startShutdown(t, func() error {
		_, err := gw.connect(t, "alice", tok)
		return err
	})
	var one int
	if err := c.QueryRow(ctx, "select 1").Scan(&one); err != nil {
		t.Fatalf("session during drain: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a session open", err)
	case <-time.After(100 * time.Millisecond):
	}
	c.Close(ctx)
	if err := <-done; err != nil {
		t.Errorf("Shutdown = %v", err)
	}

	// A session that does not leave is closed when the context ends.
	gw2 := newGateway(t, nil)
	c2 := gw2.mustConnect(t, "alice", gw2.token(t, "alice", "alice", time.Time{}))
	sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := gw2.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if _, err := c2.Exec(ctx, "select 1"); err == nil {
		t.Error("session survived a forced shutdown")
	}
}

// counter sums the samples of a counter whose labels include match.
func counter(t testing.TB, gw *testGW, name string, match map[string]string) float64 {
	t.Helper()
	mfs, err := gw.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsMatch(m, match) {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func labelsMatch(m *dto.Metric, match map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := match[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(match)
}

// findLog returns the first log line containing every part.
func findLog(gw *testGW, parts ...string) string {
	for line := range strings.SplitSeq(gw.logs.String(), "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return line
		}
	}
	return ""
}

// checkNoSecrets fails if the logs contain any secret, or a token's signature.
func checkNoSecrets(t testing.TB, gw *testGW, secrets ...string) {
	t.Helper()
	logs := gw.logs.String()
	for _, s := range secrets {
		if len(s) < 8 {
			continue
		}
		parts := []string{s}
		if i := strings.Index(s, "X-Amz-Signature="); i >= 0 {
			parts = append(parts, s[i+len("X-Amz-Signature="):])
		}
		for _, p := range parts {
			if strings.Contains(logs, p) {
				t.Errorf("logs contain a secret (%d bytes)", len(p))
			}
		}
	}
	for _, k := range gw.env.keys {
		if strings.Contains(logs, k.SecretAccessKey) {
			t.Error("logs contain a secret access key")
		}
	}
}

var _ = io.EOF

func TestCertificateAndTLSVersion(t *testing.T) {
	t.Parallel()
	gw := newGateway(t, func(c *Config) { c.MinTLSVersion = tls.VersionTLS13 })
	tok := gw.token(t, "alice", "alice", time.Time{})
	serial := func() string {
		cc := gw.connConfig(t, "alice", tok, false)
		var got string
		cc.TLSConfig.VerifyConnection = func(cs tls.ConnectionState) error {
			got = cs.PeerCertificates[0].SerialNumber.String()
			return nil
		}
		c, err := pgx.ConnectConfig(context.Background(), cc)
		if err != nil {
			t.Fatal(err)
		}
		c.Close(context.Background())
		return got
	}
	first := serial()
	cert, err := gw.env.ca.ServerCert([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.SetCertificate(&cert); err != nil {
		t.Fatal(err)
	}
	if second := serial(); second == first {
		t.Errorf("serial after SetCertificate = %s, first %s", second, first)
	}
	cc := gw.connConfig(t, "alice", tok, false)
	cc.TLSConfig.MaxVersion = tls.VersionTLS12
	if _, err := pgx.ConnectConfig(context.Background(), cc); err == nil {
		t.Error("TLS 1.2 accepted with MinTLSVersion 1.3")
	}
}

// A MinTLSVersion other than TLS 1.2 or 1.3 is refused when the gateway is created.
func TestMinTLSVersionRefused(t *testing.T) {
	t.Parallel()
	e := env(t)
	site := e.Site(t, gatewayenv.Postgres)
	for _, v := range []uint16{tls.VersionTLS11, 0x0305} {
		_, err := New(Config{
			Engine: EnginePostgres, IAM: e.svc, Database: site.Database, Certificate: &site.Certificate,
			Backend:     Backend{Addr: e.pg.Addr(), AdminUser: e.pg.AdminUser, AdminPassword: e.pg.AdminPassword},
			ClientCerts: e.certs, MinTLSVersion: v,
		})
		want := fmt.Sprintf("gateway: config: unsupported MinTLSVersion %#x", v)
		if err == nil || err.Error() != want {
			t.Errorf("New(MinTLSVersion %#x) = %v, want %q", v, err, want)
		}
	}
}
