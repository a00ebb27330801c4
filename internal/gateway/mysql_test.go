package gateway

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/iamdb/iamdb/internal/mysqlwire"
)

func dumpLogsOnFail(t *testing.T, gw *testGW) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(gw.logs.String())
		}
	})
}

// connID returns the backend's connection ID of db's connection.
func connID(t testing.TB, db *sql.DB) int64 {
	t.Helper()
	var id int64
	if err := db.QueryRow("select connection_id()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestMySQLIAMLogin(t *testing.T) {
	t.Parallel()
	gw := newMySQLGateway(t, nil)
	dumpLogsOnFail(t, gw)
	tok := gw.token(t, "alice", "alice", time.Time{})
	ctx := context.Background()
	var ids []int64
	for i := range 3 { // one token, many connections
		db := gw.mysqlMustOpen(t, "alice", tok, "app")
		var user, role, cipher string
		if err := db.QueryRowContext(ctx, "select current_user(), current_role(), (select variable_value from information_schema.session_status where variable_name = 'Ssl_cipher')").Scan(&user, &role, &cipher); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if user != "alice@%" || role != "rds_iam" || cipher == "" {
			t.Errorf("current_user(), current_role(), backend cipher = %q, %q, %q; want alice@%%, rds_iam, TLS", user, role, cipher)
		}
		ids = append(ids, connID(t, db))
		db.Close()
		gw.waitReleased(t)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("backend connection ids %v: want one pooled session", ids)
	}
	// Greetings now announce the backend's version.
	var version string
	vdb := gw.mysqlMustOpen(t, "alice", tok, "app")
	if err := vdb.QueryRowContext(ctx, "select version()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	vdb.Close()
	gw.waitReleased(t)
	if got := gw.engine.(*mysqlEngine).srv.ServerVersion(); got != version && got != "5.5.5-"+version {
		t.Errorf("greeting version %q, backend's %q", got, version)
	}

	// Session state does not leak into the next client of a pooled session.
	db := gw.mysqlMustOpen(t, "alice", tok, "app")
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"set @leak = 42", "create temporary table leak (x int)", "set session sql_mode = 'ANSI_QUOTES'", "use app2", "begin", "insert into app.t (payload) values ('uncommitted')"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn.Close()
	db.Close()
	gw.waitReleased(t)
	db = gw.mysqlMustOpen(t, "alice", tok, "app")
	var leak sql.NullInt64
	var mode, schema string
	var rows int
	if err := db.QueryRowContext(ctx, "select @leak, @@session.sql_mode, database(), (select count(*) from app.t where payload = 'uncommitted')").Scan(&leak, &mode, &schema, &rows); err != nil {
		t.Fatal(err)
	}
	if leak.Valid || mode == "ANSI_QUOTES" || schema != "app" || rows != 0 {
		t.Errorf("after reuse: @leak %v, sql_mode %q, database %q, uncommitted rows %d; want a reset session in app", leak, mode, schema, rows)
	}
	if _, err := db.ExecContext(ctx, "select * from leak"); err == nil || mysqlError(t, err).Number != 1146 {
		t.Errorf("temporary table after reuse: %v, want error 1146", err)
	}
	if id := connID(t, db); id != ids[0] {
		t.Errorf("connection id %d, want the pooled %d", id, ids[0])
	}

	// Without a database: not pooled, and no database selected.
	db2 := gw.mysqlMustOpen(t, "alice", tok, "")
	var none sql.NullString
	if err := db2.QueryRowContext(ctx, "select database()").Scan(&none); err != nil || none.Valid {
		t.Errorf("database() = %v, %v; want NULL", none, err)
	}

	if got := counter(t, gw, "iamdb_gateway_connections_total", map[string]string{"engine": "mysql", "outcome": "ok"}); got != 7 {
		t.Errorf("connections_total{mysql,ok} = %v, want 7", got)
	}
	if line := findLog(gw, `"msg":"connection authorized"`, `"user":"alice"`, `"ssl":true`, `"policy":"connect"`, `"statement":"Connect"`); line == "" {
		t.Errorf("no connection authorized line with TLS and the deciding statement:\n%s", gw.logs.String())
	}
	checkNoSecrets(t, gw, tok)
}

func TestMySQLRevealReasonsAndAudit(t *testing.T) {
	t.Parallel()
	var log auditLog
	gw := newMySQLGateway(t, log.revealing)
	tok := gw.token(t, "alice", "alice", gw.env.clock.Now().Add(-20*time.Minute))
	_, err := gw.mysqlOpen(t, gw.mysqlConfig("alice", tok, "app", gw.env.ClientTLS()))
	me := mysqlError(t, err)
	if me.Number != 1045 || !strings.HasSuffix(me.Message, "(reason: expired)") {
		t.Errorf("error %d %q; want 1045 ending in (reason: expired)", me.Number, me.Message)
	}
	if audits := log.all(); len(audits) != 1 || audits[0].Reason != "expired" || audits[0].Outcome != "refused" || !audits[0].IAM || audits[0].User != "alice" || audits[0].Engine != "mysql" || audits[0].DBName != "app" {
		t.Errorf("audit records %+v; want one refused/expired mysql record for alice", audits)
	}
}

func TestMySQLCleartextNotEnabled(t *testing.T) {
	t.Parallel()
	gw := newMySQLGateway(t, nil)
	cfg := gw.mysqlConfig("alice", gw.token(t, "alice", "alice", time.Time{}), "app", gw.env.ClientTLS())
	cfg.AllowCleartextPasswords = false
	_, err := gw.mysqlOpen(t, cfg)
	if !errors.Is(err, mysql.ErrCleartextPassword) {
		t.Errorf("connect = %v, want the driver's ErrCleartextPassword", err)
	}
	for i := 0; counter(t, gw, "iamdb_gateway_connections_total", map[string]string{"engine": "mysql", "reason": "no-password"}) != 1; i++ {
		if i == 500 {
			t.Fatal("no refused/no-password connection counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMySQLPasswordUser(t *testing.T) {
	t.Parallel()
	gw := newMySQLGateway(t, func(c *Config) { c.AllowPlaintextPasswords = true })
	dumpLogsOnFail(t, gw)
	ctx := context.Background()
	for _, plaintext := range []bool{false, true} {
		tc := gw.env.ClientTLS()
		if plaintext {
			tc = nil
		}
		db, err := gw.mysqlOpen(t, gw.mysqlConfig("pwuser", testPassword, "app", tc))
		if err != nil {
			t.Fatalf("plaintext=%v: %v", plaintext, err)
		}
		var user string
		if err := db.QueryRowContext(ctx, "select current_user()").Scan(&user); err != nil {
			t.Fatal(err)
		}
		if user != "pwuser@%" {
			t.Errorf("current_user() = %q", user)
		}
		db.Close()
	}
	// The admin holds rds_iam WITH ADMIN OPTION (to grant it): still a password user.
	maria := mysqlEnv(t).maria
	if _, err := gw.mysqlOpen(t, gw.mysqlConfig(maria.AdminUser, maria.AdminPassword, "", gw.env.ClientTLS())); err != nil {
		t.Errorf("admin with its password: %v", err)
	}
	_, err := gw.mysqlOpen(t, gw.mysqlConfig("pwuser", "wrong", "app", gw.env.ClientTLS()))
	if me := mysqlError(t, err); me.Number != 1045 || !strings.HasPrefix(me.Message, "Access denied for user 'pwuser'@") {
		t.Errorf("wrong password: %d %q", me.Number, me.Message)
	}
	_, err = gw.mysqlOpen(t, gw.mysqlConfig("nosuchuser", "x", "", gw.env.ClientTLS()))
	if me := mysqlError(t, err); me.Number != 1045 {
		t.Errorf("unknown user: %d %q; want 1045", me.Number, me.Message)
	}
	// The backend's own refusals pass through: an unknown database.
	_, err = gw.mysqlOpen(t, gw.mysqlConfig("pwuser", testPassword, "nosuchdb", gw.env.ClientTLS()))
	if me := mysqlError(t, err); me.Number != 1044 && me.Number != 1049 {
		t.Errorf("unknown database: %d %q; want 1044 or 1049", me.Number, me.Message)
	}
	if findLog(gw, `"msg":"authentication failed"`, `"reason":"password"`) == "" {
		t.Error("no password failure logged")
	}
	checkNoSecrets(t, gw, testPassword)
}

func TestMySQLRelay(t *testing.T) {
	t.Parallel()
	gw := newMySQLGateway(t, nil)
	dumpLogsOnFail(t, gw)
	tok := gw.token(t, "alice", "alice", time.Time{})
	ctx := context.Background()
	db := gw.mysqlMustOpen(t, "alice", tok, "app")
	first := connID(t, db)

	// A 17 MiB parameter in (prepared statement, binary protocol) and a 17 MiB value out:
	// packets of more than one frame both ways.
	big := checkLargeValues(t, 8912896, func(big string) (n int, sum string, err error) {
		err = db.QueryRowContext(ctx, "select length(?), md5(?)", big, big).Scan(&n, &sum)
		return n, sum, err
	}, func(n int) (out string, err error) {
		err = db.QueryRowContext(ctx, fmt.Sprintf("select repeat('xy', %d)", n)).Scan(&out)
		return out, err
	})
	if _, err := db.ExecContext(ctx, "insert into t (payload) values (?)", big); err != nil {
		t.Fatal(err)
	}

	// Multi-statements with several result sets, in the text protocol.
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := conn.QueryContext(ctx, "select 1; select 2, 'two'; do 0; select 3")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		for rows.Next() {
			cols, _ := rows.Columns()
			vals := make([]any, len(cols))
			for i := range vals {
				vals[i] = new(sql.RawBytes)
			}
			if err := rows.Scan(vals...); err != nil {
				t.Fatal(err)
			}
			got = append(got, string(*vals[0].(*sql.RawBytes)))
		}
		if !rows.NextResultSet() {
			break
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if strings.Join(got, ",") != "1,2,3" {
		t.Errorf("multi-statement results %v, want 1,2,3", got)
	}
	// Errors, a statement prepared and reused, a result of many rows.
	if _, err := conn.ExecContext(ctx, "select * from nosuchtable"); err == nil {
		t.Error("query of a missing table succeeded")
	}
	stmt, err := conn.PrepareContext(ctx, "select ? + ?, ?")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		var s int
		var txt string
		if err := stmt.QueryRowContext(ctx, i, 1, "x").Scan(&s, &txt); err != nil || s != i+1 || txt != "x" {
			t.Fatalf("prepared %d: %v %d %q", i, err, s, txt)
		}
	}
	stmt.Close()
	var count int
	rs, err := conn.QueryContext(ctx, "select seq from seq_1_to_50000")
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		count++
	}
	rs.Close()
	if count != 50000 {
		t.Errorf("rows = %d, want 50000", count)
	}
	if err := conn.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	db.Close()
	gw.waitReleased(t)

	// The tracker followed all of it: the session went back to the pool.
	db = gw.mysqlMustOpen(t, "alice", tok, "app")
	if id := connID(t, db); id != first {
		t.Errorf("connection id %d after the workload, want the pooled %d", id, first)
	}
}

// TestMySQLChangeUser speaks the protocol itself (mysqlwire's client side): go-sql-driver
// never sends COM_CHANGE_USER.
func TestMySQLChangeUser(t *testing.T) {
	t.Parallel()
	gw := newMySQLGateway(t, nil)
	dumpLogsOnFail(t, gw)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nc, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", gw.port))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cc, err := mysqlwire.ClientHandshake(ctx, nc, mysqlwire.ClientConfig{
		User: "alice", Password: mysqlwire.Password(gw.token(t, "alice", "alice", time.Time{})), Database: "app", TLS: gw.env.ClientTLS(),
	})
	if err != nil {
		t.Fatal(err)
	}
	send := func(payload []byte) []byte {
		t.Helper()
		pkt, _ := mysqlwire.AppendPacket(nil, 0, payload)
		if _, err := cc.Conn.Write(pkt); err != nil {
			t.Fatal(err)
		}
		p, _, err := mysqlwire.ReadPacket(cc.Reader, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := send(append([]byte{mysqlwire.ComChangeUser}, "pwuser\x00\x00app\x00"...))
	if len(p) < 9 || p[0] != 0xff || uint16(p[1])|uint16(p[2])<<8 != 1235 || !strings.Contains(string(p[9:]), "COM_CHANGE_USER is not supported") {
		t.Fatalf("COM_CHANGE_USER answered %q; want ERR 1235", p)
	}
	// The session goes on as alice.
	p = send(append([]byte{mysqlwire.ComQuery}, "select current_user()"...))
	if p[0] != 1 { // one column
		t.Fatalf("query answered %q", p)
	}
	for {
		p, _, err = mysqlwire.ReadPacket(cc.Reader, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(p), "alice@%") || p[0] == 0xfe {
			break
		}
	}
	if !strings.Contains(string(p), "alice@%") {
		t.Errorf("after COM_CHANGE_USER: no row alice@%%")
	}
}

func TestMySQLConcurrentClients(t *testing.T) {
	t.Parallel()
	gw := newMySQLGateway(t, func(c *Config) { c.Pool.MaxSessionsPerKey = 40 })
	tok := gw.token(t, "alice", "alice", time.Time{})
	gw.concurrently(t, 120, func(i int) error {
		db, err := gw.mysqlOpen(t, gw.mysqlConfig("alice", tok, "app", gw.env.ClientTLS()))
		if err != nil {
			return err
		}
		defer db.Close()
		var v int
		if err := db.QueryRow("select ? + 1", i).Scan(&v); err != nil || v != i+1 {
			return fmt.Errorf("client %d: %v %d", i, err, v)
		}
		return nil
	})
}

// TestMySQLBackendRestart is not parallel: it restarts the shared server.
func TestMySQLBackendRestart(t *testing.T) {
	gw := newMySQLGateway(t, func(c *Config) { c.MembershipTTL = -1 }) // every login asks the backend
	dumpLogsOnFail(t, gw)
	e := mysqlEnv(t)
	tok := gw.token(t, "alice", "alice", time.Time{})
	ctx := context.Background()
	db := gw.mysqlMustOpen(t, "alice", tok, "app")
	before := connID(t, db)
	db.Close()
	if gw.waitReleased(t) != 1 {
		t.Fatal("the session was not pooled")
	}
	activeDB := gw.mysqlMustOpen(t, "alice", tok, "app")
	active, err := activeDB.Conn(ctx) // pinned: database/sql would retry on a new connection
	if err != nil {
		t.Fatal(err)
	}
	defer active.Close()
	if err := active.PingContext(ctx); err != nil {
		t.Fatal(err)
	}

	if err := e.maria.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := active.ExecContext(ctx, "select 1"); err == nil {
		t.Error("a session survived the restart")
	}
	// The admin connections and the pooled session are stale: both are replaced without
	// the client noticing.
	db = gw.mysqlMustOpen(t, "alice", tok, "app")
	if after := connID(t, db); after == before {
		t.Errorf("connection id %d reused after restart", after)
	}
	connID(t, gw.mysqlMustOpen(t, "pwuser", testPassword, "app"))
	connID(t, gw.mysqlMustOpen(t, "nina", gw.token(t, "alice", "nina", time.Time{}), "app"))
}

func TestMySQLShutdown(t *testing.T) {
	t.Parallel()
	gw := newMySQLGateway(t, nil)
	tok := gw.token(t, "alice", "alice", time.Time{})
	db := gw.mysqlMustOpen(t, "alice", tok, "app")
	done := gw.startShutdown(t, func() error {
		_, err := gw.mysqlOpen(t, gw.mysqlConfig("alice", tok, "app", gw.env.ClientTLS()))
		return err
	})
	connID(t, db) // the open session still works while draining
	db.Close()
	if err := <-done; err != nil {
		t.Errorf("Shutdown = %v", err)
	}
}

// TestMySQLClient runs the real mariadb client, as seed 002 does.
func TestMySQLClient(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("mariadb")
	if err != nil {
		t.Skip("the mariadb client is not installed")
	}
	gw := newMySQLGateway(t, nil)
	dumpLogsOnFail(t, gw)
	caFile := mysqlEnv(t).maria.CAFile()
	tok := gw.token(t, "alice", "alice", time.Time{})
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		base := []string{"--no-defaults", "--host=localhost", fmt.Sprintf("--port=%d", gw.port), "--protocol=tcp", "--batch", "--skip-column-names"}
		cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		return strings.TrimSpace(string(out) + stderr.String()), err
	}
	// MariaDB's client always allows mysql_clear_password and warns that
	// --enable-cleartext-plugin is obsolete; seed 002 passes it.
	out, err := run("--ssl-ca="+caFile, "--ssl-verify-server-cert", "--enable-cleartext-plugin", "--user=alice", "--password="+tok, "app", "-e", "select current_user(); select count(*) from seq_1_to_1000")
	if err != nil || !strings.HasSuffix(out, "alice@%\n1000") {
		t.Errorf("mariadb with a token: %v\n%s", err, out)
	}
	out, err = run("--ssl-ca="+caFile, "--ssl-verify-server-cert", "--user=alice", "--password=not-a-token", "-e", "select 1")
	if err == nil || !strings.Contains(out, "ERROR 1045 (28000): Access denied for user 'alice'@'127.0.0.1' (using password: YES)") {
		t.Errorf("mariadb with a bad token: %v\n%s", err, out)
	}
	out, err = run("--skip-ssl", "--user=alice", "--password="+tok, "-e", "select 1")
	if err == nil || !strings.Contains(out, "ERROR 3159") {
		t.Errorf("mariadb without TLS: %v\n%s", err, out)
	}
	out, err = run("--ssl-ca="+caFile, "--ssl-verify-server-cert", "--user=pwuser", "--password="+testPassword, "-e", "select current_user()")
	if err != nil || out != "pwuser@%" {
		t.Errorf("mariadb as a password user: %v\n%s", err, out)
	}
	checkNoSecrets(t, gw, tok, testPassword)
}

func TestMySQLLocalInfile(t *testing.T) {
	t.Parallel()
	mysql.RegisterReaderHandler("iamdb-rows", func() io.Reader { return strings.NewReader("infile-1\ninfile-2\n") })
	t.Cleanup(func() { mysql.DeregisterReaderHandler("iamdb-rows") })
	load := "LOAD DATA LOCAL INFILE 'Reader::iamdb-rows' INTO TABLE t (payload)"
	for _, allow := range []bool{false, true} {
		gw := newMySQLGateway(t, func(c *Config) { c.AllowLocalInfile = allow })
		dumpLogsOnFail(t, gw)
		tok := gw.token(t, "alice", "alice", time.Time{})
		db := gw.mysqlMustOpen(t, "alice", tok, "app")
		before := connID(t, db)
		_, err := db.Exec(load)
		if !allow {
			if err == nil {
				t.Error("LOAD DATA LOCAL succeeded without AllowLocalInfile")
			}
			continue
		}
		if err != nil {
			t.Fatalf("LOAD DATA LOCAL with AllowLocalInfile: %v", err)
		}
		var n int
		if err := db.QueryRow("select count(*) from t where payload like 'infile-%'").Scan(&n); err != nil || n < 2 {
			t.Errorf("loaded rows: %d, %v", n, err)
		}
		db.Close()
		gw.waitReleased(t)
		// The tracker does not follow LOCAL INFILE: that session is not pooled.
		db = gw.mysqlMustOpen(t, "alice", tok, "app")
		if id := connID(t, db); id == before {
			t.Errorf("connection id %d reused after LOCAL INFILE", id)
		}
	}
}
