package iam

import (
	"net/netip"
	"regexp"
	"testing"
	"time"

	"github.com/iamdb/iamdb/policy"
)

func TestRDSRegistry(t *testing.T) {
	e := newEnv(t)
	ctx := WithRequestInfo(e.ctx, RequestInfo{Region: "ap-northeast-1"})
	cl, err := e.s.RegisterDatabase(e.ctx, DatabaseSpec{
		Identifier: "aurorapgsqlv1", Engine: "aurora-postgresql", Port: 5432,
		Endpoints: []string{"aurorapgsqlv1.cluster-x.ap-northeast-1.rds.example"}, ReaderEndpoint: "aurorapgsqlv1.cluster-ro-x.ap-northeast-1.rds.example",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^cluster-[A-Z0-9]{26}$`).MatchString(cl.ResourceID) || cl.Kind != KindCluster || cl.Account != acctA || cl.Region != "ap-northeast-1" || cl.IAMAuth {
		t.Fatalf("RegisterDatabase = %+v", cl)
	}
	// Idempotent: same resource ID.
	again, err := e.s.RegisterDatabase(e.ctx, DatabaseSpec{Identifier: "AuroraPgSqlV1", Engine: "aurora-postgresql", Port: 5432, Endpoints: cl.Endpoints, ReaderEndpoint: cl.ReaderEndpoint})
	if err != nil || again.ResourceID != cl.ResourceID {
		t.Fatalf("second RegisterDatabase = %+v, %v", again, err)
	}
	inst, err := e.s.RegisterDatabase(e.ctx, DatabaseSpec{Identifier: "mydb", Engine: "mysql", Port: 3306, Endpoints: []string{"mydb.example"}, IAMAuth: true})
	if err != nil || !regexp.MustCompile(`^db-[A-Z0-9]{26}$`).MatchString(inst.ResourceID) {
		t.Fatalf("RegisterDatabase(instance) = %+v, %v", inst, err)
	}
	for _, bad := range []DatabaseSpec{
		{Identifier: "1db", Engine: "mysql", Port: 3306, Endpoints: []string{"h"}},
		{Identifier: "db", Engine: "oracle", Port: 1521, Endpoints: []string{"h"}},
		{Identifier: "db", Engine: "mysql", Port: 3306},
		{Identifier: "db", Engine: "mysql", Kind: KindCluster, Port: 3306, Endpoints: []string{"h"}},
	} {
		if _, err := e.s.RegisterDatabase(e.ctx, bad); err == nil {
			t.Errorf("RegisterDatabase(%+v) = nil", bad)
		}
	}

	// Seed 000: modify-db-cluster --enable-iam-database-authentication, describe-db-clusters.
	on := true
	m, err := e.s.ModifyDBCluster(ctx, e.admin, ModifyDBInput{Identifier: "aurorapgsqlv1", EnableIAMDatabaseAuthentication: &on, ApplyImmediately: true})
	if err != nil || !m.IAMAuth {
		t.Fatalf("ModifyDBCluster = %+v, %v", m, err)
	}
	d, err := e.s.DescribeDBClusters(ctx, e.admin, DescribeDBInput{Identifier: "aurorapgsqlv1"})
	if err != nil || len(d.Databases) != 1 || !d.Databases[0].IAMAuth || d.Databases[0].ResourceID != cl.ResourceID {
		t.Fatalf("DescribeDBClusters = %+v, %v", d, err)
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"cluster not found", func() error {
			_, err := e.s.DescribeDBClusters(ctx, e.admin, DescribeDBInput{Identifier: "nope"})
			return err
		}(), CodeDBClusterNotFound},
		{"instance not found", func() error {
			_, err := e.s.DescribeDBInstances(ctx, e.admin, DescribeDBInput{Identifier: "nope"})
			return err
		}(), CodeDBInstanceNotFound},
		{"modify missing", func() error {
			_, err := e.s.ModifyDBInstance(ctx, e.admin, ModifyDBInput{Identifier: "nope"})
			return err
		}(), CodeDBInstanceNotFound},
		{"bad max records", func() error {
			_, err := e.s.DescribeDBInstances(ctx, e.admin, DescribeDBInput{MaxRecords: 5})
			return err
		}(), CodeInvalidParameterValue},
		{"bad filter", func() error {
			_, err := e.s.DescribeDBInstances(ctx, e.admin, DescribeDBInput{Filters: []Filter{{Name: "x", Values: []string{"y"}}}})
			return err
		}(), CodeInvalidParameterValue},
	}
	for _, tt := range tests {
		if got := code(tt.err); got != tt.want {
			t.Errorf("%s: %v, want %s", tt.name, tt.err, tt.want)
		}
	}
	di, err := e.s.DescribeDBInstances(ctx, e.admin, DescribeDBInput{Filters: []Filter{{Name: "engine", Values: []string{"mysql"}}}})
	if err != nil || len(di.Databases) != 1 || di.Databases[0].Identifier != "mydb" {
		t.Fatalf("DescribeDBInstances(engine=mysql) = %+v, %v", di, err)
	}
	// Other region: nothing.
	di, err = e.s.DescribeDBInstances(WithRequestInfo(e.ctx, RequestInfo{Region: "us-west-2"}), e.admin, DescribeDBInput{})
	if err != nil || len(di.Databases) != 0 {
		t.Fatalf("DescribeDBInstances(us-west-2) = %+v, %v", di, err)
	}
	// Authorization: a user without rds permissions.
	bob := e.user(e.admin, "bob", "")
	if _, err := e.s.DescribeDBClusters(ctx, bob, DescribeDBInput{}); code(err) != CodeAccessDenied {
		t.Fatalf("DescribeDBClusters by bob = %v", err)
	}

	// Gateways find databases by endpoint.
	for _, h := range []string{"AuroraPgSqlV1.cluster-x.ap-northeast-1.rds.example", "aurorapgsqlv1.cluster-ro-x.ap-northeast-1.rds.example"} {
		if db, ok := e.s.DatabaseByEndpoint(h, 5432); !ok || db.ResourceID != cl.ResourceID {
			t.Errorf("DatabaseByEndpoint(%s) = %+v, %v", h, db, ok)
		}
	}
	if _, ok := e.s.DatabaseByEndpoint("aurorapgsqlv1.cluster-x.ap-northeast-1.rds.example", 5433); ok {
		t.Error("DatabaseByEndpoint with the wrong port found a database")
	}

	// Native mode: the cluster's server also takes logins on its own port, 6543.
	e.s.SetNativePorts(map[string][]int{cl.ResourceID: {6543}})
	db, ok := e.s.DatabaseByEndpoint("AuroraPgSqlV1.cluster-x.ap-northeast-1.rds.example.", 6543)
	if !ok || db.ResourceID != cl.ResourceID || db.Port != 6543 {
		t.Errorf("DatabaseByEndpoint on the native port = %+v, %v; want the cluster with port 6543", db, ok)
	}
	if db, ok := e.s.DatabaseByEndpoint("aurorapgsqlv1.cluster-x.ap-northeast-1.rds.example", 5432); !ok || db.Port != 5432 {
		t.Errorf("DatabaseByEndpoint on the registered port after SetNativePorts = %+v, %v", db, ok)
	}
	if _, ok := e.s.DatabaseByEndpoint("other.example", 6543); ok {
		t.Error("DatabaseByEndpoint found a database on its native port under a name it does not have")
	}
	e.s.SetNativePorts(nil)
	if _, ok := e.s.DatabaseByEndpoint("aurorapgsqlv1.cluster-x.ap-northeast-1.rds.example", 6543); ok {
		t.Error("DatabaseByEndpoint found a native port after SetNativePorts(nil)")
	}
}

// TestAuthorizeConnectSeeds runs the rds-db:connect policies of seeds 000 and 001.
func TestAuthorizeConnectSeeds(t *testing.T) {
	e := newEnv(t)
	dbAcct := acctA
	adminM := e.bootstrap(acctB, "mgmt-admin") // the management account
	cl, err := e.s.RegisterDatabase(e.ctx, DatabaseSpec{Identifier: "aurorapgsqlv1", Engine: "aurora-postgresql", Port: 5432, Region: "ap-northeast-1",
		Account: dbAcct, Endpoints: []string{"pg.example"}, IAMAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.s.RegisterDatabase(e.ctx, DatabaseSpec{Identifier: "other", Engine: "postgres", Port: 5432, Region: "ap-northeast-1",
		Account: dbAcct, Endpoints: []string{"other.example"}, IAMAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	info := RequestInfo{SourceIP: netip.MustParseAddr("10.0.0.1"), SecureTransport: true}

	// Seed 000: a managed policy allowing iam_user on the cluster, attached to a user.
	p, err := e.s.CreatePolicy(e.ctx, e.admin, CreatePolicyInput{PolicyName: "iam_rds_connect",
		PolicyDocument: allow("rds-db:connect", "arn:aws:rds-db:ap-northeast-1:"+dbAcct+":dbuser:"+cl.ResourceID+"/iam_user")})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^ANPA[A-Z2-7]{17}$`).MatchString(p.PolicyID) || p.DefaultVersionID != "v1" || p.ARN != "arn:aws:iam::"+dbAcct+":policy/iam_rds_connect" {
		t.Fatalf("CreatePolicy = %+v", p)
	}
	u := e.user(e.admin, "app", "")
	if err := e.s.AttachUserPolicy(e.ctx, e.admin, "app", p.ARN); err != nil {
		t.Fatal(err)
	}
	u = e.caller(u.AccessKeyID, "")

	// Seed 001 cross-account: pg-mgmt-role (management account) may assume pg-monitor-role
	// (DB account), which may connect as pgmonitor to every cluster.
	mgmt := e.role(adminM, "pg-mgmt-role", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
		allow("sts:AssumeRole", "arn:aws:iam::"+dbAcct+":role/pg-monitor-role"))
	mon := e.role(e.admin, "pg-monitor-role", trustARN(mgmt.ARN), allow("rds-db:connect", "arn:aws:rds-db:ap-northeast-1:"+dbAcct+":dbuser:*/pgmonitor"))
	wl, err := e.s.AssumeRoleForWorkload(e.ctx, mgmt.ARN, ServiceEC2, "i-0abc", 0)
	if err != nil {
		t.Fatal(err)
	}
	inst := e.caller(wl.Credentials.AccessKeyID, wl.Credentials.SessionToken)
	monitor, _ := e.assume(inst, AssumeRoleInput{RoleARN: mon.ARN, RoleSessionName: "instancecrossaccount"})

	tests := []struct {
		name   string
		c      *Caller
		db     Database
		dbUser string
		want   policy.Effect
	}{
		{"000 allowed", u, cl, "iam_user", policy.Allowed},
		{"000 other user", u, cl, "postgres", policy.ImplicitDeny},
		{"000 other database", u, other, "iam_user", policy.ImplicitDeny},
		{"001 pgmonitor on cluster", monitor, cl, "pgmonitor", policy.Allowed},
		{"001 pgmonitor on other", monitor, other, "pgmonitor", policy.Allowed},
		{"001 other user", monitor, cl, "oltp_rw_user", policy.ImplicitDeny},
		{"001 mgmt role itself, cross-account", inst, cl, "pgmonitor", policy.ImplicitDeny},
		{"admin", e.admin, cl, "anyone", policy.Allowed},
	}
	for _, tt := range tests {
		d, err := e.s.AuthorizeConnect(e.ctx, tt.c, tt.db, tt.dbUser, info)
		if err != nil || d.Effect != tt.want {
			t.Errorf("%s: AuthorizeConnect = %+v, %v; want %v", tt.name, d, err, tt.want)
		}
	}
	// The caller LookupKey returns is what the gateway passes in.
	k, err := e.s.LookupKey(e.ctx, u.AccessKeyID, "")
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := e.s.AuthorizeConnect(e.ctx, k.Principal, cl, "iam_user", info); !d.Allowed() {
		t.Fatalf("AuthorizeConnect via LookupKey = %+v", d)
	}
	// IAM authentication off: refused.
	off := false
	if _, err := e.s.ModifyDBCluster(WithRequestInfo(e.ctx, RequestInfo{Region: "ap-northeast-1"}), e.admin, ModifyDBInput{Identifier: "aurorapgsqlv1", EnableIAMDatabaseAuthentication: &off}); err != nil {
		t.Fatal(err)
	}
	db, _ := e.s.DatabaseByEndpoint("pg.example", 5432)
	if d, _ := e.s.AuthorizeConnect(e.ctx, u, db, "iam_user", info); d.Allowed() || d.Reason != reasonIAMAuthDisabled {
		t.Fatalf("AuthorizeConnect with IAM auth off = %+v", d)
	}
	// Condition on transport, from info.
	e.role(e.admin, "tls-only", trustARN(e.admin.ARN), `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`)
	s, _ := e.assume(e.admin, AssumeRoleInput{RoleARN: "arn:aws:iam::" + dbAcct + ":role/tls-only", RoleSessionName: "tls"})
	if d, _ := e.s.AuthorizeConnect(e.ctx, s, other, "x", RequestInfo{}); d.Allowed() {
		t.Fatal("plain connection allowed by a TLS-only policy")
	}
	if d, _ := e.s.AuthorizeConnect(e.ctx, s, other, "x", info); !d.Allowed() {
		t.Fatalf("TLS connection: %+v", d)
	}
}

// TestRevokeOlderSessions: AWS revokes a role's active sessions with an inline policy that
// denies everything to sessions issued before now (the console's "Revoke active sessions",
// AWSRevokeOlderSessions); the next login of such a session is refused, a new session of
// the same role logs in.
func TestRevokeOlderSessions(t *testing.T) {
	e := newEnv(t)
	db, err := e.s.RegisterDatabase(e.ctx, DatabaseSpec{Identifier: "pgdemo", Engine: "postgres", Port: 5432, Region: "ap-northeast-1",
		Account: acctA, Endpoints: []string{"pg.example"}, IAMAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	info := RequestInfo{SourceIP: netip.MustParseAddr("10.0.0.1"), SecureTransport: true}
	r := e.role(e.admin, "app-role", trustARN(e.admin.ARN), allow("rds-db:connect", "*"))
	old, oldOut := e.assume(e.admin, AssumeRoleInput{RoleARN: r.ARN, RoleSessionName: "old"})
	if d, err := e.s.AuthorizeConnect(e.ctx, old, db, "app", info); err != nil || !d.Allowed() {
		t.Fatalf("before the revocation: %+v, %v", d, err)
	}
	e.clock.Advance(time.Minute)
	revoke := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],` +
		`"Condition":{"DateLessThan":{"aws:TokenIssueTime":"` + e.clock.Now().Format(time.RFC3339) + `"}}}]}`
	if err := e.s.PutRolePolicy(e.ctx, e.admin, "app-role", "AWSRevokeOlderSessions", revoke); err != nil {
		t.Fatal(err)
	}
	old = e.caller(oldOut.Credentials.AccessKeyID, oldOut.Credentials.SessionToken) // as the gateway looks it up at the next login
	if d, err := e.s.AuthorizeConnect(e.ctx, old, db, "app", info); err != nil || d.Effect != policy.ExplicitDeny {
		t.Errorf("a session issued before the revocation: %+v, %v; want an explicit deny", d, err)
	}
	e.clock.Advance(time.Second)
	fresh, _ := e.assume(e.admin, AssumeRoleInput{RoleARN: r.ARN, RoleSessionName: "new"})
	if d, err := e.s.AuthorizeConnect(e.ctx, fresh, db, "app", info); err != nil || !d.Allowed() {
		t.Errorf("a session issued after the revocation: %+v, %v; want allowed", d, err)
	}
}
