package main

// iamdb dev's native mode with the real clients: seeds 000 and 002 against the
// databases' own ports, where PostgreSQL and MariaDB check the token through PAM
// (pam_iamdb.so and the local verifier), and refuse in their own words.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/devenv"
)

// readNative reads the native ports from D/env and checks that native mode is on
// exactly when it can be: as root, without --native=false, with the C toolchain.
func (d *devInstance) readNative(t *testing.T, args []string) {
	t.Helper()
	out := d.stdout.String()
	port := func(k string) int {
		v, ok := d.env[k]
		if !ok {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("D/env: %s: %v", k, err)
		}
		return n
	}
	d.pgNative, d.myNative = port("IAMDB_PG_NATIVE_PORT"), port("IAMDB_MYSQL_NATIVE_PORT")
	want := os.Geteuid() == 0 && !slices.Contains(args, "--native=false")
	switch {
	case want && d.pgNative == 0:
		if strings.Contains(out, "native     off: cannot build pam_iamdb.so") && os.Getenv("IAMDB_REQUIRE_TOOLS") != "1" {
			t.Logf("native mode is off: the C toolchain for PAM modules is missing (apt-get install -y gcc libpam0g-dev)")
			return
		}
		t.Errorf("iamdb dev as root: native mode is off:\n%s", out)
	case !want && d.pgNative != 0:
		t.Errorf("iamdb dev: native mode is on (D/env IAMDB_PG_NATIVE_PORT=%d), want it off (args %q, uid %d)", d.pgNative, args, os.Geteuid())
	case !want && !strings.Contains(out, "\n  native     off: "):
		t.Errorf("iamdb dev: stdout does not say that native mode is off:\n%s", out)
	}
	if d.pgNative == 0 {
		return
	}
	if d.pgNative != d.pg.Port() || d.env["IAMDB_PG_NATIVE_HOST"] != "localhost" {
		t.Errorf("D/env: IAMDB_PG_NATIVE_HOST:PORT = %s:%d, want localhost:%d (PostgreSQL's own port)", d.env["IAMDB_PG_NATIVE_HOST"], d.pgNative, d.pg.Port())
	}
	if d.maria != nil && (d.myNative != d.maria.Port() || d.env["IAMDB_MYSQL_NATIVE_HOST"] != "localhost" || d.env["IAMDB_MYSQL_PAM_SERVICE"] == "") {
		t.Errorf("D/env: IAMDB_MYSQL_NATIVE_HOST:PORT = %s:%d (PAM service %q), want localhost:%d (MariaDB's own port) and a service",
			d.env["IAMDB_MYSQL_NATIVE_HOST"], d.myNative, d.env["IAMDB_MYSQL_PAM_SERVICE"], d.maria.Port())
	}
	for _, s := range []string{d.env["IAMDB_MYSQL_PAM_SERVICE"], strings.TrimSuffix(d.env["IAMDB_MYSQL_PAM_SERVICE"], "-mysql") + "-pg"} {
		if s == "" || s == "-pg" {
			continue
		}
		if _, err := os.Stat(filepath.Join(devenv.PAMDir, s)); err != nil {
			t.Errorf("the PAM service file of native mode: %v", err)
		}
	}
}

// nativeConninfo is a libpq connection string to PostgreSQL's own port.
func (d *devInstance) nativeConninfo(user, sslmode string) string {
	return strings.Replace(d.conninfo(user, sslmode), fmt.Sprintf(" port=%d ", d.port), fmt.Sprintf(" port=%d ", d.pgNative), 1)
}

// expectNativeRefused checks that psql to the native port fails with PostgreSQL's own
// refusal, and that iamdb's log says why.
func (d *devInstance) expectNativeRefused(t *testing.T, user, password, reason string) {
	t.Helper()
	conninfo := d.nativeConninfo(user, "verify-full")
	d.expectClientRefused(t, fmt.Sprintf("psql %q", conninfo), func() (string, string, error) {
		return d.psql(t, conninfo, password, "select current_user")
	}, pamFailed(user), `msg="authentication failed"`, "native=postgres ", "user="+user+" ", "mode=native ", "reason="+reason+" ")
}

// testDevNativeSeed000 follows seed 000 (Aurora PostgreSQL, psql with a token from the
// AWS CLI) against PostgreSQL's own port: the same cluster, resource id and policy as
// through the gateway, the token signed for the native port.
func testDevNativeSeed000(t *testing.T, d *devInstance, tools *clientTools, app, nopolicy, denied iamUser) (secrets []string) {
	if d.pgNative == 0 {
		needTool(t, false, "native mode (root, gcc, libpam0g-dev)", "run as root; apt-get install -y gcc libpam0g-dev")
	}
	tok := generateToken(d.aws(t, tools, app.creds), d.pgNative, devIAMUser)
	secrets = append(secrets, tokenSignature(t, tok))
	t.Run("iam-login", func(t *testing.T) {
		off := len(d.logs.String())
		got := d.mustPSQL(t, d.nativeConninfo(devIAMUser, "verify-full"), tok,
			"select current_user || ' ' || ssl::text || ' ' || inet_server_port() from pg_stat_ssl where pid = pg_backend_pid()")
		if want := fmt.Sprintf("%s true %d", devIAMUser, d.pgNative); got != want {
			t.Errorf("psql on the native port: %q, want %q (straight to PostgreSQL, over TLS)", got, want)
		}
		if line := d.findLog(off, `msg="connection authorized"`, "native=postgres ", "user="+devIAMUser+" ", "mode=native ",
			"principal=arn:aws:iam::"+d.account+":user/app ", "access_key_id="+app.creds.AccessKeyID+" "); line == "" {
			t.Errorf("no native 'connection authorized' line naming app and its key:\n%s", d.logs.String()[off:])
		}
		d.expectLoginAt(t, d.nativeConninfo(devIAMUser, "verify-full"), devIAMUser, tok) // the same token again
	})
	refusals := []struct {
		name, reason string
		token        refusedToken
	}{
		{"gateway-port", "port-not-allowed", d.cliToken(tools, app.creds, d.port, devIAMUser)},
		{"no-policy", "implicit-deny", d.cliToken(tools, nopolicy.creds, d.pgNative, devIAMUser)},
		{"explicit-deny", "explicit-deny", d.cliToken(tools, denied.creds, d.pgNative, devIAMUser)},
		{"expired", "expired", d.expiredToken(app.creds, d.pgNative)},
		{"wrong-user", "user-mismatch", d.cliToken(tools, app.creds, d.pgNative, "other_user")},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			bad := tc.token(t)
			secrets = append(secrets, tokenSignature(t, bad))
			d.expectNativeRefused(t, devIAMUser, bad, tc.reason)
		})
	}
	t.Run("plaintext-refused", func(t *testing.T) {
		// pg_hba.conf rejects members of rds_iam without TLS before PAM is asked.
		_, errOut, err := d.psql(t, d.nativeConninfo(devIAMUser, "disable"), tok, "select 1")
		// PostgreSQL 15 ends it with "no encryption", earlier versions with "SSL off".
		want := `FATAL:  pg_hba.conf rejects connection for host "127.0.0.1", user "` + devIAMUser + `", database "postgres", `
		if err == nil || !strings.Contains(errOut, want) {
			t.Errorf("psql without TLS on the native port: %v, %q; want %q", err, errOut, want)
		}
	})
	t.Run("password-user-unchanged", func(t *testing.T) {
		d.expectLoginAt(t, d.nativeConninfo(devPasswordUser, "verify-full"), devPasswordUser, devPassword)
	})
	// Refusals do not stick; the gateway still serves the same user.
	d.expectLoginAt(t, d.nativeConninfo(devIAMUser, "verify-full"), devIAMUser, tok)
	return secrets
}

// expectLoginAt checks that psql with conninfo logs user in with password.
func (d *devInstance) expectLoginAt(t *testing.T, conninfo, user, password string) {
	t.Helper()
	if got := d.mustPSQL(t, conninfo, password, "select current_user"); got != user {
		t.Errorf("psql as %s: select current_user = %q, want %q", user, got, user)
	}
}

// testDevNativeSeed002 follows seed 002 (RDS for MySQL, the mariadb client with the
// cleartext plugin and a verified server certificate) against MariaDB's own port: a
// native user made with create-db-user --native, a policy on its dbuser ARN with the
// instance's resource id, a token signed for the native port.
func testDevNativeSeed002(t *testing.T, d *devInstance, tools *clientTools, nopolicy iamUser) (secrets []string) {
	if d.myNative == 0 {
		needTool(t, d.maria == nil, "native mode (root, gcc, libpam0g-dev)", "run as root; apt-get install -y gcc libpam0g-dev")
		needTool(t, false, "the MariaDB server binaries", "apt-get install -y mariadb-server")
	}
	const user = "native_my_user"
	t.Setenv("IAMDB_CA_FILE", d.env["IAMDB_CA_FILE"])
	t.Setenv("IAMDB_MYSQL_PAM_SERVICE", d.env["IAMDB_MYSQL_PAM_SERVICE"]) // as after "source D/env"
	out, errOut, status := runCLI(t, "create-db-user", "--native", "--mysql", d.env["IAMDB_MYSQL_ADMIN_DSN"], user)
	if status != 0 || !strings.HasPrefix(out, "created '"+user+"'@'%'") {
		t.Fatalf("iamdb create-db-user --native --mysql: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	aws := d.aws(t, tools, d.admin)
	rid := strings.TrimSpace(aws.run("rds", "describe-db-instances", "--db-instance-identifier", d.env["IAMDB_MYSQL_INSTANCE"],
		"--query", "DBInstances[0].DbiResourceId", "--output", "text"))
	dbuser := fmt.Sprintf("arn:aws:rds-db:%s:%s:dbuser:%s/%s", d.region, d.account, rid, user)
	aws.run("iam", "create-policy", "--policy-name", "mysql-native-connect", "--policy-document", connectPolicy("Allow", dbuser))
	app := createIAMUser(aws, "mysql-native-app", "arn:aws:iam::"+d.account+":policy/mysql-native-connect")
	secrets = append(secrets, app.creds.SecretAccessKey)
	tok := generateToken(d.aws(t, tools, app.creds), d.myNative, user)
	secrets = append(secrets, tokenSignature(t, tok))

	native := func(args ...string) []string { return append([]string{"--port=" + strconv.Itoa(d.myNative)}, args...) }
	// With AWSAuthenticationPlugin (dev builds it where MariaDB's plugin headers are) the
	// refusal is RDS's word for word; through PAM (auth_pam_v1) MariaDB says NO.
	denied := "ERROR 1045 (28000): Access denied for user '" + user + "'@'127.0.0.1' (using password: YES)"
	plugin := !strings.Contains(d.logs.String(), "native users log in through PAM only")
	if !plugin {
		if os.Getenv("IAMDB_REQUIRE_TOOLS") == "1" {
			t.Fatal("dev could not build AWSAuthenticationPlugin and IAMDB_REQUIRE_TOOLS=1: apt-get install -y libmariadbd-dev")
		}
		denied = strings.Replace(denied, "YES", "NO", 1)
	}
	refused := func(t *testing.T, password, reason string) {
		t.Helper()
		d.expectClientRefused(t, "mariadb on the native port as "+user, func() (string, string, error) {
			return d.mariadb(t, native(d.seed002Args(user, password)...)...)
		}, denied, `msg="authentication failed"`, "native=mysql ", "user="+user+" ", "mode=native ", "reason="+reason+" ")
	}
	t.Run("iam-login", func(t *testing.T) {
		off := len(d.logs.String())
		d.expectMariaDBLogin(t, native(d.seed002Args(user, tok)...), user+"@%")
		if line := d.findLog(off, `msg="connection authorized"`, "native=mysql ", "user="+user+" ", "mode=native ",
			"principal=arn:aws:iam::"+d.account+":user/mysql-native-app "); line == "" {
			t.Errorf("no native 'connection authorized' line naming mysql-native-app:\n%s", d.logs.String()[off:])
		}
		d.expectMariaDBLogin(t, native(d.seed002Args(user, tok)...), user+"@%") // the same token again
	})
	t.Run("no-policy", func(t *testing.T) {
		bad := generateToken(d.aws(t, tools, nopolicy.creds), d.myNative, user)
		secrets = append(secrets, tokenSignature(t, bad))
		refused(t, bad, "implicit-deny")
	})
	t.Run("gateway-port", func(t *testing.T) {
		bad := generateToken(d.aws(t, tools, app.creds), d.myPort, user)
		secrets = append(secrets, tokenSignature(t, bad))
		refused(t, bad, "port-not-allowed")
	})
	t.Run("source-ip", func(t *testing.T) {
		// The plugin hands the verifier the client's address: aws:SourceIp conditions hold
		// natively as through the gateway (auth_pam_v1 gives PAM none).
		if !plugin {
			t.Skip("through PAM (auth_pam_v1) MariaDB native logins have no aws:SourceIp")
		}
		ipPolicy := func(name, cidr string) string {
			aws.run("iam", "create-policy", "--policy-name", name, "--policy-document", fmt.Sprintf(
				`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds-db:connect", "Resource": %q, "Condition": {"IpAddress": {"aws:SourceIp": %q}}}]}`,
				dbuser, cidr))
			return "arn:aws:iam::" + d.account + ":policy/" + name
		}
		here := createIAMUser(aws, "mysql-native-here", ipPolicy("mysql-native-loopback", "127.0.0.0/8"))
		there := createIAMUser(aws, "mysql-native-there", ipPolicy("mysql-native-elsewhere", "10.0.0.0/8"))
		secrets = append(secrets, here.creds.SecretAccessKey, there.creds.SecretAccessKey)
		ok := generateToken(d.aws(t, tools, here.creds), d.myNative, user)
		secrets = append(secrets, tokenSignature(t, ok))
		d.expectMariaDBLogin(t, native(d.seed002Args(user, ok)...), user+"@%")
		bad := generateToken(d.aws(t, tools, there.creds), d.myNative, user)
		secrets = append(secrets, tokenSignature(t, bad))
		refused(t, bad, "implicit-deny")
	})
	t.Run("skip-ssl", func(t *testing.T) {
		// REQUIRE SSL: MariaDB refuses before the token is checked.
		args := native(append([]string{"--skip-ssl"}, d.seed002Args(user, tok)[2:]...)...)
		_, errOut, err := d.mariadb(t, args...)
		if err == nil || !strings.Contains(errOut, "ERROR 1045 (28000): Access denied for user '"+user+"'") {
			t.Errorf("mariadb --skip-ssl on the native port: %v, %q; want 1045", err, errOut)
		}
	})
	d.expectMariaDBLogin(t, native(d.seed002Args(user, tok)...), user+"@%")
	return secrets
}
