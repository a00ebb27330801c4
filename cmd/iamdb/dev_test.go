package main

// The end-to-end tests of "iamdb dev": it runs in-process on a temporary directory (the
// authority, a throwaway PostgreSQL, the gateway in front of it, D/env), and the clients a
// user would point at it run for real:
//
//   - psql (libpq, sslmode=verify-full against the dev CA) and the Debian AWS CLI v2 as
//     subprocesses, with the README tour's commands: IAM users, policies and keys made with
//     "aws iam", tokens from "aws rds generate-db-auth-token";
//   - lib/pq and pgx in-process: token reuse, query cancel, 200 concurrent clients, and a
//     backend restart under the gateway.
//
// Every refusal is checked twice: the client sees RDS's generic text, and the gateway's log
// (run's stderr) names the reason. Subprocesses get the environment of authority_test.go's
// toolEnv less the machine's PG* settings, and a deadline. With IAMDB_REQUIRE_TOOLS=1 a
// missing psql or AWS CLI v2 fails the test; otherwise it skips.
//
// The expired-session case: a session cannot expire while the test runs (900 s is the
// shortest assume-role duration, and the gateway uses the real clock), so the test uses what
// invalidates a live session on AWS too: the role is deleted and re-created under the same
// name, and a token signed with the old session's credentials is refused as
// invalid-session-token (AWS: the new role has a new unique id, old sessions no longer
// match). The session-expired reason itself is covered with an injected clock in
// internal/gateway (TestIAMRefused).

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/lib/pq"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/iamdb/iamdb/token"
)

// The database users of the tests (PostgreSQL roles).
const (
	devIAMUser      = "iam_user" // GRANT rds_iam: logs in with a token only
	devPasswordUser = "pw_user"  // a password user, relayed to the backend's SCRAM
	devPassword     = "pw-user-Secret-1"
)

// devInstance is "iamdb dev" running in-process.
type devInstance struct {
	dir     string
	env     map[string]string  // D/env
	logs    *testenv.LogBuffer // run's stderr: the gateway's log
	stdout  *testenv.LogBuffer
	pg      *localdb.Postgres // the throwaway backend (hooks.devPostgres)
	maria   *localdb.MariaDB  // the throwaway MariaDB (hooks.devMariaDB); nil without MariaDB
	authURL string
	port    int // the PostgreSQL gateway's
	myPort  int // the MySQL gateway's; 0 without MariaDB
	// pgNative and myNative are the databases' own ports, which take IAM logins in
	// native mode; 0 when it is off (not root, --native=false) or without MariaDB.
	pgNative, myNative int
	region             string
	account            string
	admin              awsCreds
}

// startDev runs "iamdb dev --dir T ARGS" until the test ends, and reads D/env.
func startDev(t *testing.T, args ...string) *devInstance {
	t.Helper()
	return startDevWith(t, hooks{}, args...)
}

// startDevWith is startDev with h's startMariaDB.
func startDevWith(t *testing.T, h hooks, args ...string) *devInstance {
	t.Helper()
	if _, err := localdb.FindPostgres(); err != nil {
		needTool(t, false, "the PostgreSQL server binaries", "apt-get install -y postgresql")
	}
	dir := t.TempDir()
	pgc := make(chan *localdb.Postgres, 1)
	myc := make(chan *localdb.MariaDB, 1)
	h.devPostgres = func(p *localdb.Postgres) { pgc <- p }
	h.devMariaDB = func(m *localdb.MariaDB) { myc <- m }
	p := startInProcess(t, h, append([]string{"dev", "--dir", dir}, args...)...)
	d := &devInstance{dir: dir, logs: p.logs, stdout: p.stdout, authURL: "http://" + p.addr}
	select {
	case d.pg = <-pgc:
	default:
		t.Fatal("iamdb dev got ready without calling hooks.devPostgres")
	}
	select {
	case d.maria = <-myc:
	default:
	}
	if out := d.stdout.String(); !strings.HasPrefix(out, "ready\n") || !strings.Contains(out, "source "+filepath.Join(dir, "env")) {
		t.Errorf("iamdb dev: stdout %q, want ready and the source line", out)
	}
	d.env = readDevEnv(t, filepath.Join(dir, "env"))
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
		"IAMDB_ACCOUNT_ID", "IAMDB_CA_FILE", "IAMDB_PG_PORT", "IAMDB_PG_CLUSTER", "IAMDB_PG_ADMIN_URL", "IAMDB_PG_BACKEND_ADDR"} {
		if d.env[k] == "" {
			t.Fatalf("D/env lacks %s: %v", k, d.env)
		}
	}
	if d.env["AWS_ENDPOINT_URL"] != d.authURL {
		t.Errorf("D/env: AWS_ENDPOINT_URL %q, want the authority %q", d.env["AWS_ENDPOINT_URL"], d.authURL)
	}
	if d.env["IAMDB_PG_BACKEND_ADDR"] != d.pg.Addr() {
		t.Errorf("D/env: IAMDB_PG_BACKEND_ADDR %q, want %q", d.env["IAMDB_PG_BACKEND_ADDR"], d.pg.Addr())
	}
	var err error
	if d.port, err = strconv.Atoi(d.env["IAMDB_PG_PORT"]); err != nil {
		t.Fatalf("D/env: IAMDB_PG_PORT: %v", err)
	}
	if d.maria != nil {
		for _, k := range []string{"IAMDB_MYSQL_HOST", "IAMDB_MYSQL_PORT", "IAMDB_MYSQL_INSTANCE", "IAMDB_MYSQL_ADMIN_USER",
			"IAMDB_MYSQL_ADMIN_PASSWORD", "IAMDB_MYSQL_ADMIN_DSN", "IAMDB_MYSQL_BACKEND_ADDR"} {
			if d.env[k] == "" {
				t.Fatalf("D/env lacks %s: %v", k, d.env)
			}
		}
		if d.env["IAMDB_MYSQL_BACKEND_ADDR"] != d.maria.Addr() {
			t.Errorf("D/env: IAMDB_MYSQL_BACKEND_ADDR %q, want %q", d.env["IAMDB_MYSQL_BACKEND_ADDR"], d.maria.Addr())
		}
		if d.myPort, err = strconv.Atoi(d.env["IAMDB_MYSQL_PORT"]); err != nil {
			t.Fatalf("D/env: IAMDB_MYSQL_PORT: %v", err)
		}
		if want := fmt.Sprintf("\n  mysql      localhost:%d   (gateway; instance %q", d.myPort, d.env["IAMDB_MYSQL_INSTANCE"]); !strings.Contains(d.stdout.String(), want) {
			t.Errorf("iamdb dev: stdout %q lacks %q", d.stdout.String(), want)
		}
	} else {
		for k := range d.env {
			if strings.HasPrefix(k, "IAMDB_MYSQL_") {
				t.Errorf("D/env has %s, but MariaDB did not start", k)
			}
		}
	}
	d.readNative(t, args)
	if _, ok := d.env["IAMDB_IMDS_ENDPOINT"]; ok != slices.Contains(args, "--imds-profile") {
		t.Errorf("D/env: IAMDB_IMDS_ENDPOINT present %v, want it exactly with --imds-profile (args %q)", ok, args)
	}
	d.region, d.account = d.env["AWS_REGION"], d.env["IAMDB_ACCOUNT_ID"]
	d.admin = awsCreds{AccessKeyID: d.env["AWS_ACCESS_KEY_ID"], SecretAccessKey: d.env["AWS_SECRET_ACCESS_KEY"]}
	return d
}

// readDevEnv reads the "export K='v'" lines of D/env (shellQuote's quoting).
func readDevEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, want 0600 (it holds the admin's secret)", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		kv, ok := strings.CutPrefix(line, "export ")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
			t.Fatalf("%s: %s is not single-quoted", path, k)
		}
		env[k] = strings.ReplaceAll(v[1:len(v)-1], `'\''`, `'`)
	}
	return env
}

// mariaLogFile is MariaDB's log, "" without MariaDB.
func (d *devInstance) mariaLogFile() string {
	if d.maria == nil {
		return ""
	}
	return d.maria.LogFile()
}

// caPool is the dev CA, for the in-process clients.
func (d *devInstance) caPool(t *testing.T) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(d.env["IAMDB_CA_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no certificate", d.env["IAMDB_CA_FILE"])
	}
	return p
}

// --- psql ---

// conninfo is a libpq connection string to the gateway, as the README writes it.
func (d *devInstance) conninfo(user, sslmode string) string {
	s := fmt.Sprintf("host=localhost port=%d user=%s dbname=postgres sslmode=%s connect_timeout=10", d.port, user, sslmode)
	if sslmode == "verify-full" || sslmode == "verify-ca" {
		s += " sslrootcert=" + d.env["IAMDB_CA_FILE"]
	}
	return s
}

// clientEnv is toolEnv less the machine's settings of a database client: the variables
// that start with one of prefixes (PG, MYSQL, …).
func clientEnv(t *testing.T, region string, prefixes ...string) []string {
	t.Helper()
	var env []string
	for _, kv := range toolEnv(t, region) {
		u := strings.ToUpper(kv)
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(u, p) }) {
			env = append(env, kv)
		}
	}
	return env
}

// runPSQL runs "psql -X -w -At -d CONNINFO -c SQL" with PGPASSWORD=password (if not empty)
// and none of the machine's PG* settings.
func runPSQL(t *testing.T, region, conninfo, password, sql string) (stdout, stderr string, err error) {
	t.Helper()
	env := clientEnv(t, region, "PG")
	if password != "" {
		env = append(env, "PGPASSWORD="+password)
	}
	return runTool(t.TempDir(), env, "psql", "-X", "-w", "-At", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql)
}

// psql is runPSQL in the dev instance's region.
func (d *devInstance) psql(t *testing.T, conninfo, password, sql string) (stdout, stderr string, err error) {
	t.Helper()
	return runPSQL(t, d.region, conninfo, password, sql)
}

// mustPSQL runs psql and fails the test unless it succeeds; it returns the trimmed output.
func (d *devInstance) mustPSQL(t *testing.T, conninfo, password, sql string) string {
	t.Helper()
	out, errOut, err := d.psql(t, conninfo, password, sql)
	if err != nil {
		t.Fatalf("psql %q -c %q: %v\nstderr: %s", conninfo, sql, err, errOut)
	}
	return strings.TrimSpace(out)
}

// expectLogin checks that user logs in with password through psql and is current_user.
func (d *devInstance) expectLogin(t *testing.T, user, password string) {
	t.Helper()
	if got := d.mustPSQL(t, d.conninfo(user, "verify-full"), password, "select current_user"); got != user {
		t.Errorf("psql as %s: select current_user = %q, want %q", user, got, user)
	}
}

// expectRefused checks that psql as user with password fails with wantErr on its stderr,
// and that the gateway logged the refusal with reason.
func (d *devInstance) expectRefused(t *testing.T, conninfo, user, password, wantErr, reason string) {
	t.Helper()
	d.expectClientRefused(t, fmt.Sprintf("psql %q", conninfo), func() (string, string, error) {
		return d.psql(t, conninfo, password, "select current_user")
	}, wantErr, `msg="authentication failed"`, "user="+user+" ", "reason="+reason+" ")
}

// expectClientRefused checks that the client run by client (described by what) exits
// with an error and wantErr on its stderr, and that the gateway logged a line holding all
// of wantLog since.
func (d *devInstance) expectClientRefused(t *testing.T, what string, client func() (stdout, stderr string, err error), wantErr string, wantLog ...string) {
	t.Helper()
	off := len(d.logs.String())
	out, errOut, err := client()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Errorf("%s: %v, output %q; want it refused with %q", what, err, out, wantErr)
		return
	}
	if !strings.Contains(errOut, wantErr) {
		t.Errorf("%s: stderr %q, want %q", what, errOut, wantErr)
	}
	if line := d.findLog(off, wantLog...); line == "" {
		t.Errorf("%s: no gateway log line with %q; new log:\n%s", what, wantLog, d.logs.String()[off:])
	}
}

// findLog returns the first log line after offset off that contains all of want, or "".
// A line's last attribute is matched with a trailing space too.
func (d *devInstance) findLog(off int, want ...string) string {
	logs := d.logs.String()[off:]
next:
	for _, line := range strings.Split(logs, "\n") {
		line += " "
		for _, w := range want {
			if !strings.Contains(line, w) {
				continue next
			}
		}
		return line
	}
	return ""
}

// pamFailed is the client's text of a refused IAM login, as RDS words it.
func pamFailed(user string) string {
	return `FATAL:  PAM authentication failed for user "` + user + `"`
}

// --- AWS ---

// aws returns the AWS CLI v2 with creds, pointed at the authority.
func (d *devInstance) aws(t *testing.T, tools *clientTools, creds awsCreds) awsV2 {
	t.Helper()
	a := &testAuthority{url: d.authURL}
	return a.awsV2(t, tools, t.TempDir(), d.region).as(creds)
}

// generateToken runs "aws rds generate-db-auth-token" with extra arguments after the
// README's (a later --hostname, --region or --username wins).
func generateToken(c awsV2, port int, user string, extra ...string) string {
	c.t.Helper()
	args := append([]string{"rds", "generate-db-auth-token", "--hostname", "localhost", "--port", strconv.Itoa(port), "--username", user}, extra...)
	return strings.TrimSpace(c.offline(args...))
}

// refusedToken is a refusal test's token maker: it runs when the subtest does.
type refusedToken func(t *testing.T) string

// cliToken makes a token with "aws rds generate-db-auth-token" as creds, for the user on
// localhost:port.
func (d *devInstance) cliToken(tools *clientTools, creds awsCreds, port int, user string, extra ...string) refusedToken {
	return func(t *testing.T) string { return generateToken(d.aws(t, tools, creds), port, user, extra...) }
}

// expiredToken makes a token signed with creds for devIAMUser on localhost:port twenty
// minutes ago: expired.
func (d *devInstance) expiredToken(creds awsCreds, port int) refusedToken {
	return func(t *testing.T) string {
		s, err := token.Build(fmt.Sprintf("localhost:%d", port), d.region, devIAMUser,
			token.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey}, time.Now().Add(-20*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// iamUser is an IAM user with an access key.
type iamUser struct {
	name  string
	creds awsCreds
}

// createIAMUser creates an IAM user, attaches policies and creates an access key.
func createIAMUser(c awsV2, name string, policyARNs ...string) iamUser {
	c.t.Helper()
	c.run("iam", "create-user", "--user-name", name)
	for _, p := range policyARNs {
		c.run("iam", "attach-user-policy", "--user-name", name, "--policy-arn", p)
	}
	var ck struct{ AccessKey awsCreds }
	c.runJSON(&ck, "iam", "create-access-key", "--user-name", name)
	if !longTermKeyID.MatchString(ck.AccessKey.AccessKeyID) || len(ck.AccessKey.SecretAccessKey) != 40 {
		c.t.Fatalf("aws iam create-access-key --user-name %s: key %q, secret of %d characters", name, ck.AccessKey.AccessKeyID, len(ck.AccessKey.SecretAccessKey))
	}
	return iamUser{name: name, creds: ck.AccessKey}
}

// connectPolicy is an identity policy with one statement on rds-db:connect.
func connectPolicy(effect, resource string) string {
	return fmt.Sprintf(`{"Version": "2012-10-17", "Statement": [{"Sid": "%sConnect", "Effect": %q, "Action": "rds-db:connect", "Resource": %q}]}`,
		effect, effect, resource)
}

// --- the test ---

// needPsqlAndAWSV2 skips (or, with IAMDB_REQUIRE_TOOLS, fails) t unless psql and the AWS
// CLI v2 at /usr/bin/aws are there, and returns the tools with the CLI v2 set.
func needPsqlAndAWSV2(t *testing.T) *clientTools {
	t.Helper()
	_, err := exec.LookPath("psql")
	needTool(t, err == nil, "psql", "apt-get install -y postgresql-client")
	tools := &clientTools{}
	if out, _, err := runTool(t.TempDir(), toolEnv(t, "us-east-1"), "/usr/bin/aws", "--version"); err == nil && strings.HasPrefix(out, "aws-cli/2.") {
		tools.awsV2 = "/usr/bin/aws"
	}
	needTool(t, tools.awsV2 != "", "the AWS CLI v2 (/usr/bin/aws)", "apt-get install -y awscli")
	return tools
}

func TestDevEndToEnd(t *testing.T) {
	tools := needPsqlAndAWSV2(t)

	start := time.Now()
	d := startDev(t, "--imds-profile", "pgdemo-db-access-profile")
	t.Logf("iamdb dev ready in %v: gateway localhost:%d, backend %s", time.Since(start).Round(time.Millisecond), d.port, d.pg.Addr())
	var secrets []string // must never reach the log

	// The README tour's setup SQL, through the gateway as the admin (a password user).
	admin := d.env["IAMDB_PG_ADMIN_URL"]
	d.mustPSQL(t, admin, "", "CREATE USER "+devIAMUser+" WITH LOGIN; GRANT rds_iam TO "+devIAMUser+";")
	d.mustPSQL(t, admin, "", "CREATE USER "+devPasswordUser+" WITH LOGIN PASSWORD '"+devPassword+"';")
	secrets = append(secrets, devPassword, d.admin.SecretAccessKey)

	// IAM, with the AWS CLI v2 as the admin of D/env.
	aws := d.aws(t, tools, d.admin)
	rid := strings.TrimSpace(aws.run("rds", "describe-db-clusters", "--db-cluster-identifier", d.env["IAMDB_PG_CLUSTER"],
		"--query", "DBClusters[0].DbClusterResourceId", "--output", "text"))
	if !clusterResourceID.MatchString(rid) {
		t.Fatalf("aws rds describe-db-clusters: DbClusterResourceId = %q, want cluster-…", rid)
	}
	dbuser := fmt.Sprintf("arn:aws:rds-db:%s:%s:dbuser:%s/%s", d.region, d.account, rid, devIAMUser)
	policyARN := func(name string) string { return "arn:aws:iam::" + d.account + ":policy/" + name }
	aws.run("iam", "create-policy", "--policy-name", "connect-iam-user", "--policy-document", connectPolicy("Allow", dbuser))
	aws.run("iam", "create-policy", "--policy-name", "deny-iam-user", "--policy-document", connectPolicy("Deny", dbuser))

	var app, nopolicy, denied, inactive iamUser
	var session awsCreds
	t.Run("aws-setup", func(t *testing.T) {
		// Concurrently: each AWS CLI call is half a second of Python start-up.
		t.Run("app", func(t *testing.T) {
			t.Parallel()
			app = createIAMUser(d.aws(t, tools, d.admin), "app", policyARN("connect-iam-user"))
		})
		t.Run("nopolicy", func(t *testing.T) {
			t.Parallel()
			nopolicy = createIAMUser(d.aws(t, tools, d.admin), "nopolicy")
		})
		t.Run("denied", func(t *testing.T) {
			t.Parallel()
			denied = createIAMUser(d.aws(t, tools, d.admin), "denied", policyARN("connect-iam-user"), policyARN("deny-iam-user"))
		})
		t.Run("inactive", func(t *testing.T) {
			t.Parallel()
			c := d.aws(t, tools, d.admin)
			inactive = createIAMUser(c, "inactive", policyARN("connect-iam-user"))
			c.run("iam", "update-access-key", "--user-name", "inactive", "--access-key-id", inactive.creds.AccessKeyID, "--status", "Inactive")
		})
		t.Run("role", func(t *testing.T) {
			t.Parallel()
			c := d.aws(t, tools, d.admin)
			trust := trustPolicy(statement{principal: awsPrincipal("arn:aws:iam::" + d.account + ":root"), actions: []string{"sts:AssumeRole"}})
			c.run("iam", "create-role", "--role-name", "connector", "--assume-role-policy-document", trust)
			c.run("iam", "attach-role-policy", "--role-name", "connector", "--policy-arn", policyARN("connect-iam-user"))
			var out struct{ Credentials awsCreds }
			c.runJSON(&out, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+d.account+":role/connector",
				"--role-session-name", "e2e", "--duration-seconds", "900")
			if !temporaryKeyID.MatchString(out.Credentials.AccessKeyID) || out.Credentials.SessionToken == "" {
				t.Fatalf("aws sts assume-role: AccessKeyId %q, session token of %d bytes", out.Credentials.AccessKeyID, len(out.Credentials.SessionToken))
			}
			session = out.Credentials
		})
	})
	if t.Failed() {
		t.FailNow()
	}
	for _, u := range []iamUser{app, nopolicy, denied, inactive} {
		secrets = append(secrets, u.creds.SecretAccessKey)
	}
	secrets = append(secrets, session.SecretAccessKey, session.SessionToken)

	// The user's token, as the README makes it.
	tok := generateToken(d.aws(t, tools, app.creds), d.port, devIAMUser)
	secrets = append(secrets, tokenSignature(t, tok))

	t.Run("psql", func(t *testing.T) {
		t.Run("iam-login", func(t *testing.T) {
			d.expectLogin(t, devIAMUser, tok)
			off := len(d.logs.String())
			d.expectLogin(t, devIAMUser, tok) // the same token, a second connection
			if line := d.findLog(off, `msg="connection authorized"`, "user="+devIAMUser+" ", "principal=arn:aws:iam::"+d.account+":user/app ",
				"access_key_id="+app.creds.AccessKeyID+" ", "policy="+policyARN("connect-iam-user")+" ", "tls_protocol=TLSv1.3 "); line == "" {
				t.Errorf("no 'connection authorized' line naming app, its key and policy:\n%s", d.logs.String()[off:])
			}
		})
		t.Run("temporary-credentials", func(t *testing.T) {
			st := generateToken(d.aws(t, tools, session), d.port, devIAMUser)
			secrets = append(secrets, tokenSignature(t, st))
			d.expectLogin(t, devIAMUser, st)
		})
		t.Run("password-user-tls", func(t *testing.T) {
			d.expectLogin(t, devPasswordUser, devPassword)
			d.expectRefused(t, d.conninfo(devPasswordUser, "verify-full"), devPasswordUser, "wrong-password",
				`FATAL:  password authentication failed for user "`+devPasswordUser+`"`, "password")
		})
		t.Run("plaintext-refused", func(t *testing.T) {
			d.expectRefused(t, d.conninfo(devIAMUser, "disable"), devIAMUser, tok,
				`FATAL:  pg_hba.conf rejects connection for host "127.0.0.1", user "iam_user", database "postgres", SSL off`, "no-ssl")
		})

		refusals := []struct {
			name, reason string
			token        refusedToken
		}{
			{"expired", "expired", d.expiredToken(app.creds, d.port)},
			{"tampered", "signature-mismatch", func(t *testing.T) string {
				i := strings.LastIndex(tok, "X-Amz-Signature=") + len("X-Amz-Signature=") + 10
				flipped := byte('0')
				if tok[i] == '0' {
					flipped = '1'
				}
				return tok[:i] + string(flipped) + tok[i+1:]
			}},
			{"wrong-host", "host-not-allowed", d.cliToken(tools, app.creds, d.port, devIAMUser, "--hostname", "db.example.com")},
			{"wrong-region", "wrong-scope-region", d.cliToken(tools, app.creds, d.port, devIAMUser, "--region", "eu-west-1")},
			{"wrong-user", "user-mismatch", d.cliToken(tools, app.creds, d.port, "other_user")},
			{"no-policy", "implicit-deny", d.cliToken(tools, nopolicy.creds, d.port, devIAMUser)},
			{"explicit-deny", "explicit-deny", d.cliToken(tools, denied.creds, d.port, devIAMUser)},
			{"inactive-key", "inactive-key", d.cliToken(tools, inactive.creds, d.port, devIAMUser)},
			{"revoked-session", "invalid-session-token", func(t *testing.T) string {
				// Delete the role and re-create it with the same name and policy: the
				// sessions of the old role are no longer valid.
				c := d.aws(t, tools, d.admin)
				trust := trustPolicy(statement{principal: awsPrincipal("arn:aws:iam::" + d.account + ":root"), actions: []string{"sts:AssumeRole"}})
				c.run("iam", "detach-role-policy", "--role-name", "connector", "--policy-arn", policyARN("connect-iam-user"))
				c.run("iam", "delete-role", "--role-name", "connector")
				c.run("iam", "create-role", "--role-name", "connector", "--assume-role-policy-document", trust)
				c.run("iam", "attach-role-policy", "--role-name", "connector", "--policy-arn", policyARN("connect-iam-user"))
				return generateToken(d.aws(t, tools, session), d.port, devIAMUser)
			}},
		}
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				bad := tc.token(t)
				if sig := tokenSignature(t, bad); sig != "" {
					secrets = append(secrets, sig)
				}
				d.expectRefused(t, d.conninfo(devIAMUser, "verify-full"), devIAMUser, bad, pamFailed(devIAMUser), tc.reason)
			})
		}
		// Refusals do not stick: the valid token still works.
		d.expectLogin(t, devIAMUser, tok)
	})

	t.Run("seed001-same-account-imds", func(t *testing.T) {
		testDevSeed001IMDS(t, d, tools, rid)
	})
	t.Run("mysql-seed002", func(t *testing.T) {
		secrets = append(secrets, testDevMySQL(t, d, tools, nopolicy)...)
	})
	t.Run("native-seed000", func(t *testing.T) {
		secrets = append(secrets, testDevNativeSeed000(t, d, tools, app, nopolicy, denied)...)
	})
	t.Run("native-seed002", func(t *testing.T) {
		secrets = append(secrets, testDevNativeSeed002(t, d, tools, nopolicy)...)
	})
	t.Run("create-db-user-postgres", func(t *testing.T) {
		testCreateDBUserPostgres(t, d, tools)
	})

	t.Run("go-clients", func(t *testing.T) {
		roots := d.caPool(t)
		t.Run("lib-pq", func(t *testing.T) {
			dsn := fmt.Sprintf("host=localhost port=%d user=%s dbname=postgres sslmode=verify-full sslrootcert=%s application_name=e2e-libpq password='%s' connect_timeout=10",
				d.port, devIAMUser, d.env["IAMDB_CA_FILE"], tok)
			connector, err := pq.NewConnector(dsn)
			if err != nil {
				t.Fatal(err)
			}
			db := sql.OpenDB(connector)
			defer db.Close()
			db.SetMaxIdleConns(0) // every query on a new connection
			off := len(d.logs.String())
			for i := range 3 {
				var user string
				if err := db.QueryRow("select current_user").Scan(&user); err != nil {
					t.Fatalf("lib/pq connection %d with the same token: %v", i+1, err)
				}
				if user != devIAMUser {
					t.Errorf("lib/pq: current_user = %q, want %q", user, devIAMUser)
				}
			}
			if n := strings.Count(d.logs.String()[off:], "application_name=e2e-libpq "); n != 3 {
				t.Errorf("lib/pq: %d authorized connections logged, want 3", n)
			}
		})

		pgxConfig := func(t *testing.T, user, password, app string) *pgx.ConnConfig {
			t.Helper()
			cfg, err := pgx.ParseConfig(fmt.Sprintf("host=localhost port=%d user=%s dbname=postgres sslmode=verify-full sslrootcert=%s application_name=%s connect_timeout=10",
				d.port, user, d.env["IAMDB_CA_FILE"], app))
			if err != nil {
				t.Fatal(err)
			}
			cfg.Password = password
			return cfg
		}
		selectUser := func(t *testing.T, cfg *pgx.ConnConfig) error {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				return err
			}
			defer c.Close(context.Background())
			var user string
			if err := c.QueryRow(ctx, "select current_user").Scan(&user); err != nil {
				return err
			}
			if user != cfg.User {
				return fmt.Errorf("current_user = %q, want %q", user, cfg.User)
			}
			return nil
		}

		t.Run("pgx", func(t *testing.T) {
			cfg := pgxConfig(t, devIAMUser, tok, "e2e-pgx")
			for i := range 3 {
				if err := selectUser(t, cfg); err != nil {
					t.Fatalf("pgx connection %d with the same token: %v", i+1, err)
				}
			}
			// The TLS the gateway offers: TLS 1.3 with the dev CA's certificate for localhost.
			cfg.TLSConfig = &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS13}
			if err := selectUser(t, cfg); err != nil {
				t.Errorf("pgx with TLS 1.3 only: %v", err)
			}
		})

		t.Run("pgx-cancel", func(t *testing.T) {
			cfg := pgxConfig(t, devIAMUser, tok, "e2e-cancel")
			// Cancel with a CancelRequest (as psql's Ctrl-C), not by closing the socket.
			cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
				return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 10 * time.Second}
			}
			c, err := pgx.ConnectConfig(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			began := time.Now()
			_, err = c.Exec(ctx, "select pg_sleep(30)")
			took := time.Since(began)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
				t.Fatalf("select pg_sleep(30) cancelled after 200ms: %v, want a 57014 (query_canceled) error", err)
			}
			if took > 3*time.Second {
				t.Errorf("select pg_sleep(30) cancelled after 200ms returned after %v, want at once", took)
			}
			// The session survives a cancelled statement.
			var one int
			if err := c.QueryRow(context.Background(), "select 1").Scan(&one); err != nil || one != 1 {
				t.Errorf("select 1 after the cancel: %d, %v", one, err)
			}
			t.Logf("cancelled pg_sleep(30) after %v", took.Round(time.Millisecond))
		})

		t.Run("pgx-200-concurrent", func(t *testing.T) {
			const n = 200
			cfg := pgxConfig(t, devIAMUser, tok, "e2e-concurrent")
			// 200 new backend sessions at once: a PostgreSQL fork and TLS handshake each,
			// ~5 s on a quiet 2-core machine, over 10 s (connect_timeout) when CI's other
			// packages run beside it. The bound is for a hang, not for speed.
			cfg.ConnectTimeout = 60 * time.Second
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			errs := make(chan error, n)
			conns := make(chan *pgx.Conn, n)
			began := time.Now()
			for i := range n {
				wg.Go(func() {
					c, err := pgx.ConnectConfig(ctx, cfg.Copy())
					if err != nil {
						errs <- fmt.Errorf("client %d: connect: %w", i, err)
						return
					}
					conns <- c
					var one int
					if err := c.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
						errs <- fmt.Errorf("client %d: select 1 = %d, %v", i, one, err)
					}
				})
			}
			wg.Wait()
			took := time.Since(began)
			close(errs)
			close(conns)
			open := 0
			for c := range conns {
				open++
				c.Close(context.Background())
			}
			failed := 0
			for err := range errs {
				if failed++; failed <= 5 {
					t.Error(err)
				}
			}
			if failed > 0 || open != n {
				t.Errorf("%d of %d concurrent clients failed (%d connected)", failed, n, open)
			}
			t.Logf("%d concurrent pgx clients connected and queried in %v", n, took.Round(time.Millisecond))
		})

		t.Run("backend-restart", func(t *testing.T) {
			cfg := pgxConfig(t, devIAMUser, tok, "e2e-restart")
			// Sessions on both sides of the restart: an open client, and idle pooled
			// backend sessions (left by the tests above).
			ctx := context.Background()
			before, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer before.Close(ctx)
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err = d.pg.Restart(rctx)
			cancel()
			if err != nil {
				t.Fatalf("restarting the backend: %v", err)
			}
			// The open session's backend is gone (as on RDS after a reboot).
			if err := before.Ping(ctx); err == nil {
				t.Logf("the session opened before the restart still answers")
			} else {
				t.Logf("the session opened before the restart: %v (expected)", err)
			}
			// New connections succeed at once: stale pooled sessions are dropped.
			for i := range 5 {
				if err := selectUser(t, cfg); err != nil {
					t.Errorf("IAM connection %d after the backend restart: %v", i+1, err)
				}
			}
			if err := selectUser(t, pgxConfig(t, devPasswordUser, devPassword, "e2e-restart")); err != nil {
				t.Errorf("password connection after the backend restart: %v", err)
			}
			if got := d.mustPSQL(t, d.conninfo(devIAMUser, "verify-full"), tok, "select current_user"); got != devIAMUser {
				t.Errorf("psql after the backend restart: current_user = %q", got)
			}
		})
	})

	t.Run("audit-seeds", func(t *testing.T) {
		testDevAuditSeeds(t, d, tools, app.creds.AccessKeyID, secrets)
	})

	logs := d.logs.String()
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("a secret (%.6s…) appears in the gateway's log", s)
		}
	}
	// Native mode: the databases' own logs (PAM's syslog goes nowhere here) hold no token.
	for _, f := range []string{d.pg.LogFile(), d.mariaLogFile()} {
		b, _ := os.ReadFile(f)
		for _, s := range secrets {
			if s != "" && f != "" && strings.Contains(string(b), s) {
				t.Errorf("a secret (%.6s…) appears in %s", s, f)
			}
		}
	}
	if strings.Contains(logs, "level=ERROR") {
		t.Logf("the log has errors:\n%s", grepLines(logs, "level=ERROR"))
	}
	t.Logf("end to end in %v", time.Since(start).Round(time.Millisecond))
}

// testDevSeed001IMDS follows seed 001's same-account scenario against "iamdb dev
// --imds-profile pgdemo-db-access-profile": the schema and users, the policy, the EC2
// role and the instance profile made with the AWS CLI after dev started; then, on the
// "instance" (no keys, only AWS_EC2_METADATA_SERVICE_ENDPOINT=$IAMDB_IMDS_ENDPOINT),
// generate-db-auth-token signs with the instance profile's credentials and psql logs in.
func testDevSeed001IMDS(t *testing.T, d *devInstance, tools *clientTools, rid string) {
	imds := d.env["IAMDB_IMDS_ENDPOINT"]
	if !strings.HasPrefix(imds, "http://127.0.0.1:") || !strings.HasSuffix(imds, "/") {
		t.Fatalf("D/env: IAMDB_IMDS_ENDPOINT = %q, want http://127.0.0.1:PORT/", imds)
	}
	if got := d.env["IAMDB_IMDS_ENDPOINT_PGDEMO_DB_ACCESS_PROFILE"]; got != imds {
		t.Errorf("D/env: IAMDB_IMDS_ENDPOINT_PGDEMO_DB_ACCESS_PROFILE = %q, want IAMDB_IMDS_ENDPOINT's %q", got, imds)
	}
	if _, ok := d.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"]; ok {
		t.Errorf("D/env sets AWS_EC2_METADATA_SERVICE_ENDPOINT; its admin keys would win over it")
	}
	if !strings.Contains(d.stdout.String(), "\n  imds       "+imds+"   (instance profile arn:aws:iam::"+d.account+":instance-profile/pgdemo-db-access-profile, $IAMDB_IMDS_ENDPOINT_PGDEMO_DB_ACCESS_PROFILE;") {
		t.Errorf("iamdb dev: stdout %q lacks the imds line", d.stdout.String())
	}
	admin := d.env["IAMDB_PG_ADMIN_URL"]
	d.mustPSQL(t, admin, "", `CREATE SCHEMA pgdemo;
CREATE TABLE pgdemo.products (id int PRIMARY KEY, name text, price int);
INSERT INTO pgdemo.products VALUES (1, 'Apple', 100);
CREATE ROLE oltp_rw_role;
GRANT USAGE ON SCHEMA pgdemo TO oltp_rw_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pgdemo TO oltp_rw_role;
CREATE USER oltp_rw_user WITH LOGIN;
GRANT rds_iam, oltp_rw_role TO oltp_rw_user;`)

	dir := t.TempDir()
	aws := d.aws(t, tools, d.admin)
	aws.dir = dir
	writeSeed(t, dir, "oltp_rw_user.json", map[string]string{"<AWS Region>": d.region, "<AWS Account ID>": d.account, "<DbClusterResourceId>": rid})
	aws.run("iam", "create-policy", "--policy-name", "pgdemo-oltp-rw-user-policy", "--policy-document", "file://oltp_rw_user.json")
	writeSeed(t, dir, "ec2-role-trust-policy.json", nil)
	aws.run("iam", "create-role", "--role-name", "pgdemo-oltp-rw-role", "--assume-role-policy-document", "file://ec2-role-trust-policy.json")
	aws.run("iam", "attach-role-policy", "--role-name", "pgdemo-oltp-rw-role", "--policy-arn", "arn:aws:iam::"+d.account+":policy/pgdemo-oltp-rw-user-policy")
	aws.run("iam", "create-instance-profile", "--instance-profile-name", "pgdemo-db-access-profile")
	aws.run("iam", "add-role-to-instance-profile", "--instance-profile-name", "pgdemo-db-access-profile", "--role-name", "pgdemo-oltp-rw-role")

	// On the instance: no keys; the CLI's chain ends at the metadata endpoint.
	instance := aws
	instance.who = []string{"AWS_EC2_METADATA_DISABLED=false", "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imds}
	var id callerIdentity
	instance.runJSON(&id, "sts", "get-caller-identity")
	if want := "arn:aws:sts::" + d.account + ":assumed-role/pgdemo-oltp-rw-role/"; !strings.HasPrefix(id.Arn, want) {
		t.Errorf("aws sts get-caller-identity on the instance = %+v, want %s<instance id>", id, want)
	}
	tok := generateToken(instance, d.port, "oltp_rw_user")
	checkTokenShape(t, tok, seedDB{host: "localhost", port: d.port, region: d.region}, "oltp_rw_user", true)
	conninfo := d.conninfo("oltp_rw_user", "verify-full")
	if got := d.mustPSQL(t, conninfo, tok, "select current_user"); got != "oltp_rw_user" {
		t.Errorf("psql as oltp_rw_user: select current_user = %q", got)
	}
	d.mustPSQL(t, conninfo, tok, "insert into pgdemo.products values(6,'Nokia',600)")
	if got := d.mustPSQL(t, admin, "", "select name from pgdemo.products where id = 6"); got != "Nokia" {
		t.Errorf("after the insert: product 6 = %q, want Nokia", got)
	}
}

// --- MySQL: seed 002 with the mariadb client ---

// devMySQLIAMUser is the MariaDB IAM user of the tests, made by create-db-user.
const devMySQLIAMUser = "my_iam_user"

// mariadb runs the mariadb client toward the MySQL gateway with args after --host and
// --port: without the machine's option files (--no-defaults) and MYSQL_* variables, with
// a deadline and no stdin.
func (d *devInstance) mariadb(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	env := clientEnv(t, d.region, "MYSQL", "LIBMYSQL", "MARIADB")
	argv := append([]string{"mariadb", "--no-defaults", "--connect-timeout=10", "--host=localhost", "--port=" + strconv.Itoa(d.myPort)}, args...)
	return runTool(t.TempDir(), env, argv...)
}

// seed002Args are seed 002's mariadb options for user with password, and the query.
func (d *devInstance) seed002Args(user, password string) []string {
	return []string{"--ssl-ca=" + d.env["IAMDB_CA_FILE"], "--ssl-verify-server-cert", "--enable-cleartext-plugin",
		"--user=" + user, "--password=" + password, "-e", "select current_user()"}
}

// expectMariaDBLogin checks that mariadb with args prints want as current_user().
func (d *devInstance) expectMariaDBLogin(t *testing.T, args []string, want string) {
	t.Helper()
	out, errOut, err := d.mariadb(t, args...)
	if err != nil {
		t.Errorf("mariadb as %s: %v\nstderr: %s", want, err, errOut)
		return
	}
	// Batch output (stdout is not a terminal): the column name, then the value, after the
	// warning that --enable-cleartext-plugin is obsolete (MariaDB's client always allows
	// mysql_clear_password).
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if n := len(lines); n < 2 || lines[n-2] != "current_user()" || lines[n-1] != want {
		t.Errorf("mariadb: select current_user() printed %q, want %q", out, want)
	}
}

// expectMariaDBRefused checks that mariadb with args fails with wantErr on its stderr and
// that the MySQL gateway logged a refusal of user, with reason unless it is empty.
func (d *devInstance) expectMariaDBRefused(t *testing.T, args []string, user, wantErr, reason string) {
	t.Helper()
	want := []string{`msg="authentication failed"`, "gateway=mysql ", "user=" + user + " "}
	if reason != "" {
		want = append(want, "reason="+reason+" ")
	}
	d.expectClientRefused(t, "mariadb as "+user, func() (string, string, error) {
		return d.mariadb(t, args...)
	}, wantErr, want...)
}

// testDevMySQL runs seed 002 against the MySQL gateway of iamdb dev: the IAM user made
// with create-db-user (RDS: CREATE USER … IDENTIFIED WITH AWSAuthenticationPlugin AS
// 'RDS'), a policy on its dbuser ARN with the instance's db-… resource id, a token from
// "aws rds generate-db-auth-token", and the mariadb client with the seed's options. It
// returns the secrets that must not reach the log.
func testDevMySQL(t *testing.T, d *devInstance, tools *clientTools, nopolicy iamUser) (secrets []string) {
	needTool(t, d.maria != nil, "the MariaDB server binaries", "apt-get install -y mariadb-server")
	_, err := exec.LookPath("mariadb")
	needTool(t, err == nil, "the mariadb client", "apt-get install -y mariadb-client")
	secrets = append(secrets, d.env["IAMDB_MYSQL_ADMIN_PASSWORD"])

	// The helper, as the banner writes it: the CA from IAMDB_CA_FILE.
	t.Setenv("IAMDB_CA_FILE", d.env["IAMDB_CA_FILE"])
	out, errOut, status := runCLI(t, "create-db-user", "--mysql", d.env["IAMDB_MYSQL_ADMIN_DSN"], devMySQLIAMUser)
	if status != 0 || out != "created '"+devMySQLIAMUser+"'@'%': a member of rds_iam, it logs in only with IAM auth tokens\n" {
		t.Fatalf("iamdb create-db-user --mysql: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	// Again: MariaDB refuses (1396), and the existing user is left as it is.
	if err := run(context.Background(), []string{"create-db-user", "--mysql", d.env["IAMDB_MYSQL_ADMIN_DSN"], devMySQLIAMUser}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "Error 1396") {
		t.Errorf("iamdb create-db-user for an existing user: %v, want error 1396", err)
	}

	aws := d.aws(t, tools, d.admin)
	desc := strings.Fields(aws.run("rds", "describe-db-instances", "--db-instance-identifier", d.env["IAMDB_MYSQL_INSTANCE"],
		"--query", "DBInstances[0].[DbiResourceId,Engine,Endpoint.Address,Endpoint.Port,IAMDatabaseAuthenticationEnabled]", "--output", "text"))
	if len(desc) != 5 || !instanceResourceID.MatchString(desc[0]) || desc[1] != "mariadb" || desc[2] != "localhost" ||
		desc[3] != strconv.Itoa(d.myPort) || desc[4] != "True" {
		t.Fatalf("aws rds describe-db-instances: %q, want db-…, mariadb, localhost, %d, True", desc, d.myPort)
	}
	dbuser := fmt.Sprintf("arn:aws:rds-db:%s:%s:dbuser:%s/%s", d.region, d.account, desc[0], devMySQLIAMUser)
	aws.run("iam", "create-policy", "--policy-name", "mysql-connect", "--policy-document", connectPolicy("Allow", dbuser))
	app := createIAMUser(aws, "mysql-app", "arn:aws:iam::"+d.account+":policy/mysql-connect")
	secrets = append(secrets, app.creds.SecretAccessKey)

	tok := generateToken(d.aws(t, tools, app.creds), d.myPort, devMySQLIAMUser)
	secrets = append(secrets, tokenSignature(t, tok))
	t.Run("iam-login", func(t *testing.T) {
		off := len(d.logs.String())
		d.expectMariaDBLogin(t, d.seed002Args(devMySQLIAMUser, tok), devMySQLIAMUser+"@%")
		if line := d.findLog(off, `msg="connection authorized"`, "gateway=mysql ", "user="+devMySQLIAMUser+" ", "client_name=libmariadb ",
			"principal=arn:aws:iam::"+d.account+":user/mysql-app ", "access_key_id="+app.creds.AccessKeyID+" "); line == "" {
			t.Errorf("no 'connection authorized' line naming mysql-app and its key:\n%s", d.logs.String()[off:])
		}
		d.expectMariaDBLogin(t, d.seed002Args(devMySQLIAMUser, tok), devMySQLIAMUser+"@%") // the same token again
	})
	denied := func(user string, yes bool) string {
		pw := "NO"
		if yes {
			pw = "YES"
		}
		return "ERROR 1045 (28000): Access denied for user '" + user + "'@'127.0.0.1' (using password: " + pw + ")"
	}
	t.Run("no-token", func(t *testing.T) {
		d.expectMariaDBRefused(t, d.seed002Args(devMySQLIAMUser, ""), devMySQLIAMUser, denied(devMySQLIAMUser, false), "")
	})
	t.Run("tampered-token", func(t *testing.T) {
		i := strings.LastIndex(tok, "X-Amz-Signature=") + len("X-Amz-Signature=") + 10
		flipped := byte('0')
		if tok[i] == '0' {
			flipped = '1'
		}
		bad := tok[:i] + string(flipped) + tok[i+1:]
		d.expectMariaDBRefused(t, d.seed002Args(devMySQLIAMUser, bad), devMySQLIAMUser, denied(devMySQLIAMUser, true), "signature-mismatch")
	})
	t.Run("no-policy", func(t *testing.T) {
		bad := generateToken(d.aws(t, tools, nopolicy.creds), d.myPort, devMySQLIAMUser)
		secrets = append(secrets, tokenSignature(t, bad))
		d.expectMariaDBRefused(t, d.seed002Args(devMySQLIAMUser, bad), devMySQLIAMUser, denied(devMySQLIAMUser, true), "implicit-deny")
	})
	t.Run("postgres-token", func(t *testing.T) {
		// Signed for the PostgreSQL gateway's port.
		bad := generateToken(d.aws(t, tools, app.creds), d.port, devMySQLIAMUser)
		secrets = append(secrets, tokenSignature(t, bad))
		d.expectMariaDBRefused(t, d.seed002Args(devMySQLIAMUser, bad), devMySQLIAMUser, denied(devMySQLIAMUser, true), "port-not-allowed")
	})
	t.Run("skip-ssl", func(t *testing.T) {
		args := append([]string{"--skip-ssl"}, d.seed002Args(devMySQLIAMUser, tok)[2:]...)
		d.expectMariaDBRefused(t, args, devMySQLIAMUser, "ERROR 3159 (HY000): Connections using insecure transport are prohibited", "no-ssl")
	})
	t.Run("admin-password", func(t *testing.T) {
		admin := d.env["IAMDB_MYSQL_ADMIN_USER"]
		d.expectMariaDBLogin(t, d.seed002Args(admin, d.env["IAMDB_MYSQL_ADMIN_PASSWORD"]), admin+"@%")
		d.expectMariaDBRefused(t, d.seed002Args(admin, "wrong-password"), admin, denied(admin, true), "password")
	})
	// Refusals do not stick.
	d.expectMariaDBLogin(t, d.seed002Args(devMySQLIAMUser, tok), devMySQLIAMUser+"@%")
	return secrets
}

// testCreateDBUserPostgres makes a PostgreSQL IAM user with create-db-user through the
// gateway and logs it in with a token of the admin (AdministratorAccess allows any
// dbuser).
func testCreateDBUserPostgres(t *testing.T, d *devInstance, tools *clientTools) {
	const user = "helper_pg_user"
	admin := d.env["IAMDB_PG_ADMIN_URL"]
	out, errOut, status := runCLI(t, "create-db-user", "--postgres", admin, user)
	if status != 0 || out != "created "+user+": a member of rds_iam, it logs in only with IAM auth tokens\n" {
		t.Fatalf("iamdb create-db-user --postgres: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	if got := d.mustPSQL(t, admin, "", "select rolcanlogin, pg_has_role('"+user+"', 'rds_iam', 'member') from pg_roles where rolname = '"+user+"'"); got != "t|t" {
		t.Errorf("%s after create-db-user: rolcanlogin, member of rds_iam = %q, want t|t", user, got)
	}
	d.expectLogin(t, user, generateToken(d.aws(t, tools, d.admin), d.port, user))
	// Again: one transaction, refused as a whole.
	if err := run(context.Background(), []string{"create-db-user", "--postgres", admin, user}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("iamdb create-db-user for an existing role: %v, want a refusal", err)
	}
}

// Without the MariaDB binaries, iamdb dev runs PostgreSQL only, and says so; with
// --native=false, native mode is off and D/env names no native port (readNative checks).
// --pprof serves /debug/pprof/ at D/env's IAMDB_OPS_ADDR (what bench/pg.sh profiles).
func TestDevWithoutMariaDB(t *testing.T) {
	d := startDevWith(t, hooks{startMariaDB: func(context.Context, localdb.MariaDBOptions) (*localdb.MariaDB, error) {
		return nil, fmt.Errorf("%w (test)", localdb.ErrMariaDBNotFound)
	}}, "--native=false", "--pprof")
	if resp, err := http.Get("http://" + d.env["IAMDB_OPS_ADDR"] + "/debug/pprof/"); err != nil {
		t.Errorf("--pprof: %v", err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusOK {
		t.Errorf("--pprof: GET http://%s/debug/pprof/ = %s, want 200", d.env["IAMDB_OPS_ADDR"], resp.Status)
	}
	if !strings.Contains(d.stdout.String(), "\n  native     off: turned off with --native=false\n") {
		t.Errorf("stdout %q: want native mode off, saying why", d.stdout.String())
	}
	if d.maria != nil {
		t.Fatal("iamdb dev started MariaDB")
	}
	if d.findLog(0, "level=WARN", `msg="MariaDB is not installed: running without the MySQL gateway"`) == "" {
		t.Errorf("no warning that MariaDB is missing:\n%s", d.logs.String())
	}
	if out := d.stdout.String(); !strings.Contains(out, "\n  mysql      not started: MariaDB is not installed") || strings.Contains(out, "create-db-user") {
		t.Errorf("stdout %q: want the mysql line saying it did not start, and no MySQL next steps", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, d.env["IAMDB_PG_ADMIN_URL"])
	if err != nil {
		t.Fatalf("PostgreSQL admin through the gateway: %v", err)
	}
	c.Close(ctx)
}

var sigRE = regexp.MustCompile(`X-Amz-Signature=([0-9a-f]{64})`)

// tokenSignature returns a token's signature, "" if it has none.
func tokenSignature(t *testing.T, tok string) string {
	t.Helper()
	m := sigRE.FindStringSubmatch(tok)
	if m == nil {
		return ""
	}
	return m[1]
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
