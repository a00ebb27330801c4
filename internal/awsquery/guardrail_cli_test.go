package awsquery

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/iamdb/iamdb/internal/iam"
)

// TestGuardrailsAWSCLI runs a representative subset of the escalation suite
// (internal/iam/escalation_test.go) through the real AWS CLIs: the guardrail Denies of
// issue 15 hold at the API an operator uses, the simulator agrees, and the permissions
// boundary operations that complete the delegation pattern work.
func TestGuardrailsAWSCLI(t *testing.T) {
	clis := awsCLIs(t)
	for name, argv := range clis {
		t.Run(name, func(t *testing.T) {
			e := newTestEnv(t)
			ctx := context.Background()
			admin := adminCaller(t, e)
			acct := "arn:aws:iam::" + testAccount + ":"
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			home := t.TempDir()
			// cli runs the CLI as creds; it returns the output and whether it succeeded.
			cli := func(creds aws.Credentials, args ...string) (string, bool) {
				out, err := runCLI(argv, e.srv.URL, home, creds, args...)
				return out, err == nil
			}
			denied := func(what string, creds aws.Credentials, args ...string) {
				t.Helper()
				out, ok := cli(creds, args...)
				if ok || !strings.Contains(out, "AccessDenied") {
					t.Errorf("%s: aws %s = ok %v\n%s\nwant AccessDenied", what, strings.Join(args, " "), ok, out)
				}
			}
			allowed := func(what string, creds aws.Credentials, args ...string) string {
				t.Helper()
				out, ok := cli(creds, args...)
				if !ok {
					t.Errorf("%s: aws %s failed:\n%s", what, strings.Join(args, " "), out)
				}
				return out
			}
			// user creates a user with an inline policy and returns its key.
			user := func(name, doc string) aws.Credentials {
				t.Helper()
				k := e.auth.User(t, name, doc)
				return aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}
			}
			doc := func(stmts ...string) string {
				return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
			}

			// 1. iam:PolicyARN: a Deny on attaching AdministratorAccess holds.
			mallory := user("mallory", doc(
				`{"Effect":"Allow","Action":["iam:AttachUserPolicy","iam:TagUser","iam:AddRoleToInstanceProfile","iam:CreateAccessKey"],"Resource":"*"}`,
				`{"Effect":"Deny","Action":"iam:AttachUserPolicy","Resource":"*","Condition":{"ArnEquals":{"iam:PolicyARN":"arn:aws:iam::aws:policy/AdministratorAccess"}}}`,
				`{"Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/protected":"true"}}}`,
				`{"Effect":"Deny","Action":"iam:TagUser","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["team"]}}}`))
			denied("iam:PolicyARN", mallory, "iam", "attach-user-policy", "--user-name", "mallory", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess")
			_, err := e.svc.CreatePolicy(ctx, admin, iam.CreatePolicyInput{PolicyName: "read", PolicyDocument: doc(`{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}`)})
			must(err)
			allowed("another policy", mallory, "iam", "attach-user-policy", "--user-name", "mallory", "--policy-arn", acct+"policy/read")

			// 2. aws:ResourceTag: no key for a protected user.
			_, err = e.svc.CreateUser(ctx, admin, iam.CreateUserInput{UserName: "vip", Tags: []iam.Tag{{Key: "protected", Value: "true"}}})
			must(err)
			denied("aws:ResourceTag", mallory, "iam", "create-access-key", "--user-name", "vip")

			// 3. aws:TagKeys: no self-tagging into the ABAC key.
			denied("aws:TagKeys", mallory, "iam", "tag-user", "--user-name", "mallory", "--tags", "Key=team,Value=dba")
			allowed("another tag", mallory, "iam", "tag-user", "--user-name", "mallory", "--tags", "Key=shoe,Value=42")

			// 4. iam:PassRole: an instance profile takes only a role one may pass.
			_, err = e.svc.CreateRole(ctx, admin, iam.CreateRoleInput{RoleName: "admin-role",
				AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`})
			must(err)
			_, err = e.svc.CreateInstanceProfile(ctx, admin, iam.CreateInstanceProfileInput{InstanceProfileName: "web"})
			must(err)
			denied("iam:PassRole", mallory, "iam", "add-role-to-instance-profile", "--instance-profile-name", "web", "--role-name", "admin-role")

			// 5. The simulator gives the API's answer for the same request.
			var sim struct {
				EvaluationResults []struct{ EvalDecision string }
			}
			out := allowed("simulate", e.admin, "iam", "simulate-principal-policy", "--policy-source-arn", acct+"user/mallory",
				"--action-names", "iam:AttachUserPolicy", "--resource-arns", acct+"user/mallory",
				"--context-entries", "ContextKeyName=iam:PolicyARN,ContextKeyValues=arn:aws:iam::aws:policy/AdministratorAccess,ContextKeyType=string")
			if err := json.Unmarshal([]byte(out), &sim); err != nil || len(sim.EvaluationResults) != 1 || sim.EvaluationResults[0].EvalDecision != "explicitDeny" {
				t.Errorf("simulate-principal-policy iam:PolicyARN = %s (%v), want explicitDeny", out, err)
			}
			out = allowed("simulate", e.admin, "iam", "simulate-principal-policy", "--policy-source-arn", acct+"user/mallory",
				"--action-names", "iam:CreateAccessKey", "--resource-arns", acct+"user/vip")
			if err := json.Unmarshal([]byte(out), &sim); err != nil || len(sim.EvaluationResults) != 1 || sim.EvaluationResults[0].EvalDecision != "explicitDeny" {
				t.Errorf("simulate-principal-policy on the protected user = %s (%v), want explicitDeny", out, err)
			}

			// 6. Delegation: CreateUser allowed only with a given boundary.
			allowed("boundary policy", e.admin, "iam", "create-policy", "--policy-name", "dev-boundary", "--policy-document", doc(`{"Effect":"Allow","Action":"rds-db:connect","Resource":"*"}`))
			boundary := acct + "policy/dev-boundary"
			lead := user("lead", doc(
				`{"Effect":"Allow","Action":["iam:CreateUser","iam:PutUserPermissionsBoundary"],"Resource":"*","Condition":{"StringEquals":{"iam:PermissionsBoundary":"`+boundary+`"}}}`,
				`{"Effect":"Allow","Action":"iam:DeleteUserPermissionsBoundary","Resource":"*","Condition":{"StringNotEquals":{"iam:PermissionsBoundary":"`+boundary+`"}}}`))
			denied("no boundary", lead, "iam", "create-user", "--user-name", "dev1")
			allowed("with the boundary", lead, "iam", "create-user", "--user-name", "dev1", "--permissions-boundary", boundary)
			var got struct {
				User struct {
					PermissionsBoundary struct{ PermissionsBoundaryArn string }
				}
			}
			if err := json.Unmarshal([]byte(allowed("get-user", e.admin, "iam", "get-user", "--user-name", "dev1")), &got); err != nil || got.User.PermissionsBoundary.PermissionsBoundaryArn != boundary {
				t.Errorf("dev1's boundary = %+v (%v), want %s", got, err, boundary)
			}
			denied("a broader boundary", lead, "iam", "put-user-permissions-boundary", "--user-name", "dev1", "--permissions-boundary", "arn:aws:iam::aws:policy/AdministratorAccess")
			denied("removing the boundary", lead, "iam", "delete-user-permissions-boundary", "--user-name", "dev1")
			allowed("admin removes it", e.admin, "iam", "delete-user-permissions-boundary", "--user-name", "dev1")
			allowed("put it back", lead, "iam", "put-user-permissions-boundary", "--user-name", "dev1", "--permissions-boundary", boundary)
			allowed("role boundary", e.admin, "iam", "create-role", "--role-name", "r1", "--assume-role-policy-document",
				`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
			allowed("put role boundary", e.admin, "iam", "put-role-permissions-boundary", "--role-name", "r1", "--permissions-boundary", boundary)
			allowed("delete role boundary", e.admin, "iam", "delete-role-permissions-boundary", "--role-name", "r1")
		})
	}
}
