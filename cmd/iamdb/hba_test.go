package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
)

// pgDocBlock is the pg_hba.conf block of docs/operations.md.
var pgDocBlock = regexp.MustCompile("(?s)```\n( *# TYPE +DATABASE +USER +ADDRESS +METHOD\n.*?)```")

// documentedHBA returns the lines that docs/operations.md puts at the top of pg_hba.conf,
// with gateway as the gateway's address.
func documentedHBA(t *testing.T, gateway string) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	m := pgDocBlock.FindSubmatch(doc)
	if m == nil || !bytes.Contains(m[1], []byte("192.0.2.10/32")) {
		t.Fatal("docs/operations.md has no pg_hba.conf block with the gateway's address 192.0.2.10/32")
	}
	var b strings.Builder
	for _, l := range strings.Split(string(m[1]), "\n") {
		b.WriteString(strings.TrimSpace(l) + "\n")
	}
	return strings.ReplaceAll(b.String(), "192.0.2.10/32", gateway)
}

// The pg_hba.conf of docs/operations.md against a real PostgreSQL (issue 15, finding 6):
// the gateway is 127.0.0.2, an IAM user that set itself a password connects from
// 127.0.0.1 (anywhere else) or the socket and is refused; the gateway's certificate login
// works; a password user logs in. With the lines the docs used to give (the cert line
// alone), the same password gets in, and iamdb doctor --postgres names the lines that let
// it; with the documented lines it passes.
func TestDocumentedHBA(t *testing.T) {
	t.Parallel()
	ca := testCA(t)
	p := localdbtest.Postgres(t, ca)
	ctx := context.Background()
	if err := p.Exec(ctx, "create role iam_self login", "grant rds_iam to iam_self",
		"create role pat login password 'pat-pw'"); err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ClientCert("iam_self", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// What the rest of a pg_hba.conf typically says, after our lines: passwords from
	// anywhere; the socket trusted (the harness logs in there as the superuser).
	const rest = "local all all trust\nhostssl all all 0.0.0.0/0 scram-sha-256\nhost all all 0.0.0.0/0 scram-sha-256\n"
	install := func(hbaConf string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(p.DataDir(), "pg_hba.conf"), []byte(hbaConf), 0o600); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := p.Restart(rctx); err != nil {
			t.Fatal(err)
		}
	}
	login := func(from, sslmode, user, password string, cert *tls.Certificate) error {
		cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres sslmode=%s sslrootcert=%s connect_timeout=10", p.Port(), sslmode, p.CAFile()))
		if err != nil {
			t.Fatal(err)
		}
		cfg.User, cfg.Password = user, password
		if cert != nil {
			cfg.TLSConfig.Certificates = []tls.Certificate{*cert}
		}
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		cfg.DialFunc = d.DialContext
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			c.Close(ctx)
		}
		return err
	}
	socketLogin := func(user, password string) error {
		cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d dbname=postgres sslmode=disable connect_timeout=10", p.SocketDir(), p.Port()))
		if err != nil {
			t.Fatal(err)
		}
		cfg.User, cfg.Password = user, password
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			c.Close(ctx)
		}
		return err
	}
	doctor := func() (string, int) {
		var out bytes.Buffer
		err := run(ctx, []string{"doctor", "--postgres", p.AdminURL("postgres")}, &out, &out)
		return out.String(), exitStatus(err, &out)
	}

	// The IAM user logs in with the gateway's certificate and sets itself a password.
	install(documentedHBA(t, "127.0.0.2/32") + rest)
	if err := login("127.0.0.2", "verify-full", "iam_self", "", &cert); err != nil {
		t.Fatalf("the gateway's certificate login: %v", err)
	}
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres sslmode=verify-full sslrootcert=%s user=iam_self", p.Port(), p.CAFile()))
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLSConfig.Certificates = []tls.Certificate{cert}
	cfg.DialFunc = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "alter role current_user password 'Passw0rd!'"); err != nil {
		t.Fatalf("ALTER ROLE current_user PASSWORD as the IAM user: %v", err)
	}
	c.Close(ctx)

	type attempt struct {
		name string
		try  func() error
	}
	bypasses := []attempt{
		{"IAM user's own password over TLS from another address", func() error { return login("127.0.0.1", "require", "iam_self", "Passw0rd!", nil) }},
		{"IAM user's own password without TLS", func() error { return login("127.0.0.1", "disable", "iam_self", "Passw0rd!", nil) }},
		{"IAM user's own password without TLS from the gateway's address", func() error { return login("127.0.0.2", "disable", "iam_self", "Passw0rd!", nil) }},
		{"IAM user's own password over the socket", func() error { return socketLogin("iam_self", "Passw0rd!") }},
	}
	allowed := []attempt{
		{"the gateway's certificate login", func() error { return login("127.0.0.2", "verify-full", "iam_self", "", &cert) }},
		{"password user over TLS", func() error { return login("127.0.0.1", "verify-full", "pat", "pat-pw", nil) }},
		{"password user without TLS", func() error { return login("127.0.0.1", "disable", "pat", "pat-pw", nil) }},
	}
	for _, a := range bypasses {
		if err := a.try(); err == nil || !strings.Contains(err.Error(), "SQLSTATE 28000") {
			t.Errorf("documented pg_hba.conf: %s: %v, want refused by pg_hba.conf (28000)", a.name, err)
		}
	}
	for _, a := range allowed {
		if err := a.try(); err != nil {
			t.Errorf("documented pg_hba.conf: %s: %v", a.name, err)
		}
	}
	if out, status := doctor(); status != 0 || !strings.HasPrefix(out, "ok    pg_hba       ") || !strings.Contains(out, "members of rds_iam (1) log in only with a client certificate") {
		t.Errorf("iamdb doctor --postgres on the documented pg_hba.conf: status %d\n%s", status, out)
	}

	// What docs/operations.md used to say: the cert line before the password lines.
	install("hostssl all +rds_iam 127.0.0.2/32 cert\n" + rest)
	for _, a := range bypasses {
		if err := a.try(); err != nil {
			t.Errorf("the old pg_hba.conf: %s: %v, want it to get in (the hole this test must see)", a.name, err)
		}
	}
	out, status := doctor()
	for _, want := range []string{
		`WARN  pg_hba       line 2: "local all all trust" lets members of rds_iam (iam_self) log in with trust over the unix socket`,
		`WARN  pg_hba       line 3: "hostssl all all 0.0.0.0/0 scram-sha-256" lets members of rds_iam (iam_self) log in with scram-sha-256 over TLS`,
		`WARN  pg_hba       line 4: "host all all 0.0.0.0/0 scram-sha-256" lets members of rds_iam (iam_self) log in with scram-sha-256 over TLS, over GSS encryption, unencrypted over TCP`,
		`fix: reject members of rds_iam right after the gateway's cert line`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("iamdb doctor --postgres on the old pg_hba.conf lacks %q:\n%s", want, out)
		}
	}
	if status != 1 {
		t.Errorf("iamdb doctor --postgres on the old pg_hba.conf: status %d, want 1", status)
	}
}

// The harness's own cluster passes the check.
func TestDoctorHBALocalDB(t *testing.T) {
	t.Parallel()
	ca := testCA(t)
	p := localdbtest.PostgresWithOptions(t, localdb.PostgresOptions{CA: ca})
	var out bytes.Buffer
	err := run(context.Background(), []string{"doctor", "--postgres", p.AdminURL("postgres")}, &out, &out)
	if err != nil || !strings.HasPrefix(out.String(), "ok    pg_hba ") {
		t.Errorf("iamdb doctor --postgres on localdb's cluster: %v\n%s", err, out.String())
	}
	// Without the superuser's right to read pg_hba_file_rules the check fails and says so.
	if err := p.Exec(context.Background(), "create role nosuper login password 'nosuper-pw'"); err != nil {
		t.Fatal(err)
	}
	url := strings.Replace(p.AdminURL("postgres"), p.AdminUser+":"+p.AdminPassword, "nosuper:nosuper-pw", 1)
	out.Reset()
	err = run(context.Background(), []string{"doctor", "--postgres", url}, &out, &out)
	if exitStatus(err, &out) != 1 || !strings.Contains(out.String(), "FAIL  pg_hba       reading pg_hba_file_rules: ") || !strings.Contains(out.String(), "superuser") {
		t.Errorf("iamdb doctor --postgres as a non-superuser: %v\n%s", err, out.String())
	}
}

func TestDoctorPostgresUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"doctor"},
		{"doctor", "--postgres", "postgres://192.0.2.1/postgres", "--hostname", "h"},
		{"doctor", "--postgres", "postgres://192.0.2.1/postgres", "--port", "5432", "--username", "u"},
	} {
		if _, _, status := runCLI(t, args...); status != 2 {
			t.Errorf("iamdb %q: status %d, want 2", args, status)
		}
	}
}
