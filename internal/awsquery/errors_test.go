package awsquery

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iamdb/iamdb/internal/iam"
)

// TestSDKErrors checks the errors a user meets, as the SDK surfaces them.
func TestSDKErrors(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	ic := e.iamClient(e.admin)

	t.Run("unknown key", func(t *testing.T) {
		_, err := e.stsClient(aws.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: strings.Repeat("x", 40)}).
			GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
		wantAPIError(t, "GetCallerIdentity", err, "InvalidClientTokenId", 403)
	})
	t.Run("bad signature", func(t *testing.T) {
		bad := e.admin
		bad.SecretAccessKey = strings.Repeat("y", 40)
		_, err := e.iamClient(bad).ListUsers(ctx, &awsiam.ListUsersInput{})
		wantAPIError(t, "ListUsers", err, "SignatureDoesNotMatch", 403)
	})
	t.Run("forged session token", func(t *testing.T) {
		_, err := e.stsClient(aws.Credentials{AccessKeyID: "ASIAUNKNOWNUNKNOWN00", SecretAccessKey: strings.Repeat("x", 40), SessionToken: "forged"}).
			GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
		wantAPIError(t, "GetCallerIdentity", err, "InvalidClientTokenId", 403)
	})
	t.Run("expired session token", func(t *testing.T) {
		// Issue a 15-minute session an hour ago (the domain's clock), then use it now.
		e.clock.Advance(-time.Hour)
		st, err := e.svc.GetSessionToken(ctx, adminCaller(t, e), iam.GetSessionTokenInput{DurationSeconds: 900})
		e.clock.Advance(time.Hour)
		check(t, "GetSessionToken", err)
		_, err = e.stsClient(aws.Credentials{AccessKeyID: st.AccessKeyID, SecretAccessKey: st.SecretAccessKey, SessionToken: st.SessionToken}).
			GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
		wantAPIError(t, "GetCallerIdentity", err, "ExpiredToken", 400)
	})
	t.Run("stale signature", func(t *testing.T) {
		h, err := New(Config{IAM: e.svc, Now: func() time.Time { return time.Now().Add(time.Hour) }})
		check(t, "New", err)
		old := e.h.Swap(h)
		defer e.h.Store(old)
		_, err = e.stsClient(e.admin).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
		wantAPIError(t, "GetCallerIdentity", err, "SignatureDoesNotMatch", 403)
		if err != nil && !strings.Contains(err.Error(), "Signature expired: ") {
			t.Errorf("stale signature: %v, want AWS's 'Signature expired' message", err)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		_, err := ic.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("bob")})
		check(t, "CreateUser(bob)", err)
		k, err := ic.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("bob")})
		check(t, "CreateAccessKey(bob)", err)
		bob := aws.Credentials{AccessKeyID: aws.ToString(k.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(k.AccessKey.SecretAccessKey)}
		_, err = e.iamClient(bob).ListUsers(ctx, &awsiam.ListUsersInput{})
		wantAPIError(t, "ListUsers(bob)", err, "AccessDenied", 403)
		_, err = e.iamClient(bob).CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("mallory")})
		wantAPIError(t, "CreateUser(bob)", err, "AccessDenied", 403)
		_, err = ic.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("mallory")})
		wantAPIError(t, "GetUser(mallory)", err, "NoSuchEntity", 404)
		// GetCallerIdentity needs no permission.
		_, err = e.stsClient(bob).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
		check(t, "GetCallerIdentity(bob)", err)
		// Nor does VerifyDBAuthToken leak to him.
		r := e.raw(bob, "rds", formOf("Action", "VerifyDBAuthToken", "Version", versionRDS, "Token", "h:5432/?Action=connect", "DBUser", "u"))
		if r.status != 403 || r.Code != "AccessDenied" {
			t.Errorf("VerifyDBAuthToken(bob) = %d %s", r.status, r.body)
		}
		_, err = e.rdsClient(bob).DescribeDBInstances(ctx, &awsrds.DescribeDBInstancesInput{})
		wantAPIError(t, "DescribeDBInstances(bob)", err, "AccessDenied", 403)
	})
	t.Run("malformed policy", func(t *testing.T) {
		_, err := ic.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("broken"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{`)})
		wantAPIError(t, "CreatePolicy", err, "MalformedPolicyDocument", 400)
		lp, err := ic.ListPolicies(ctx, &awsiam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal})
		check(t, "ListPolicies", err)
		for _, p := range lp.Policies {
			if aws.ToString(p.PolicyName) == "broken" {
				t.Errorf("a refused CreatePolicy left its policy behind")
			}
		}
		_, err = ic.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("broken"), AssumeRolePolicyDocument: aws.String(`{"Statement":"x"}`)})
		wantAPIError(t, "CreateRole", err, "MalformedPolicyDocument", 400)
		_, err = ic.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("broken")})
		wantAPIError(t, "GetRole(broken)", err, "NoSuchEntity", 404)
	})
	t.Run("nothing half-written", func(t *testing.T) {
		// 51 tags: refused as a whole, no user left behind.
		var tags []iamtypes.Tag
		for i := range 51 {
			tags = append(tags, iamtypes.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")})
		}
		_, err := ic.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("carol"), Tags: tags})
		if err == nil {
			t.Fatal("CreateUser with 51 tags succeeded")
		}
		_, err = ic.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("carol")})
		wantAPIError(t, "GetUser(carol)", err, "NoSuchEntity", 404)
		// A refused policy version leaves the policy as it was.
		cp, err := ic.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("stable"), PolicyDocument: aws.String(connectPolicy)})
		check(t, "CreatePolicy", err)
		_, err = ic.CreatePolicyVersion(ctx, &awsiam.CreatePolicyVersionInput{PolicyArn: cp.Policy.Arn, PolicyDocument: aws.String("{"), SetAsDefault: true})
		wantAPIError(t, "CreatePolicyVersion", err, "MalformedPolicyDocument", 400)
		lv, err := ic.ListPolicyVersions(ctx, &awsiam.ListPolicyVersionsInput{PolicyArn: cp.Policy.Arn})
		check(t, "ListPolicyVersions", err)
		if len(lv.Versions) != 1 || !lv.Versions[0].IsDefaultVersion {
			t.Errorf("after a refused version: %d versions", len(lv.Versions))
		}
	})
	t.Run("no such entity", func(t *testing.T) {
		_, err := ic.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("nobody")})
		wantAPIError(t, "GetRole", err, "NoSuchEntity", 404)
		_, err = ic.DeleteUser(ctx, &awsiam.DeleteUserInput{UserName: aws.String("nobody")})
		wantAPIError(t, "DeleteUser", err, "NoSuchEntity", 404)
		_, err = e.rdsClient(e.admin).DescribeDBClusters(ctx, &awsrds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("nope")})
		wantAPIError(t, "DescribeDBClusters", err, "DBClusterNotFoundFault", 404)
	})
	t.Run("oversized body", func(t *testing.T) {
		_, err := ic.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("huge"), PolicyDocument: aws.String(strings.Repeat(" ", 2<<20))})
		wantAPIError(t, "CreatePolicy", err, "RequestEntityTooLarge", 413)
	})
	t.Run("validation", func(t *testing.T) {
		_, err := ic.ListUsers(ctx, &awsiam.ListUsersInput{MaxItems: aws.Int32(5000)})
		wantAPIError(t, "ListUsers(MaxItems 5000)", err, "ValidationError", 400)
	})
	t.Run("unknown action", func(t *testing.T) {
		r := e.raw(e.admin, "iam", formOf("Action", "CreateSAMLProvider", "Version", versionIAM))
		if r.status != 400 || r.Code != "InvalidAction" {
			t.Errorf("unknown action = %d %s", r.status, r.body)
		}
	})
	t.Run("wrong scope service", func(t *testing.T) {
		r := e.raw(e.admin, "s3", formOf("Action", "GetCallerIdentity", "Version", versionSTS))
		if r.status != 403 || r.Code != "SignatureDoesNotMatch" || !strings.Contains(r.Msg, "'sts'") {
			t.Errorf("wrong service = %d %s", r.status, r.body)
		}
	})
	t.Run("version from the scope", func(t *testing.T) {
		r := e.raw(e.admin, "sts", formOf("Action", "GetCallerIdentity"))
		if r.status != 200 || !strings.Contains(r.body, "<GetCallerIdentityResult>") {
			t.Errorf("no Version = %d %s", r.status, r.body)
		}
	})
	t.Run("garbage form", func(t *testing.T) {
		r := e.raw(e.admin, "iam", "Action=ListUsers&Version=2010-05-08&%%%")
		if r.status != 400 || r.Code != "MalformedQueryString" {
			t.Errorf("garbage = %d %s", r.status, r.body)
		}
	})
	t.Run("list gap", func(t *testing.T) {
		r := e.raw(e.admin, "iam", "Action=TagUser&Version=2010-05-08&UserName=admin&Tags.member.1.Key=a&Tags.member.1.Value=b&Tags.member.3.Key=c&Tags.member.3.Value=d")
		if r.status != 400 || r.Code != "ValidationError" {
			t.Errorf("gap = %d %s", r.status, r.body)
		}
		lt, err := ic.ListUserTags(ctx, &awsiam.ListUserTagsInput{UserName: aws.String("admin")})
		check(t, "ListUserTags", err)
		if len(lt.Tags) != 0 {
			t.Errorf("a refused TagUser left %d tags", len(lt.Tags))
		}
	})
}

// TestLogsNoSecrets checks that the server's log names requests but never carries a secret
// key, a session token, a signature or an Authorization header.
func TestLogsNoSecrets(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	ic := e.iamClient(e.admin)
	r, err := ic.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(accountTrust)})
	check(t, "CreateRole", err)
	k, err := ic.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{})
	check(t, "CreateAccessKey", err)
	ar, err := e.stsClient(e.admin).AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: r.Role.Arn, RoleSessionName: aws.String("sess")})
	check(t, "AssumeRole", err)
	sess := aws.Credentials{AccessKeyID: aws.ToString(ar.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(ar.Credentials.SecretAccessKey),
		SessionToken: aws.ToString(ar.Credentials.SessionToken)}
	_, err = e.stsClient(sess).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	check(t, "GetCallerIdentity", err)
	bad := sess
	bad.SecretAccessKey = strings.Repeat("z", 40)
	_, err = e.stsClient(bad).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	wantAPIError(t, "GetCallerIdentity(bad)", err, "SignatureDoesNotMatch", 403)
	_, err = ic.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("nobody")})
	wantAPIError(t, "GetRole", err, "NoSuchEntity", 404)

	e.logs.NoSecret(t, e.admin.SecretAccessKey, aws.ToString(k.AccessKey.SecretAccessKey), sess.SecretAccessKey,
		sess.SessionToken, sess.SessionToken[:32], "Signature=", "Authorization", "AWS4-HMAC-SHA256")
	logs := e.log()
	for _, want := range []string{`"action":"AssumeRole"`, `"caller":"arn:aws:sts::123456789012:assumed-role/r/sess"`,
		`"code":"SignatureDoesNotMatch"`, `"code":"NoSuchEntity"`, `"status":404`, `"request_id":`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s:\n%s", want, logs)
		}
	}
}
