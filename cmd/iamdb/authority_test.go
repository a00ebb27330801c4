package main

// The authority's acceptance tests: "iamdb serve" runs in-process on a temporary directory,
// and the real clients a user would point at it run as subprocesses with the commands of
// the seed scenarios 000, 001 and 003 (their policy documents are in testdata/seeds),
// changed only in the endpoint and the names:
//
//   - the AWS CLI v2 from Debian (/usr/bin/aws, 2.9), which honours only --endpoint-url;
//   - the pip AWS CLI v1 (python3 -m awscli) and boto3, which honour AWS_ENDPOINT_URL and
//     AWS_ENDPOINT_URL_STS, also for the STS calls of their own assume-role credential
//     providers (botocore's configprovider builds AWS_ENDPOINT_URL_<SERVICE ID>).
//
// Every subprocess gets the machine's environment less its AWS settings and proxies, empty
// AWS config files, a temporary HOME, no instance metadata, no pager and a deadline. With
// IAMDB_REQUIRE_TOOLS=1 (the project's test command) a missing AWS CLI v2 or boto3 fails
// the test; otherwise it skips. The AWS CLI v1 is optional.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The accounts of the acceptance tests.
const (
	dbAccount   = "111111111111" // the bootstrap account: the DB (customer) account of seeds 000, 001, 003
	mgmtAccount = "222222222222" // seed 001's management account
	svcAccount  = "333333333333" // seed 003's service account (ClickHouse Cloud's)
)

// seedDB is a database the authority's registry holds.
type seedDB struct {
	id, kind, engine, host, region, account string
	port                                    int
}

var (
	// seed000Cluster is seed 000's Aurora PostgreSQL cluster.
	seed000Cluster = seedDB{id: "aurorapgsqlv1", kind: "cluster", engine: "aurora-postgresql",
		host: "aurorapgsqlv1.cluster-cxxxxxxxxxxx.ap-northeast-1.rds.amazonaws.com", region: "ap-northeast-1",
		account: dbAccount, port: 5432}
	// seed001Cluster is seed 001's cluster with the pgdemo schema (its logs name us-east-2).
	seed001Cluster = seedDB{id: "pgdemo", kind: "cluster", engine: "aurora-postgresql",
		host: "pgdemo.cluster-cxxxxxxxxxxx.us-east-2.rds.amazonaws.com", region: "us-east-2",
		account: dbAccount, port: 5432}
	// seed003Instance is the RDS for PostgreSQL instance ClickPipes reads in seed 003.
	seed003Instance = seedDB{id: "clickpipes-source", kind: "instance", engine: "postgres",
		host: "clickpipes-source.cxxxxxxxxxxx.ap-northeast-1.rds.amazonaws.com", region: "ap-northeast-1",
		account: dbAccount, port: 5432}
)

// toolTimeout bounds every client subprocess.
const toolTimeout = 45 * time.Second

var (
	clusterResourceID  = regexp.MustCompile(`^cluster-[A-Z0-9]{26}$`)
	instanceResourceID = regexp.MustCompile(`^db-[A-Z0-9]{26}$`)
	policyID           = regexp.MustCompile(`^ANPA[A-Z0-9]{17}$`)
	roleID             = regexp.MustCompile(`^AROA[A-Z0-9]{17}$`)
	userID             = regexp.MustCompile(`^AIDA[A-Z0-9]{17}$`)
	instanceProfileID  = regexp.MustCompile(`^AIPA[A-Z0-9]{17}$`)
	longTermKeyID      = regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`)
	temporaryKeyID     = regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`)
	leftPlaceholder    = regexp.MustCompile(`<[A-Za-z][^<>"]*>|\{[A-Za-z_]+\}`)
)

func TestAuthorityAcceptance(t *testing.T) {
	tools := findClientTools(t)
	a := startTestAuthority(t)

	// The longest first: "go test" runs GOMAXPROCS parallel subtests at a time.
	for _, tt := range []struct {
		name string
		test func(*testing.T, *testAuthority, *clientTools)
	}{
		{"seed001-cross-account", testSeed001CrossAccount},
		{"seed000-aurora-postgresql/aws-cli-v2", testSeed000},
		{"seed001-same-account/aws-cli-v2", testSeed001SameAccount},
		{"seed003-clickpipes/aws-cli-v2", testSeed003},
		{"boto3-create-user-and-key", testBoto3CreateUser},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, a, tools)
		})
	}
}

// testSeed000 follows seed 000: enable IAM authentication on the cluster, read its resource
// id, create the rds-db:connect policy, build a token.
func testSeed000(t *testing.T, a *testAuthority, tools *clientTools) {
	db := seed000Cluster
	dir := t.TempDir()
	aws := a.awsV2(t, tools, dir, db.region).as(a.admin(t, dbAccount))

	table := []string{"rds", "describe-db-clusters", "--db-cluster-identifier", "aurorapgsqlv1",
		"--query", "DBClusters[].[IAMDatabaseAuthenticationEnabled]", "--output", "table"}
	// The configuration registers the cluster with IAM authentication off.
	if got, want := tableCells(aws.run(table...)), []string{"DescribeDBClusters", "False"}; !slices.Equal(got, want) {
		t.Errorf("aws %s: cells %q, want %q before modify-db-cluster", strings.Join(table, " "), got, want)
	}

	// Seed 000 step 6 before step 1: the token is well made, but the cluster does not take
	// IAM authentication yet.
	admin := a.admin(t, dbAccount)
	tokenArgs := []string{"--region", "ap-northeast-1", "rds", "generate-db-auth-token",
		"--hostname", db.host, "--port", "5432", "--username", "iam_user"}
	early := strings.TrimSpace(aws.offline(tokenArgs...))
	a.expectRemoteRefused(t, admin, db.region, early, "iam_user", "not enabled")

	var mod struct {
		DBCluster struct {
			DBClusterIdentifier              string
			IAMDatabaseAuthenticationEnabled bool
		}
	}
	aws.runJSON(&mod, "rds", "modify-db-cluster", "--db-cluster-identifier", "aurorapgsqlv1", "--apply-immediately", "--enable-iam-database-authentication")
	if mod.DBCluster.DBClusterIdentifier != "aurorapgsqlv1" || !mod.DBCluster.IAMDatabaseAuthenticationEnabled {
		t.Errorf("aws rds modify-db-cluster: DBCluster = %+v, want aurorapgsqlv1 with IAMDatabaseAuthenticationEnabled", mod.DBCluster)
	}
	if got, want := tableCells(aws.run(table...)), []string{"DescribeDBClusters", "True"}; !slices.Equal(got, want) {
		t.Errorf("aws %s: cells %q, want %q", strings.Join(table, " "), got, want)
	}

	rid := strings.TrimSpace(aws.run("rds", "describe-db-clusters", "--db-cluster-identifier", "aurorapgsqlv1",
		"--query", "DBClusters[0].[DbClusterResourceId]", "--output", "text"))
	if !clusterResourceID.MatchString(rid) {
		t.Fatalf("aws rds describe-db-clusters --query DBClusters[0].[DbClusterResourceId] = %q, want cluster- and 26 of [A-Z0-9]", rid)
	}

	writeSeed(t, dir, "iam_rds_connect.json", map[string]string{"<AWS Account ID>": dbAccount, "<DbClusterResourceId>": rid})
	create := []string{"iam", "create-policy", "--policy-name", "iam_rds_connect", "--policy-document", "file://iam_rds_connect.json"}
	var raw struct{ Policy map[string]any }
	out := aws.run(append(create, "--output", "json")...)
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("aws iam create-policy: %v in %q", err, out)
	}
	// The keys of the seed's output, no more (an empty Tags or Description would show).
	wantKeys := []string{"Arn", "AttachmentCount", "CreateDate", "DefaultVersionId", "IsAttachable",
		"Path", "PermissionsBoundaryUsageCount", "PolicyId", "PolicyName", "UpdateDate"}
	if got := slices.Sorted(maps.Keys(raw.Policy)); !slices.Equal(got, wantKeys) {
		t.Errorf("aws iam create-policy: Policy has keys %q, want %q as in seed 000", got, wantKeys)
	}
	var cp struct{ Policy iamPolicyOut }
	json.Unmarshal([]byte(out), &cp)
	checkPolicy(t, cp.Policy, dbAccount, "iam_rds_connect")

	// Creating it again is refused the way IAM refuses it.
	aws.runErr("EntityAlreadyExists", create...)

	// Seed 000 step 6: the seed's user has AdministratorAccess, so iam_rds_connect need not
	// be attached; the token verifies offline with the admin's key, and the authority allows
	// it by AdministratorAccess.
	tok := strings.TrimSpace(aws.offline(tokenArgs...))
	verifyTokenOffline(t, tok, db, "iam_user", admin)
	a.expectRemoteValid(t, admin, db.region, tok, "iam_user", "arn:aws:iam::"+dbAccount+":user/admin", "AdministratorAccess")

	// "IAM ユーザーまたはロールへの IAM ポリシーのアタッチ": a user with only iam_rds_connect
	// may connect as iam_user and as nobody else.
	policyARN := "arn:aws:iam::" + dbAccount + ":policy/iam_rds_connect"
	aws.run("iam", "create-user", "--user-name", "bastion")
	aws.run("iam", "attach-user-policy", "--user-name", "bastion", "--policy-arn", policyARN)
	var gp struct{ Policy iamPolicyOut }
	aws.runJSON(&gp, "iam", "get-policy", "--policy-arn", policyARN)
	if gp.Policy.AttachmentCount != 1 {
		t.Errorf("aws iam get-policy --policy-arn %s: AttachmentCount %d, want 1", policyARN, gp.Policy.AttachmentCount)
	}
	var ck struct{ AccessKey awsCreds }
	aws.runJSON(&ck, "iam", "create-access-key", "--user-name", "bastion")
	bastion := a.awsV2(t, tools, dir, db.region).as(ck.AccessKey)
	tok = strings.TrimSpace(bastion.offline(tokenArgs...))
	verifyTokenOffline(t, tok, db, "iam_user", ck.AccessKey)
	a.expectRemoteValid(t, admin, db.region, tok, "iam_user", "arn:aws:iam::"+dbAccount+":user/bastion", "iam_rds_connect")
	tok = strings.TrimSpace(bastion.offline("--region", "ap-northeast-1", "rds", "generate-db-auth-token",
		"--hostname", db.host, "--port", "5432", "--username", "postgres"))
	a.expectRemoteRefused(t, admin, db.region, tok, "postgres", "refused: implicitDeny")
}

// testSeed001SameAccount follows seed 001's first scenario in the DB account: a policy per
// database user, the EC2 role with it, and the instance profile that carries the role.
func testSeed001SameAccount(t *testing.T, a *testAuthority, tools *clientTools) {
	db := seed001Cluster
	dir := t.TempDir()
	aws := a.awsV2(t, tools, dir, db.region).as(a.admin(t, dbAccount))

	aws.run("rds", "modify-db-cluster", "--db-cluster-identifier", db.id, "--apply-immediately", "--enable-iam-database-authentication")
	if got, want := tableCells(aws.run("rds", "describe-db-clusters", "--db-cluster-identifier", db.id,
		"--query", "DBClusters[].[IAMDatabaseAuthenticationEnabled]", "--output", "table")), []string{"DescribeDBClusters", "True"}; !slices.Equal(got, want) {
		t.Errorf("aws rds describe-db-clusters --output table: cells %q, want %q", got, want)
	}
	rid := strings.TrimSpace(aws.run("rds", "describe-db-clusters", "--db-cluster-identifier", db.id,
		"--query", "DBClusters[0].[DbClusterResourceId]", "--output", "text"))
	if !clusterResourceID.MatchString(rid) {
		t.Fatalf("aws rds describe-db-clusters: DbClusterResourceId = %q, want cluster- and 26 of [A-Z0-9]", rid)
	}

	writeSeed(t, dir, "oltp_rw_user.json", map[string]string{"<AWS Region>": db.region, "<AWS Account ID>": dbAccount, "<DbClusterResourceId>": rid})
	var cp struct{ Policy iamPolicyOut }
	aws.runJSON(&cp, "iam", "create-policy", "--policy-name", "pgdemo-oltp-rw-user-policy", "--policy-document", "file://oltp_rw_user.json")
	checkPolicy(t, cp.Policy, dbAccount, "pgdemo-oltp-rw-user-policy")

	trust := writeSeed(t, dir, "ec2-role-trust-policy.json", nil)
	var cr struct{ Role iamRoleOut }
	aws.runJSON(&cr, "iam", "create-role", "--role-name", "pgdemo-oltp-rw-role", "--assume-role-policy-document", "file://ec2-role-trust-policy.json")
	checkRole(t, cr.Role, dbAccount, "pgdemo-oltp-rw-role", trust)

	policyARN := "arn:aws:iam::" + dbAccount + ":policy/pgdemo-oltp-rw-user-policy"
	aws.run("iam", "attach-role-policy", "--role-name", "pgdemo-oltp-rw-role", "--policy-arn", policyARN)
	var att struct {
		AttachedPolicies []struct{ PolicyName, PolicyArn string }
	}
	aws.runJSON(&att, "iam", "list-attached-role-policies", "--role-name", "pgdemo-oltp-rw-role")
	if len(att.AttachedPolicies) != 1 || att.AttachedPolicies[0].PolicyArn != policyARN || att.AttachedPolicies[0].PolicyName != "pgdemo-oltp-rw-user-policy" {
		t.Errorf("aws iam list-attached-role-policies = %+v, want only %s", att.AttachedPolicies, policyARN)
	}

	var ip struct{ InstanceProfile iamInstanceProfileOut }
	aws.runJSON(&ip, "iam", "create-instance-profile", "--instance-profile-name", "pgdemo-db-access-profile")
	checkInstanceProfile(t, "create-instance-profile", ip.InstanceProfile, dbAccount, "pgdemo-db-access-profile")
	if len(ip.InstanceProfile.Roles) != 0 {
		t.Errorf("aws iam create-instance-profile: Roles = %+v, want none", ip.InstanceProfile.Roles)
	}
	aws.run("iam", "add-role-to-instance-profile", "--instance-profile-name", "pgdemo-db-access-profile", "--role-name", "pgdemo-oltp-rw-role")
	ip = struct{ InstanceProfile iamInstanceProfileOut }{}
	aws.runJSON(&ip, "iam", "get-instance-profile", "--instance-profile-name", "pgdemo-db-access-profile")
	checkInstanceProfile(t, "get-instance-profile", ip.InstanceProfile, dbAccount, "pgdemo-db-access-profile")
	if len(ip.InstanceProfile.Roles) != 1 {
		t.Fatalf("aws iam get-instance-profile: Roles = %+v, want pgdemo-oltp-rw-role", ip.InstanceProfile.Roles)
	}
	checkRole(t, ip.InstanceProfile.Roles[0], dbAccount, "pgdemo-oltp-rw-role", trust)
	if ip.InstanceProfile.Roles[0].RoleId != cr.Role.RoleId {
		t.Errorf("aws iam get-instance-profile: role id %s, create-role said %s", ip.InstanceProfile.Roles[0].RoleId, cr.Role.RoleId)
	}
	// "aws ec2 associate-iam-instance-profile" and the workload's credentials need iamdb's
	// instance-metadata endpoint, which a later issue adds.
}

// testSeed001CrossAccount follows seed 001's second scenario: pg-mgmt-role in the management
// account assumes pg-monitor-role in the DB account.
func testSeed001CrossAccount(t *testing.T, a *testAuthority, tools *clientTools) {
	db := seed001Cluster
	dir := t.TempDir()
	base := a.awsV2(t, tools, dir, db.region)
	mgmt, dbAdmin := base.as(a.admin(t, mgmtAccount)), base.as(a.admin(t, dbAccount))
	mgmtRoleARN := "arn:aws:iam::" + mgmtAccount + ":role/pg-mgmt-role"
	monitorRoleARN := "arn:aws:iam::" + dbAccount + ":role/pg-monitor-role"
	mgmtPolicyARN := "arn:aws:iam::" + mgmtAccount + ":policy/pg-mgmt-policy"

	// Seed 001's setup step 3, "if IAM authentication is not enabled yet" (the same-account
	// scenario may or may not have run).
	dbAdmin.run("rds", "modify-db-cluster", "--db-cluster-identifier", db.id, "--apply-immediately", "--enable-iam-database-authentication")

	// In the management account.
	ec2Trust := writeSeed(t, dir, "ec2-role-trust-policy.json", nil)
	var cr struct{ Role iamRoleOut }
	mgmt.runJSON(&cr, "iam", "create-role", "--role-name", "pg-mgmt-role", "--assume-role-policy-document", "file://ec2-role-trust-policy.json")
	checkRole(t, cr.Role, mgmtAccount, "pg-mgmt-role", ec2Trust)
	writeSeed(t, dir, "pg-mgmt-policy.json", map[string]string{"<DB AWS Account ID>": dbAccount})
	mgmt.run("iam", "create-policy", "--policy-name", "pg-mgmt-policy", "--policy-document", "file://pg-mgmt-policy.json")
	mgmt.run("iam", "attach-role-policy", "--role-name", "pg-mgmt-role", "--policy-arn", mgmtPolicyARN)
	mgmt.run("iam", "create-instance-profile", "--instance-profile-name", "pgmonitor-access-profile")
	mgmt.run("iam", "add-role-to-instance-profile", "--instance-profile-name", "pgmonitor-access-profile", "--role-name", "pg-mgmt-role")
	// On AWS the instance profile hands pg-mgmt-role's credentials to the EC2 instance. Until
	// iamdb's instance-metadata endpoint exists (a later issue), the management account's
	// admin stands in for the instance: pg-mgmt-role's trust policy also names the admin user.
	writeFile(t, dir, "pg-mgmt-role-trust-policy.json", trustPolicy(
		statement{principal: `{"Service": "ec2.amazonaws.com"}`, actions: []string{"sts:AssumeRole"}},
		statement{principal: awsPrincipal("arn:aws:iam::" + mgmtAccount + ":user/admin"), actions: []string{"sts:AssumeRole"}},
	))
	mgmt.run("iam", "update-assume-role-policy", "--role-name", "pg-mgmt-role", "--policy-document", "file://pg-mgmt-role-trust-policy.json")

	// In the DB account.
	monitorTrust := writeSeed(t, dir, "mgmt-account-trust-policy.json", map[string]string{"<Management AWS Account ID>": mgmtAccount})
	cr = struct{ Role iamRoleOut }{}
	dbAdmin.runJSON(&cr, "iam", "create-role", "--role-name", "pg-monitor-role", "--assume-role-policy-document", "file://mgmt-account-trust-policy.json")
	checkRole(t, cr.Role, dbAccount, "pg-monitor-role", monitorTrust)
	writeSeed(t, dir, "pg-db-monitor-policy.json", map[string]string{"<AWS Region>": db.region, "<DB AWS Account ID>": dbAccount})
	dbAdmin.run("iam", "create-policy", "--policy-name", "pg-db-monitor-policy", "--policy-document", "file://pg-db-monitor-policy.json")
	dbAdmin.run("iam", "attach-role-policy", "--role-name", "pg-monitor-role", "--policy-arn", "arn:aws:iam::"+dbAccount+":policy/pg-db-monitor-policy")

	// The chain: management admin → pg-mgmt-role → pg-monitor-role.
	mgmt.expectIdentity("arn:aws:iam::"+mgmtAccount+":user/admin", mgmtAccount, userID)
	instance := mgmt.assumeRole(mgmtRoleARN, "pg-mgmt-instance")
	mgmtRole := base.as(instance.creds)
	mgmtRole.expectIdentity(instance.arn, mgmtAccount, nil)
	monitorSession := mgmtRole.assumeRole(monitorRoleARN, "pgmonitor")
	monitor := base.as(monitorSession.creds)
	monitor.expectIdentity(monitorSession.arn, dbAccount, nil)

	// The seed's token for pgmonitor (seed: --profile instancecrossaccount), offline.
	tok := strings.TrimSpace(monitor.offline("rds", "generate-db-auth-token", "--hostname", db.host, "--port", "5432",
		"--region", db.region, "--username", "pgmonitor"))
	verifyTokenOffline(t, tok, db, "pgmonitor", monitorSession.creds)
	a.expectRemoteValid(t, a.admin(t, dbAccount), db.region, tok, "pgmonitor", monitorSession.arn, "pg-db-monitor-policy")

	// The seed's profile, with the role chain made by the SDKs' own assume-role providers.
	t.Run("profiles", func(t *testing.T) {
		t.Run("aws-cli-v1", func(t *testing.T) {
			t.Parallel()
			testCrossAccountProfileV1(t, a, tools)
		})
		t.Run("boto3", func(t *testing.T) {
			t.Parallel()
			testCrossAccountProfileBoto3(t, a, tools)
		})
	})

	// Refused: a management role with the same sts:AssumeRole permission that the DB
	// account's trust policy does not name.
	auditTrust := trustPolicy(statement{principal: awsPrincipal("arn:aws:iam::" + mgmtAccount + ":user/admin"), actions: []string{"sts:AssumeRole"}})
	writeFile(t, dir, "pg-audit-role-trust-policy.json", auditTrust)
	mgmt.run("iam", "create-role", "--role-name", "pg-audit-role", "--assume-role-policy-document", "file://pg-audit-role-trust-policy.json")
	mgmt.run("iam", "attach-role-policy", "--role-name", "pg-audit-role", "--policy-arn", mgmtPolicyARN)
	audit := base.as(mgmt.assumeRole("arn:aws:iam::"+mgmtAccount+":role/pg-audit-role", "pg-audit").creds)
	audit.runErr("AccessDenied", "sts", "assume-role", "--role-arn", monitorRoleARN, "--role-session-name", "pg-audit")

	// Refused: pg-mgmt-role, named by the trust policy, once its policy no longer grants
	// sts:AssumeRole — for a new session and for the one started before.
	mgmt.run("iam", "detach-role-policy", "--role-name", "pg-mgmt-role", "--policy-arn", mgmtPolicyARN)
	fresh := base.as(mgmt.assumeRole(mgmtRoleARN, "pg-mgmt-instance-2").creds)
	fresh.runErr("AccessDenied", "sts", "assume-role", "--role-arn", monitorRoleARN, "--role-session-name", "pgmonitor")
	mgmtRole.runErr("AccessDenied", "sts", "assume-role", "--role-arn", monitorRoleARN, "--role-session-name", "pgmonitor")
}

// crossAccountProfiles writes the shared config and credentials files of seed 001's
// "instancecrossaccount" profile: on AWS its credential_source is Ec2InstanceMetadata; here
// the management admin's key (profile base) assumes pg-mgmt-role (profile pg-mgmt), which
// assumes pg-monitor-role.
func crossAccountProfiles(t *testing.T, a *testAuthority, dir string) (configFile, credentialsFile string) {
	t.Helper()
	admin := a.admin(t, mgmtAccount)
	credentialsFile = writeFile(t, dir, "credentials", fmt.Sprintf(
		"[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n", admin.AccessKeyID, admin.SecretAccessKey))
	configFile = writeFile(t, dir, "config", fmt.Sprintf(`[profile pg-mgmt]
role_arn = arn:aws:iam::%s:role/pg-mgmt-role
source_profile = base

[profile instancecrossaccount]
role_arn = arn:aws:iam::%s:role/pg-monitor-role
source_profile = pg-mgmt
region = %s
`, mgmtAccount, dbAccount, seed001Cluster.region))
	return configFile, credentialsFile
}

var assumedMonitorARN = regexp.MustCompile(`^arn:aws:sts::` + dbAccount + `:assumed-role/pg-monitor-role/[\w+=,.@-]{2,64}$`)

// testCrossAccountProfileV1 runs the seed's commands with --profile instancecrossaccount
// through the pip AWS CLI v1, told about iamdb by AWS_ENDPOINT_URL_STS only.
func testCrossAccountProfileV1(t *testing.T, a *testAuthority, tools *clientTools) {
	if !tools.awsV1 || !tools.endpointEnv {
		t.Skip("no AWS CLI v1 (python3 -m awscli) with a botocore that honours AWS_ENDPOINT_URL_STS: optional")
	}
	dir := t.TempDir()
	config, creds := crossAccountProfiles(t, a, dir)
	env := toolEnv(t, seed001Cluster.region, "AWS_CONFIG_FILE="+config, "AWS_SHARED_CREDENTIALS_FILE="+creds,
		"AWS_ENDPOINT_URL_STS="+a.url)
	v1 := func(args ...string) string {
		t.Helper()
		argv := append([]string{tools.python, "-m", "awscli"}, args...)
		out, errOut, err := runTool(dir, env, argv...)
		if err != nil {
			t.Fatalf("python3 -m awscli %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
		}
		return out
	}
	var id callerIdentity
	out := v1("sts", "get-caller-identity", "--profile", "instancecrossaccount", "--output", "json")
	if err := json.Unmarshal([]byte(out), &id); err != nil {
		t.Fatalf("python3 -m awscli sts get-caller-identity: %v in %q", err, out)
	}
	rid, session, _ := strings.Cut(id.UserId, ":")
	if !assumedMonitorARN.MatchString(id.Arn) || id.Account != dbAccount || !roleID.MatchString(rid) || !strings.HasSuffix(id.Arn, "/"+session) {
		t.Errorf("python3 -m awscli sts get-caller-identity --profile instancecrossaccount = %+v, want pg-monitor-role's session in %s", id, dbAccount)
	}
	tok := strings.TrimSpace(v1("rds", "generate-db-auth-token", "--hostname", seed001Cluster.host, "--port", "5432",
		"--region", seed001Cluster.region, "--username", "pgmonitor", "--profile", "instancecrossaccount"))
	checkTokenShape(t, tok, seed001Cluster, "pgmonitor", true)
	// The CLI keeps the session's secret to itself: the authority verifies the token.
	a.expectRemoteValid(t, a.admin(t, dbAccount), seed001Cluster.region, tok, "pgmonitor", id.Arn, "pg-db-monitor-policy")
}

// profileScript runs with boto3: the seed's profile through boto3's own assume-role
// provider; it prints the identity, a token and the session's credentials (which the test
// needs to verify the token offline).
const profileScript = `
import json, sys, boto3
host, port, region, user = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = boto3.Session(profile_name="instancecrossaccount")
ident = s.client("sts").get_caller_identity()
tok = s.client("rds", region_name=region).generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user)
c = s.get_credentials().get_frozen_credentials()
print(json.dumps({"UserId": ident["UserId"], "Account": ident["Account"], "Arn": ident["Arn"], "Token": tok,
                  "AccessKeyId": c.access_key, "SecretAccessKey": c.secret_key, "SessionToken": c.token}))
`

func testCrossAccountProfileBoto3(t *testing.T, a *testAuthority, tools *clientTools) {
	needTool(t, tools.python != "", "boto3", "apt-get install -y python3-boto3")
	if !tools.endpointEnv {
		t.Skip("this botocore predates AWS_ENDPOINT_URL (1.31), so its assume-role provider cannot be pointed at iamdb")
	}
	dir := t.TempDir()
	config, creds := crossAccountProfiles(t, a, dir)
	env := toolEnv(t, seed001Cluster.region, "AWS_CONFIG_FILE="+config, "AWS_SHARED_CREDENTIALS_FILE="+creds,
		"AWS_ENDPOINT_URL="+a.url)
	db := seed001Cluster
	out, errOut, err := runTool(dir, env, tools.python, "-c", profileScript, db.host, strconv.Itoa(db.port), db.region, "pgmonitor")
	if err != nil {
		t.Fatalf("boto3 Session(profile_name=instancecrossaccount): %v\nstderr: %s", err, errOut)
	}
	var got struct {
		callerIdentity
		Token string
		awsCreds
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("boto3 script: %v in %q", err, out)
	}
	if !assumedMonitorARN.MatchString(got.Arn) || got.Account != dbAccount {
		t.Errorf("boto3 sts.get_caller_identity() with profile instancecrossaccount = %+v, want pg-monitor-role's session in %s", got.callerIdentity, dbAccount)
	}
	if !temporaryKeyID.MatchString(got.AccessKeyID) || got.SessionToken == "" {
		t.Errorf("boto3 profile credentials: key %q, session token %d bytes, want ASIA… and a session token", got.AccessKeyID, len(got.SessionToken))
	}
	verifyTokenOffline(t, got.Token, db, "pgmonitor", got.awsCreds)
}

// testSeed003 follows seed 003: a role in the customer (DB) account that a role in the
// service's account may assume with session tags, allowed to connect as clickpipes_iam_user.
func testSeed003(t *testing.T, a *testAuthority, tools *clientTools) {
	db := seed003Instance
	dir := t.TempDir()
	base := a.awsV2(t, tools, dir, db.region)
	cust, svc := base.as(a.admin(t, dbAccount)), base.as(a.admin(t, svcAccount))
	serviceRoleARN := "arn:aws:iam::" + svcAccount + ":role/clickhouse-service-role"

	// The service's side: {ClickHouse_IAM_ARN}, here a role its admin may assume, allowed
	// to assume and tag the customers' ClickPipes roles.
	writeFile(t, dir, "clickhouse-service-trust.json", trustPolicy(
		statement{principal: awsPrincipal("arn:aws:iam::" + svcAccount + ":user/admin"), actions: []string{"sts:AssumeRole"}}))
	svc.run("iam", "create-role", "--role-name", "clickhouse-service-role", "--assume-role-policy-document", "file://clickhouse-service-trust.json")
	writeFile(t, dir, "clickhouse-service-policy.json", `{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": "arn:aws:iam::`+dbAccount+`:role/clickpipes-*"}]
}`)
	svc.run("iam", "put-role-policy", "--role-name", "clickhouse-service-role", "--policy-name", "assume-clickpipes-roles", "--policy-document", "file://clickhouse-service-policy.json")

	// The customer's side: "Password and IAM database authentication", the resource id.
	var mod struct {
		DBInstance struct {
			DBInstanceIdentifier             string
			IAMDatabaseAuthenticationEnabled bool
		}
	}
	cust.runJSON(&mod, "rds", "modify-db-instance", "--db-instance-identifier", db.id, "--apply-immediately", "--enable-iam-database-authentication")
	if mod.DBInstance.DBInstanceIdentifier != db.id || !mod.DBInstance.IAMDatabaseAuthenticationEnabled {
		t.Errorf("aws rds modify-db-instance: DBInstance = %+v, want %s with IAMDatabaseAuthenticationEnabled", mod.DBInstance, db.id)
	}
	var inst struct {
		DBInstances []struct {
			DBInstanceIdentifier, DbiResourceId string
			IAMDatabaseAuthenticationEnabled    bool
			Endpoint                            struct {
				Address string
				Port    int
			}
		}
	}
	cust.runJSON(&inst, "rds", "describe-db-instances", "--db-instance-identifier", db.id)
	if len(inst.DBInstances) != 1 {
		t.Fatalf("aws rds describe-db-instances --db-instance-identifier %s: %d instances, want 1", db.id, len(inst.DBInstances))
	}
	got := inst.DBInstances[0]
	if !instanceResourceID.MatchString(got.DbiResourceId) || !got.IAMDatabaseAuthenticationEnabled ||
		got.Endpoint.Address != db.host || got.Endpoint.Port != db.port {
		t.Errorf("aws rds describe-db-instances = %+v, want db- and 26 of [A-Z0-9], IAM authentication on, endpoint %s:%d", got, db.host, db.port)
	}
	rid := got.DbiResourceId

	writeSeed(t, dir, "clickpipes-trust-policy.json", map[string]string{"{ClickHouse_IAM_ARN}": serviceRoleARN})
	cust.run("iam", "create-role", "--role-name", "clickpipes-rds-access-role", "--assume-role-policy-document", "file://clickpipes-trust-policy.json")
	writeSeed(t, dir, "clickpipes-rds-policy.json", map[string]string{"{RDS_REGION}": db.region, "{AWS_ACCOUNT}": dbAccount, "{RDS_RESOURCE_ID}": rid})
	cust.run("iam", "put-role-policy", "--role-name", "clickpipes-rds-access-role", "--policy-name", "clickpipes-rds-connect", "--policy-document", "file://clickpipes-rds-policy.json")
	// The same role without sts:TagSession in its trust policy.
	writeFile(t, dir, "clickpipes-notag-trust-policy.json", trustPolicy(statement{principal: awsPrincipal(serviceRoleARN), actions: []string{"sts:AssumeRole"}}))
	cust.run("iam", "create-role", "--role-name", "clickpipes-notag-role", "--assume-role-policy-document", "file://clickpipes-notag-trust-policy.json")
	cust.run("iam", "put-role-policy", "--role-name", "clickpipes-notag-role", "--policy-name", "clickpipes-rds-connect", "--policy-document", "file://clickpipes-rds-policy.json")

	service := base.as(svc.assumeRole(serviceRoleARN, "clickhouse-service").creds)
	access := service.assumeRole("arn:aws:iam::"+dbAccount+":role/clickpipes-rds-access-role", "clickpipes",
		"--tags", "Key=service,Value=clickpipes")
	base.as(access.creds).expectIdentity(access.arn, dbAccount, nil)
	tok := strings.TrimSpace(base.as(access.creds).offline("rds", "generate-db-auth-token", "--hostname", db.host,
		"--port", "5432", "--region", db.region, "--username", "clickpipes_iam_user"))
	verifyTokenOffline(t, tok, db, "clickpipes_iam_user", access.creds)
	a.expectRemoteValid(t, a.admin(t, dbAccount), db.region, tok, "clickpipes_iam_user", access.arn, "clickpipes-rds-connect")

	notag := "arn:aws:iam::" + dbAccount + ":role/clickpipes-notag-role"
	service.runErr("AccessDenied", "sts", "assume-role", "--role-arn", notag, "--role-session-name", "clickpipes",
		"--tags", "Key=service,Value=clickpipes")
	service.assumeRole(notag, "clickpipes") // without tags, the trust policy suffices
}

// boto3CreateUserScript creates a user and an access key with the admin's credentials, then
// asks STS who the new key is; iamdb's URL comes from AWS_ENDPOINT_URL unless botocore is
// too old for it.
const boto3CreateUserScript = `
import json, sys, boto3
name, endpoint = sys.argv[1], sys.argv[2] or None  # endpoint only for a botocore older than 1.31
iam = boto3.client("iam", endpoint_url=endpoint)
user = iam.create_user(UserName=name)["User"]
key = iam.create_access_key(UserName=name)["AccessKey"]
sts = boto3.client("sts", endpoint_url=endpoint, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
ident = sts.get_caller_identity()
print(json.dumps({
    "User": {k: user[k] for k in ("Path", "UserName", "UserId", "Arn")},
    "AccessKey": {k: key[k] for k in ("UserName", "AccessKeyId", "Status", "SecretAccessKey")},
    "Identity": {k: ident[k] for k in ("UserId", "Account", "Arn")},
}))
`

func testBoto3CreateUser(t *testing.T, a *testAuthority, tools *clientTools) {
	needTool(t, tools.python != "", "boto3", "apt-get install -y python3-boto3")
	dir := t.TempDir()
	admin := a.admin(t, dbAccount)
	env := toolEnv(t, "us-east-1", append(admin.env(), "AWS_ENDPOINT_URL="+a.url)...)
	endpoint := "" // from AWS_ENDPOINT_URL
	if !tools.endpointEnv {
		endpoint = a.url
	}
	out, errOut, err := runTool(dir, env, tools.python, "-c", boto3CreateUserScript, "boto3-app", endpoint)
	if err != nil {
		t.Fatalf("boto3 create_user / create_access_key / get_caller_identity: %v\nstderr: %s", err, errOut)
	}
	var got struct {
		User      struct{ Path, UserName, UserId, Arn string }
		AccessKey struct {
			UserName, AccessKeyId, Status, SecretAccessKey string
		}
		Identity callerIdentity
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("boto3 script: %v in %q", err, out)
	}
	arn := "arn:aws:iam::" + dbAccount + ":user/boto3-app"
	if got.User.Path != "/" || got.User.UserName != "boto3-app" || got.User.Arn != arn || !userID.MatchString(got.User.UserId) {
		t.Errorf("boto3 iam.create_user = %+v, want path /, name boto3-app, %s, AIDA…", got.User, arn)
	}
	if got.AccessKey.UserName != "boto3-app" || got.AccessKey.Status != "Active" || !longTermKeyID.MatchString(got.AccessKey.AccessKeyId) || len(got.AccessKey.SecretAccessKey) != 40 {
		t.Errorf("boto3 iam.create_access_key = %s/%s/%s, secret %d chars, want boto3-app/AKIA…/Active, 40 chars",
			got.AccessKey.UserName, got.AccessKey.AccessKeyId, got.AccessKey.Status, len(got.AccessKey.SecretAccessKey))
	}
	if want := (callerIdentity{UserId: got.User.UserId, Account: dbAccount, Arn: arn}); got.Identity != want {
		t.Errorf("boto3 sts.get_caller_identity() with the new key = %+v, want %+v", got.Identity, want)
	}
}

// verifyTokenRemote runs "iamdb token verify --endpoint URL --token T --user U" as a
// subprocess, asking the authority with the verifier's credentials. It returns the output
// and the exit status.
func (a *testAuthority) verifyTokenRemote(t *testing.T, verifier awsCreds, region, tok, user string) (string, int) {
	t.Helper()
	env := toolEnv(t, region, append(verifier.env(), "IAMDB_TEST_HELPER_PROCESS=1")...)
	argv := []string{os.Args[0], "-test.run=^TestIamdbHelperProcess$", "--",
		"token", "verify", "--endpoint", a.url, "--token", tok, "--user", user}
	out, errOut, err := runTool(t.TempDir(), env, argv...)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out, 0
	case errors.As(err, &exit) && exit.ExitCode() == 1 && strings.HasPrefix(out, "refused: "):
		return out, 1
	}
	t.Fatalf("iamdb token verify --endpoint %s --token … --user %s: %v\nstdout: %s\nstderr: %s", a.url, user, err, out, errOut)
	return "", 0
}

// expectRemoteValid checks that the authority finds tok valid for user, signed by
// principal, and allowed by a statement of policy.
func (a *testAuthority) expectRemoteValid(t *testing.T, verifier awsCreds, region, tok, user, principal, policy string) {
	t.Helper()
	out, status := a.verifyTokenRemote(t, verifier, region, tok, user)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if status != 0 || len(lines) < 3 || lines[0] != "valid" || lines[1] != "principal: "+principal ||
		!strings.HasPrefix(lines[2], "decision: allowed (policy ") || !strings.Contains(lines[2], policy) {
		t.Errorf("iamdb token verify --endpoint … --user %s = %q, %d; want valid, principal: %s, decision: allowed (policy …%s…), 0",
			user, out, status, principal, policy)
	}
}

// expectRemoteRefused checks that the authority refuses tok for user, and that its answer
// contains why.
func (a *testAuthority) expectRemoteRefused(t *testing.T, verifier awsCreds, region, tok, user, why string) {
	t.Helper()
	out, status := a.verifyTokenRemote(t, verifier, region, tok, user)
	if status != 1 || !strings.Contains(out, why) {
		t.Errorf("iamdb token verify --endpoint … --user %s = %q, %d; want refused: … with %q, 1", user, out, status, why)
	}
}

// --- the authority ---

// testAuthority is "iamdb serve" running in-process for the acceptance tests.
type testAuthority struct {
	url  string
	keys map[string]awsCreds // admin access key per account
}

func (a *testAuthority) admin(t *testing.T, account string) awsCreds {
	t.Helper()
	k, ok := a.keys[account]
	if !ok {
		t.Fatalf("no admin key for account %s", account)
	}
	return k
}

// startTestAuthority writes a configuration with three accounts and the seeds' databases,
// runs "iamdb serve" until the test ends, and reads the admins' key files.
func startTestAuthority(t *testing.T) *testAuthority {
	t.Helper()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	var cfg strings.Builder
	fmt.Fprintf(&cfg, `dir = %q

[authority]
listen = "127.0.0.1:0"
region = "ap-northeast-1"

[bootstrap]
account_id = %q
admin_key_file = "admin-credentials"

[log]
level = "info"

[[accounts]]
id = %q
alias = "management"

[[accounts]]
id = %q
alias = "clickhouse-service"
`, state, dbAccount, mgmtAccount, svcAccount)
	for _, db := range []seedDB{seed000Cluster, seed001Cluster, seed003Instance} {
		fmt.Fprintf(&cfg, `
[[databases]]
identifier = %q
kind = %q
engine = %q
endpoints = [%q]
port = %d
region = %q
account = %q
iam_auth = false
`, db.id, db.kind, db.engine, db.host, db.port, db.region, db.account)
	}
	path := writeFile(t, dir, "iamdb.toml", cfg.String())

	p := startServe(t, path)
	a := &testAuthority{url: "http://" + p.addr, keys: map[string]awsCreds{}}
	if want := "ready authority=" + a.url + "\n"; p.stdout.String() != want {
		t.Errorf("iamdb serve: stdout %q, want %q", p.stdout.String(), want)
	}
	for account, file := range map[string]string{
		dbAccount:   "admin-credentials",
		mgmtAccount: "admin-credentials-" + mgmtAccount,
		svcAccount:  "admin-credentials-" + svcAccount,
	} {
		a.keys[account] = readCredentialsFile(t, filepath.Join(state, file))
	}
	return a
}

// readCredentialsFile reads the [default] key of an AWS shared credentials file and checks
// that only its owner may read it.
func readCredentialsFile(t *testing.T, path string) awsCreds {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("admin key file: %v", err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("%s: mode %v, want 0600", path, m)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c awsCreds
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			section = line
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section != "[default]" {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			c.AccessKeyID = strings.TrimSpace(v)
		case "aws_secret_access_key":
			c.SecretAccessKey = strings.TrimSpace(v)
		}
	}
	if !longTermKeyID.MatchString(c.AccessKeyID) || len(c.SecretAccessKey) != 40 {
		t.Fatalf("%s: [default] key %q with a %d-character secret, want AKIA… and 40\n%s", path, c.AccessKeyID, len(c.SecretAccessKey), redactSecret(string(b), c.SecretAccessKey))
	}
	return c
}

func redactSecret(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "<secret>")
}

// --- the clients ---

// clientTools are the AWS clients found on the machine.
type clientTools struct {
	awsV2  string // the Debian AWS CLI v2, or ""
	python string // a Python interpreter that has boto3, or ""
	// endpointEnv says whether its botocore honours AWS_ENDPOINT_URL (1.31 and later;
	// Debian 12's python3-botocore is 1.29).
	endpointEnv bool
	awsV1       bool // whether that interpreter also has the AWS CLI v1 (python -m awscli)
}

func findClientTools(t *testing.T) *clientTools {
	t.Helper()
	tools := &clientTools{}
	env := toolEnv(t, "us-east-1")
	dir := t.TempDir()
	if out, _, err := runTool(dir, env, "/usr/bin/aws", "--version"); err == nil && strings.HasPrefix(out, "aws-cli/2.") {
		tools.awsV2 = "/usr/bin/aws"
	}
	var candidates []string
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/usr/bin/python3")
	for _, py := range candidates {
		// The interpreter's own path, so that later runs skip wrappers such as pyenv's shims.
		out, _, err := runTool(dir, env, py, "-c", "import sys, boto3, botocore; print(sys.executable, botocore.__version__)")
		exe, version, ok := strings.Cut(strings.TrimSpace(out), " ")
		if err != nil || !ok {
			continue
		}
		tools.python = exe
		var major, minor int
		fmt.Sscanf(version, "%d.%d", &major, &minor)
		tools.endpointEnv = major > 1 || major == 1 && minor >= 31
		if _, _, err := runTool(dir, env, tools.python, "-m", "awscli", "--version"); err == nil {
			tools.awsV1 = true
		}
		break
	}
	t.Logf("clients: aws v2 %q, python with boto3 %q (AWS_ENDPOINT_URL: %v), aws v1 %v", tools.awsV2, tools.python, tools.endpointEnv, tools.awsV1)
	return tools
}

// needTool skips the test when a client is missing, or fails it with the install step when
// IAMDB_REQUIRE_TOOLS=1.
func needTool(t *testing.T, have bool, what, install string) {
	t.Helper()
	if have {
		return
	}
	if os.Getenv("IAMDB_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s is missing and IAMDB_REQUIRE_TOOLS=1: install it with %q", what, install)
	}
	t.Skipf("%s is missing: install it with %q (IAMDB_REQUIRE_TOOLS=1 makes this a failure)", what, install)
}

// toolEnv is the environment of a client subprocess: the machine's, less its AWS settings,
// proxies and HOME, plus a temporary HOME, empty AWS config files, no instance metadata and
// no pager; extra entries ("KEY=value") come last and win.
func toolEnv(t *testing.T, region string, extra ...string) []string {
	t.Helper()
	home := t.TempDir()
	empty := writeFile(t, home, "empty", "")
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		u := strings.ToUpper(k)
		if strings.HasPrefix(u, "AWS_") || strings.HasSuffix(u, "_PROXY") || u == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+home, "AWS_CONFIG_FILE="+empty, "AWS_SHARED_CREDENTIALS_FILE="+empty,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_DEFAULT_REGION="+region, "AWS_PAGER=")
	return append(env, extra...)
}

// runTool runs argv in dir with env and a deadline.
func runTool(dir string, env []string, argv ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, env
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("killed after %v: %w", toolTimeout, err)
	}
	return out.String(), errb.String(), err
}

// awsCreds is an AWS access key, long-term or temporary.
type awsCreds struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
}

func (c awsCreds) env() []string {
	env := []string{"AWS_ACCESS_KEY_ID=" + c.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey}
	if c.SessionToken != "" {
		env = append(env, "AWS_SESSION_TOKEN="+c.SessionToken)
	}
	return env
}

// awsV2 is the Debian AWS CLI v2 acting as one identity (from the environment).
type awsV2 struct {
	t   *testing.T
	bin string
	url string
	dir string   // where file:// paths are resolved
	env []string // without credentials
	who []string // the credentials' environment
}

// awsV2 returns the AWS CLI v2 in dir, or skips or fails the test if it is missing.
func (a *testAuthority) awsV2(t *testing.T, tools *clientTools, dir, region string) awsV2 {
	t.Helper()
	needTool(t, tools.awsV2 != "", "the AWS CLI v2 (/usr/bin/aws)", "apt-get install -y awscli")
	return awsV2{t: t, bin: tools.awsV2, url: a.url, dir: dir, env: toolEnv(t, region)}
}

// as returns the CLI acting with creds.
func (c awsV2) as(creds awsCreds) awsV2 {
	c.who = creds.env()
	return c
}

func (c awsV2) exec(remote bool, args []string) (string, string, error) {
	argv := append([]string{c.bin}, args...)
	argv = append(argv, "--no-cli-pager")
	if remote {
		argv = append(argv, "--endpoint-url", c.url)
	}
	return runTool(c.dir, append(append([]string(nil), c.env...), c.who...), argv...)
}

// run runs "aws ARGS --no-cli-pager --endpoint-url URL" and fails the test unless it
// succeeds. It returns the standard output.
func (c awsV2) run(args ...string) string {
	c.t.Helper()
	return c.must(true, args)
}

// offline runs a command that sends no request (generate-db-auth-token), as the seeds do.
func (c awsV2) offline(args ...string) string {
	c.t.Helper()
	return c.must(false, args)
}

// must runs exec and fails the test unless the command succeeds; it returns the standard
// output.
func (c awsV2) must(remote bool, args []string) string {
	c.t.Helper()
	out, errOut, err := c.exec(remote, args)
	if err != nil {
		c.t.Fatalf("aws %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// runJSON runs the command with --output json and decodes its output into v.
func (c awsV2) runJSON(v any, args ...string) {
	c.t.Helper()
	out := c.run(append(args, "--output", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("aws %s: %v in %q", strings.Join(args, " "), err, out)
	}
}

// runErr runs the command and fails the test unless the service refuses it with code.
func (c awsV2) runErr(code string, args ...string) {
	c.t.Helper()
	out, errOut, err := c.exec(true, args)
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		c.t.Errorf("aws %s: %v (stdout %q, stderr %q), want the error %s", strings.Join(args, " "), err, out, errOut, code)
		return
	}
	if !strings.Contains(errOut, "An error occurred ("+code+")") {
		c.t.Errorf("aws %s: %v, stderr %q, want the error %s", strings.Join(args, " "), err, errOut, code)
	}
}

type callerIdentity struct{ UserId, Account, Arn string }

// expectIdentity checks "aws sts get-caller-identity". A nil idPattern means the user id of
// a role session: the role's AROA id, a colon and the session name at the end of the ARN.
func (c awsV2) expectIdentity(arn, account string, idPattern *regexp.Regexp) {
	c.t.Helper()
	var id callerIdentity
	c.runJSON(&id, "sts", "get-caller-identity")
	if id.Arn != arn || id.Account != account {
		c.t.Errorf("aws sts get-caller-identity = %+v, want Arn %s, Account %s", id, arn, account)
	}
	if idPattern != nil {
		if !idPattern.MatchString(id.UserId) {
			c.t.Errorf("aws sts get-caller-identity: UserId %q does not match %s", id.UserId, idPattern)
		}
		return
	}
	rid, session, _ := strings.Cut(id.UserId, ":")
	if !roleID.MatchString(rid) || !strings.HasSuffix(arn, "/"+session) {
		c.t.Errorf("aws sts get-caller-identity: UserId %q, want AROA…:<session of %s>", id.UserId, arn)
	}
}

// assumed is the outcome of "aws sts assume-role".
type assumed struct {
	creds awsCreds
	arn   string
}

// assumeRole runs "aws sts assume-role" and checks the output's shape.
func (c awsV2) assumeRole(roleARN, session string, extra ...string) assumed {
	c.t.Helper()
	var out struct {
		Credentials struct {
			awsCreds
			Expiration string
		}
		AssumedRoleUser struct{ AssumedRoleId, Arn string }
	}
	c.runJSON(&out, append([]string{"sts", "assume-role", "--role-arn", roleARN, "--role-session-name", session}, extra...)...)
	parts := strings.SplitN(roleARN, ":", 6)
	name := parts[5][strings.LastIndexByte(parts[5], '/')+1:]
	want := "arn:aws:sts::" + parts[4] + ":assumed-role/" + name + "/" + session
	if out.AssumedRoleUser.Arn != want {
		c.t.Errorf("aws sts assume-role --role-arn %s: AssumedRoleUser.Arn = %q, want %q", roleARN, out.AssumedRoleUser.Arn, want)
	}
	if rid, s, _ := strings.Cut(out.AssumedRoleUser.AssumedRoleId, ":"); !roleID.MatchString(rid) || s != session {
		c.t.Errorf("aws sts assume-role: AssumedRoleId = %q, want AROA…:%s", out.AssumedRoleUser.AssumedRoleId, session)
	}
	cr := out.Credentials
	if !temporaryKeyID.MatchString(cr.AccessKeyID) || len(cr.SecretAccessKey) != 40 || cr.SessionToken == "" {
		c.t.Fatalf("aws sts assume-role: AccessKeyId %q, secret %d chars, session token %d bytes, want ASIA…, 40, some",
			cr.AccessKeyID, len(cr.SecretAccessKey), len(cr.SessionToken))
	}
	exp, err := time.Parse(time.RFC3339, cr.Expiration)
	if now := time.Now(); err != nil || exp.Before(now.Add(55*time.Minute)) || exp.After(now.Add(65*time.Minute)) {
		c.t.Errorf("aws sts assume-role: Expiration %q, want about an hour from now (the default 3600 s)", cr.Expiration)
	}
	return assumed{creds: cr.awsCreds, arn: out.AssumedRoleUser.Arn}
}

// --- output shapes ---

type iamPolicyOut struct {
	PolicyName, PolicyId, Arn, Path, DefaultVersionId string
	AttachmentCount, PermissionsBoundaryUsageCount    int
	IsAttachable                                      bool
	CreateDate, UpdateDate                            string
}

// checkPolicy checks create-policy's output as seed 000 shows it.
func checkPolicy(t *testing.T, p iamPolicyOut, account, name string) {
	t.Helper()
	if !policyID.MatchString(p.PolicyId) {
		t.Errorf("aws iam create-policy: PolicyId %q, want ANPA and 17 of [A-Z0-9]", p.PolicyId)
	}
	checkRecent(t, "aws iam create-policy: CreateDate", p.CreateDate)
	if p.UpdateDate != p.CreateDate {
		t.Errorf("aws iam create-policy: UpdateDate %q, CreateDate %q, want equal", p.UpdateDate, p.CreateDate)
	}
	p.PolicyId, p.CreateDate, p.UpdateDate = "", "", ""
	want := iamPolicyOut{PolicyName: name, Arn: "arn:aws:iam::" + account + ":policy/" + name, Path: "/",
		DefaultVersionId: "v1", IsAttachable: true}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("aws iam create-policy --policy-name %s: Policy (-want +got):\n%s", name, diff)
	}
}

type iamRoleOut struct {
	Path, RoleName, RoleId, Arn, CreateDate string
	AssumeRolePolicyDocument                any
}

// checkRole checks a Role as create-role and get-instance-profile show it; the CLI decodes
// the URL-encoded trust policy, which must equal the file given.
func checkRole(t *testing.T, r iamRoleOut, account, name, trustFile string) {
	t.Helper()
	if r.Path != "/" || r.RoleName != name || r.Arn != "arn:aws:iam::"+account+":role/"+name || !roleID.MatchString(r.RoleId) {
		t.Errorf("role %s: Path %q, RoleName %q, Arn %q, RoleId %q; want /, %s, arn:aws:iam::%s:role/%s, AROA…",
			name, r.Path, r.RoleName, r.Arn, r.RoleId, name, account, name)
	}
	checkRecent(t, "role "+name+": CreateDate", r.CreateDate)
	b, err := os.ReadFile(trustFile)
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s: %v", trustFile, err)
	}
	if diff := cmp.Diff(want, r.AssumeRolePolicyDocument); diff != "" {
		t.Errorf("role %s: AssumeRolePolicyDocument differs from %s (-file +got):\n%s", name, filepath.Base(trustFile), diff)
	}
}

type iamInstanceProfileOut struct {
	Path, InstanceProfileName, InstanceProfileId, Arn, CreateDate string
	Roles                                                         []iamRoleOut
}

func checkInstanceProfile(t *testing.T, op string, p iamInstanceProfileOut, account, name string) {
	t.Helper()
	if p.Path != "/" || p.InstanceProfileName != name || p.Arn != "arn:aws:iam::"+account+":instance-profile/"+name ||
		!instanceProfileID.MatchString(p.InstanceProfileId) {
		t.Errorf("aws iam %s: InstanceProfile Path %q, Name %q, Arn %q, Id %q; want /, %s, arn:aws:iam::%s:instance-profile/%s, AIPA…",
			op, p.Path, p.InstanceProfileName, p.Arn, p.InstanceProfileId, name, account, name)
	}
	checkRecent(t, "aws iam "+op+": CreateDate", p.CreateDate)
}

// checkRecent checks that s is an ISO 8601 time near now.
func checkRecent(t *testing.T, what, s string) {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Errorf("%s = %q: %v", what, s, err)
		return
	}
	if d := time.Since(ts); d < -time.Minute || d > 5*time.Minute {
		t.Errorf("%s = %q, want about now", what, s)
	}
}

// tableCells returns the cells of "--output table", header included, top to bottom.
func tableCells(out string) []string {
	var cells []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			continue
		}
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			if c = strings.TrimSpace(c); c != "" {
				cells = append(cells, c)
			}
		}
	}
	return cells
}

// --- tokens ---

// verifyTokenOffline checks a token with "iamdb token verify" and the signer's secret.
func verifyTokenOffline(t *testing.T, tok string, db seedDB, user string, creds awsCreds) {
	t.Helper()
	checkTokenShape(t, tok, db, user, creds.SessionToken != "")
	args := []string{"token", "verify", "--token", tok, "--region", db.region, "--host", db.host,
		"--port", strconv.Itoa(db.port), "--user", user, "--secret-access-key", creds.SecretAccessKey}
	if creds.SessionToken != "" {
		args = append(args, "--session-token", creds.SessionToken)
	}
	if out, errOut, status := runCLI(t, args...); status != 0 || out != "valid\n" {
		t.Errorf("iamdb token verify (token by %s for %s) = %q, %d (stderr %q), want valid, 0", creds.AccessKeyID, user, out, status, errOut)
	}
}

// checkTokenShape checks what an RDS auth token says in the clear.
func checkTokenShape(t *testing.T, tok string, db seedDB, user string, temporary bool) {
	t.Helper()
	prefix := fmt.Sprintf("%s:%d/?", db.host, db.port)
	if !strings.HasPrefix(tok, prefix) {
		t.Errorf("token %.80q…, want it to start with %q", tok, prefix)
		return
	}
	q, err := url.ParseQuery(tok[len(prefix):])
	if err != nil {
		t.Errorf("token query: %v", err)
		return
	}
	if q.Get("Action") != "connect" || q.Get("DBUser") != user || q.Get("X-Amz-Expires") != "900" ||
		!strings.Contains(q.Get("X-Amz-Credential"), "/"+db.region+"/rds-db/aws4_request") {
		t.Errorf("token: Action %q, DBUser %q, X-Amz-Expires %q, X-Amz-Credential %q; want connect, %s, 900, …/%s/rds-db/aws4_request",
			q.Get("Action"), q.Get("DBUser"), q.Get("X-Amz-Expires"), q.Get("X-Amz-Credential"), user, db.region)
	}
	if key, _, _ := strings.Cut(q.Get("X-Amz-Credential"), "/"); temporary != temporaryKeyID.MatchString(key) || temporary != (q.Get("X-Amz-Security-Token") != "") {
		t.Errorf("token signed by %q with session token %v, want temporary credentials %v", key, q.Get("X-Amz-Security-Token") != "", temporary)
	}
}

// --- files ---

// writeSeed copies testdata/seeds/name into dir with the placeholders replaced, and fails
// if a placeholder is left. It returns the file's path.
func writeSeed(t *testing.T, dir, name string, repl map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "seeds", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range repl {
		if !strings.Contains(s, k) {
			t.Fatalf("testdata/seeds/%s has no placeholder %s", name, k)
		}
		s = strings.ReplaceAll(s, k, v)
	}
	if p := leftPlaceholder.FindString(s); p != "" {
		t.Fatalf("testdata/seeds/%s: placeholder %s left", name, p)
	}
	return writeFile(t, dir, name, s)
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// statement is a trust policy statement; principal is JSON.
type statement struct {
	principal string
	actions   []string
}

func awsPrincipal(arn string) string { return `{"AWS": "` + arn + `"}` }

// trustPolicy renders a trust policy for the roles the seeds do not spell out.
func trustPolicy(stmts ...statement) string {
	var b strings.Builder
	b.WriteString(`{"Version": "2012-10-17", "Statement": [`)
	for i, s := range stmts {
		if i > 0 {
			b.WriteString(", ")
		}
		acts, _ := json.Marshal(s.actions)
		fmt.Fprintf(&b, `{"Effect": "Allow", "Principal": %s, "Action": %s}`, s.principal, acts)
	}
	b.WriteString("]}")
	return b.String()
}
