package localdb_test

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
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
