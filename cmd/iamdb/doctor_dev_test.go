package main

// iamdb doctor against iamdb dev: each common first-login mistake set up deliberately,
// with the real clients (the AWS CLI v2 makes the users, policies and tokens; psql and
// mariadb log in), doctor naming the cause and the fix and exiting 1; with everything
// right it exits 0 and the login succeeds. One dev instance serves every case; doctor runs
// as a child process with an environment of its own, as a user runs it.

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/iamdb/iamdb/internal/dbreport"
	"github.com/iamdb/iamdb/internal/doctor"
	"github.com/iamdb/iamdb/token"
)

// doctorEnv is the environment doctor runs with: the dev authority and CA, creds (none if
// zero), none of the machine's AWS, PG and MySQL settings, and extra. It is clipped:
// parallel subtests append to one environment, and must not share its spare capacity.
func (d *devInstance) doctorEnv(t *testing.T, creds awsCreds, extra ...string) []string {
	t.Helper()
	env := append(clientEnv(t, d.region, "PG", "MYSQL", "LIBMYSQL", "MARIADB"),
		"AWS_REGION="+d.region, "AWS_ENDPOINT_URL="+d.authURL, "IAMDB_CA_FILE="+d.env["IAMDB_CA_FILE"])
	if creds.AccessKeyID != "" {
		env = append(env, "AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey)
	}
	return slices.Clip(append(env, extra...))
}

// doctorChild runs "iamdb doctor ARGS" with env and returns its standard output and exit
// status.
func doctorChild(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := helperCommand(env, append([]string{"doctor"}, args...)...)
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			cmd.Process.Kill()
		case <-done:
		}
	}()
	out, err := cmd.Output()
	close(done)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		if exit.ExitCode() != 1 {
			t.Errorf("iamdb doctor %q: exit %d, stderr %q", args, exit.ExitCode(), stderr.String())
		}
		return string(out), exit.ExitCode()
	}
	t.Fatalf("iamdb doctor %q: %v", args, err)
	return "", 0
}

// doctorConnect asks the PostgreSQL gateway for its report on user with password, as
// doctor does: the report, or the error the gateway answered instead.
func (d *devInstance) doctorConnect(t *testing.T, user, password string) (dbreport.Report, error) {
	t.Helper()
	cfg, err := pgconn.ParseConfig(fmt.Sprintf("host=localhost port=%d user=%s sslmode=verify-full sslrootcert=%s", d.port, user, d.env["IAMDB_CA_FILE"]))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password, cfg.RuntimeParams[dbreport.Param] = password, "1"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	if err == nil {
		pc.Close(ctx)
		return dbreport.Report{}, errors.New("the gateway logged doctor in")
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != dbreport.PGCode {
		return dbreport.Report{}, err
	}
	return dbreport.Decode(pgErr.Detail)
}

// expectFinding checks that doctor's output has a FAIL (or WARN) line of check holding
// detail, followed by a fix holding fix, and that it exited 1.
func expectFinding(t *testing.T, out string, status int, check, detail, fix string) {
	t.Helper()
	if status != 1 {
		t.Errorf("doctor: exit %d, want 1:\n%s", status, out)
	}
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if !(strings.HasPrefix(l, "FAIL  ") || strings.HasPrefix(l, "WARN  ")) || !strings.HasPrefix(l[6:], fmt.Sprintf("%-12s ", check)) || !strings.Contains(l, detail) {
			continue
		}
		for _, f := range lines[i+1:] {
			if !strings.HasPrefix(f, "      ") {
				break
			}
			if strings.Contains(f, "fix: ") && strings.Contains(f, fix) {
				return
			}
		}
	}
	t.Errorf("doctor: no %s finding with %q and a fix with %q:\n%s", check, detail, fix, out)
}

func TestDoctorDev(t *testing.T) {
	tools := needPsqlAndAWSV2(t)
	d := startDev(t, "--native=false")

	// The database users, and the policies: a right one (PostgreSQL's and MariaDB's
	// iam users), one naming the cluster by its identifier, and reading one's own policies
	// and the databases (what lets doctor name the identifier mistake).
	// The database side's mistakes: a user not in rds_iam, a database without CONNECT.
	d.mustPSQL(t, d.env["IAMDB_PG_ADMIN_URL"], "", "CREATE USER "+devIAMUser+" WITH LOGIN; GRANT rds_iam TO "+devIAMUser+
		"; CREATE USER plain_user WITH LOGIN;")
	d.mustPSQL(t, d.env["IAMDB_PG_ADMIN_URL"], "", "CREATE DATABASE doctor_closed")
	d.mustPSQL(t, d.env["IAMDB_PG_ADMIN_URL"], "", "REVOKE CONNECT ON DATABASE doctor_closed FROM PUBLIC")
	admin := d.aws(t, tools, d.admin)
	rid := strings.TrimSpace(admin.run("rds", "describe-db-clusters", "--db-cluster-identifier", d.env["IAMDB_PG_CLUSTER"],
		"--query", "DBClusters[0].DbClusterResourceId", "--output", "text"))
	arnOf := func(resourceID, user string) string {
		return fmt.Sprintf("arn:aws:rds-db:%s:%s:dbuser:%s/%s", d.region, d.account, resourceID, user)
	}
	resources := []string{arnOf(rid, devIAMUser), arnOf(rid, "nobody"), arnOf(rid, "Iam_User"), arnOf(rid, "plain_user")}
	if d.maria != nil {
		t.Setenv("IAMDB_CA_FILE", d.env["IAMDB_CA_FILE"])
		if out, errOut, status := runCLI(t, "create-db-user", "--mysql", d.env["IAMDB_MYSQL_ADMIN_DSN"], devMySQLIAMUser); status != 0 {
			t.Fatalf("iamdb create-db-user --mysql: status %d, %s%s", status, out, errOut)
		}
		myRID := strings.TrimSpace(admin.run("rds", "describe-db-instances", "--db-instance-identifier", d.env["IAMDB_MYSQL_INSTANCE"],
			"--query", "DBInstances[0].DbiResourceId", "--output", "text"))
		resources = append(resources, arnOf(myRID, devMySQLIAMUser), arnOf(myRID, "nobody"), arnOf(myRID, "My_Iam_User"))
	}
	good, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Sid": "Connect", "Effect": "Allow", "Action": "rds-db:connect", "Resource": resources}}})
	policyARN := func(name string) string { return "arn:aws:iam::" + d.account + ":policy/" + name }
	admin.run("iam", "create-policy", "--policy-name", "doctor-connect", "--policy-document", string(good))
	admin.run("iam", "create-policy", "--policy-name", "doctor-by-identifier", "--policy-document",
		connectPolicy("Allow", arnOf(d.env["IAMDB_PG_CLUSTER"], devIAMUser)))
	admin.run("iam", "create-policy", "--policy-name", "doctor-read-own", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","rds:Describe*"],"Resource":"*"}]}`)
	var app, byID iamUser
	t.Run("aws-setup", func(t *testing.T) {
		t.Run("app", func(t *testing.T) {
			t.Parallel()
			app = createIAMUser(d.aws(t, tools, d.admin), "doctor-app", policyARN("doctor-connect"))
		})
		t.Run("by-identifier", func(t *testing.T) {
			t.Parallel()
			byID = createIAMUser(d.aws(t, tools, d.admin), "doctor-byid", policyARN("doctor-by-identifier"), policyARN("doctor-read-own"))
		})
	})
	if t.Failed() {
		t.FailNow()
	}
	port := strconv.Itoa(d.port)
	login := []string{"--hostname", "localhost", "--port", port, "--username", devIAMUser, "--dbname", "postgres"}
	appEnv := d.doctorEnv(t, app.creds)
	appToken := generateToken(d.aws(t, tools, app.creds), d.port, devIAMUser)

	// The cases in parallel: each sets up its own mistake and leaves the others' alone.
	t.Run("findings", func(t *testing.T) {
		t.Run("all-right", func(t *testing.T) {
			t.Parallel()
			out, status := doctorChild(t, appEnv, login...)
			if status != 0 || !strings.Contains(out, "ok    token        accepted for "+devIAMUser+" as arn:aws:iam::"+d.account+":user/doctor-app") ||
				!strings.Contains(out, "ok    clock        within ") || !strings.Contains(out, `ok    db_user      "iam_user" exists, may log in and is a member of rds_iam`) ||
				!strings.Contains(out, `ok    dbname       "postgres" exists and "iam_user" may connect to it`) ||
				!regexp.MustCompile(`ok    db_hba       pg_hba.conf line \d+ lets the gateway's certificate login in \(cert\)`).MatchString(out) {
				t.Errorf("doctor with everything right: exit %d\n%s", status, out)
			}
			// The client's own token too, and the login then succeeds.
			out, status = doctorChild(t, append(appEnv, "PGPASSWORD="+appToken), append(login, "--token-env", "PGPASSWORD")...)
			if status != 0 {
				t.Errorf("doctor --token-env PGPASSWORD with a right token: exit %d\n%s", status, out)
			}
			d.expectLogin(t, devIAMUser, appToken)
			// --format json: one document, ok.
			out, status = doctorChild(t, appEnv, append(login, "--format", "json")...)
			var rep doctor.Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.OK || status != 0 || len(rep.Checks) < 5 {
				t.Errorf("doctor --format json: exit %d, %v\n%s", status, err, out)
			}
		})

		t.Run("database", func(t *testing.T) {
			t.Parallel()
			// No --dbname: libpq's default, the user's name, does not exist (issue 21).
			out, status := doctorChild(t, appEnv, slices.Clone(login[:len(login)-2])...)
			expectFinding(t, out, status, "dbname", `the database "iam_user" does not exist (no --dbname: the driver's default, the user's name)`, "psql -d NAME")
			d.expectClientRefused(t, "psql without dbname", func() (string, string, error) {
				return d.psql(t, strings.Replace(d.conninfo(devIAMUser, "verify-full"), "dbname=postgres ", "", 1), appToken, "select 1")
			}, `database "iam_user" does not exist`)
			// A user the database does not have, though the policy allows it.
			nobody := []string{"--hostname", "localhost", "--port", port, "--username", "nobody", "--dbname", "postgres"}
			out, status = doctorChild(t, appEnv, nobody...)
			expectFinding(t, out, status, "db_user", `the database has no user "nobody"`, "CREATE USER nobody WITH LOGIN; GRANT rds_iam TO nobody;")
			// A user that exists in another case.
			out, status = doctorChild(t, appEnv, "--hostname", "localhost", "--port", port, "--username", "Iam_User", "--dbname", "postgres")
			expectFinding(t, out, status, "user_case", `the database has no user "Iam_User", but "iam_user"`, "log in as iam_user")
			// A user that is not a member of rds_iam: the gateway relays its token as a password.
			out, status = doctorChild(t, appEnv, "--hostname", "localhost", "--port", port, "--username", "plain_user", "--dbname", "postgres")
			expectFinding(t, out, status, "db_user", `the user "plain_user" is not a member of rds_iam`, "GRANT rds_iam TO plain_user;")
			// A database the user may not connect to.
			out, status = doctorChild(t, appEnv, append(slices.Clone(login[:len(login)-1]), "doctor_closed")...)
			expectFinding(t, out, status, "dbname", `"iam_user" may not connect to the database "doctor_closed" (no CONNECT privilege)`, "GRANT CONNECT ON DATABASE doctor_closed TO iam_user;")
			d.expectClientRefused(t, "psql to doctor_closed", func() (string, string, error) {
				return d.psql(t, strings.Replace(d.conninfo(devIAMUser, "verify-full"), "dbname=postgres", "dbname=doctor_closed", 1), appToken, "select 1")
			}, `permission denied for database "doctor_closed"`)

			// The gateway answers only a token it would let in, and refuses the others word
			// for word as a login: a principal without the policy, a token that is not one.
			byIDToken := generateToken(d.aws(t, tools, byID.creds), d.port, devIAMUser)
			for _, pw := range []string{byIDToken, "not-a-token"} {
				_, err := d.doctorConnect(t, devIAMUser, pw)
				var pgErr *pgconn.PgError
				if !errors.As(err, &pgErr) || pgErr.Code != "28000" || pgErr.Message != `PAM authentication failed for user "iam_user"` || pgErr.Detail != "" {
					t.Errorf("doctor's request with a refused token: %v, want the login's refusal", err)
				}
			}
			rep, err := d.doctorConnect(t, devIAMUser, appToken)
			if err != nil || !rep.UserExists || !rep.RDSIAM || rep.Database != devIAMUser || rep.DatabaseExists {
				t.Errorf("doctor's request with a good token: %+v, %v", rep, err)
			}
			if line := d.findLog(0, `msg="doctor report"`, "mode=doctor ", "principal=arn:aws:iam::"+d.account+":user/doctor-app "); line == "" {
				t.Errorf("no doctor report in the gateway's log:\n%s", d.logs.String())
			}
		})

		t.Run("signing-host", func(t *testing.T) {
			t.Parallel()
			// Signed for a name the database is not registered with (a CNAME, a tunnel):
			// doctor names the registered one, for a caller that may describe databases.
			out, status := doctorChild(t, d.doctorEnv(t, byID.creds), append(login, "--signing-host", "db.example.internal")...)
			expectFinding(t, out, status, "endpoint", "no database is registered at db.example.internal:"+port+" (--signing-host): the cluster iamdb-dev-pg on port "+port+" is registered as localhost",
				"--signing-host localhost")
			// --format json: the same finding, not ok.
			out, status = doctorChild(t, d.doctorEnv(t, byID.creds), append(login, "--signing-host", "db.example.internal", "--format", "json")...)
			var rep doctor.Report
			err := json.Unmarshal([]byte(out), &rep)
			i := slices.IndexFunc(rep.Checks, func(c doctor.JSONResult) bool { return c.Check == "endpoint" })
			if err != nil || rep.OK || status != 1 || i < 0 || rep.Checks[i].Status != "fail" || !strings.Contains(rep.Checks[i].Fix, "--signing-host localhost") {
				t.Errorf("doctor --format json with a wrong signing host: exit %d, %v\n%s", status, err, out)
			}
			// The client's token signed for another host and another port than dialled.
			for _, tt := range []struct {
				args                 []string
				check, found, reason string
			}{
				{[]string{"--hostname", "db.example.internal"}, "token_host", "is signed for host db.example.internal; the login goes to localhost", "host-not-allowed"},
				{[]string{"--port", strconv.Itoa(d.port + 1)}, "token_port", fmt.Sprintf("is signed for port %d; the login goes to port %d", d.port+1, d.port), "port-not-allowed"},
			} {
				tok := generateToken(d.aws(t, tools, app.creds), d.port, devIAMUser, tt.args...)
				out, status := doctorChild(t, append(appEnv, "PGPASSWORD="+tok), append(login, "--token-env", "PGPASSWORD")...)
				expectFinding(t, out, status, tt.check, "$PGPASSWORD "+tt.found, "aws rds generate-db-auth-token --hostname localhost --port "+port)
				d.expectRefused(t, d.conninfo(devIAMUser, "verify-full"), devIAMUser, tok, pamFailed(devIAMUser), tt.reason)
			}
		})

		t.Run("region", func(t *testing.T) {
			t.Parallel()
			out, status := doctorChild(t, d.doctorEnv(t, byID.creds), append(login, "--region", "eu-west-1")...)
			expectFinding(t, out, status, "region", "the token is signed for region eu-west-1; the cluster iamdb-dev-pg is in "+d.region, "--region "+d.region)
			tok := generateToken(d.aws(t, tools, app.creds), d.port, devIAMUser, "--region", "eu-west-1")
			out, status = doctorChild(t, append(appEnv, "PGPASSWORD="+tok), append(login, "--token-env", "PGPASSWORD")...)
			expectFinding(t, out, status, "token_region", "$PGPASSWORD is signed for region eu-west-1; the configured region is "+d.region, "--region")
			d.expectRefused(t, d.conninfo(devIAMUser, "verify-full"), devIAMUser, tok, pamFailed(devIAMUser), "wrong-scope-region")
		})

		t.Run("policy-identifier", func(t *testing.T) {
			t.Parallel()
			out, status := doctorChild(t, d.doctorEnv(t, byID.creds), login...)
			expectFinding(t, out, status, "policy_arn", `"iamdb-dev-pg" is the cluster's identifier, not its resource id `+rid, "arn:aws:rds-db:"+d.region+":"+d.account+":dbuser:"+rid+"/"+devIAMUser)
			tok := generateToken(d.aws(t, tools, byID.creds), d.port, devIAMUser)
			d.expectRefused(t, d.conninfo(devIAMUser, "verify-full"), devIAMUser, tok, pamFailed(devIAMUser), "implicit-deny")
		})

		t.Run("user-case", func(t *testing.T) {
			t.Parallel()
			upper := strings.ToUpper(devIAMUser)
			out, status := doctorChild(t, appEnv, "--hostname", "localhost", "--port", port, "--username", upper)
			expectFinding(t, out, status, "user_case", fmt.Sprintf("may log in as %q", devIAMUser), "log in as "+devIAMUser)
			// The token for the user in another case than the login's.
			tok := generateToken(d.aws(t, tools, app.creds), d.port, upper)
			out, status = doctorChild(t, append(appEnv, "PGPASSWORD="+tok), append(login, "--token-env", "PGPASSWORD")...)
			expectFinding(t, out, status, "user_case", fmt.Sprintf("$PGPASSWORD is signed for user %q, the login is as %q", upper, devIAMUser), "--username "+devIAMUser)
			d.expectRefused(t, d.conninfo(devIAMUser, "verify-full"), devIAMUser, tok, pamFailed(devIAMUser), "user-mismatch")
		})

		t.Run("token-age", func(t *testing.T) {
			t.Parallel()
			// A token signed 20 minutes ago (the AWS CLI cannot back-date one).
			old, err := token.Build("localhost:"+port, d.region, devIAMUser,
				token.Credentials{AccessKeyID: app.creds.AccessKeyID, SecretAccessKey: app.creds.SecretAccessKey}, time.Now().Add(-20*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			out, status := doctorChild(t, append(appEnv, "PGPASSWORD="+old), append(login, "--token-env", "PGPASSWORD")...)
			expectFinding(t, out, status, "token_age", "ago: it expired after 15m0s", "sign a fresh token for each new connection")
			d.expectRefused(t, d.conninfo(devIAMUser, "verify-full"), devIAMUser, old, pamFailed(devIAMUser), "expired")
		})

		t.Run("profile", func(t *testing.T) {
			t.Parallel()
			// The default profile is doctor-byid's; the policy is attached to doctor-app,
			// whose keys are profile "app"'s.
			dir := t.TempDir()
			creds := writeFile(t, dir, "credentials", fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n[app]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
				byID.creds.AccessKeyID, byID.creds.SecretAccessKey, app.creds.AccessKeyID, app.creds.SecretAccessKey))
			env := d.doctorEnv(t, awsCreds{}, "AWS_SHARED_CREDENTIALS_FILE="+creds)
			out, status := doctorChild(t, env, login...)
			expectFinding(t, out, status, "profile", `profile "app" is arn:aws:iam::`+d.account+`:user/doctor-app, allowed by policy `+policyARN("doctor-connect"), "--profile app")
			if !strings.Contains(out, "the credentials doctor found are arn:aws:iam::"+d.account+":user/doctor-byid's") {
				t.Errorf("doctor with the wrong profile does not name the principal found:\n%s", out)
			}
			if out, status := doctorChild(t, env, append(login, "--profile", "app")...); status != 0 {
				t.Errorf("doctor --profile app: exit %d\n%s", status, out)
			}
		})

		t.Run("tls-off", func(t *testing.T) {
			t.Parallel()
			out, status := doctorChild(t, append(appEnv, "PGSSLMODE=disable"), login...)
			expectFinding(t, out, status, "client_tls", "PGSSLMODE=disable", "PGSSLMODE=verify-full")
			d.expectRefused(t, d.conninfo(devIAMUser, "disable"), devIAMUser, appToken, "SSL off", "no-ssl")
			// A server that does not offer TLS, as PostgreSQL with ssl = off answers the
			// SSLRequest: 'N' (dev's backend has TLS on).
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					var req [8]byte
					if _, err := io.ReadFull(c, req[:]); err == nil {
						c.Write([]byte{'N'})
					}
					c.Close()
				}
			}()
			_, noTLSPort, _ := net.SplitHostPort(ln.Addr().String())
			out, status = doctorChild(t, appEnv, "--hostname", "127.0.0.1", "--port", noTLSPort, "--signing-host", "localhost", "--username", devIAMUser, "--engine", "postgres")
			expectFinding(t, out, status, "tls", "127.0.0.1:"+noTLSPort+" (postgres)", "this server does not offer it")
		})

		t.Run("mysql", func(t *testing.T) {
			t.Parallel()
			needTool(t, d.maria != nil, "the MariaDB server binaries", "apt-get install -y mariadb-server")
			myPort := strconv.Itoa(d.myPort)
			my := []string{"--port", myPort, "--username", devMySQLIAMUser, "--engine", "mysql"}
			// Oracle's mysql without the cleartext plugin.
			out, status := doctorChild(t, appEnv, append(my, "--hostname", "127.0.0.1", "--signing-host", "localhost", "--client", "mysql")...)
			expectFinding(t, out, status, "cleartext", "LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN is not set", "--enable-cleartext-plugin")
			// localhost with libmysqlclient: the Unix socket, not the gateway's port.
			out, status = doctorChild(t, append(appEnv, "LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN=1"), append(my, "--hostname", "localhost", "--client", "mysql")...)
			expectFinding(t, out, status, "socket", "connect to the local Unix socket and ignore the port", "dial 127.0.0.1")
			// Right: 127.0.0.1 signed for localhost, the plugin enabled; the login succeeds.
			out, status = doctorChild(t, append(appEnv, "LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN=1"), append(my, "--hostname", "127.0.0.1", "--signing-host", "localhost", "--client", "mysql")...)
			if status != 0 || !strings.Contains(out, "ok    cleartext    LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN=1") {
				t.Errorf("doctor for MySQL with everything right: exit %d\n%s", status, out)
			}
			if out, status := doctorChild(t, appEnv, append(my, "--hostname", "localhost", "--client", "mariadb")...); status != 0 {
				t.Errorf("doctor for MariaDB's client on localhost: exit %d\n%s", status, out)
			}
			// The database side, through the MySQL gateway.
			if !strings.Contains(out, "ok    db_user      'my_iam_user'@'%' exists, is a member of rds_iam and takes the gateway's certificate") {
				t.Errorf("doctor for MySQL: no ok db_user line:\n%s", out)
			}
			at := []string{"--hostname", "localhost", "--port", myPort, "--engine", "mysql"}
			out, status = doctorChild(t, appEnv, append(at, "--username", "nobody")...)
			expectFinding(t, out, status, "db_user", `the database has no user "nobody"`, "iamdb create-db-user --mysql DSN nobody")
			out, status = doctorChild(t, appEnv, append(at, "--username", "My_Iam_User")...)
			expectFinding(t, out, status, "user_case", `the database has no user "My_Iam_User", but "my_iam_user"`, "log in as my_iam_user")
			out, status = doctorChild(t, appEnv, append(at, "--username", devMySQLIAMUser, "--dbname", "nodb")...)
			expectFinding(t, out, status, "dbname", `the database "nodb" does not exist`, "--database NAME")
			// A refused token gets the login's refusal, word for word.
			byIDToken := generateToken(d.aws(t, tools, byID.creds), d.myPort, devMySQLIAMUser)
			cfg := mysql.NewConfig()
			cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = devMySQLIAMUser, byIDToken, "tcp", "127.0.0.1:"+myPort
			cfg.TLS, cfg.AllowCleartextPasswords = &tls.Config{ServerName: "localhost", RootCAs: d.caPool(t)}, true
			cfg.ConnectionAttributes = dbreport.Param + ":1"
			conn, err := mysql.NewConnector(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err = conn.Connect(ctx)
			var me *mysql.MySQLError
			if !errors.As(err, &me) || me.Number != 1045 || me.Message != "Access denied for user 'my_iam_user'@'127.0.0.1' (using password: YES)" {
				t.Errorf("doctor's request to the MySQL gateway with a refused token: %v, want the login's refusal", err)
			}
			tok := generateToken(d.aws(t, tools, app.creds), d.myPort, devMySQLIAMUser)
			d.expectMariaDBLogin(t, d.seed002Args(devMySQLIAMUser, tok), devMySQLIAMUser+"@%")
		})
	})
}
