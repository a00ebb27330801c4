package awsquery

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/token"
)

const connectPolicy = `{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": "rds-db:connect",
    "Resource": "arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:*/iam_user"}]
}`

const connectPolicyV2 = `{"Version":"2012-10-17","Statement":[{"Sid":"Connect","Effect":"Allow","Action":["rds-db:connect"],"Resource":"*"}]}`

const ec2Trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

const accountTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`

// check fails the test now if err is not nil.
func check(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantAPIError checks that err is an API error with code (and HTTP status, if not 0), as the
// SDK surfaces it.
func wantAPIError(t *testing.T, what string, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: error %v, want API error %s", what, err, code)
		return
	}
	if ae.ErrorCode() != code {
		t.Errorf("%s: code %s (%s), want %s", what, ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	var re *awshttp.ResponseError
	if status != 0 && errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Errorf("%s: status %d, want %d", what, re.HTTPStatusCode(), status)
	}
}

func decodeDoc(t *testing.T, what string, enc *string) string {
	t.Helper()
	if enc == nil {
		t.Fatalf("%s: no document", what)
	}
	s, err := url.QueryUnescape(*enc)
	if err != nil {
		t.Fatalf("%s: document %q is not URL-encoded: %v", what, *enc, err)
	}
	return s
}

// samePosition reports whether p is line:column.
func samePosition(p *iamtypes.Position, line, column int32) bool {
	return p != nil && p.Line == line && p.Column == column
}

// cutStatement returns the text of doc from the character before start (a statement's
// opening brace) up to end (just after its closing brace), columns counted in characters.
func cutStatement(t *testing.T, doc string, start, end *iamtypes.Position) string {
	t.Helper()
	if start == nil || end == nil {
		t.Fatalf("positions %v-%v", start, end)
	}
	offset := func(p *iamtypes.Position) int {
		lines := strings.SplitAfter(doc, "\n")
		if p.Line < 1 || int(p.Line) > len(lines) {
			return -1
		}
		o := 0
		for _, l := range lines[:p.Line-1] {
			o += len(l)
		}
		runes := []rune(strings.TrimSuffix(lines[p.Line-1], "\n"))
		if p.Column < 1 || int(p.Column) > len(runes)+1 {
			return -1
		}
		return o + len(string(runes[:p.Column-1]))
	}
	s, e := offset(start), offset(end)
	if s < 1 || e < s {
		t.Fatalf("positions %+v-%+v are not in the document %q", *start, *end, doc)
	}
	return doc[s-1 : e]
}

// TestRoundTrip drives every action through aws-sdk-go-v2's clients, so that each response
// passes the SDK's own deserializer, and checks what the SDK decoded.
func TestRoundTrip(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	ic, sc, rc := e.iamClient(e.admin), e.stsClient(e.admin), e.rdsClient(e.admin)

	// STS: who am I.
	id, err := sc.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	check(t, "GetCallerIdentity", err)
	if aws.ToString(id.Account) != testAccount || !strings.HasSuffix(aws.ToString(id.Arn), ":user/admin") || !strings.HasPrefix(aws.ToString(id.UserId), "AIDA") {
		t.Errorf("GetCallerIdentity = %s %s %s", aws.ToString(id.Account), aws.ToString(id.Arn), aws.ToString(id.UserId))
	}

	// Managed policies and versions.
	cp, err := ic.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("iam_rds_connect"), PolicyDocument: aws.String(connectPolicy),
		Description: aws.String("connect"), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("db")}}})
	check(t, "CreatePolicy", err)
	polARN := aws.ToString(cp.Policy.Arn)
	if polARN != "arn:aws:iam::123456789012:policy/iam_rds_connect" || !strings.HasPrefix(aws.ToString(cp.Policy.PolicyId), "ANPA") ||
		aws.ToString(cp.Policy.DefaultVersionId) != "v1" || cp.Policy.CreateDate == nil || !cp.Policy.IsAttachable {
		t.Errorf("CreatePolicy = %+v", *cp.Policy)
	}
	gp, err := ic.GetPolicy(ctx, &awsiam.GetPolicyInput{PolicyArn: &polARN})
	check(t, "GetPolicy", err)
	if aws.ToString(gp.Policy.PolicyName) != "iam_rds_connect" {
		t.Errorf("GetPolicy = %+v", *gp.Policy)
	}
	lp, err := ic.ListPolicies(ctx, &awsiam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal})
	check(t, "ListPolicies", err)
	if len(lp.Policies) != 1 || aws.ToString(lp.Policies[0].Arn) != polARN {
		t.Errorf("ListPolicies(Local) = %d policies", len(lp.Policies))
	}
	pv, err := ic.CreatePolicyVersion(ctx, &awsiam.CreatePolicyVersionInput{PolicyArn: &polARN, PolicyDocument: aws.String(connectPolicyV2)})
	check(t, "CreatePolicyVersion", err)
	if aws.ToString(pv.PolicyVersion.VersionId) != "v2" || pv.PolicyVersion.IsDefaultVersion {
		t.Errorf("CreatePolicyVersion = %+v", *pv.PolicyVersion)
	}
	gv, err := ic.GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: &polARN, VersionId: aws.String("v1")})
	check(t, "GetPolicyVersion", err)
	if doc := decodeDoc(t, "GetPolicyVersion", gv.PolicyVersion.Document); doc != connectPolicy {
		t.Errorf("GetPolicyVersion document = %q, want %q", doc, connectPolicy)
	}
	lv, err := ic.ListPolicyVersions(ctx, &awsiam.ListPolicyVersionsInput{PolicyArn: &polARN})
	check(t, "ListPolicyVersions", err)
	if len(lv.Versions) != 2 {
		t.Errorf("ListPolicyVersions = %d versions", len(lv.Versions))
	}
	_, err = ic.SetDefaultPolicyVersion(ctx, &awsiam.SetDefaultPolicyVersionInput{PolicyArn: &polARN, VersionId: aws.String("v2")})
	check(t, "SetDefaultPolicyVersion", err)
	_, err = ic.DeletePolicyVersion(ctx, &awsiam.DeletePolicyVersionInput{PolicyArn: &polARN, VersionId: aws.String("v1")})
	check(t, "DeletePolicyVersion", err)
	_, err = ic.TagPolicy(ctx, &awsiam.TagPolicyInput{PolicyArn: &polARN, Tags: []iamtypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}})
	check(t, "TagPolicy", err)
	lpt, err := ic.ListPolicyTags(ctx, &awsiam.ListPolicyTagsInput{PolicyArn: &polARN})
	check(t, "ListPolicyTags", err)
	if len(lpt.Tags) != 2 {
		t.Errorf("ListPolicyTags = %d tags", len(lpt.Tags))
	}
	_, err = ic.UntagPolicy(ctx, &awsiam.UntagPolicyInput{PolicyArn: &polARN, TagKeys: []string{"env"}})
	check(t, "UntagPolicy", err)

	// Users.
	cu, err := ic.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("alice"), Path: aws.String("/eng/"),
		Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("db")}}})
	check(t, "CreateUser", err)
	if aws.ToString(cu.User.Arn) != "arn:aws:iam::123456789012:user/eng/alice" || !strings.HasPrefix(aws.ToString(cu.User.UserId), "AIDA") ||
		len(cu.User.Tags) != 1 || aws.ToString(cu.User.Path) != "/eng/" {
		t.Errorf("CreateUser = %+v", *cu.User)
	}
	gu, err := ic.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("alice")})
	check(t, "GetUser", err)
	if aws.ToString(gu.User.UserName) != "alice" || gu.User.CreateDate == nil {
		t.Errorf("GetUser = %+v", *gu.User)
	}
	me, err := ic.GetUser(ctx, &awsiam.GetUserInput{})
	check(t, "GetUser(self)", err)
	if aws.ToString(me.User.UserName) != "admin" {
		t.Errorf("GetUser() = %s, want admin", aws.ToString(me.User.UserName))
	}
	lu, err := ic.ListUsers(ctx, &awsiam.ListUsersInput{})
	check(t, "ListUsers", err)
	if len(lu.Users) != 2 || lu.IsTruncated {
		t.Errorf("ListUsers = %d users, truncated %v", len(lu.Users), lu.IsTruncated)
	}
	lu1, err := ic.ListUsers(ctx, &awsiam.ListUsersInput{MaxItems: aws.Int32(1)})
	check(t, "ListUsers(MaxItems 1)", err)
	if len(lu1.Users) != 1 || !lu1.IsTruncated || aws.ToString(lu1.Marker) == "" {
		t.Errorf("ListUsers(MaxItems 1) = %d users, truncated %v, marker %q", len(lu1.Users), lu1.IsTruncated, aws.ToString(lu1.Marker))
	} else {
		lu2, err := ic.ListUsers(ctx, &awsiam.ListUsersInput{MaxItems: aws.Int32(1), Marker: lu1.Marker})
		check(t, "ListUsers(page 2)", err)
		if len(lu2.Users) != 1 || aws.ToString(lu2.Users[0].UserName) == aws.ToString(lu1.Users[0].UserName) {
			t.Errorf("ListUsers page 2 = %+v", lu2.Users)
		}
	}
	_, err = ic.TagUser(ctx, &awsiam.TagUserInput{UserName: aws.String("alice"), Tags: []iamtypes.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}})
	check(t, "TagUser", err)
	lut, err := ic.ListUserTags(ctx, &awsiam.ListUserTagsInput{UserName: aws.String("alice")})
	check(t, "ListUserTags", err)
	if len(lut.Tags) != 2 {
		t.Errorf("ListUserTags = %d tags", len(lut.Tags))
	}
	_, err = ic.UntagUser(ctx, &awsiam.UntagUserInput{UserName: aws.String("alice"), TagKeys: []string{"env", "team"}})
	check(t, "UntagUser", err)

	// Groups.
	cg, err := ic.CreateGroup(ctx, &awsiam.CreateGroupInput{GroupName: aws.String("devs")})
	check(t, "CreateGroup", err)
	if !strings.HasPrefix(aws.ToString(cg.Group.GroupId), "AGPA") {
		t.Errorf("CreateGroup = %+v", *cg.Group)
	}
	_, err = ic.AddUserToGroup(ctx, &awsiam.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("alice")})
	check(t, "AddUserToGroup", err)
	gg, err := ic.GetGroup(ctx, &awsiam.GetGroupInput{GroupName: aws.String("devs")})
	check(t, "GetGroup", err)
	if aws.ToString(gg.Group.GroupName) != "devs" || len(gg.Users) != 1 || aws.ToString(gg.Users[0].UserName) != "alice" {
		t.Errorf("GetGroup = %+v, %d users", *gg.Group, len(gg.Users))
	}
	lg, err := ic.ListGroups(ctx, &awsiam.ListGroupsInput{})
	check(t, "ListGroups", err)
	if len(lg.Groups) != 1 {
		t.Errorf("ListGroups = %d groups", len(lg.Groups))
	}
	lgu, err := ic.ListGroupsForUser(ctx, &awsiam.ListGroupsForUserInput{UserName: aws.String("alice")})
	check(t, "ListGroupsForUser", err)
	if len(lgu.Groups) != 1 {
		t.Errorf("ListGroupsForUser = %d groups", len(lgu.Groups))
	}

	// Roles.
	cr, err := ic.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("pgdemo-oltp-rw-role"), AssumeRolePolicyDocument: aws.String(ec2Trust),
		Description: aws.String("rw"), MaxSessionDuration: aws.Int32(7200), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("db")}}})
	check(t, "CreateRole", err)
	if !strings.HasPrefix(aws.ToString(cr.Role.RoleId), "AROA") || aws.ToInt32(cr.Role.MaxSessionDuration) != 7200 ||
		decodeDoc(t, "CreateRole", cr.Role.AssumeRolePolicyDocument) != ec2Trust {
		t.Errorf("CreateRole = %+v", *cr.Role)
	}
	gr, err := ic.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("pgdemo-oltp-rw-role")})
	check(t, "GetRole", err)
	if decodeDoc(t, "GetRole", gr.Role.AssumeRolePolicyDocument) != ec2Trust || aws.ToString(gr.Role.Description) != "rw" || len(gr.Role.Tags) != 1 {
		t.Errorf("GetRole = %+v", *gr.Role)
	}
	_, err = ic.UpdateAssumeRolePolicy(ctx, &awsiam.UpdateAssumeRolePolicyInput{RoleName: aws.String("pgdemo-oltp-rw-role"), PolicyDocument: aws.String(accountTrust)})
	check(t, "UpdateAssumeRolePolicy", err)
	lr, err := ic.ListRoles(ctx, &awsiam.ListRolesInput{})
	check(t, "ListRoles", err)
	if len(lr.Roles) != 1 || decodeDoc(t, "ListRoles", lr.Roles[0].AssumeRolePolicyDocument) != accountTrust {
		t.Errorf("ListRoles = %d roles", len(lr.Roles))
	}
	_, err = ic.TagRole(ctx, &awsiam.TagRoleInput{RoleName: aws.String("pgdemo-oltp-rw-role"), Tags: []iamtypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}})
	check(t, "TagRole", err)
	lrt, err := ic.ListRoleTags(ctx, &awsiam.ListRoleTagsInput{RoleName: aws.String("pgdemo-oltp-rw-role")})
	check(t, "ListRoleTags", err)
	if len(lrt.Tags) != 2 {
		t.Errorf("ListRoleTags = %d tags", len(lrt.Tags))
	}
	_, err = ic.UntagRole(ctx, &awsiam.UntagRoleInput{RoleName: aws.String("pgdemo-oltp-rw-role"), TagKeys: []string{"env"}})
	check(t, "UntagRole", err)

	// Attachments.
	_, err = ic.AttachUserPolicy(ctx, &awsiam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: &polARN})
	check(t, "AttachUserPolicy", err)
	_, err = ic.AttachGroupPolicy(ctx, &awsiam.AttachGroupPolicyInput{GroupName: aws.String("devs"), PolicyArn: &polARN})
	check(t, "AttachGroupPolicy", err)
	_, err = ic.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("pgdemo-oltp-rw-role"), PolicyArn: &polARN})
	check(t, "AttachRolePolicy", err)

	// Permissions boundaries, set and removed.
	_, err = ic.PutUserPermissionsBoundary(ctx, &awsiam.PutUserPermissionsBoundaryInput{UserName: aws.String("alice"), PermissionsBoundary: &polARN})
	check(t, "PutUserPermissionsBoundary", err)
	if gu, err := ic.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("alice")}); err != nil || gu.User.PermissionsBoundary == nil ||
		aws.ToString(gu.User.PermissionsBoundary.PermissionsBoundaryArn) != polARN {
		t.Errorf("GetUser after PutUserPermissionsBoundary: %+v, %v", gu, err)
	}
	_, err = ic.DeleteUserPermissionsBoundary(ctx, &awsiam.DeleteUserPermissionsBoundaryInput{UserName: aws.String("alice")})
	check(t, "DeleteUserPermissionsBoundary", err)
	_, err = ic.PutRolePermissionsBoundary(ctx, &awsiam.PutRolePermissionsBoundaryInput{RoleName: aws.String("pgdemo-oltp-rw-role"), PermissionsBoundary: &polARN})
	check(t, "PutRolePermissionsBoundary", err)
	if gr, err := ic.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("pgdemo-oltp-rw-role")}); err != nil || gr.Role.PermissionsBoundary == nil ||
		aws.ToString(gr.Role.PermissionsBoundary.PermissionsBoundaryArn) != polARN {
		t.Errorf("GetRole after PutRolePermissionsBoundary: %+v, %v", gr, err)
	}
	_, err = ic.DeleteRolePermissionsBoundary(ctx, &awsiam.DeleteRolePermissionsBoundaryInput{RoleName: aws.String("pgdemo-oltp-rw-role")})
	check(t, "DeleteRolePermissionsBoundary", err)
	_, err = ic.DeleteRolePermissionsBoundary(ctx, &awsiam.DeleteRolePermissionsBoundaryInput{RoleName: aws.String("pgdemo-oltp-rw-role")})
	wantAPIError(t, "DeleteRolePermissionsBoundary(none)", err, "NoSuchEntity", 404)
	lau, err := ic.ListAttachedUserPolicies(ctx, &awsiam.ListAttachedUserPoliciesInput{UserName: aws.String("alice")})
	check(t, "ListAttachedUserPolicies", err)
	lag, err := ic.ListAttachedGroupPolicies(ctx, &awsiam.ListAttachedGroupPoliciesInput{GroupName: aws.String("devs")})
	check(t, "ListAttachedGroupPolicies", err)
	lar, err := ic.ListAttachedRolePolicies(ctx, &awsiam.ListAttachedRolePoliciesInput{RoleName: aws.String("pgdemo-oltp-rw-role")})
	check(t, "ListAttachedRolePolicies", err)
	for _, l := range [][]iamtypes.AttachedPolicy{lau.AttachedPolicies, lag.AttachedPolicies, lar.AttachedPolicies} {
		if len(l) != 1 || aws.ToString(l[0].PolicyArn) != polARN || aws.ToString(l[0].PolicyName) != "iam_rds_connect" {
			t.Errorf("ListAttached*Policies = %+v", l)
		}
	}
	le, err := ic.ListEntitiesForPolicy(ctx, &awsiam.ListEntitiesForPolicyInput{PolicyArn: &polARN})
	check(t, "ListEntitiesForPolicy", err)
	if len(le.PolicyUsers) != 1 || len(le.PolicyGroups) != 1 || len(le.PolicyRoles) != 1 || aws.ToString(le.PolicyRoles[0].RoleName) != "pgdemo-oltp-rw-role" ||
		!strings.HasPrefix(aws.ToString(le.PolicyUsers[0].UserId), "AIDA") {
		t.Errorf("ListEntitiesForPolicy = %+v %+v %+v", le.PolicyUsers, le.PolicyGroups, le.PolicyRoles)
	}
	gp2, err := ic.GetPolicy(ctx, &awsiam.GetPolicyInput{PolicyArn: &polARN})
	check(t, "GetPolicy", err)
	if aws.ToInt32(gp2.Policy.AttachmentCount) != 3 || aws.ToString(gp2.Policy.DefaultVersionId) != "v2" {
		t.Errorf("GetPolicy after attaching = count %d, default %s", aws.ToInt32(gp2.Policy.AttachmentCount), aws.ToString(gp2.Policy.DefaultVersionId))
	}

	// The policy simulator.
	t.Run("simulator", func(t *testing.T) {
		sp, err := ic.SimulatePrincipalPolicy(ctx, &awsiam.SimulatePrincipalPolicyInput{PolicySourceArn: cu.User.Arn,
			ActionNames: []string{"rds-db:connect", "iam:CreateUser"}, ResourceArns: []string{"arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:db-X/iam_user"},
			ContextEntries: []iamtypes.ContextEntry{{ContextKeyName: aws.String("aws:SourceIp"), ContextKeyType: iamtypes.ContextKeyTypeEnumIp,
				ContextKeyValues: []string{"10.0.0.1"}}}})
		check(t, "SimulatePrincipalPolicy", err)
		if len(sp.EvaluationResults) != 2 || sp.EvaluationResults[0].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed ||
			sp.EvaluationResults[1].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny || len(sp.EvaluationResults[0].MatchedStatements) == 0 {
			t.Errorf("SimulatePrincipalPolicy = %+v", sp.EvaluationResults)
		}
		// The deciding statement's positions, as AWS's (1-based; just after the opening and
		// the closing brace), cut it out of the document GetPolicyVersion returns.
		gv2, err := ic.GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: &polARN, VersionId: aws.String("v2")})
		check(t, "GetPolicyVersion(v2)", err)
		if len(sp.EvaluationResults) > 0 && len(sp.EvaluationResults[0].MatchedStatements) > 0 {
			m := sp.EvaluationResults[0].MatchedStatements[0]
			if aws.ToString(m.SourcePolicyId) != polARN || m.SourcePolicyType != iamtypes.PolicySourceTypeUserManaged ||
				!samePosition(m.StartPosition, 1, 39) || !samePosition(m.EndPosition, 1, 115) {
				t.Errorf("SimulatePrincipalPolicy matched %s %s at %+v-%+v, want %s user-managed at 1:39-1:115",
					aws.ToString(m.SourcePolicyId), m.SourcePolicyType, m.StartPosition, m.EndPosition, polARN)
			}
			if got, want := cutStatement(t, decodeDoc(t, "GetPolicyVersion(v2)", gv2.PolicyVersion.Document), m.StartPosition, m.EndPosition),
				`{"Sid":"Connect","Effect":"Allow","Action":["rds-db:connect"],"Resource":"*"}`; got != want {
				t.Errorf("GetPolicyVersion(v2)'s document cut at the matched positions = %q, want %q", got, want)
			}
		}
		const denyProd = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Sid\": \"Other\", \"Effect\": \"Deny\", \"Action\": \"s3:*\", \"Resource\": \"*\"},\n" +
			"    {\n      \"Effect\": \"Deny\",\n      \"Action\": \"rds-db:connect\",\n      \"Resource\": \"arn:aws:rds-db:*:*:dbuser:db-PROD/*\"\n    }\n  ]\n}"
		_, err = ic.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("denyprod"), PolicyDocument: aws.String(denyProd)})
		check(t, "PutUserPolicy(denyprod)", err)
		sd, err := ic.SimulatePrincipalPolicy(ctx, &awsiam.SimulatePrincipalPolicyInput{PolicySourceArn: cu.User.Arn,
			ActionNames: []string{"rds-db:connect"}, ResourceArns: []string{"arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:db-PROD/iam_user"}})
		check(t, "SimulatePrincipalPolicy(denyprod)", err)
		gdp, err := ic.GetUserPolicy(ctx, &awsiam.GetUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("denyprod")})
		check(t, "GetUserPolicy(denyprod)", err)
		if len(sd.EvaluationResults) != 1 || sd.EvaluationResults[0].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeExplicitDeny ||
			len(sd.EvaluationResults[0].MatchedStatements) != 1 {
			t.Errorf("SimulatePrincipalPolicy(denyprod) = %+v", sd.EvaluationResults)
		} else {
			m := sd.EvaluationResults[0].MatchedStatements[0]
			if aws.ToString(m.SourcePolicyId) != "denyprod" || m.SourcePolicyType != iamtypes.PolicySourceTypeUser ||
				!samePosition(m.StartPosition, 5, 6) || !samePosition(m.EndPosition, 9, 6) {
				t.Errorf("SimulatePrincipalPolicy(denyprod) matched %s %s at %+v-%+v, want denyprod user at 5:6-9:6",
					aws.ToString(m.SourcePolicyId), m.SourcePolicyType, m.StartPosition, m.EndPosition)
			}
			want := "{\n      \"Effect\": \"Deny\",\n      \"Action\": \"rds-db:connect\",\n      \"Resource\": \"arn:aws:rds-db:*:*:dbuser:db-PROD/*\"\n    }"
			if got := cutStatement(t, decodeDoc(t, "GetUserPolicy(denyprod)", gdp.PolicyDocument), m.StartPosition, m.EndPosition); got != want {
				t.Errorf("GetUserPolicy(denyprod)'s document cut at the matched positions = %q, want %q", got, want)
			}
		}
		_, err = ic.DeleteUserPolicy(ctx, &awsiam.DeleteUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("denyprod")})
		check(t, "DeleteUserPolicy(denyprod)", err)

		sc2, err := ic.SimulateCustomPolicy(ctx, &awsiam.SimulateCustomPolicyInput{PolicyInputList: []string{connectPolicy},
			ActionNames: []string{"rds-db:connect"}, ResourceArns: []string{"arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:db-X/other"}})
		check(t, "SimulateCustomPolicy", err)
		if len(sc2.EvaluationResults) != 1 || sc2.EvaluationResults[0].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny ||
			aws.ToString(sc2.EvaluationResults[0].EvalActionName) != "rds-db:connect" {
			t.Errorf("SimulateCustomPolicy = %+v", sc2.EvaluationResults)
		}
	})

	// Inline policies.
	_, err = ic.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("inline"), PolicyDocument: aws.String(connectPolicy)})
	check(t, "PutUserPolicy", err)
	_, err = ic.PutGroupPolicy(ctx, &awsiam.PutGroupPolicyInput{GroupName: aws.String("devs"), PolicyName: aws.String("inline"), PolicyDocument: aws.String(connectPolicy)})
	check(t, "PutGroupPolicy", err)
	_, err = ic.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: aws.String("pgdemo-oltp-rw-role"), PolicyName: aws.String("inline"), PolicyDocument: aws.String(connectPolicy)})
	check(t, "PutRolePolicy", err)
	gup, err := ic.GetUserPolicy(ctx, &awsiam.GetUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("inline")})
	check(t, "GetUserPolicy", err)
	if aws.ToString(gup.UserName) != "alice" || aws.ToString(gup.PolicyName) != "inline" || decodeDoc(t, "GetUserPolicy", gup.PolicyDocument) != connectPolicy {
		t.Errorf("GetUserPolicy = %s %s", aws.ToString(gup.UserName), aws.ToString(gup.PolicyName))
	}
	ggp, err := ic.GetGroupPolicy(ctx, &awsiam.GetGroupPolicyInput{GroupName: aws.String("devs"), PolicyName: aws.String("inline")})
	check(t, "GetGroupPolicy", err)
	if aws.ToString(ggp.GroupName) != "devs" || decodeDoc(t, "GetGroupPolicy", ggp.PolicyDocument) != connectPolicy {
		t.Errorf("GetGroupPolicy = %s", aws.ToString(ggp.GroupName))
	}
	grp, err := ic.GetRolePolicy(ctx, &awsiam.GetRolePolicyInput{RoleName: aws.String("pgdemo-oltp-rw-role"), PolicyName: aws.String("inline")})
	check(t, "GetRolePolicy", err)
	if aws.ToString(grp.RoleName) != "pgdemo-oltp-rw-role" || decodeDoc(t, "GetRolePolicy", grp.PolicyDocument) != connectPolicy {
		t.Errorf("GetRolePolicy = %s", aws.ToString(grp.RoleName))
	}
	lup, err := ic.ListUserPolicies(ctx, &awsiam.ListUserPoliciesInput{UserName: aws.String("alice")})
	check(t, "ListUserPolicies", err)
	lgp, err := ic.ListGroupPolicies(ctx, &awsiam.ListGroupPoliciesInput{GroupName: aws.String("devs")})
	check(t, "ListGroupPolicies", err)
	lrp, err := ic.ListRolePolicies(ctx, &awsiam.ListRolePoliciesInput{RoleName: aws.String("pgdemo-oltp-rw-role")})
	check(t, "ListRolePolicies", err)
	for _, l := range [][]string{lup.PolicyNames, lgp.PolicyNames, lrp.PolicyNames} {
		if !slices.Equal(l, []string{"inline"}) {
			t.Errorf("List*Policies = %q", l)
		}
	}

	// Access keys.
	ak, err := ic.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("alice")})
	check(t, "CreateAccessKey", err)
	if !strings.HasPrefix(aws.ToString(ak.AccessKey.AccessKeyId), "AKIA") || len(aws.ToString(ak.AccessKey.SecretAccessKey)) != 40 ||
		ak.AccessKey.Status != iamtypes.StatusTypeActive || aws.ToString(ak.AccessKey.UserName) != "alice" {
		t.Errorf("CreateAccessKey = %s %s %s", aws.ToString(ak.AccessKey.AccessKeyId), ak.AccessKey.Status, aws.ToString(ak.AccessKey.UserName))
	}
	alice := aws.Credentials{AccessKeyID: aws.ToString(ak.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(ak.AccessKey.SecretAccessKey)}
	aliceID, err := e.stsClient(alice).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	check(t, "GetCallerIdentity(alice)", err)
	if aws.ToString(aliceID.Arn) != aws.ToString(cu.User.Arn) {
		t.Errorf("alice is %s", aws.ToString(aliceID.Arn))
	}
	lak, err := ic.ListAccessKeys(ctx, &awsiam.ListAccessKeysInput{UserName: aws.String("alice")})
	check(t, "ListAccessKeys", err)
	if len(lak.AccessKeyMetadata) != 1 || aws.ToString(lak.AccessKeyMetadata[0].AccessKeyId) != alice.AccessKeyID {
		t.Errorf("ListAccessKeys = %+v", lak.AccessKeyMetadata)
	}
	lu2, err := ic.GetAccessKeyLastUsed(ctx, &awsiam.GetAccessKeyLastUsedInput{AccessKeyId: &alice.AccessKeyID})
	check(t, "GetAccessKeyLastUsed", err)
	if aws.ToString(lu2.UserName) != "alice" || lu2.AccessKeyLastUsed == nil || aws.ToString(lu2.AccessKeyLastUsed.ServiceName) == "" {
		t.Errorf("GetAccessKeyLastUsed = %s %+v", aws.ToString(lu2.UserName), lu2.AccessKeyLastUsed)
	}
	_, err = ic.UpdateAccessKey(ctx, &awsiam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: &alice.AccessKeyID, Status: iamtypes.StatusTypeInactive})
	check(t, "UpdateAccessKey", err)
	_, err = e.stsClient(alice).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	wantAPIError(t, "GetCallerIdentity with an inactive key", err, "InvalidClientTokenId", 403)
	_, err = ic.DeleteAccessKey(ctx, &awsiam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: &alice.AccessKeyID})
	check(t, "DeleteAccessKey", err)

	// Instance profiles.
	ip, err := ic.CreateInstanceProfile(ctx, &awsiam.CreateInstanceProfileInput{InstanceProfileName: aws.String("pgdemo-profile")})
	check(t, "CreateInstanceProfile", err)
	if !strings.HasPrefix(aws.ToString(ip.InstanceProfile.InstanceProfileId), "AIPA") || ip.InstanceProfile.Roles == nil {
		t.Errorf("CreateInstanceProfile = %+v", *ip.InstanceProfile)
	}
	_, err = ic.AddRoleToInstanceProfile(ctx, &awsiam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("pgdemo-profile"), RoleName: aws.String("pgdemo-oltp-rw-role")})
	check(t, "AddRoleToInstanceProfile", err)
	gip, err := ic.GetInstanceProfile(ctx, &awsiam.GetInstanceProfileInput{InstanceProfileName: aws.String("pgdemo-profile")})
	check(t, "GetInstanceProfile", err)
	if len(gip.InstanceProfile.Roles) != 1 || decodeDoc(t, "GetInstanceProfile", gip.InstanceProfile.Roles[0].AssumeRolePolicyDocument) != accountTrust {
		t.Errorf("GetInstanceProfile roles = %+v", gip.InstanceProfile.Roles)
	}
	lip, err := ic.ListInstanceProfiles(ctx, &awsiam.ListInstanceProfilesInput{})
	check(t, "ListInstanceProfiles", err)
	lipr, err := ic.ListInstanceProfilesForRole(ctx, &awsiam.ListInstanceProfilesForRoleInput{RoleName: aws.String("pgdemo-oltp-rw-role")})
	check(t, "ListInstanceProfilesForRole", err)
	if len(lip.InstanceProfiles) != 1 || len(lipr.InstanceProfiles) != 1 {
		t.Errorf("ListInstanceProfiles = %d, ForRole = %d", len(lip.InstanceProfiles), len(lipr.InstanceProfiles))
	}
	_, err = ic.RemoveRoleFromInstanceProfile(ctx, &awsiam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("pgdemo-profile"), RoleName: aws.String("pgdemo-oltp-rw-role")})
	check(t, "RemoveRoleFromInstanceProfile", err)
	_, err = ic.DeleteInstanceProfile(ctx, &awsiam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("pgdemo-profile")})
	check(t, "DeleteInstanceProfile", err)

	// OpenID Connect providers.
	t.Run("oidc", func(t *testing.T) {
		op, err := ic.CreateOpenIDConnectProvider(ctx, &awsiam.CreateOpenIDConnectProviderInput{Url: aws.String("https://oidc.example.com/id/ABC"),
			ClientIDList: []string{"sts.amazonaws.com"}, ThumbprintList: []string{strings.Repeat("a", 40)}})
		check(t, "CreateOpenIDConnectProvider", err)
		opARN := aws.ToString(op.OpenIDConnectProviderArn)
		if opARN != "arn:aws:iam::123456789012:oidc-provider/oidc.example.com/id/ABC" {
			t.Errorf("CreateOpenIDConnectProvider = %s", opARN)
		}
		gop, err := ic.GetOpenIDConnectProvider(ctx, &awsiam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: &opARN})
		check(t, "GetOpenIDConnectProvider", err)
		if aws.ToString(gop.Url) != "oidc.example.com/id/ABC" || !slices.Equal(gop.ClientIDList, []string{"sts.amazonaws.com"}) || len(gop.ThumbprintList) != 1 {
			t.Errorf("GetOpenIDConnectProvider = %s %q %q", aws.ToString(gop.Url), gop.ClientIDList, gop.ThumbprintList)
		}
		lop, err := ic.ListOpenIDConnectProviders(ctx, &awsiam.ListOpenIDConnectProvidersInput{})
		check(t, "ListOpenIDConnectProviders", err)
		if len(lop.OpenIDConnectProviderList) != 1 || aws.ToString(lop.OpenIDConnectProviderList[0].Arn) != opARN {
			t.Errorf("ListOpenIDConnectProviders = %+v", lop.OpenIDConnectProviderList)
		}
		_, err = ic.DeleteOpenIDConnectProvider(ctx, &awsiam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: &opARN})
		check(t, "DeleteOpenIDConnectProvider", err)
	})

	// STS sessions.
	ar, err := sc.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: gr.Role.Arn, RoleSessionName: aws.String("app"), DurationSeconds: aws.Int32(900),
		Tags: []ststypes.Tag{{Key: aws.String("project"), Value: aws.String("x")}}, TransitiveTagKeys: []string{"project"},
		PolicyArns: []ststypes.PolicyDescriptorType{{Arn: &polARN}}})
	check(t, "AssumeRole", err)
	if aws.ToString(ar.AssumedRoleUser.Arn) != "arn:aws:sts::123456789012:assumed-role/pgdemo-oltp-rw-role/app" ||
		!strings.HasPrefix(aws.ToString(ar.Credentials.AccessKeyId), "ASIA") || ar.Credentials.Expiration == nil ||
		time.Until(*ar.Credentials.Expiration) > 16*time.Minute {
		t.Errorf("AssumeRole = %+v %s", *ar.AssumedRoleUser, aws.ToString(ar.Credentials.AccessKeyId))
	}
	roleCreds := aws.Credentials{AccessKeyID: aws.ToString(ar.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(ar.Credentials.SecretAccessKey),
		SessionToken: aws.ToString(ar.Credentials.SessionToken)}
	rid, err := e.stsClient(roleCreds).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	check(t, "GetCallerIdentity(role session)", err)
	if aws.ToString(rid.Arn) != aws.ToString(ar.AssumedRoleUser.Arn) || aws.ToString(rid.UserId) != aws.ToString(ar.AssumedRoleUser.AssumedRoleId) {
		t.Errorf("role session is %s %s", aws.ToString(rid.Arn), aws.ToString(rid.UserId))
	}
	st, err := sc.GetSessionToken(ctx, &awssts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	check(t, "GetSessionToken", err)
	stCreds := aws.Credentials{AccessKeyID: aws.ToString(st.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(st.Credentials.SecretAccessKey),
		SessionToken: aws.ToString(st.Credentials.SessionToken)}
	sid, err := e.stsClient(stCreds).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	check(t, "GetCallerIdentity(session token)", err)
	if aws.ToString(sid.Arn) != aws.ToString(id.Arn) {
		t.Errorf("GetSessionToken session is %s, want %s", aws.ToString(sid.Arn), aws.ToString(id.Arn))
	}
	// Issuing calls are logged at info with who asked, from which account, and what was
	// issued (CloudTrail's AssumeRole records); never a secret or a session token.
	assumed := issuedLogLine(t, e.log(), "AssumeRole")
	for k, want := range map[string]string{
		"caller": aws.ToString(id.Arn), "caller_account": testAccount, "role_arn": aws.ToString(gr.Role.Arn),
		"session_arn": aws.ToString(ar.AssumedRoleUser.Arn), "issued_access_key_id": roleCreds.AccessKeyID,
	} {
		if assumed[k] != want {
			t.Errorf("AssumeRole's log line: %s = %v, want %q (line %v)", k, assumed[k], want, assumed)
		}
	}
	if assumed["remote"] == "" || assumed["issued_expiration"] == "" {
		t.Errorf("AssumeRole's log line lacks remote or issued_expiration: %v", assumed)
	}
	if got := issuedLogLine(t, e.log(), "GetSessionToken")["issued_access_key_id"]; got != stCreds.AccessKeyID {
		t.Errorf("GetSessionToken's log line: issued_access_key_id = %v, want %s", got, stCreds.AccessKeyID)
	}
	for _, secret := range []string{roleCreds.SecretAccessKey, roleCreds.SessionToken, stCreds.SecretAccessKey, stCreds.SessionToken} {
		if strings.Contains(e.log(), secret) {
			t.Fatalf("the log holds an issued secret or session token")
		}
	}

	// RDS.
	cl, err := e.svc.RegisterDatabase(ctx, iam.DatabaseSpec{Identifier: "aurorapgsqlv1", Kind: iam.KindCluster, Engine: "aurora-postgresql",
		Endpoints: []string{"aurorapgsqlv1.cluster-abc.ap-northeast-1.rds.amazonaws.com"}, ReaderEndpoint: "aurorapgsqlv1.cluster-ro-abc.ap-northeast-1.rds.amazonaws.com",
		Port: 5432, Region: testRegion, Account: testAccount})
	check(t, "RegisterDatabase(cluster)", err)
	in, err := e.svc.RegisterDatabase(ctx, iam.DatabaseSpec{Identifier: "mysql1", Kind: iam.KindInstance, Engine: "mysql",
		Endpoints: []string{"mysql1.abc.ap-northeast-1.rds.amazonaws.com"}, Port: 3306, Region: testRegion, Account: testAccount, IAMAuth: true})
	check(t, "RegisterDatabase(instance)", err)
	mc, err := rc.ModifyDBCluster(ctx, &awsrds.ModifyDBClusterInput{DBClusterIdentifier: aws.String("aurorapgsqlv1"), ApplyImmediately: aws.Bool(true),
		EnableIAMDatabaseAuthentication: aws.Bool(true)})
	check(t, "ModifyDBCluster", err)
	if !aws.ToBool(mc.DBCluster.IAMDatabaseAuthenticationEnabled) || aws.ToString(mc.DBCluster.DBClusterIdentifier) != "aurorapgsqlv1" {
		t.Errorf("ModifyDBCluster = %+v", *mc.DBCluster)
	}
	dc, err := rc.DescribeDBClusters(ctx, &awsrds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("aurorapgsqlv1")})
	check(t, "DescribeDBClusters", err)
	if len(dc.DBClusters) != 1 {
		t.Fatalf("DescribeDBClusters = %d clusters", len(dc.DBClusters))
	}
	c0 := dc.DBClusters[0]
	if aws.ToString(c0.DbClusterResourceId) != cl.ResourceID || !aws.ToBool(c0.IAMDatabaseAuthenticationEnabled) || aws.ToString(c0.Endpoint) != cl.Endpoints[0] ||
		aws.ToString(c0.ReaderEndpoint) != cl.ReaderEndpoint || aws.ToInt32(c0.Port) != 5432 || aws.ToString(c0.Status) != "available" ||
		aws.ToString(c0.Engine) != "aurora-postgresql" || aws.ToString(c0.DBClusterArn) != "arn:aws:rds:ap-northeast-1:123456789012:cluster:aurorapgsqlv1" {
		t.Errorf("DescribeDBClusters = %+v", c0)
	}
	di, err := rc.DescribeDBInstances(ctx, &awsrds.DescribeDBInstancesInput{Filters: []rdstypes.Filter{{Name: aws.String("engine"), Values: []string{"mysql"}}}})
	check(t, "DescribeDBInstances", err)
	if len(di.DBInstances) != 1 {
		t.Fatalf("DescribeDBInstances = %d instances", len(di.DBInstances))
	}
	i0 := di.DBInstances[0]
	if aws.ToString(i0.DbiResourceId) != in.ResourceID || i0.Endpoint == nil || aws.ToString(i0.Endpoint.Address) != in.Endpoints[0] ||
		aws.ToInt32(i0.Endpoint.Port) != 3306 || !aws.ToBool(i0.IAMDatabaseAuthenticationEnabled) || aws.ToString(i0.DBInstanceStatus) != "available" ||
		aws.ToString(i0.DBInstanceArn) != "arn:aws:rds:ap-northeast-1:123456789012:db:mysql1" {
		t.Errorf("DescribeDBInstances = %+v", i0)
	}
	mi, err := rc.ModifyDBInstance(ctx, &awsrds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String("mysql1"), EnableIAMDatabaseAuthentication: aws.Bool(false)})
	check(t, "ModifyDBInstance", err)
	if aws.ToBool(mi.DBInstance.IAMDatabaseAuthenticationEnabled) {
		t.Errorf("ModifyDBInstance left IAM auth on")
	}
	_, err = rc.ModifyDBInstance(ctx, &awsrds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String("mysql1"), AllocatedStorage: aws.Int32(100)})
	wantAPIError(t, "ModifyDBInstance(AllocatedStorage)", err, "InvalidParameterCombination", 400)

	// VerifyDBAuthToken, iamdb's extension, with a token of the role session.
	ep := cl.Endpoints[0] + ":5432"
	tok, err := token.Build(ep, testRegion, "iam_user", token.Credentials{AccessKeyID: roleCreds.AccessKeyID,
		SecretAccessKey: roleCreds.SecretAccessKey, SessionToken: roleCreds.SessionToken}, time.Now())
	check(t, "token.Build", err)
	vr := verifyToken(t, e, e.admin, tok, "iam_user")
	if !vr.Valid || vr.Decision != "allowed" || vr.PrincipalArn != aws.ToString(ar.AssumedRoleUser.Arn) || vr.DecidingPolicy == "" {
		t.Errorf("VerifyDBAuthToken(iam_user) = %+v", vr)
	}
	vr = verifyToken(t, e, e.admin, tok, "other_user")
	if vr.Valid || vr.Reason != "user-mismatch" {
		t.Errorf("VerifyDBAuthToken(other_user) = %+v", vr)
	}
	tok2, err := token.Build(ep, testRegion, "postgres", token.Credentials{AccessKeyID: roleCreds.AccessKeyID,
		SecretAccessKey: roleCreds.SecretAccessKey, SessionToken: roleCreds.SessionToken}, time.Now())
	check(t, "token.Build", err)
	vr = verifyToken(t, e, e.admin, tok2, "postgres")
	if !vr.Valid || vr.Decision != "allowed" || vr.DecidingPolicy != polARN || vr.DecidingStatement != "Connect" {
		t.Errorf("VerifyDBAuthToken(postgres) = %+v", vr)
	}
	// Without the managed policy (v2: any user), only the inline policy's iam_user remains.
	_, err = ic.DetachRolePolicy(ctx, &awsiam.DetachRolePolicyInput{RoleName: aws.String("pgdemo-oltp-rw-role"), PolicyArn: &polARN})
	check(t, "DetachRolePolicy", err)
	vr = verifyToken(t, e, e.admin, tok2, "postgres")
	if !vr.Valid || vr.Decision != "implicitDeny" || vr.DecidingPolicy != "" {
		t.Errorf("VerifyDBAuthToken(postgres) after detaching = %+v", vr)
	}

	// The access advisor and the credential report (aws-sdk-go-v2's deserializers).
	job, err := ic.GenerateServiceLastAccessedDetails(ctx, &awsiam.GenerateServiceLastAccessedDetailsInput{
		Arn: aws.String("arn:aws:iam::123456789012:user/eng/alice"), Granularity: iamtypes.AccessAdvisorUsageGranularityTypeActionLevel})
	check(t, "GenerateServiceLastAccessedDetails", err)
	sla, err := ic.GetServiceLastAccessedDetails(ctx, &awsiam.GetServiceLastAccessedDetailsInput{JobId: job.JobId, MaxItems: aws.Int32(1000)})
	check(t, "GetServiceLastAccessedDetails", err)
	if sla.JobStatus != iamtypes.JobStatusTypeCompleted || sla.JobType != iamtypes.AccessAdvisorUsageGranularityTypeActionLevel ||
		sla.JobCreationDate == nil || sla.JobCompletionDate == nil || len(sla.ServicesLastAccessed) == 0 {
		t.Errorf("GetServiceLastAccessedDetails = %+v", sla)
	}
	_, err = ic.GetCredentialReport(ctx, &awsiam.GetCredentialReportInput{})
	wantAPIError(t, "GetCredentialReport(none)", err, "ReportNotPresent", 410)
	gcr, err := ic.GenerateCredentialReport(ctx, &awsiam.GenerateCredentialReportInput{})
	check(t, "GenerateCredentialReport", err)
	if gcr.State != iamtypes.ReportStateTypeStarted {
		t.Errorf("GenerateCredentialReport = %+v", gcr)
	}
	rep, err := ic.GetCredentialReport(ctx, &awsiam.GetCredentialReportInput{})
	check(t, "GetCredentialReport", err)
	if rep.ReportFormat != iamtypes.ReportFormatTypeTextCsv || rep.GeneratedTime == nil ||
		!strings.HasPrefix(string(rep.Content), iam.CredentialReportHeader+"\n<root_account>,arn:aws:iam::123456789012:root,") ||
		!strings.Contains(string(rep.Content), "\nalice,arn:aws:iam::123456789012:user/eng/alice,") {
		t.Errorf("GetCredentialReport = %s %v\n%s", rep.ReportFormat, rep.GeneratedTime, rep.Content)
	}
	if r := e.raw(e.admin, "iam", formOf("Action", "ListUnusedAccess", "Version", versionIAM, "Days", "30")); r.status != 200 ||
		!strings.Contains(r.body, "<ListUnusedAccessResult><Since>") {
		t.Errorf("ListUnusedAccess = %d %s", r.status, r.body)
	}

	roundTripConsole(t, e)

	// Clean up, in the order AWS requires.
	for _, step := range []struct {
		what string
		err  error
	}{
		{"DetachUserPolicy", errOf(ic.DetachUserPolicy(ctx, &awsiam.DetachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: &polARN}))},
		{"DetachGroupPolicy", errOf(ic.DetachGroupPolicy(ctx, &awsiam.DetachGroupPolicyInput{GroupName: aws.String("devs"), PolicyArn: &polARN}))},
		{"DeleteUserPolicy", errOf(ic.DeleteUserPolicy(ctx, &awsiam.DeleteUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("inline")}))},
		{"DeleteGroupPolicy", errOf(ic.DeleteGroupPolicy(ctx, &awsiam.DeleteGroupPolicyInput{GroupName: aws.String("devs"), PolicyName: aws.String("inline")}))},
		{"DeleteRolePolicy", errOf(ic.DeleteRolePolicy(ctx, &awsiam.DeleteRolePolicyInput{RoleName: aws.String("pgdemo-oltp-rw-role"), PolicyName: aws.String("inline")}))},
		{"RemoveUserFromGroup", errOf(ic.RemoveUserFromGroup(ctx, &awsiam.RemoveUserFromGroupInput{GroupName: aws.String("devs"), UserName: aws.String("alice")}))},
		{"DeleteUser", errOf(ic.DeleteUser(ctx, &awsiam.DeleteUserInput{UserName: aws.String("alice")}))},
		{"DeleteGroup", errOf(ic.DeleteGroup(ctx, &awsiam.DeleteGroupInput{GroupName: aws.String("devs")}))},
		{"DeleteRole", errOf(ic.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("pgdemo-oltp-rw-role")}))},
		{"DeletePolicy", errOf(ic.DeletePolicy(ctx, &awsiam.DeletePolicyInput{PolicyArn: &polARN}))},
	} {
		check(t, step.what, step.err)
	}
	_, err = ic.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("alice")})
	wantAPIError(t, "GetUser(deleted)", err, "NoSuchEntity", 404)

	// Every action of the dispatch table succeeded at least once.
	seen := e.seen()
	var missing []string
	s, _ := New(Config{IAM: e.svc})
	for _, svc := range s.services {
		for action := range svc.ops {
			if seen[action] == 0 && action != "AssumeRoleWithWebIdentity" {
				missing = append(missing, svc.name+":"+action)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("actions never round-tripped: %s", strings.Join(missing, ", "))
	}
}

func errOf[T any](_ T, err error) error { return err }

type verifyOutput struct {
	Valid             bool   `xml:"VerifyDBAuthTokenResult>Valid"`
	Reason            string `xml:"VerifyDBAuthTokenResult>Reason"`
	PrincipalArn      string `xml:"VerifyDBAuthTokenResult>PrincipalArn"`
	Decision          string `xml:"VerifyDBAuthTokenResult>Decision"`
	DecidingPolicy    string `xml:"VerifyDBAuthTokenResult>DecidingPolicy"`
	DecidingStatement string `xml:"VerifyDBAuthTokenResult>DecidingStatement"`
}

func verifyToken(t *testing.T, e *testEnv, c aws.Credentials, tok, user string) verifyOutput {
	t.Helper()
	r := e.raw(c, "rds", formOf("Action", "VerifyDBAuthToken", "Version", versionRDS, "Token", tok, "DBUser", user))
	if r.status != 200 {
		t.Fatalf("VerifyDBAuthToken = %d %s", r.status, r.body)
	}
	var out verifyOutput
	if err := xmlUnmarshal(r.body, &out); err != nil {
		t.Fatalf("VerifyDBAuthToken response %s: %v", r.body, err)
	}
	return out
}

// issuedLogLine returns the info-level log line of the last successful call of action.
func issuedLogLine(t *testing.T, log, action string) map[string]any {
	t.Helper()
	var found map[string]any
	for _, line := range strings.Split(log, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		if m["action"] == action && m["level"] == "INFO" && m["status"] == float64(200) {
			found = m
		}
	}
	if found == nil {
		t.Fatalf("no info-level log line for a successful %s", action)
	}
	return found
}
