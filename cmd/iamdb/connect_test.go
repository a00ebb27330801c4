package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestConnectDoctorPgpass runs iamdb connect, iamdb doctor and iamdb token --format
// pgpass in-process against "iamdb dev", with the admin's keys from the environment.
func TestConnectDoctorPgpass(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		needTool(t, false, "psql", "apt-get install -y postgresql-client")
	}
	d := startDev(t)
	setenv := func(creds awsCreds) {
		t.Setenv("AWS_ACCESS_KEY_ID", creds.AccessKeyID)
		t.Setenv("AWS_SECRET_ACCESS_KEY", creds.SecretAccessKey)
	}
	home := t.TempDir()
	for k, v := range map[string]string{
		"HOME": home, "AWS_CONFIG_FILE": filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"),
		"AWS_REGION": d.region, "AWS_ENDPOINT_URL": d.authURL, "AWS_EC2_METADATA_DISABLED": "true",
		"IAMDB_CA_FILE": d.env["IAMDB_CA_FILE"], "AWS_PROFILE": "", "AWS_SESSION_TOKEN": "", "AWS_DEFAULT_PROFILE": "",
	} {
		t.Setenv(k, v)
	}
	os.Unsetenv("AWS_PROFILE")
	os.Unsetenv("AWS_SESSION_TOKEN")
	os.Unsetenv("AWS_DEFAULT_PROFILE")
	setenv(d.admin)
	d.mustPSQL(t, d.env["IAMDB_PG_ADMIN_URL"], "", "CREATE USER conn_user WITH LOGIN; GRANT rds_iam TO conn_user")
	pgPort := strconv.Itoa(d.port)
	call := func(args ...string) (string, string, error) {
		var stdout, stderr bytes.Buffer
		err := hooks{stdin: strings.NewReader("")}.run(context.Background(), args, &stdout, &stderr)
		return stdout.String(), stderr.String(), err
	}

	t.Run("connect psql", func(t *testing.T) {
		out, errOut, err := call("connect", "psql", "--hostname", "localhost", "--port", pgPort, "--username", "conn_user", "--dbname", "postgres",
			"--", "-X", "-At", "-c", "select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()")
		if err != nil || strings.TrimSpace(out) != "conn_user|t" {
			t.Errorf("iamdb connect psql = %v, %q (stderr %q); want conn_user|t", err, out, errOut)
		}
		// The client's exit status is connect's.
		_, _, err = call("connect", "psql", "--hostname", "localhost", "--port", pgPort, "--username", "conn_user", "--dbname", "postgres", "--", "-X", "-c", "select nosuchcolumn")
		var code exitCode
		if !errors.As(err, &code) || code == 0 {
			t.Errorf("iamdb connect psql with a failing query = %v, want the client's exit status", err)
		}
		if _, errOut, _ := call("connect", "psql", "--hostname", "localhost", "--port", pgPort, "--username", "conn_user", "--dbname", "postgres", "--", "-X", "-c", "select nosuchcolumn"); strings.Contains(errOut, "iamdb doctor") {
			t.Errorf("iamdb connect psql with a failing query (not a refused login) printed doctor's command: %q", errOut)
		}
		// Signing for another name than the one dialled: the gateway knows only its own.
		_, errOut, err = call("connect", "psql", "--hostname", "localhost", "--port", pgPort, "--username", "conn_user", "--signing-host", "tunnel.example.com", "--", "-X", "-c", "select 1")
		if err == nil || !strings.Contains(errOut, `PAM authentication failed for user "conn_user"`) ||
			!strings.Contains(errOut, "iamdb connect: the login was refused; the cause and its fix: iamdb doctor --hostname localhost --port "+pgPort+
				" --username conn_user --engine postgres --signing-host tunnel.example.com --ca-file ") {
			t.Errorf("iamdb connect --signing-host elsewhere = %v, %q; want a refused login and doctor's command", err, errOut)
		}
		if line := d.findLog(0, `msg="authentication failed"`, "user=conn_user ", "reason=host-not-allowed "); line == "" {
			t.Error("no host-not-allowed refusal logged for --signing-host")
		}
	})

	t.Run("connect mysql", func(t *testing.T) {
		if d.maria == nil {
			t.Skip("MariaDB is not installed")
		}
		if _, err := exec.LookPath("mariadb"); err != nil {
			needTool(t, false, "the mariadb client", "apt-get install -y mariadb-client")
		}
		if _, errOut, err := call("create-db-user", "--mysql", d.env["IAMDB_MYSQL_ADMIN_DSN"], "conn_my"); err != nil {
			t.Fatalf("create-db-user: %v %s", err, errOut)
		}
		out, errOut, err := call("connect", "mysql", "--hostname", "localhost", "--port", d.env["IAMDB_MYSQL_PORT"], "--username", "conn_my",
			"--", "--batch", "--skip-column-names", "-e", "select current_user(), variable_value <> '' from information_schema.session_status where variable_name = 'Ssl_cipher'")
		if err != nil || strings.TrimSpace(out) != "conn_my@%\t1" {
			t.Errorf("iamdb connect mysql = %v, %q (stderr %q); want conn_my@%%, TLS", err, out, errOut)
		}
	})

	// Native mode: the same commands, unchanged, against the databases' own ports.
	t.Run("connect psql native", func(t *testing.T) {
		if d.pgNative == 0 {
			needTool(t, false, "native mode (root, gcc, libpam0g-dev)", "run as root; apt-get install -y gcc libpam0g-dev")
		}
		out, errOut, err := call("connect", "psql", "--hostname", "localhost", "--port", strconv.Itoa(d.pgNative), "--username", "conn_user", "--dbname", "postgres",
			"--", "-X", "-At", "-c", "select current_user, ssl, inet_server_port() from pg_stat_ssl where pid = pg_backend_pid()")
		if want := "conn_user|t|" + strconv.Itoa(d.pgNative); err != nil || strings.TrimSpace(out) != want {
			t.Errorf("iamdb connect psql (native) = %v, %q (stderr %q); want %s", err, out, errOut, want)
		}
		if line := d.findLog(0, `msg="connection authorized"`, "native=postgres ", "user=conn_user "); line == "" {
			t.Error("no native login of conn_user logged")
		}
	})
	t.Run("connect mysql native", func(t *testing.T) {
		if d.myNative == 0 {
			needTool(t, d.maria == nil, "native mode (root, gcc, libpam0g-dev)", "run as root; apt-get install -y gcc libpam0g-dev")
			t.Skip("MariaDB is not installed")
		}
		t.Setenv("IAMDB_MYSQL_PAM_SERVICE", d.env["IAMDB_MYSQL_PAM_SERVICE"])
		if _, errOut, err := call("create-db-user", "--native", "--mysql", d.env["IAMDB_MYSQL_ADMIN_DSN"], "conn_native"); err != nil {
			t.Fatalf("create-db-user --native: %v %s", err, errOut)
		}
		out, errOut, err := call("connect", "mysql", "--hostname", "localhost", "--port", strconv.Itoa(d.myNative), "--username", "conn_native",
			"--", "--batch", "--skip-column-names", "-e", "select current_user(), @@port, variable_value <> '' from information_schema.session_status where variable_name = 'Ssl_cipher'")
		if want := "conn_native@%\t" + strconv.Itoa(d.myNative) + "\t1"; err != nil || strings.TrimSpace(out) != want {
			t.Errorf("iamdb connect mysql (native) = %v, %q (stderr %q); want %q", err, out, errOut, want)
		}
	})

	t.Run("doctor native", func(t *testing.T) {
		if d.pgNative == 0 {
			needTool(t, false, "native mode (root, gcc, libpam0g-dev)", "run as root; apt-get install -y gcc libpam0g-dev")
		}
		port := strconv.Itoa(d.pgNative)
		out, errOut, err := call("doctor", "--hostname", "localhost", "--port", port, "--username", "conn_user", "--dbname", "postgres",
			"--native-socket", d.env["IAMDB_PG_NATIVE_SOCKET"])
		if err != nil || !strings.Contains(out, "ok    tls          localhost:"+port+" (postgres): TLS 1.3") || strings.Contains(out, "FAIL") {
			t.Errorf("iamdb doctor on the native port = %v:\n%s%s", err, out, errOut)
		}
		for _, want := range []string{"ok    native ", "ok    native_login "} {
			if !strings.Contains(out, want) {
				t.Errorf("iamdb doctor on the native port: output lacks %q:\n%s", want, out)
			}
		}
		// A token for the gateway's port is not one for the native port: doctor says so.
		out, _, err = call("doctor", "--hostname", "localhost", "--port", pgPort, "--username", "conn_user",
			"--native-socket", d.env["IAMDB_PG_NATIVE_SOCKET"])
		if err == nil || !strings.Contains(out, "port-not-allowed") {
			t.Errorf("iamdb doctor with the gateway's port and the native socket = %v, want port-not-allowed:\n%s", err, out)
		}
	})

	t.Run("connect needs a CA", func(t *testing.T) {
		t.Setenv("IAMDB_CA_FILE", "")
		_, _, err := call("connect", "psql", "--hostname", "localhost", "--port", pgPort, "--username", "conn_user")
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), "--ca-file") {
			t.Errorf("iamdb connect without a CA = %v, want a usage error naming --ca-file", err)
		}
	})

	t.Run("doctor", func(t *testing.T) {
		out, errOut, err := call("doctor", "--hostname", "localhost", "--port", pgPort, "--username", "conn_user", "--dbname", "postgres")
		for _, want := range []string{"ok    credentials  " + d.admin.AccessKeyID + " from EnvConfigCredentials", "ok    region       " + d.region,
			"ok    identity     arn:aws:iam::" + d.account + ":user/admin", "ok    tls          localhost:" + pgPort + " (postgres): TLS 1.3",
			"ok    token        accepted for conn_user as arn:aws:iam::" + d.account + ":user/admin"} {
			if !strings.Contains(out, want) {
				t.Errorf("iamdb doctor: output lacks %q:\n%s%s", want, out, errOut)
			}
		}
		if err != nil {
			t.Errorf("iamdb doctor = %v\n%s", err, out)
		}
		if d.maria != nil {
			out, _, err := call("doctor", "--hostname", "localhost", "--port", d.env["IAMDB_MYSQL_PORT"], "--username", "conn_my")
			if err != nil || !strings.Contains(out, "(mysql): TLS 1.3") {
				t.Errorf("iamdb doctor (MySQL) = %v:\n%s", err, out)
			}
		}
		// A user without a policy: the authority says why, to the caller itself.
		tools := findClientTools(t)
		needTool(t, tools.awsV2 != "", "the AWS CLI v2", "apt-get install -y awscli")
		nobody := createIAMUser(d.aws(t, tools, d.admin), "doctor-nobody")
		setenv(nobody.creds)
		defer setenv(d.admin)
		out, _, err = call("doctor", "--hostname", "localhost", "--port", pgPort, "--username", "conn_user")
		var code exitCode
		if !errors.As(err, &code) || code != 1 || !strings.Contains(out, "FAIL  token        refused: implicitDeny (principal arn:aws:iam::"+d.account+":user/doctor-nobody)") ||
			!strings.Contains(out, "fix: attach a policy allowing rds-db:connect") {
			t.Errorf("iamdb doctor as a user without a policy = %v:\n%s", err, out)
		}
		// A certificate nobody trusts.
		setenv(d.admin)
		out, _, err = call("doctor", "--hostname", "localhost", "--port", pgPort, "--username", "conn_user", "--ca-file", "/etc/ssl/certs/ca-certificates.crt", "--engine", "postgres")
		if err == nil || !strings.Contains(out, "FAIL  tls ") || !strings.Contains(out, "pass --ca-file with the gateway's CA") {
			t.Errorf("iamdb doctor with the wrong CA = %v:\n%s", err, out)
		}
	})

	t.Run("connect with web identity from a loopback http issuer", func(t *testing.T) {
		// iamdb dev trusts "iamdb oidc serve" on 127.0.0.1 without TLS; the SDK's chain
		// in iamdb connect exchanges the projected token for the role's credentials.
		oidcDir := filepath.Join(t.TempDir(), "oidc")
		issuer := startOIDCServe(t, "--dir", oidcDir, "--listen", "127.0.0.1:0")
		if !strings.HasPrefix(issuer, "http://127.0.0.1:") {
			t.Fatalf("issuer %q, want a plain http loopback one", issuer)
		}
		tools := findClientTools(t)
		needTool(t, tools.awsV2 != "", "the AWS CLI v2", "apt-get install -y awscli")
		admin := d.aws(t, tools, d.admin)
		hp := strings.TrimPrefix(issuer, "http://")
		provARN := strings.TrimSpace(admin.run("iam", "create-open-id-connect-provider", "--url", "https://"+hp,
			"--client-id-list", "sts.amazonaws.com", "--thumbprint-list", "0000000000000000000000000000000000000000", "--query", "OpenIDConnectProviderArn", "--output", "text"))
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provARN + `"},` +
			`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + hp + `:sub":"system:serviceaccount:shop:orders"}}}]}`
		roleARN := strings.TrimSpace(admin.run("iam", "create-role", "--role-name", "orders-irsa", "--assume-role-policy-document", trust,
			"--query", "Role.Arn", "--output", "text"))
		admin.run("iam", "put-role-policy", "--role-name", "orders-irsa", "--policy-name", "connect", "--policy-document",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"arn:aws:rds-db:`+d.region+`:`+d.account+`:dbuser:*/conn_user"}]}`)
		tokenFile := filepath.Join(t.TempDir(), "token")
		oidcToken(t, "--dir", oidcDir, "--sub", "system:serviceaccount:shop:orders", "--aud", "sts.amazonaws.com", "--out", tokenFile)
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		os.Unsetenv("AWS_ACCESS_KEY_ID")
		os.Unsetenv("AWS_SECRET_ACCESS_KEY")
		t.Setenv("AWS_ROLE_ARN", roleARN)
		t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
		t.Setenv("AWS_ROLE_SESSION_NAME", "orders-pod")
		// As D/env exports it: credential providers resolve before AWS_ENDPOINT_URL applies.
		t.Setenv("AWS_ENDPOINT_URL_STS", d.env["AWS_ENDPOINT_URL_STS"])
		out, errOut, err := call("connect", "psql", "--hostname", "localhost", "--port", pgPort, "--username", "conn_user", "--dbname", "postgres",
			"--", "-X", "-At", "-c", "select current_user")
		if err != nil || strings.TrimSpace(out) != "conn_user" {
			t.Errorf("iamdb connect psql with web identity = %v, %q (stderr %q)", err, out, errOut)
		}
		if line := d.findLog(0, `msg="connection authorized"`, "user=conn_user ", "principal=arn:aws:sts::"+d.account+":assumed-role/orders-irsa/orders-pod "); line == "" {
			t.Errorf("no login as the web identity session logged:\n%s", d.logs.String())
		}
	})

	t.Run("connect with a role_arn and source_profile profile", func(t *testing.T) {
		tools := findClientTools(t)
		needTool(t, tools.awsV2 != "", "the AWS CLI v2", "apt-get install -y awscli")
		admin := d.aws(t, tools, d.admin)
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + d.account + `:root"},"Action":"sts:AssumeRole"}]}`
		roleARN := strings.TrimSpace(admin.run("iam", "create-role", "--role-name", "connect-role", "--assume-role-policy-document", trust,
			"--query", "Role.Arn", "--output", "text"))
		admin.run("iam", "put-role-policy", "--role-name", "connect-role", "--policy-name", "connect", "--policy-document",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"arn:aws:rds-db:`+d.region+`:`+d.account+`:dbuser:*/conn_user"}]}`)
		pdir := t.TempDir()
		creds := filepath.Join(pdir, "credentials")
		config := filepath.Join(pdir, "config")
		if err := os.WriteFile(creds, []byte("[base]\naws_access_key_id = "+d.admin.AccessKeyID+"\naws_secret_access_key = "+d.admin.SecretAccessKey+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(config, []byte("[profile app]\nrole_arn = "+roleARN+"\nsource_profile = base\nrole_session_name = connect-session\nregion = "+d.region+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
		t.Setenv("AWS_CONFIG_FILE", config)
		t.Setenv("AWS_ENDPOINT_URL_STS", d.env["AWS_ENDPOINT_URL_STS"])
		for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
		out, errOut, err := call("connect", "psql", "--profile", "app", "--hostname", "localhost", "--port", pgPort, "--username", "conn_user", "--dbname", "postgres",
			"--", "-X", "-At", "-c", "select current_user")
		if err != nil || strings.TrimSpace(out) != "conn_user" {
			t.Errorf("iamdb connect psql --profile app = %v, %q (stderr %q)", err, out, errOut)
		}
		if line := d.findLog(0, `msg="connection authorized"`, "user=conn_user ", "principal=arn:aws:sts::"+d.account+":assumed-role/connect-role/connect-session "); line == "" {
			t.Errorf("no login as the profile's role session logged")
		}
	})

	t.Run("token --format pgpass", func(t *testing.T) {
		out, errOut, err := call("token", "--hostname", "localhost", "--port", pgPort, "--username", "conn_user", "--format", "pgpass")
		if err != nil || !strings.HasPrefix(out, "localhost:"+pgPort+":*:conn_user:localhost\\:"+pgPort+"/?Action=connect&DBUser=conn_user&") {
			t.Fatalf("iamdb token --format pgpass = %v, %q %q", err, out, errOut)
		}
		pgpass := filepath.Join(t.TempDir(), "pgpass")
		if err := os.WriteFile(pgpass, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		env := append(toolEnv(t, d.region), "PGPASSFILE="+pgpass)
		got, errOut, err := runTool(t.TempDir(), env, "psql", "-X", "-At", "-d", d.conninfo("conn_user", "verify-full"), "-c", "select current_user")
		if err != nil || strings.TrimSpace(got) != "conn_user" {
			t.Errorf("psql with the pgpass line: %v, %q, %q", err, got, errOut)
		}
	})
}

// libpq ignores sslmode on a Unix socket, and sends each host of a list the same password:
// connect psql refuses both before minting a token.
func TestConnectPsqlRefusesSocketsAndHostLists(t *testing.T) {
	isolateAWS(t, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("not read before the check"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"/var/run/postgresql", "@abstract", "db1.internal,db2.internal"} {
		var out, errb bytes.Buffer
		err := hooks{}.run(context.Background(), []string{"connect", "psql", "--hostname", host, "--port", "5432", "--username", "app",
			"--region", "eu-west-1", "--ca-file", ca, "--signing-host", "mydb.abc.eu-west-1.rds.amazonaws.com"}, &out, &errb)
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), "a Unix socket (no TLS) or several hosts") {
			t.Errorf("connect psql --hostname %s = %v; want a usage error", host, err)
		}
	}
}
