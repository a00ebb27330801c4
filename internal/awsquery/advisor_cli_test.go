package awsquery

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamdb/iamdb/internal/access"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/token"
)

// TestAdvisorCLIs: a login allowed by access.Authorizer (what gateways and native mode
// ask) shows in GetAccessKeyLastUsed, the access advisor and the credential report, read
// by the real AWS CLIs and boto3.
func TestAdvisorCLIs(t *testing.T) {
	clis := awsCLIs(t)
	e := newTestEnv(t)
	ctx := context.Background()
	db, err := e.svc.RegisterDatabase(ctx, iam.DatabaseSpec{Identifier: "advdb", Kind: iam.KindInstance, Engine: "postgres",
		Endpoints: []string{"advdb.example.com"}, Port: 5432, Region: "eu-west-1", Account: testAccount, IAMAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	ic := e.iamClient(e.admin)
	_, err = ic.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("dbapp")})
	check(t, "CreateUser", err)
	_, err = ic.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("dbapp"), PolicyName: aws.String("connect"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"` + db.ConnectARN("app") + `"}]}`)})
	check(t, "PutUserPolicy", err)
	used, err := ic.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("dbapp")})
	check(t, "CreateAccessKey", err)
	idle, err := ic.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("dbapp")})
	check(t, "CreateAccessKey", err)
	usedID, idleID := aws.ToString(used.AccessKey.AccessKeyId), aws.ToString(idle.AccessKey.AccessKeyId)

	// The login, decided as a gateway decides it.
	az, err := access.NewAuthorizer(access.Config{Authority: e.svc, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := token.Build("advdb.example.com:5432", "eu-west-1", "app",
		token.Credentials{AccessKeyID: usedID, SecretAccessKey: aws.ToString(used.AccessKey.SecretAccessKey)}, time.Now())
	check(t, "token.Build", err)
	var rec access.Record
	if !az.Authorize(ctx, "app", tok, netip.MustParseAddr("127.0.0.1"), true, &rec) {
		t.Fatalf("login refused: %+v", rec)
	}
	userARN := "arn:aws:iam::" + testAccount + ":user/dbapp"
	loginAt := e.clock.Now().UTC().Format(time.RFC3339)

	home := t.TempDir()
	for name, argv := range clis {
		t.Run(name, func(t *testing.T) {
			run := func(v any, args ...string) {
				t.Helper()
				out, err := runCLI(argv, e.srv.URL, home, e.admin, args...)
				if err != nil {
					t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				if err := json.Unmarshal([]byte(out), v); err != nil {
					t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
			type lastUsed struct {
				UserName          string
				AccessKeyLastUsed map[string]string
			}
			var lu lastUsed
			run(&lu, "iam", "get-access-key-last-used", "--access-key-id", usedID)
			if got := lu.AccessKeyLastUsed; lu.UserName != "dbapp" || got["ServiceName"] != "rds-db" || got["Region"] != "eu-west-1" || !sameTime(got["LastUsedDate"], loginAt) {
				t.Errorf("get-access-key-last-used(used) = %+v; want rds-db, eu-west-1, %s", lu, loginAt)
			}
			lu = lastUsed{}
			run(&lu, "iam", "get-access-key-last-used", "--access-key-id", idleID)
			if got := lu.AccessKeyLastUsed; got["ServiceName"] != "N/A" || got["Region"] != "N/A" || got["LastUsedDate"] != "" {
				t.Errorf("get-access-key-last-used(never used) = %+v; want N/A, N/A, no date", lu)
			}

			var job struct{ JobId string }
			run(&job, "iam", "generate-service-last-accessed-details", "--arn", userARN, "--granularity", "ACTION_LEVEL")
			var details struct {
				JobStatus, JobType   string
				ServicesLastAccessed []struct {
					ServiceName, ServiceNamespace, LastAuthenticated, LastAuthenticatedEntity, LastAuthenticatedRegion string
					TotalAuthenticatedEntities                                                                         int
					TrackedActionsLastAccessed                                                                         []map[string]string
				}
			}
			run(&details, "iam", "get-service-last-accessed-details", "--job-id", job.JobId)
			if details.JobStatus != "COMPLETED" || details.JobType != "ACTION_LEVEL" || len(details.ServicesLastAccessed) != 1 {
				t.Fatalf("get-service-last-accessed-details = %+v", details)
			}
			s := details.ServicesLastAccessed[0]
			if s.ServiceNamespace != "rds-db" || s.LastAuthenticatedEntity != userARN || s.LastAuthenticatedRegion != "eu-west-1" ||
				!sameTime(s.LastAuthenticated, loginAt) || s.TotalAuthenticatedEntities != 1 || len(s.TrackedActionsLastAccessed) != 1 ||
				s.TrackedActionsLastAccessed[0]["ActionName"] != "connect" {
				t.Errorf("rds-db = %+v", s)
			}
			if out, err := runCLI(argv, e.srv.URL, home, e.admin, "iam", "generate-service-last-accessed-details", "--arn", "arn:aws:iam::"+testAccount+":user/nobody"); err == nil ||
				!strings.Contains(out, "NoSuchEntity") {
				t.Errorf("generate-service-last-accessed-details(nobody) = %v\n%s", err, out)
			}

			var gen struct{ State string }
			run(&gen, "iam", "generate-credential-report")
			if gen.State != "STARTED" && gen.State != "COMPLETE" {
				t.Errorf("generate-credential-report = %+v", gen)
			}
			var rep struct{ Content, ReportFormat, GeneratedTime string }
			run(&rep, "iam", "get-credential-report")
			csv, err := base64.StdEncoding.DecodeString(rep.Content)
			if err != nil || rep.ReportFormat != "text/csv" || rep.GeneratedTime == "" {
				t.Fatalf("get-credential-report = %+v, %v", rep, err)
			}
			checkReport(t, string(csv), userARN)
		})
	}

	t.Run("boto3", func(t *testing.T) {
		if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
			if os.Getenv("IAMDB_REQUIRE_TOOLS") == "1" {
				t.Fatal("no boto3 (IAMDB_REQUIRE_TOOLS=1); install: pip install boto3")
			}
			t.Skip("no boto3; install: pip install boto3 (IAMDB_REQUIRE_TOOLS=1 makes this a failure)")
		}
		cmd := exec.Command("python3", "-c", `import boto3, json, sys
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="`+testRegion+`")
used = iam.get_access_key_last_used(AccessKeyId=sys.argv[2])["AccessKeyLastUsed"]
idle = iam.get_access_key_last_used(AccessKeyId=sys.argv[3])["AccessKeyLastUsed"]
job = iam.generate_service_last_accessed_details(Arn=sys.argv[4])["JobId"]
sla = iam.get_service_last_accessed_details(JobId=job)
iam.generate_credential_report()
rep = iam.get_credential_report()
print(json.dumps({"used": [used["ServiceName"], used["Region"], used["LastUsedDate"].isoformat()],
  "idle": [idle["ServiceName"], idle["Region"], "LastUsedDate" in idle],
  "sla": [sla["JobStatus"], [s["ServiceNamespace"] for s in sla["ServicesLastAccessed"]],
          sla["ServicesLastAccessed"][0]["LastAuthenticatedEntity"], sla["ServicesLastAccessed"][0]["LastAuthenticated"].isoformat()],
  "report": [rep["ReportFormat"], rep["Content"].decode()]}))`, e.srv.URL, usedID, idleID, userARN)
		cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "AWS_ACCESS_KEY_ID=" + e.admin.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY=" + e.admin.SecretAccessKey, "AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
			"AWS_EC2_METADATA_DISABLED=true"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("boto3: %v\n%s", err, out)
		}
		var got struct {
			Used   []string
			Idle   []any
			SLA    []any
			Report []string
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("boto3: %v\n%s", err, out)
		}
		if len(got.Used) != 3 || got.Used[0] != "rds-db" || got.Used[1] != "eu-west-1" || !sameTime(got.Used[2], loginAt) {
			t.Errorf("boto3 get_access_key_last_used(used) = %v", got.Used)
		}
		if len(got.Idle) != 3 || got.Idle[0] != "N/A" || got.Idle[1] != "N/A" || got.Idle[2] != false {
			t.Errorf("boto3 get_access_key_last_used(idle) = %v", got.Idle)
		}
		if len(got.SLA) != 4 || got.SLA[0] != "COMPLETED" || got.SLA[2] != userARN || !sameTime(got.SLA[3].(string), loginAt) {
			t.Errorf("boto3 get_service_last_accessed_details = %v", got.SLA)
		}
		if len(got.Report) != 2 || got.Report[0] != "text/csv" {
			t.Fatalf("boto3 get_credential_report = %v", got.Report)
		}
		checkReport(t, got.Report[1], userARN)
	})
}

// sameTime reports whether two RFC 3339 times (any offset notation) are the same instant.
func sameTime(a, b string) bool {
	ta, err1 := time.Parse(time.RFC3339, a)
	tb, err2 := time.Parse(time.RFC3339, b)
	return err1 == nil && err2 == nil && ta.Equal(tb)
}

// checkReport checks dbapp's row of a credential report: its used key first (rds-db,
// eu-west-1), the idle one second.
func checkReport(t *testing.T, csv, userARN string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) < 3 || lines[0] != iam.CredentialReportHeader || !strings.HasPrefix(lines[1], "<root_account>,arn:aws:iam::"+testAccount+":root,") {
		t.Fatalf("credential report:\n%s", csv)
	}
	for _, l := range lines[2:] {
		f := strings.Split(l, ",")
		if f[0] != "dbapp" {
			continue
		}
		if len(f) != 22 || f[1] != userARN || f[3] != "false" || f[8] != "true" || f[11] != "eu-west-1" || f[12] != "rds-db" ||
			!strings.HasSuffix(f[10], "+00:00") || f[13] != "true" || f[15] != "N/A" || f[18] != "false" {
			t.Errorf("dbapp's row = %q", l)
		}
		return
	}
	t.Errorf("no row for dbapp:\n%s", csv)
}
