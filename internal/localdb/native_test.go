package localdb_test

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/native"
	"github.com/iamdb/iamdb/internal/rdsiam"
	"github.com/iamdb/iamdb/internal/testenv"
)

// nconnect logs in to p as user over TCP from the local address from (127.0.0.1 if
// empty) with sslmode, password and an optional client certificate, and returns the
// session's current_user and inet_client_addr().
func nconnect(t *testing.T, p *localdb.Postgres, from, sslmode, user, password string, cert *tls.Certificate) (who, addr string, err error) {
	t.Helper()
	cfg := pgConfig(t, p, sslmode, user, password, cert)
	if from != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
		cfg.DialFunc = d.DialContext
	}
	c, err := pgx.ConnectConfig(testenv.Context(t), cfg)
	if err != nil {
		return "", "", err
	}
	defer c.Close(testenv.Context(t))
	err = c.QueryRow(testenv.Context(t), "select current_user::text, host(inet_client_addr())").Scan(&who, &addr)
	return who, addr, err
}

// wantPAMRefusal checks err is PostgreSQL's own refusal of a PAM login, as on RDS.
func wantPAMRefusal(t *testing.T, what string, err error) {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Severity != "FATAL" || pe.Code != "28000" || pe.Message != `PAM authentication failed for user "u"` {
		t.Errorf("%s: %v, want FATAL: PAM authentication failed for user \"u\" (SQLSTATE 28000)", what, err)
	}
}

func TestPostgresNative(t *testing.T) {
	t.Parallel()
	svc := localdbtest.PAMService(t, localdbtest.PAMPermit...)
	ca := localdbtest.CA(t)
	p := localdbtest.PostgresWithOptions(t, localdb.PostgresOptions{CA: ca,
		Native: &localdb.PostgresNative{PAMService: svc, GatewaySource: "127.0.0.2"}})
	stmts := append(rdsiam.PostgresIAMUserSQL("u"), `CREATE USER "v" WITH LOGIN PASSWORD 'v-password'`)
	if err := p.Exec(testenv.Context(t), stmts...); err != nil {
		t.Fatal(err)
	}
	var hbaErrors int
	c, err := pgx.Connect(testenv.Context(t), p.AdminURL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(testenv.Context(t), "select count(*) from pg_hba_file_rules where error is not null").Scan(&hbaErrors); err != nil || hbaErrors != 0 {
		t.Errorf("pg_hba_file_rules: %d lines with errors, %v", hbaErrors, err)
	}
	c.Close(testenv.Context(t))

	// pam_permit: a member of rds_iam logs in over TLS through PAM (it never prompts).
	if who, addr, err := nconnect(t, p, "", "verify-full", "u", "a-token", nil); err != nil || who != "u" || addr != "127.0.0.1" {
		t.Errorf("member over TLS with pam_permit = %q from %q, %v; want u from 127.0.0.1", who, addr, err)
	}
	// Plain TCP hits the reject line.
	_, _, err = nconnect(t, p, "", "disable", "u", "a-token", nil)
	if sqlState(err) != "28000" || !strings.Contains(err.Error(), `pg_hba.conf rejects connection for host "127.0.0.1", user "u"`) {
		t.Errorf("member over plain TCP: %v, want the reject line", err)
	}
	// A non-member keeps SCRAM.
	if who, _, err := nconnect(t, p, "", "verify-full", "v", "v-password", nil); err != nil || who != "v" {
		t.Errorf("non-member with its password = %q, %v", who, err)
	}
	if _, _, err := nconnect(t, p, "", "verify-full", "v", "wrong", nil); sqlState(err) != "28P01" {
		t.Errorf("non-member with a wrong password: %v, want 28P01", err)
	}
	// From the gateway's source address a member logs in with a certificate: a socket bound
	// to 127.0.0.2 dialing 127.0.0.1 arrives as 127.0.0.2 (Linux routes all of 127/8 over
	// loopback), so the server needs no second listen address.
	cert := mint(t, ca, "u")
	if who, addr, err := nconnect(t, p, "127.0.0.2", "verify-full", "u", "", cert); err != nil || who != "u" || addr != "127.0.0.2" {
		t.Errorf("member with a certificate from 127.0.0.2 = %q from %q, %v; want u from 127.0.0.2", who, addr, err)
	}

	// pam_deny: PostgreSQL's own refusal, RDS's wording.
	localdbtest.SetPAMService(t, svc, localdbtest.PAMDeny...)
	_, _, err = nconnect(t, p, "", "verify-full", "u", "a-token", nil)
	wantPAMRefusal(t, "member over TLS with pam_deny", err)
	// A certificate from anywhere but the gateway's address counts for nothing: PAM decides.
	_, _, err = nconnect(t, p, "", "verify-full", "u", "a-token", cert)
	wantPAMRefusal(t, "member with a certificate from 127.0.0.1", err)
	if who, _, err := nconnect(t, p, "127.0.0.2", "verify-full", "u", "", cert); err != nil || who != "u" {
		t.Errorf("member with a certificate from 127.0.0.2 under pam_deny = %q, %v; want u", who, err)
	}
	if who, _, err := nconnect(t, p, "", "verify-full", "v", "v-password", nil); err != nil || who != "v" {
		t.Errorf("non-member under pam_deny = %q, %v", who, err)
	}
}

func TestPostgresNativeOptions(t *testing.T) {
	t.Parallel()
	ca := localdbtest.CA(t)
	for _, n := range []*localdb.PostgresNative{
		{},
		{PAMService: "a b"},
		{PAMService: "iamdb", GatewaySource: "gateway.example"},
	} {
		if p, err := localdb.StartPostgres(testenv.Context(t), localdb.PostgresOptions{CA: ca, Native: n}); err == nil {
			p.Stop(testenv.Context(t))
			t.Errorf("StartPostgres(Native %+v) started", *n)
		}
	}
}

// mnative logs in to m as user with password sent in clear text (mysql_clear_password),
// over TLS when tlsOn, and returns CURRENT_USER().
func mnative(t *testing.T, m *localdb.MariaDB, tlsOn bool, user, password string) (string, error) {
	t.Helper()
	cfg := mysqlConfig(m, tlsOn, user, password, nil)
	cfg.AllowCleartextPasswords = true
	return queryString(t, cfg, "select current_user()")
}

func TestMariaDBNative(t *testing.T) {
	t.Parallel()
	svc := localdbtest.PAMService(t, localdbtest.PAMPermit...)
	ca := localdbtest.CA(t)
	m := localdbtest.MariaDBWithOptions(t, localdb.MariaDBOptions{CA: ca, Native: &localdb.MariaDBNative{}})
	stmts := append(rdsiam.MySQLNativeUserSQL("u", svc), rdsiam.MySQLIAMUserSQL("g")...)
	if err := m.Exec(testenv.Context(t), stmts...); err != nil {
		t.Fatal(err)
	}
	if who, err := mnative(t, m, true, "u", "a-token"); err != nil || who != "u@%" {
		t.Errorf("native user over TLS with pam_permit = %q, %v; want u@%%", who, err)
	}
	// REQUIRE SSL: no way in without TLS, whatever PAM says.
	if who, err := mnative(t, m, false, "u", "a-token"); mysqlErrno(err) != 1045 {
		t.Errorf("native user without TLS = %q, %v; want error 1045", who, err)
	}
	// A gateway user (REQUIRE SUBJECT) on the same server keeps its certificate login.
	if who, err := mconnect(t, m, true, "g", "", mint(t, ca, "g")); err != nil || who != "g@%" {
		t.Errorf("gateway user with its certificate = %q, %v", who, err)
	}
	localdbtest.SetPAMService(t, svc, localdbtest.PAMDeny...)
	who, err := mnative(t, m, true, "u", "a-token")
	if mysqlErrno(err) != 1045 || !strings.Contains(err.Error(), "Access denied for user 'u'@'127.0.0.1'") {
		t.Errorf("native user with pam_deny = %q, %v; want error 1045 Access denied", who, err)
	}
	t.Logf("pam_deny: %v", err)
}

// verifier is a scripted native verifier on a Unix socket: it answers every request with
// verdict and reason, and keeps the requests. With keep it serves further requests on a
// connection, as iamdb's endpoint does; without, it closes each after one answer.
type verifier struct {
	mu       sync.Mutex
	allow    bool
	reason   string
	keep     bool
	conns    int
	requests []native.Request
	ln       net.Listener
	live     map[net.Conn]bool
}

func serveVerifier(t *testing.T, path string) *verifier {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	if err := os.Chmod(path, 0o666); err != nil { // mariadbd runs as mysql
		t.Fatal(err)
	}
	v := &verifier{ln: ln, live: map[net.Conn]bool{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			v.mu.Lock()
			v.conns++
			v.live[c] = true
			v.mu.Unlock()
			go v.serve(c)
		}
	}()
	return v
}

// close stops the verifier: its listener and every connection.
func (v *verifier) close() {
	v.ln.Close()
	v.mu.Lock()
	defer v.mu.Unlock()
	for c := range v.live {
		c.Close()
	}
}

func (v *verifier) serve(c net.Conn) {
	defer func() {
		c.Close()
		v.mu.Lock()
		delete(v.live, c)
		v.mu.Unlock()
	}()
	for {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		req, err := native.ReadRequest(c)
		if err != nil {
			return
		}
		v.mu.Lock()
		v.requests = append(v.requests, req)
		resp, keep := native.Response{Allow: v.allow, Reason: v.reason}, v.keep
		v.mu.Unlock()
		if native.WriteResponse(c, resp) != nil || !keep {
			return
		}
	}
}

func (v *verifier) counts() (conns, requests int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.conns, len(v.requests)
}

func (v *verifier) set(allow bool, reason string, keep bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.allow, v.reason, v.keep = allow, reason, keep
}

func (v *verifier) last() (native.Request, int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.requests) == 0 {
		return native.Request{}, 0
	}
	return v.requests[len(v.requests)-1], len(v.requests)
}

// The AWSAuthenticationPlugin (auth_iamdb.so) in a real MariaDB: RDS's user syntax, the
// token sent with mysql_clear_password, the client's address and the token handed to the
// verifier, and RDS's refusal wording (using password: YES).
func TestMariaDBPlugin(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("the verifier socket must be reachable by mariadbd's own user: run as root (CI does)")
	}
	plugin := localdbtest.MariaDBPlugin(t)
	ca := localdbtest.CA(t)
	m := localdbtest.MariaDBWithOptions(t, localdb.MariaDBOptions{CA: ca, Native: &localdb.MariaDBNative{Plugin: plugin}})
	v := serveVerifier(t, localdb.NativeSocket(m.Dir()))
	stmts := append(rdsiam.MySQLPluginUserSQL("u"), `CREATE USER 'p'@'%' IDENTIFIED BY 'p-password'`)
	if err := m.Exec(testenv.Context(t), stmts...); err != nil {
		t.Fatal(err)
	}
	var plugin2, auth string
	db := localdbtest.MariaDBAdmin(t, m)
	if err := db.QueryRow("select plugin, authentication_string from mysql.user where user = 'u'").Scan(&plugin2, &auth); err != nil || plugin2 != "AWSAuthenticationPlugin" || auth != "RDS" {
		t.Errorf("mysql.user for u: plugin %q, authentication_string %q, %v; want AWSAuthenticationPlugin, RDS", plugin2, auth, err)
	}
	token := strings.Repeat("t", 1500) // a token's length: longer than one TLS record's worth of small packets

	v.set(true, "", false)
	if who, err := mnative(t, m, true, "u", token); err != nil || who != "u@%" {
		t.Fatalf("plugin user over TLS, verifier allows = %q, %v; want u@%%", who, err)
	}
	if req, n := v.last(); n != 1 || req.User != "u" || req.Host != "127.0.0.1" || req.Token != token {
		t.Errorf("the verifier was asked %d times, last %v; want once for u from 127.0.0.1 with the token", n, req)
	}
	// The plugin keeps its connection; this verifier closed it: the next logins notice (or
	// send again on a new connection) and go through, one connection each.
	for range 3 {
		if _, err := mnative(t, m, true, "u", token); err != nil {
			t.Fatalf("login after the verifier closed the kept connection: %v", err)
		}
	}
	if conns, reqs := v.counts(); conns != 4 || reqs != 4 {
		t.Errorf("verifier that closes: %d connections, %d requests; want 4 and 4", conns, reqs)
	}
	// A verifier that keeps connections (as iamdb's endpoint): logins one after another
	// share one connection.
	v.set(true, "", true)
	c0, r0 := v.counts()
	for range 5 {
		if _, err := mnative(t, m, true, "u", token); err != nil {
			t.Fatalf("login on a kept connection: %v", err)
		}
	}
	if conns, reqs := v.counts(); conns-c0 != 1 || reqs-r0 != 5 {
		t.Errorf("verifier that keeps: %d new connections for %d requests; want 1 for 5", conns-c0, reqs-r0)
	}

	v.set(false, "expired", true)
	_, err := mnative(t, m, true, "u", token)
	if want := "Error 1045 (28000): Access denied for user 'u'@'127.0.0.1' (using password: YES)"; err == nil || err.Error() != want {
		t.Errorf("verifier denies: %v, want %q", err, want)
	}
	// No password at all: MariaDB says so, and the verifier is not asked.
	_, n := v.last()
	if _, err := mnative(t, m, true, "u", ""); err == nil || !strings.Contains(err.Error(), "(using password: NO)") {
		t.Errorf("empty password: %v, want using password: NO", err)
	}
	if _, n2 := v.last(); n2 != n {
		t.Errorf("an empty password reached the verifier")
	}
	// Passwords that cannot be tokens are refused without asking the verifier: over 16 KiB,
	// or with a NUL byte inside.
	_, n = v.last()
	for _, pw := range []string{strings.Repeat("t", 16385), "tok\x00en"} {
		if _, err := mnative(t, m, true, "u", pw); err == nil || !strings.Contains(err.Error(), "(using password: YES)") {
			t.Errorf("password of %d bytes: %v, want 1045 using password: YES", len(pw), err)
		}
	}
	if _, n2 := v.last(); n2 != n {
		t.Errorf("a password that cannot be a token reached the verifier")
	}
	// REQUIRE SSL: refused without TLS whatever the verifier says.
	v.set(true, "", true)
	if who, err := mnative(t, m, false, "u", token); mysqlErrno(err) != 1045 {
		t.Errorf("plugin user without TLS = %q, %v; want error 1045", who, err)
	}
	// Password users are untouched.
	if who, err := mnative(t, m, true, "p", "p-password"); err != nil || who != "p@%" {
		t.Errorf("password user = %q, %v", who, err)
	}
	// The verifier gone: fail closed, and the server's log says why.
	v.close()
	os.Remove(localdb.NativeSocket(m.Dir()))
	if _, err := mnative(t, m, true, "u", token); mysqlErrno(err) != 1045 {
		t.Errorf("verifier gone: %v, want error 1045", err)
	}
	logText, _ := os.ReadFile(m.LogFile())
	if !strings.Contains(string(logText), "AWSAuthenticationPlugin: refused user 'u': cannot reach the verifier at "+localdb.NativeSocket(m.Dir())) ||
		!strings.Contains(string(logText), "AWSAuthenticationPlugin: refused user 'u': the password is not a token") ||
		!strings.Contains(string(logText), "AWSAuthenticationPlugin: refused user 'u': expired") {
		t.Errorf("server log lacks the plugin's refusals:\n%s", logText)
	}
	if strings.Contains(string(logText), token) {
		t.Error("the server log holds the token")
	}
}
