package awsquery

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/iamdb/iamdb/internal/iam"
)

// awsCLIs returns the AWS CLIs on this machine: Debian's v2 and pip's v1 (botocore). It
// skips the test in short mode or if there is none.
func awsCLIs(t *testing.T) map[string][]string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the AWS CLI")
	}
	clis := map[string][]string{}
	if _, err := os.Stat("/usr/bin/aws"); err == nil {
		clis["v2"] = []string{"/usr/bin/aws"}
	}
	if err := exec.Command("python3", "-c", "import awscli").Run(); err == nil {
		clis["v1"] = []string{"python3", "-m", "awscli"}
	}
	if len(clis) == 0 {
		if os.Getenv("IAMDB_REQUIRE_TOOLS") == "1" {
			t.Fatal("no AWS CLI on this machine (IAMDB_REQUIRE_TOOLS=1)")
		}
		t.Skip("no AWS CLI on this machine")
	}
	return clis
}

// runCLI runs the AWS CLI argv against the authority at url as creds, with a home and
// no configuration of its own, and returns its output.
func runCLI(argv []string, url, home string, creds aws.Credentials, args ...string) (string, error) {
	cmd := exec.Command(argv[0], append(append(argv[1:], "--endpoint-url", url, "--region", testRegion, "--output", "json"), args...)...)
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "AWS_ACCESS_KEY_ID=" + creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + creds.SecretAccessKey, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true"}
	if creds.SessionToken != "" {
		cmd.Env = append(cmd.Env, "AWS_SESSION_TOKEN="+creds.SessionToken)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestAWSCLI runs the seed documents' commands with the real AWS CLIs, whose botocore
// parsers silently drop what they do not find where they expect it.
func TestAWSCLI(t *testing.T) {
	clis := awsCLIs(t)
	e := newTestEnv(t)
	ctx := context.Background()
	if _, err := e.svc.RegisterDatabase(ctx, iam.DatabaseSpec{Identifier: "aurorapgsqlv1", Kind: iam.KindCluster, Engine: "aurora-postgresql",
		Endpoints: []string{"aurorapgsqlv1.cluster-abc.ap-northeast-1.rds.amazonaws.com"}, Port: 5432, Region: testRegion, Account: testAccount}); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	policyFile := filepath.Join(home, "iam_rds_connect.json")
	if err := os.WriteFile(policyFile, []byte(connectPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, argv := range clis {
		t.Run(name, func(t *testing.T) {
			run := func(args ...string) string {
				t.Helper()
				out, err := runCLI(argv, e.srv.URL, home, e.admin, args...)
				if err != nil {
					t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return out
			}
			var id struct{ Account, Arn, UserId string }
			if err := json.Unmarshal([]byte(run("sts", "get-caller-identity")), &id); err != nil || id.Account != testAccount || id.UserId == "" {
				t.Errorf("sts get-caller-identity = %+v, %v", id, err)
			}
			pname := "iam_rds_connect_" + name
			var cp struct {
				Policy struct{ PolicyName, PolicyId, Arn, DefaultVersionId string }
			}
			if err := json.Unmarshal([]byte(run("iam", "create-policy", "--policy-name", pname, "--policy-document", "file://"+policyFile)), &cp); err != nil ||
				cp.Policy.DefaultVersionId != "v1" || !strings.HasPrefix(cp.Policy.PolicyId, "ANPA") {
				t.Errorf("iam create-policy = %+v, %v", cp, err)
			}
			// The CLI decodes IAM's URL-encoded documents into JSON objects.
			var gv struct {
				PolicyVersion struct {
					Document struct{ Version string }
				}
			}
			if err := json.Unmarshal([]byte(run("iam", "get-policy-version", "--policy-arn", cp.Policy.Arn, "--version-id", "v1")), &gv); err != nil ||
				gv.PolicyVersion.Document.Version != "2012-10-17" {
				t.Errorf("iam get-policy-version = %+v, %v", gv, err)
			}
			rname := "pgdemo-role-" + name
			run("iam", "create-role", "--role-name", rname, "--assume-role-policy-document", ec2Trust)
			run("iam", "attach-role-policy", "--role-name", rname, "--policy-arn", cp.Policy.Arn)
			run("iam", "create-instance-profile", "--instance-profile-name", rname)
			run("iam", "add-role-to-instance-profile", "--instance-profile-name", rname, "--role-name", rname)
			var gr struct {
				Role struct {
					AssumeRolePolicyDocument struct {
						Statement []struct{ Principal struct{ Service string } }
					}
				}
			}
			if err := json.Unmarshal([]byte(run("iam", "get-role", "--role-name", rname)), &gr); err != nil ||
				len(gr.Role.AssumeRolePolicyDocument.Statement) != 1 || gr.Role.AssumeRolePolicyDocument.Statement[0].Principal.Service != "ec2.amazonaws.com" {
				t.Errorf("iam get-role = %+v, %v", gr, err)
			}
			run("rds", "modify-db-cluster", "--db-cluster-identifier", "aurorapgsqlv1", "--apply-immediately", "--enable-iam-database-authentication")
			out := run("rds", "describe-db-clusters", "--db-cluster-identifier", "aurorapgsqlv1", "--query", "DBClusters[].[IAMDatabaseAuthenticationEnabled]")
			if strings.Join(strings.Fields(out), "") != "[[true]]" {
				t.Errorf("describe-db-clusters --query IAMDatabaseAuthenticationEnabled = %s", out)
			}
			out = run("rds", "describe-db-clusters", "--query", "DBClusters[0].[DbClusterResourceId]")
			if !strings.Contains(out, `"cluster-`) {
				t.Errorf("describe-db-clusters --query DbClusterResourceId = %s", out)
			}
		})
	}
}
