package awsquery

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/audit/audittest"
)

// auditEnv is a testEnv whose server records into an audittest.Collector that fills in the EventID and EventVersion a journal would.
func auditEnv(t *testing.T) (*testEnv, *audittest.Collector) {
	e := newTestEnv(t)
	rec := &audittest.Collector{Fill: func(e *audit.Event) {
		if e.EventID == "" {
			e.EventID = newRequestID()
		}
		if e.EventVersion == "" {
			e.EventVersion = audit.EventVersion
		}
	}}
	h, err := New(Config{IAM: e.svc, Region: testRegion, Logger: e.logs.Logger(), Audit: rec})
	if err != nil {
		t.Fatal(err)
	}
	e.h.Store(h)
	return e, rec
}

// oneCLI returns one AWS CLI (v2 if there is one).
func oneCLI(t *testing.T) []string {
	clis := awsCLIs(t)
	if v2, ok := clis["v2"]; ok {
		return v2
	}
	return clis["v1"]
}

func runCLIAs(t *testing.T, argv []string, url, home string, c aws.Credentials, wantErr bool, args ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], append(append(argv[1:], "--endpoint-url", url, "--region", testRegion, "--output", "json"), args...)...)
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "AWS_ACCESS_KEY_ID=" + c.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey, "AWS_SESSION_TOKEN=" + c.SessionToken, "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1"}
	out, err := cmd.CombinedOutput()
	if (err != nil) != wantErr {
		t.Fatalf("aws %s: err = %v, want error %v\n%s", strings.Join(args, " "), err, wantErr, out)
	}
	return string(out)
}

// TestAuditEvents drives the authority with the real AWS CLI and checks the CloudTrail
// events it records: a user's call, a resource creation with tags, CreateAccessKey,
// AssumeRole, a role session's call, a refused call, a signature failure and an unknown
// key; and that no event holds any of the secrets involved.
func TestAuditEvents(t *testing.T) {
	cli := oneCLI(t)
	e, rec := auditEnv(t)
	home := t.TempDir()
	run := func(c aws.Credentials, wantErr bool, args ...string) string {
		t.Helper()
		return runCLIAs(t, cli, e.srv.URL, home, c, wantErr, args...)
	}
	secrets := []string{e.admin.SecretAccessKey}

	// A user's read-only call.
	run(e.admin, false, "sts", "get-caller-identity")
	ev := rec.Find(t, "GetCallerIdentity")
	if len(ev) != 1 {
		t.Fatalf("GetCallerIdentity events = %d, want 1", len(ev))
	}
	g := ev[0]
	for _, c := range []struct {
		keys []string
		want any
	}{
		{[]string{"eventVersion"}, audit.EventVersion},
		{[]string{"eventSource"}, "sts.amazonaws.com"},
		{[]string{"awsRegion"}, "us-east-1"},
		{[]string{"userIdentity", "type"}, "IAMUser"},
		{[]string{"userIdentity", "arn"}, "arn:aws:iam::" + testAccount + ":user/admin"},
		{[]string{"userIdentity", "accountId"}, testAccount},
		{[]string{"userIdentity", "accessKeyId"}, e.admin.AccessKeyID},
		{[]string{"userIdentity", "userName"}, "admin"},
		{[]string{"sourceIPAddress"}, "127.0.0.1"},
		{[]string{"readOnly"}, true},
		{[]string{"eventType"}, "AwsApiCall"},
		{[]string{"managementEvent"}, true},
		{[]string{"eventCategory"}, "Management"},
		{[]string{"recipientAccountId"}, testAccount},
		{[]string{"requestParameters"}, nil},
		{[]string{"responseElements"}, nil},
	} {
		if got := audittest.JPath(g, c.keys...); got != c.want {
			t.Errorf("GetCallerIdentity event %s = %v, want %v", strings.Join(c.keys, "."), got, c.want)
		}
	}
	if id, _ := audittest.JPath(g, "userIdentity", "principalId").(string); !strings.HasPrefix(id, "AIDA") {
		t.Errorf("principalId = %q, want AIDA…", id)
	}
	if ua, _ := g["userAgent"].(string); !strings.Contains(ua, "aws-cli") {
		t.Errorf("userAgent = %q, want the CLI's", ua)
	}
	if id, _ := g["requestID"].(string); len(id) != 36 {
		t.Errorf("requestID = %q", id)
	}
	if _, ok := g["errorCode"]; ok {
		t.Errorf("errorCode present on success: %v", g)
	}

	// A mutating call: parameters with a list, the response's elements, the resource.
	run(e.admin, false, "iam", "create-user", "--user-name", "alice", "--tags", "Key=team,Value=db", "Key=env,Value=prod")
	cu := rec.Find(t, "CreateUser")[0]
	if got := audittest.JPath(cu, "requestParameters", "userName"); got != "alice" {
		t.Errorf("CreateUser requestParameters.userName = %v", got)
	}
	tags, _ := audittest.JPath(cu, "requestParameters", "tags").([]any)
	if len(tags) != 2 || audittest.JPath(tags[0], "key") != "team" || audittest.JPath(tags[0], "value") != "db" || audittest.JPath(tags[1], "key") != "env" {
		t.Errorf("CreateUser requestParameters.tags = %v, want [{team db} {env prod}]", tags)
	}
	if got := audittest.JPath(cu, "responseElements", "user", "arn"); got != "arn:aws:iam::"+testAccount+":user/alice" {
		t.Errorf("CreateUser responseElements.user.arn = %v", got)
	}
	if cu["readOnly"] != false {
		t.Errorf("CreateUser readOnly = %v", cu["readOnly"])
	}
	if res, _ := cu["resources"].([]any); len(res) != 1 || audittest.JPath(res[0], "type") != "AWS::IAM::User" {
		t.Errorf("CreateUser resources = %v", cu["resources"])
	}

	// CreateAccessKey: the key, never its secret.
	var ak struct {
		AccessKey struct{ AccessKeyId, SecretAccessKey string }
	}
	if err := json.Unmarshal([]byte(run(e.admin, false, "iam", "create-access-key", "--user-name", "alice")), &ak); err != nil || ak.AccessKey.SecretAccessKey == "" {
		t.Fatalf("create-access-key: %+v, %v", ak, err)
	}
	secrets = append(secrets, ak.AccessKey.SecretAccessKey)
	ck := rec.Find(t, "CreateAccessKey")[0]
	key, _ := audittest.JPath(ck, "responseElements", "accessKey").(map[string]any)
	if key["accessKeyId"] != ak.AccessKey.AccessKeyId || key["status"] != "Active" || key["userName"] != "alice" || key["createDate"] == nil {
		t.Errorf("CreateAccessKey responseElements.accessKey = %v", key)
	}
	if _, ok := key["secretAccessKey"]; ok {
		t.Errorf("CreateAccessKey event holds secretAccessKey")
	}

	// AssumeRole: the credentials' key ID and expiry, never the secret or session token.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"sts:AssumeRole"}]}`
	run(e.admin, false, "iam", "create-role", "--role-name", "auditor", "--assume-role-policy-document", trust)
	roleARN := "arn:aws:iam::" + testAccount + ":role/auditor"
	var ar struct {
		Credentials     struct{ AccessKeyId, SecretAccessKey, SessionToken string }
		AssumedRoleUser struct{ AssumedRoleId, Arn string }
	}
	if err := json.Unmarshal([]byte(run(e.admin, false, "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "audit-session")), &ar); err != nil || ar.Credentials.SessionToken == "" {
		t.Fatalf("assume-role: %+v, %v", ar, err)
	}
	secrets = append(secrets, ar.Credentials.SecretAccessKey, ar.Credentials.SessionToken)
	as := rec.Find(t, "AssumeRole")[0]
	if audittest.JPath(as, "requestParameters", "roleArn") != roleARN || audittest.JPath(as, "requestParameters", "roleSessionName") != "audit-session" {
		t.Errorf("AssumeRole requestParameters = %v", as["requestParameters"])
	}
	cr, _ := audittest.JPath(as, "responseElements", "credentials").(map[string]any)
	if cr["accessKeyId"] != ar.Credentials.AccessKeyId || cr["expiration"] == nil || len(cr) != 2 {
		t.Errorf("AssumeRole responseElements.credentials = %v, want {accessKeyId, expiration}", cr)
	}
	if audittest.JPath(as, "responseElements", "assumedRoleUser", "arn") != ar.AssumedRoleUser.Arn {
		t.Errorf("AssumeRole responseElements.assumedRoleUser = %v", audittest.JPath(as, "responseElements", "assumedRoleUser"))
	}

	// The role session's call: AssumedRole with its session context.
	session := aws.Credentials{AccessKeyID: ar.Credentials.AccessKeyId, SecretAccessKey: ar.Credentials.SecretAccessKey, SessionToken: ar.Credentials.SessionToken}
	run(session, false, "sts", "get-caller-identity")
	rs := rec.Find(t, "GetCallerIdentity")[1]
	for _, c := range []struct {
		keys []string
		want any
	}{
		{[]string{"userIdentity", "type"}, "AssumedRole"},
		{[]string{"userIdentity", "principalId"}, ar.AssumedRoleUser.AssumedRoleId},
		{[]string{"userIdentity", "arn"}, ar.AssumedRoleUser.Arn},
		{[]string{"userIdentity", "accessKeyId"}, ar.Credentials.AccessKeyId},
		{[]string{"userIdentity", "sessionContext", "attributes", "mfaAuthenticated"}, "false"},
		{[]string{"userIdentity", "sessionContext", "sessionIssuer", "type"}, "Role"},
		{[]string{"userIdentity", "sessionContext", "sessionIssuer", "arn"}, roleARN},
		{[]string{"userIdentity", "sessionContext", "sessionIssuer", "userName"}, "auditor"},
		{[]string{"userIdentity", "sessionContext", "sessionIssuer", "accountId"}, testAccount},
	} {
		if got := audittest.JPath(rs, c.keys...); got != c.want {
			t.Errorf("role session event %s = %v, want %v", strings.Join(c.keys, "."), got, c.want)
		}
	}
	if d, _ := audittest.JPath(rs, "userIdentity", "sessionContext", "attributes", "creationDate").(string); !strings.HasSuffix(d, "Z") {
		t.Errorf("sessionContext.attributes.creationDate = %q", d)
	}

	// RDS: recorded in the request's region.
	run(e.admin, false, "rds", "describe-db-instances")
	if di := rec.Find(t, "DescribeDBInstances"); len(di) != 1 || di[0]["awsRegion"] != testRegion || di[0]["eventSource"] != "rds.amazonaws.com" || di[0]["readOnly"] != true {
		t.Errorf("DescribeDBInstances events = %v", di)
	}

	// A refused call: the role has no permissions.
	run(session, true, "iam", "list-users")
	lu := rec.Find(t, "ListUsers")
	if len(lu) != 1 || lu[0]["errorCode"] != "AccessDenied" || lu[0]["errorMessage"] == "" || lu[0]["responseElements"] != nil {
		t.Errorf("refused ListUsers events = %v", lu)
	}

	// A signature failure with a real key, and an unknown key.
	bad := e.admin
	bad.SecretAccessKey = strings.Repeat("x", 40)
	run(bad, true, "iam", "get-user")
	gu := rec.Find(t, "GetUser")
	if len(gu) != 1 || gu[0]["errorCode"] != "SignatureDoesNotMatch" || audittest.JPath(gu[0], "userIdentity", "type") != "Unknown" ||
		audittest.JPath(gu[0], "userIdentity", "accessKeyId") != e.admin.AccessKeyID || gu[0]["recipientAccountId"] != testAccount {
		t.Errorf("signature failure events = %v", gu)
	}
	if r := e.raw(aws.Credentials{AccessKeyID: "AKIAAAAAAAAAAAAAAAAA", SecretAccessKey: "s"}, "iam", formOf("Action", "ListRoles", "Version", versionIAM)); r.Code != "InvalidClientTokenId" {
		t.Fatalf("unknown key: %+v", r)
	}
	lr := rec.Find(t, "ListRoles")
	if len(lr) != 1 || lr[0]["errorCode"] != "InvalidClientTokenId" || audittest.JPath(lr[0], "userIdentity", "accessKeyId") != "AKIAAAAAAAAAAAAAAAAA" {
		t.Errorf("unknown key events = %v", lr)
	}

	// Requests that name no action are not recorded; 404s neither.
	n := rec.Count()
	resp, err := e.srv.Client().Get(e.srv.URL + "/nowhere")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := e.raw(e.admin, "iam", formOf("Version", versionIAM)); r.Code != "MissingAction" {
		t.Fatalf("no action: %+v", r)
	}
	if got := rec.Count(); got != n {
		t.Errorf("a 404 or a request without an action was recorded: %d events, want %d", got, n)
	}

	rec.NoSecrets(t, secrets...)
	all := rec.Text()
	if strings.Contains(all, "Signature=") || strings.Contains(strings.ToLower(all), "sessiontoken") || strings.Contains(strings.ToLower(all), "secretaccesskey") {
		t.Errorf("events hold a signature or a secret's name:\n%s", all)
	}
}

// TestAuditRecordFailure: a call whose event cannot be recorded does not succeed.
func TestAuditRecordFailure(t *testing.T) {
	e, rec := auditEnv(t)
	rec.SetFail(true)
	r := e.raw(e.admin, "iam", formOf("Action", "CreateUser", "Version", versionIAM, "UserName", "bob"))
	if r.status != http.StatusInternalServerError || r.Code != "ServiceFailure" {
		t.Errorf("unrecorded CreateUser = %d %s, want 500 ServiceFailure", r.status, r.Code)
	}
	r = e.raw(e.admin, "sts", formOf("Action", "GetCallerIdentity", "Version", versionSTS))
	if r.status != http.StatusInternalServerError || r.Code != "InternalFailure" {
		t.Errorf("unrecorded GetCallerIdentity = %d %s, want 500 InternalFailure", r.status, r.Code)
	}
	if !strings.Contains(e.log(), "request not recorded in the audit trail") {
		t.Errorf("the failure is not logged:\n%s", e.log())
	}
}

// TestAuditUnsignedOverTLS: an unsigned AssumeRoleWithWebIdentity whose token is refused
// is recorded in the role's account, without the token, with the connection's TLS.
func TestAuditUnsignedOverTLS(t *testing.T) {
	e, rec := auditEnv(t)
	srv := httptest.NewTLSServer(e.h.Load())
	t.Cleanup(srv.Close)
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl"
	role := "arn:aws:iam::" + testAccount + ":role/web"
	body := formOf("Action", "AssumeRoleWithWebIdentity", "Version", versionSTS, "RoleArn", role,
		"RoleSessionName", "s1", "WebIdentityToken", jwt)
	resp, err := srv.Client().Post(srv.URL+"/", "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatal("a made-up web identity token was accepted")
	}
	evs := rec.Find(t, "AssumeRoleWithWebIdentity")
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	ev := evs[0]
	if ev["errorCode"] == nil || ev["recipientAccountId"] != testAccount || audittest.JPath(ev, "userIdentity", "type") != "Unknown" ||
		audittest.JPath(ev, "requestParameters", "roleSessionName") != "s1" || audittest.JPath(ev, "requestParameters", "roleArn") != role {
		t.Errorf("event = %v", ev)
	}
	if audittest.JPath(ev, "tlsDetails", "tlsVersion") != "TLSv1.3" || audittest.JPath(ev, "tlsDetails", "cipherSuite") == nil {
		t.Errorf("tlsDetails = %v", ev["tlsDetails"])
	}
	if all := rec.Text(); strings.Contains(all, jwt) || strings.Contains(all, "c2lnbmF0dXJl") || strings.Contains(strings.ToLower(all), "webidentitytoken") {
		t.Errorf("the event holds the token:\n%s", all)
	}
}
