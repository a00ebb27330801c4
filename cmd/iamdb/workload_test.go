package main

// The workload credential endpoints of "iamdb serve" ([[imds]], [[container_credentials]])
// with the real clients that read them: aws-sdk-go-v2's default chain in-process, the
// Debian AWS CLI v2, the pip AWS CLI v1 and boto3 as subprocesses, and psql through a
// [[postgres]] gateway for seed 001's cross-account pgmonitor scenario.
//
// Seed 001's profile (role_arn + credential_source = Ec2InstanceMetadata) needs a client
// whose assume-role provider can be pointed at iamdb's STS: the Debian AWS CLI v2 (2.9)
// honours only --endpoint-url, which its credential providers ignore, so its STS call
// would go to AWS. The pip AWS CLI v1 and boto3 (botocore ≥ 1.31) honour
// AWS_ENDPOINT_URL_STS in their providers too: they run the profile.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/testenv"
)

// workloadServe is "iamdb serve" with the workload endpoints and a gateway.
type workloadServe struct {
	a         *testAuthority
	imdsURL   string // http://127.0.0.1:PORT/
	container string // http://127.0.0.1:PORT/v1/credentials
	tokenFile string
	pgPort    int
	caFile    string
	stdout    *testenv.LogBuffer
	logs      *testenv.LogBuffer
}

var readyLine = regexp.MustCompile(`(?m)^ready (imds|container_credentials|authority)=(\S+)`)

func startWorkloadServe(t *testing.T) *workloadServe {
	t.Helper()
	ca := testCA(t)
	pg := localdbtest.Postgres(t, ca)
	if err := pg.Exec(context.Background(), "CREATE USER pgmonitor WITH LOGIN", "GRANT rds_iam TO pgmonitor", "GRANT pg_monitor TO pgmonitor", "CREATE USER orders_app WITH LOGIN", "GRANT rds_iam TO orders_app"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeGatewayFiles(t, dir, ca, pg.AdminPassword)
	port := freePort(t)
	db := seed001Cluster
	cfg := fmt.Sprintf(`dir = %q
[authority]
listen = "127.0.0.1:0"
region = %q

[bootstrap]
account_id = %q

[[accounts]]
id = %q
alias = "management"

%s
# Seed 001's management "instance": its instance profile is created later, with the CLI.
[[imds]]
listen = "127.0.0.1:0"
instance_profile = "pgmonitor-access-profile"
account = %q
instance_id = "i-0fedcba9876543210"

[[container_credentials]]
listen = "127.0.0.1:0"
role = "orders-task-role"
authorization_token_file = "container.token"
`, dir, db.region, dbAccount, mgmtAccount, gatewayTOML{section: "postgres", database: db.id, kind: "cluster", engine: "aurora-postgresql",
		port: port, backend: pg.Addr(), adminUser: pg.AdminUser, passwordFile: "admin-password"}, mgmtAccount)
	path := writeFile(t, dir, "iamdb.toml", cfg)
	p := startServe(t, path)
	stdout, logs := p.stdout, p.logs
	w := &workloadServe{pgPort: port, caFile: filepath.Join(dir, "ca.pem"), tokenFile: filepath.Join(dir, "container.token"), stdout: stdout, logs: logs}
	for _, m := range readyLine.FindAllStringSubmatch(stdout.String(), -1) {
		switch m[1] {
		case "imds":
			w.imdsURL = m[2]
		case "container_credentials":
			w.container = m[2]
		case "authority":
			w.a = &testAuthority{url: m[2], keys: map[string]awsCreds{
				dbAccount:   readCredentialsFile(t, filepath.Join(dir, "admin-credentials")),
				mgmtAccount: readCredentialsFile(t, filepath.Join(dir, "admin-credentials-"+mgmtAccount)),
			}}
		}
	}
	if w.a == nil || !strings.HasPrefix(w.imdsURL, "http://127.0.0.1:") || !strings.HasSuffix(w.imdsURL, "/") ||
		!strings.HasPrefix(w.container, "http://127.0.0.1:") || !strings.HasSuffix(w.container, "/v1/credentials") {
		t.Fatalf("serve's ready lines: %q", stdout.String())
	}
	for _, want := range []string{
		" instance_profile=arn:aws:iam::" + mgmtAccount + ":instance-profile/pgmonitor-access-profile\n",
		" role=arn:aws:iam::" + dbAccount + ":role/orders-task-role\n",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("serve's ready lines %q lack %q", stdout.String(), want)
		}
	}
	if fi, err := os.Stat(w.tokenFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("container token file: %v, %v; want it created 0600", fi, err)
	}
	return w
}

// isolateSDK gives the in-process aws-sdk-go-v2 an environment with no credentials, no
// config files and only the given settings.
func isolateSDK(t *testing.T, kv ...string) {
	t.Helper()
	empty := writeFile(t, t.TempDir(), "empty", "")
	for _, e := range os.Environ() {
		k, _, _ := strings.Cut(e, "=")
		if strings.HasPrefix(strings.ToUpper(k), "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", empty)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
	for i := 0; i+1 < len(kv); i += 2 {
		t.Setenv(kv[i], kv[i+1])
	}
}

// sdkIdentity loads aws-sdk-go-v2's default configuration and asks the authority who the
// credentials are. It returns the caller's ARN and the credentials' source.
func sdkIdentity(t *testing.T, authority string, opts ...func(*awsconfig.LoadOptions) error) (arn string, creds aws.Credentials, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return "", aws.Credentials{}, err
	}
	if creds, err = cfg.Credentials.Retrieve(ctx); err != nil {
		return "", creds, err
	}
	out, err := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(authority) }).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", creds, err
	}
	return aws.ToString(out.Arn), creds, nil
}

func TestServeWorkloadCredentials(t *testing.T) {
	tools := findClientTools(t)
	w := startWorkloadServe(t)
	a, db := w.a, seed001Cluster
	dir := t.TempDir()
	base := a.awsV2(t, tools, dir, db.region)
	mgmt, dbAdmin := base.as(a.admin(t, mgmtAccount)), base.as(a.admin(t, dbAccount))
	instanceARN := "arn:aws:sts::" + mgmtAccount + ":assumed-role/pg-mgmt-role/i-0fedcba9876543210"

	// Before the instance profile exists, the instance has no role: no credentials.
	isolateSDK(t, "AWS_EC2_METADATA_SERVICE_ENDPOINT", w.imdsURL, "AWS_REGION", db.region)
	if arn, _, err := sdkIdentity(t, a.url); err == nil {
		t.Errorf("aws-sdk-go-v2 before the instance profile exists: identity %s, want no credentials", arn)
	}

	// Seed 001, cross account: the management account's role and instance profile, the
	// DB account's pg-monitor-role (the seed's commands, as in authority_test.go).
	writeSeed(t, dir, "ec2-role-trust-policy.json", nil)
	mgmt.run("iam", "create-role", "--role-name", "pg-mgmt-role", "--assume-role-policy-document", "file://ec2-role-trust-policy.json")
	writeSeed(t, dir, "pg-mgmt-policy.json", map[string]string{"<DB AWS Account ID>": dbAccount})
	mgmt.run("iam", "create-policy", "--policy-name", "pg-mgmt-policy", "--policy-document", "file://pg-mgmt-policy.json")
	mgmt.run("iam", "attach-role-policy", "--role-name", "pg-mgmt-role", "--policy-arn", "arn:aws:iam::"+mgmtAccount+":policy/pg-mgmt-policy")
	mgmt.run("iam", "create-instance-profile", "--instance-profile-name", "pgmonitor-access-profile")
	mgmt.run("iam", "add-role-to-instance-profile", "--instance-profile-name", "pgmonitor-access-profile", "--role-name", "pg-mgmt-role")
	writeSeed(t, dir, "mgmt-account-trust-policy.json", map[string]string{"<Management AWS Account ID>": mgmtAccount})
	dbAdmin.run("iam", "create-role", "--role-name", "pg-monitor-role", "--assume-role-policy-document", "file://mgmt-account-trust-policy.json")
	writeSeed(t, dir, "pg-db-monitor-policy.json", map[string]string{"<AWS Region>": db.region, "<DB AWS Account ID>": dbAccount})
	dbAdmin.run("iam", "create-policy", "--policy-name", "pg-db-monitor-policy", "--policy-document", "file://pg-db-monitor-policy.json")
	dbAdmin.run("iam", "attach-role-policy", "--role-name", "pg-monitor-role", "--policy-arn", "arn:aws:iam::"+dbAccount+":policy/pg-db-monitor-policy")
	// The container endpoint's role, which trusts ECS tasks as it would on AWS (the
	// endpoint serves only roles that trust ecs-tasks.amazonaws.com).
	dbAdmin.run("iam", "create-role", "--role-name", "orders-task-role", "--assume-role-policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	dbAdmin.run("iam", "put-role-policy", "--role-name", "orders-task-role", "--policy-name", "connect", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"arn:aws:rds-db:`+db.region+`:`+dbAccount+`:dbuser:*/orders_app"}]}`)

	t.Run("imds/aws-sdk-go-v2", func(t *testing.T) {
		// Only AWS_EC2_METADATA_SERVICE_ENDPOINT: the default chain reaches IMDS, and the
		// region comes from it too.
		isolateSDK(t, "AWS_EC2_METADATA_SERVICE_ENDPOINT", w.imdsURL)
		arn, creds, err := sdkIdentity(t, a.url, awsconfig.WithEC2IMDSRegion())
		if err != nil {
			t.Fatalf("aws-sdk-go-v2 LoadDefaultConfig with IMDS: %v", err)
		}
		if arn != instanceARN || creds.Source != "EC2RoleProvider" || !temporaryKeyID.MatchString(creds.AccessKeyID) {
			t.Errorf("aws-sdk-go-v2 with IMDS: identity %s from %s (key %s), want %s from EC2RoleProvider", arn, creds.Source, creds.AccessKeyID, instanceARN)
		}
		ctx := context.Background()
		cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithEC2IMDSRegion())
		if err != nil || cfg.Region != db.region {
			t.Errorf("aws-sdk-go-v2 region from IMDS = %q, %v; want %s", cfg.Region, err, db.region)
		}
	})

	t.Run("imds/aws-cli-v2", func(t *testing.T) {
		// HOME and the config files are empty: the CLI's chain ends at IMDS.
		env := toolEnv(t, db.region, "AWS_EC2_METADATA_DISABLED=false", "AWS_EC2_METADATA_SERVICE_ENDPOINT="+w.imdsURL)
		out, errOut, err := runTool(t.TempDir(), env, tools.awsV2, "sts", "get-caller-identity", "--endpoint-url", a.url, "--output", "json", "--no-cli-pager")
		if err != nil || !strings.Contains(out, `"Arn": "`+instanceARN+`"`) {
			t.Errorf("aws sts get-caller-identity with IMDS = %q, %v (stderr %q), want %s", out, err, errOut, instanceARN)
		}
	})

	t.Run("seed001-cross-account", func(t *testing.T) {
		if !tools.endpointEnv {
			t.Skip("no botocore ≥ 1.31 (AWS_ENDPOINT_URL_STS): the profile's assume-role would go to AWS")
		}
		pdir := t.TempDir()
		config := writeFile(t, pdir, "config", fmt.Sprintf(`[profile instancecrossaccount]
role_arn = arn:aws:iam::%s:role/pg-monitor-role
credential_source = Ec2InstanceMetadata
region = %s
`, dbAccount, db.region))
		env := toolEnv(t, db.region, "AWS_CONFIG_FILE="+config, "AWS_EC2_METADATA_DISABLED=false",
			"AWS_EC2_METADATA_SERVICE_ENDPOINT="+w.imdsURL, "AWS_ENDPOINT_URL_STS="+a.url)
		var tok, client string
		if tools.awsV1 {
			client = "AWS CLI v1"
			v1 := func(args ...string) string {
				t.Helper()
				out, errOut, err := runTool(pdir, env, append([]string{tools.python, "-m", "awscli"}, args...)...)
				if err != nil {
					t.Fatalf("python3 -m awscli %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
				}
				return out
			}
			if out := v1("sts", "get-caller-identity", "--profile", "instancecrossaccount", "--output", "text", "--query", "Arn"); !assumedMonitorARN.MatchString(strings.TrimSpace(out)) {
				t.Errorf("aws sts get-caller-identity --profile instancecrossaccount = %q, want pg-monitor-role's session", out)
			}
			tok = strings.TrimSpace(v1("rds", "generate-db-auth-token", "--hostname", "localhost", "--port", strconv.Itoa(w.pgPort),
				"--region", db.region, "--username", "pgmonitor", "--profile", "instancecrossaccount"))
		} else {
			client = "boto3"
			script := `import sys, boto3
s = boto3.Session(profile_name="instancecrossaccount")
print(s.client("rds").generate_db_auth_token(DBHostname="localhost", Port=int(sys.argv[1]), DBUsername="pgmonitor"))`
			out, errOut, err := runTool(pdir, env, tools.python, "-c", script, strconv.Itoa(w.pgPort))
			if err != nil {
				t.Fatalf("boto3 profile instancecrossaccount: %v\nstderr: %s", err, errOut)
			}
			tok = strings.TrimSpace(out)
		}
		checkTokenShape(t, tok, seedDB{host: "localhost", port: w.pgPort, region: db.region}, "pgmonitor", true)
		// The seed's pg_stat_activity query, as pgmonitor (rds_iam and pg_monitor) through
		// the gateway: pg_monitor sees every session's query.
		conninfo := fmt.Sprintf("host=localhost port=%d user=pgmonitor dbname=postgres sslmode=verify-full sslrootcert=%s connect_timeout=10", w.pgPort, w.caFile)
		out, errOut, err := runPSQL(t, db.region, conninfo, tok,
			"select current_user, count(*) > 0, count(*) filter (where query = '<insufficient privilege>') from pg_stat_activity")
		if err != nil || strings.TrimSpace(out) != "pgmonitor|t|0" {
			t.Errorf("psql as pgmonitor with the %s token: %q, %v (stderr %q), want pgmonitor|t|0\nlog:\n%s", client, out, err, errOut, w.logs.String())
		}
	})

	t.Run("container/aws-sdk-go-v2", func(t *testing.T) {
		isolateSDK(t, "AWS_CONTAINER_CREDENTIALS_FULL_URI", w.container, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", w.tokenFile, "AWS_REGION", db.region)
		arn, creds, err := sdkIdentity(t, a.url)
		want := "arn:aws:sts::" + dbAccount + ":assumed-role/orders-task-role/iamdb-container"
		if err != nil || arn != want || !temporaryKeyID.MatchString(creds.AccessKeyID) {
			t.Errorf("aws-sdk-go-v2 with container credentials: identity %q, %v; want %s", arn, err, want)
		}
		// The task's credentials sign a token (iamdb token: the SDK's chain) that logs in
		// through the gateway as orders_app.
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{"token", "--hostname", "localhost", "--port", strconv.Itoa(w.pgPort), "--username", "orders_app"}, &stdout, &stderr); err != nil {
			t.Fatalf("iamdb token with container credentials: %v %s", err, stderr.String())
		}
		conninfo := fmt.Sprintf("host=localhost port=%d user=orders_app dbname=postgres sslmode=verify-full sslrootcert=%s connect_timeout=10", w.pgPort, w.caFile)
		out, errOut, err := runPSQL(t, db.region, conninfo, strings.TrimSpace(stdout.String()), "select current_user")
		if err != nil || strings.TrimSpace(out) != "orders_app" {
			t.Errorf("psql as orders_app with a container-credentials token: %q, %v (stderr %q)\nlog:\n%s", out, err, errOut, w.logs.String())
		}
		// A wrong token gets no credentials.
		isolateSDK(t, "AWS_CONTAINER_CREDENTIALS_FULL_URI", w.container, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "not-the-container-token", "AWS_REGION", db.region)
		if arn, _, err := sdkIdentity(t, a.url); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
			t.Errorf("aws-sdk-go-v2 with a wrong container token: identity %q, error %v; want AccessDenied (403)", arn, err)
		}
	})

	t.Run("container/boto3", func(t *testing.T) {
		needTool(t, tools.python != "", "boto3", "apt-get install -y python3-boto3")
		script := `import sys, boto3
print(boto3.client("sts", endpoint_url=sys.argv[1]).get_caller_identity()["Arn"])`
		env := toolEnv(t, db.region, "AWS_CONTAINER_CREDENTIALS_FULL_URI="+w.container, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="+w.tokenFile)
		out, errOut, err := runTool(t.TempDir(), env, tools.python, "-c", script, a.url)
		want := "arn:aws:sts::" + dbAccount + ":assumed-role/orders-task-role/iamdb-container"
		if err != nil || strings.TrimSpace(out) != want {
			t.Errorf("boto3 with container credentials = %q, %v (stderr %q), want %s", out, err, errOut, want)
		}
	})

	// No secret of the endpoints reached the log.
	tok, _ := os.ReadFile(w.tokenFile)
	if logs := w.logs.String(); strings.Contains(logs, string(tok)) || strings.Contains(logs, "IDB1") {
		t.Errorf("serve's log holds the container token or a session token")
	}
}
