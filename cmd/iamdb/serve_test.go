package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/rdsiam"
	"github.com/iamdb/iamdb/internal/server"
	"github.com/iamdb/iamdb/token"
)

// serveOnce runs "iamdb serve" with cfg until it is ready, then stops it. It returns the
// error of a serve that failed to start.
func serveOnce(t *testing.T, cfgPath string) (stderr string, err error) {
	t.Helper()
	p := launch(hooks{}, "serve", "--config", cfgPath)
	if err := p.waitReady(t); err != nil {
		return p.logs.String(), err
	}
	err = p.stop(t)
	return p.logs.String(), err
}

// The bootstrap key is written once; a restart keeps it and writes nothing new; without the
// master key the store's secrets cannot be read, and serve says so instead of starting.
func TestServeBootstrapOnceAndMasterKey(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "iamdb.toml", "dir = \"state\"\n[authority]\nlisten = \"127.0.0.1:0\"\n")
	if logs, err := serveOnce(t, cfg); err != nil {
		t.Fatalf("first start: %v\n%s", err, logs)
	}
	keyFile := filepath.Join(dir, "state", "admin-credentials")
	first, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatalf("admin key file: %v", err)
	}
	if fi, _ := os.Stat(keyFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("admin key file mode %v, want 0600", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(filepath.Join(dir, "state", "master.key")); fi == nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("master key file missing or not 0600")
	}
	if !strings.Contains(string(first), "aws_secret_access_key = ") {
		t.Errorf("admin key file %q lacks the secret", first)
	}

	logs, err := serveOnce(t, cfg)
	if err != nil {
		t.Fatalf("restart: %v\n%s", err, logs)
	}
	secret := strings.TrimSpace(strings.SplitN(strings.Split(string(first), "aws_secret_access_key = ")[1], "\n", 2)[0])
	if strings.Contains(logs, secret) {
		t.Errorf("the admin's secret appears in the log")
	}
	if again, _ := os.ReadFile(keyFile); !bytes.Equal(first, again) {
		t.Errorf("restart rewrote the admin key file")
	}

	if err := os.Remove(filepath.Join(dir, "state", "master.key")); err != nil {
		t.Fatal(err)
	}
	_, err = serveOnce(t, cfg)
	if err == nil || !strings.Contains(err.Error(), "master key") || !strings.Contains(err.Error(), "IAMDB_MASTER_KEY") {
		t.Errorf("start without the master key = %v, want an error naming the master key", err)
	}
}

func TestServeRefusesPlainHTTPBeyondLoopback(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "iamdb.toml", "dir = \"state\"\n[authority]\nlisten = \"0.0.0.0:0\"\n")
	_, err := serveOnce(t, cfg)
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("serve on 0.0.0.0 without TLS = %v, want a refusal", err)
	}
}

// The authority's certificate: a file that cannot be read stops serve before it says ready;
// relative paths are resolved against dir, like every other path of the configuration.
func TestServeAuthorityTLS(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	cfg := writeFile(t, dir, "iamdb.toml", "dir = \"state\"\n[authority]\nlisten = \"127.0.0.1:0\"\ntls_cert_file = \"server.pem\"\ntls_key_file = \"server-key.pem\"\n")
	_, err := serveOnce(t, cfg)
	if err == nil || !strings.Contains(err.Error(), "authority.tls_cert_file") || !strings.Contains(err.Error(), filepath.Join(state, "server.pem")) {
		t.Fatalf("serve without its certificate = %v, want an error naming %s", err, filepath.Join(state, "server.pem"))
	}
	ca := testCA(t)
	writeGatewayFiles(t, state, ca, "unused")
	p := startServe(t, cfg)
	u := strings.TrimSpace(strings.TrimPrefix(p.stdout.String(), "ready authority="))
	if !strings.HasPrefix(u, "https://127.0.0.1:") {
		t.Fatalf("authority URL %q, want https", u)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}, Timeout: 10 * time.Second}
	resp, err := client.Get(u + "/?Action=GetCallerIdentity&Version=2011-06-15")
	if err != nil {
		t.Fatalf("GET over verified TLS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unsigned GetCallerIdentity: status %d, want 403 or 400 (the authority answered)", resp.StatusCode)
	}
	if err := p.stop(t); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// testCA is the CA of one test's servers, backends and gateways.
func testCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA("iamdb cmd test CA", 24*time.Hour, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// writeGatewayFiles writes into dir what a gateway's table names: the CA (ca.pem,
// ca-key.pem, also the backends' CA), the backend admin's password (admin-password) and a
// server certificate for localhost and 127.0.0.1 (server.pem, server-key.pem), which it
// returns.
func writeGatewayFiles(t *testing.T, dir string, ca *pki.CA, adminPassword string) tls.Certificate {
	t.Helper()
	for name, data := range map[string][]byte{
		"ca.pem": ca.CertPEM(), "ca-key.pem": ca.KeyPEM(), "admin-password": []byte(adminPassword + "\n"),
	} {
		if err := pki.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := ca.ServerCert([]string{"localhost", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.WritePEM(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"), cert); err != nil {
		t.Fatal(err)
	}
	return cert
}

// gatewayTOML is the configuration of one gateway: database registered with kind and
// engine at localhost:port, and the gateway of section ("postgres" or "mysql") for it on
// 127.0.0.1:port in front of backend, with the files writeGatewayFiles writes and the
// backend admin's password in passwordFile; extra lines end the gateway's section.
type gatewayTOML struct {
	section, database, kind, engine string
	port                            int
	backend, adminUser              string
	passwordFile, extra             string
}

func (g gatewayTOML) String() string {
	return fmt.Sprintf(`
[[databases]]
identifier = %q
kind = %q
engine = %q
endpoints = ["localhost"]
port = %d
iam_auth = true

[[%s]]
database = %q
listen = "127.0.0.1:%d"
tls_cert_file = "server.pem"
tls_key_file = "server-key.pem"
backend = %q
backend_ca_file = "ca.pem"
backend_admin_user = %q
backend_admin_password_file = %q
ca_cert_file = "ca.pem"
ca_key_file = "ca-key.pem"
%s`, g.database, g.kind, g.engine, g.port, g.section, g.database, g.port, g.backend, g.adminUser, g.passwordFile, g.extra)
}

// startServe runs "iamdb serve --config cfgPath" until the test ends, and waits until it
// is ready.
func startServe(t *testing.T, cfgPath string) *inProcess {
	t.Helper()
	return startInProcess(t, hooks{}, "serve", "--config", cfgPath)
}

// A PostgreSQL gateway configured in the file serves IAM logins; SIGHUP reloads its
// certificate; the end of the context drains it.
func TestServePostgresGateway(t *testing.T) {
	ca := testCA(t)
	pg := localdbtest.Postgres(t, ca)
	ctx := context.Background()
	if err := pg.Exec(ctx, "CREATE USER iam_user WITH LOGIN", "GRANT rds_iam TO iam_user"); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	first := writeGatewayFiles(t, dir, ca, pg.AdminPassword)
	port, opsPort := freePort(t), freePort(t)
	cfgText := fmt.Sprintf(`dir = %q
[authority]
listen = "127.0.0.1:0"
region = "eu-west-1"
%s
[ops]
listen = "127.0.0.1:%d"
drain_timeout = "20s"
`, dir, gatewayTOML{section: "postgres", database: "orders", kind: "instance", engine: "postgres", port: port,
		backend: pg.Addr(), adminUser: pg.AdminUser, passwordFile: "admin-password"}, opsPort)
	cfgPath := writeFile(t, dir, "iamdb.toml", cfgText)

	p := startServe(t, cfgPath)
	out, logs := p.stdout, p.logs
	if !strings.Contains(out.String(), fmt.Sprintf("ready postgres=127.0.0.1:%d database=orders", port)) {
		t.Errorf("stdout %q lacks the gateway's ready line", out.String())
	}

	akid, secret, err := server.ReadAdminKeyFile(filepath.Join(dir, "admin-credentials"))
	if err != nil {
		t.Fatal(err)
	}
	connect := func() (string, *x509.Certificate, error) {
		c, err := pgIAMConnect(ctx, t, port, "eu-west-1", token.Credentials{AccessKeyID: akid, SecretAccessKey: secret}, ca.Pool())
		if err != nil {
			return "", nil, err
		}
		defer c.Close(ctx)
		var user string
		err = c.QueryRow(ctx, "select current_user").Scan(&user)
		peer := c.PgConn().Conn().(*tls.Conn).ConnectionState().PeerCertificates[0]
		return user, peer, err
	}
	user, peer, err := connect()
	if err != nil || user != "iam_user" {
		t.Fatalf("IAM login through the configured gateway: user %q, err %v\n%s", user, err, logs.String())
	}
	if peer.SerialNumber.Cmp(first.Leaf.SerialNumber) != 0 {
		t.Errorf("the gateway presents serial %v, want the configured certificate's %v", peer.SerialNumber, first.Leaf.SerialNumber)
	}

	// SIGHUP: a new certificate in the same files is served to the next client.
	second, err := ca.ServerCert([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.WritePEM(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"), second); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, peer, err = connect()
		if err == nil && peer.SerialNumber.Cmp(second.Leaf.SerialNumber) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGHUP the gateway still presents serial %v (err %v)", peer.SerialNumber, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// /readyz says ready while serving, and 503 from the start of the drain, which a
	// session still open keeps going.
	readyz := func() (int, string) { return httpGet(fmt.Sprintf("http://127.0.0.1:%d/readyz", opsPort)) }
	if code, body := readyz(); code != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz while serving = %d %q, want 200 ready", code, body)
	}
	tok, err := token.Build(fmt.Sprintf("localhost:%d", port), "eu-west-1", "iam_user", token.Credentials{AccessKeyID: akid, SecretAccessKey: secret}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	held, err := pgx.Connect(ctx, fmt.Sprintf("host=localhost port=%d user=iam_user dbname=postgres sslmode=verify-full sslrootcert=%s password=%s",
		port, filepath.Join(dir, "ca.pem"), tok))
	if err != nil {
		t.Fatal(err)
	}
	p.cancel()
	waitFor(t, "/readyz to fail while draining", func() (bool, string) {
		code, body := readyz()
		return code == http.StatusServiceUnavailable && strings.Contains(body, "draining"), fmt.Sprintf("%d %q", code, body)
	})
	held.Close(ctx)
	if err := p.stop(t); err != nil {
		t.Errorf("serve after cancel: %v", err)
	}
}

// A [[mysql]] gateway configured in the file serves IAM logins of go-sql-driver/mysql
// (TLS with the CA, cleartext password allowed) in front of a throwaway MariaDB, relays
// password users, refuses bad tokens with MySQL's 1045, and announces server_version.
func TestServeMySQLGateway(t *testing.T) {
	ca := testCA(t)
	m := localdbtest.MariaDBWithOptions(t, localdb.MariaDBOptions{CA: ca, Databases: []string{"orders"}})
	ctx := context.Background()
	stmts := append(rdsiam.MySQLIAMUserSQL("iam_user"),
		"GRANT ALL ON orders.* TO rds_iam",
		"CREATE USER 'pw_user'@'%' IDENTIFIED BY 'pw-user-Secret-1'")
	if err := m.Exec(ctx, stmts...); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	writeGatewayFiles(t, dir, ca, m.AdminPassword)
	port := freePort(t)
	const version = "5.5.5-10.11.0-MariaDB-serve-test"
	cfgText := fmt.Sprintf(`dir = %q
[authority]
listen = "127.0.0.1:0"
region = "ap-northeast-1"
%s
[mysql.pool]
max_idle_per_key = 2
`, dir, gatewayTOML{section: "mysql", database: "orders-mysql", kind: "instance", engine: "mariadb", port: port,
		backend: m.Addr(), adminUser: m.AdminUser, passwordFile: "admin-password", extra: fmt.Sprintf("server_version = %q\n", version)})
	cfgPath := writeFile(t, dir, "iamdb.toml", cfgText)
	p := startServe(t, cfgPath)
	stdout, logs := p.stdout, p.logs
	if want := fmt.Sprintf("ready mysql=127.0.0.1:%d database=orders-mysql\n", port); !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout %q lacks %q", stdout.String(), want)
	}

	// The greeting announces server_version.
	nc, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	greeting := make([]byte, 128)
	n, _ := io.ReadAtLeast(nc, greeting, 4+1+len(version))
	nc.Close()
	if !bytes.Contains(greeting[:n], []byte("\x0a"+version+"\x00")) {
		t.Errorf("greeting %q does not announce %q", greeting[:n], version)
	}

	akid, secret, err := server.ReadAdminKeyFile(filepath.Join(dir, "admin-credentials"))
	if err != nil {
		t.Fatal(err)
	}
	endpoint := fmt.Sprintf("localhost:%d", port)
	tok, err := token.Build(endpoint, "ap-northeast-1", "iam_user", token.Credentials{AccessKeyID: akid, SecretAccessKey: secret}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	query := func(user, password, db string) (string, error) {
		return mysqlQuery(ctx, ca, port, user, password, db, "select concat(current_user(), ' ', coalesce(database(), '-'))")
	}
	for i := range 2 { // the second one on a pooled backend session
		if got, err := query("iam_user", tok, "orders"); err != nil || got != "iam_user@% orders" {
			t.Fatalf("IAM login %d through the [[mysql]] gateway: %q, %v\n%s", i+1, got, err, logs.String())
		}
	}
	if got, err := query("pw_user", "pw-user-Secret-1", ""); err != nil || got != "pw_user@% -" {
		t.Errorf("password login through the [[mysql]] gateway: %q, %v", got, err)
	}
	bad := tok[:len(tok)-1] + map[bool]string{true: "1", false: "0"}[tok[len(tok)-1] == '0']
	_, err = query("iam_user", bad, "orders")
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1045 || string(me.SQLState[:]) != "28000" {
		t.Errorf("tampered token: %v, want MySQL error 1045 (28000)", err)
	}
	if !strings.Contains(logs.String(), "reason=signature-mismatch") {
		t.Errorf("the log does not name the tampered token's reason:\n%s", logs.String())
	}
	if err := p.stop(t); err != nil {
		t.Errorf("serve after cancel: %v", err)
	}
}

// pgIAMConnect logs iam_user in to database postgres through the PostgreSQL gateway on
// localhost:port with a token signed for region by creds, verifying the gateway against
// roots.
func pgIAMConnect(ctx context.Context, t *testing.T, port int, region string, creds token.Credentials, roots *x509.CertPool) (*pgx.Conn, error) {
	t.Helper()
	tok, err := token.Build(fmt.Sprintf("localhost:%d", port), region, "iam_user", creds, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cc, err := pgx.ParseConfig(fmt.Sprintf("host=localhost port=%d user=iam_user dbname=postgres sslmode=verify-full connect_timeout=10", port))
	if err != nil {
		t.Fatal(err)
	}
	cc.Password = tok
	cc.TLSConfig.RootCAs = roots
	return pgx.ConnectConfig(ctx, cc)
}
