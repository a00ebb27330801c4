package iam

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/iamdb/iamdb/policy"
)

// The condition keys each implemented action sets beyond the global ones, written from the
// AWS Service Authorization Reference (IAM, STS, RDS): "tags" is aws:ResourceTag/*,
// "itags" iam:ResourceTag/* (users and roles), "req" aws:RequestTag/* with aws:TagKeys.
var wantActionKeys = map[string][]string{
	"iam:CreateUser":                    {"req", "iam:PermissionsBoundary"},
	"iam:GetUser":                       {"tags", "itags"},
	"iam:ListUsers":                     nil,
	"iam:DeleteUser":                    {"tags", "itags"},
	"iam:TagUser":                       {"tags", "itags", "req"},
	"iam:UntagUser":                     {"tags", "itags", "aws:TagKeys"},
	"iam:ListUserTags":                  {"tags", "itags"},
	"iam:AttachUserPolicy":              {"tags", "itags", "iam:PermissionsBoundary", "iam:PolicyARN"},
	"iam:DetachUserPolicy":              {"tags", "itags", "iam:PermissionsBoundary", "iam:PolicyARN"},
	"iam:ListAttachedUserPolicies":      {"tags", "itags"},
	"iam:PutUserPolicy":                 {"tags", "itags", "iam:PermissionsBoundary"},
	"iam:GetUserPolicy":                 {"tags", "itags"},
	"iam:DeleteUserPolicy":              {"tags", "itags", "iam:PermissionsBoundary"},
	"iam:ListUserPolicies":              {"tags", "itags"},
	"iam:PutUserPermissionsBoundary":    {"tags", "itags", "iam:PermissionsBoundary"},
	"iam:DeleteUserPermissionsBoundary": {"tags", "itags", "iam:PermissionsBoundary"},
	"iam:ListGroupsForUser":             {"tags", "itags"},
	"iam:CreateAccessKey":               {"tags", "itags"},
	"iam:ListAccessKeys":                {"tags", "itags"},
	"iam:UpdateAccessKey":               {"tags", "itags"},
	"iam:DeleteAccessKey":               {"tags", "itags"},
	"iam:GetAccessKeyLastUsed":          {"tags", "itags"},

	"iam:CreateGroup":               nil,
	"iam:GetGroup":                  nil,
	"iam:ListGroups":                nil,
	"iam:DeleteGroup":               nil,
	"iam:AddUserToGroup":            nil,
	"iam:RemoveUserFromGroup":       nil,
	"iam:AttachGroupPolicy":         {"iam:PolicyARN"},
	"iam:DetachGroupPolicy":         {"iam:PolicyARN"},
	"iam:ListAttachedGroupPolicies": nil,
	"iam:PutGroupPolicy":            nil,
	"iam:GetGroupPolicy":            nil,
	"iam:DeleteGroupPolicy":         nil,
	"iam:ListGroupPolicies":         nil,

	"iam:CreateRole":                    {"req", "iam:PermissionsBoundary"},
	"iam:GetRole":                       {"tags", "itags"},
	"iam:ListRoles":                     nil,
	"iam:DeleteRole":                    {"tags", "itags"},
	"iam:UpdateRole":                    {"tags", "itags"},
	"iam:UpdateAssumeRolePolicy":        {"tags", "itags"},
	"iam:TagRole":                       {"tags", "itags", "req"},
	"iam:UntagRole":                     {"tags", "itags", "aws:TagKeys"},
	"iam:ListRoleTags":                  {"tags", "itags"},
	"iam:AttachRolePolicy":              {"tags", "itags", "iam:PermissionsBoundary", "iam:PolicyARN"},
	"iam:DetachRolePolicy":              {"tags", "itags", "iam:PermissionsBoundary", "iam:PolicyARN"},
	"iam:ListAttachedRolePolicies":      {"tags", "itags"},
	"iam:PutRolePolicy":                 {"tags", "itags", "iam:PermissionsBoundary"},
	"iam:GetRolePolicy":                 {"tags", "itags"},
	"iam:DeleteRolePolicy":              {"tags", "itags", "iam:PermissionsBoundary"},
	"iam:ListRolePolicies":              {"tags", "itags"},
	"iam:PutRolePermissionsBoundary":    {"tags", "itags", "iam:PermissionsBoundary"},
	"iam:DeleteRolePermissionsBoundary": {"tags", "itags", "iam:PermissionsBoundary"},
	"iam:ListInstanceProfilesForRole":   {"tags", "itags"},
	"iam:PassRole":                      {"tags", "itags", "iam:PassedToService", "iam:AssociatedResourceArn"},

	"iam:CreatePolicy":            {"req"},
	"iam:GetPolicy":               {"tags"},
	"iam:ListPolicies":            nil,
	"iam:DeletePolicy":            {"tags"},
	"iam:CreatePolicyVersion":     {"tags"},
	"iam:GetPolicyVersion":        {"tags"},
	"iam:ListPolicyVersions":      {"tags"},
	"iam:DeletePolicyVersion":     {"tags"},
	"iam:SetDefaultPolicyVersion": {"tags"},
	"iam:TagPolicy":               {"tags", "req"},
	"iam:UntagPolicy":             {"tags", "aws:TagKeys"},
	"iam:ListPolicyTags":          {"tags"},
	"iam:ListEntitiesForPolicy":   {"tags"},

	"iam:CreateInstanceProfile":         {"req"},
	"iam:TagInstanceProfile":            {"tags", "req"},
	"iam:GetInstanceProfile":            {"tags"},
	"iam:ListInstanceProfiles":          nil,
	"iam:DeleteInstanceProfile":         {"tags"},
	"iam:AddRoleToInstanceProfile":      {"tags"},
	"iam:RemoveRoleFromInstanceProfile": {"tags"},

	"iam:CreateOpenIDConnectProvider": {"req"},
	"iam:TagOpenIDConnectProvider":    {"tags", "req"},
	"iam:GetOpenIDConnectProvider":    {"tags"},
	"iam:ListOpenIDConnectProviders":  nil,
	"iam:DeleteOpenIDConnectProvider": {"tags"},

	// Console passwords and MFA devices: user actions on the user, device ones on the
	// device (resource type mfa: aws:ResourceTag; created with aws:RequestTag).
	"iam:CreateLoginProfile":          {"tags", "itags"},
	"iam:GetLoginProfile":             {"tags", "itags"},
	"iam:UpdateLoginProfile":          {"tags", "itags"},
	"iam:DeleteLoginProfile":          {"tags", "itags"},
	"iam:ChangePassword":              {"tags", "itags"},
	"iam:UpdateAccountPasswordPolicy": nil,
	"iam:GetAccountPasswordPolicy":    nil,
	"iam:DeleteAccountPasswordPolicy": nil,
	"iam:CreateVirtualMFADevice":      {"req"},
	"iam:TagMFADevice":                {"tags", "req"},
	"iam:EnableMFADevice":             {"tags", "itags"},
	"iam:ResyncMFADevice":             {"tags", "itags"},
	"iam:DeactivateMFADevice":         {"tags", "itags"},
	"iam:ListMFADevices":              {"tags", "itags"},
	"iam:ListVirtualMFADevices":       nil,
	"iam:DeleteVirtualMFADevice":      {"tags"},

	"iam:SimulatePrincipalPolicy": nil,
	"iam:SimulateCustomPolicy":    nil,

	"iam:GenerateServiceLastAccessedDetails": nil,
	"iam:GetServiceLastAccessedDetails":      nil,
	"iam:GenerateCredentialReport":           nil,
	"iam:GetCredentialReport":                nil,

	"sts:AssumeRole":                {"tags", "itags", "req", "sts:RoleSessionName", "sts:ExternalId", "sts:SourceIdentity", "sts:TransitiveTagKeys", "web"},
	"sts:AssumeRoleWithWebIdentity": {"tags", "itags", "req", "sts:RoleSessionName", "sts:ExternalId", "sts:SourceIdentity", "sts:TransitiveTagKeys", "web"},
	"sts:TagSession":                {"tags", "itags", "req", "sts:RoleSessionName", "sts:ExternalId", "sts:SourceIdentity", "sts:TransitiveTagKeys", "web"},
	"sts:SetSourceIdentity":         {"tags", "itags", "req", "sts:RoleSessionName", "sts:ExternalId", "sts:SourceIdentity", "sts:TransitiveTagKeys", "web"},

	"rds:DescribeDBInstances": nil,
	"rds:DescribeDBClusters":  nil,
	"rds:ModifyDBInstance":    nil,
	"rds:ModifyDBCluster":     nil,
	"rds-db:connect":          nil,
	"rds-db:VerifyAuthToken":  nil,
}

// fullRequest sets every field of a Request, so that fill shows which keys an action takes.
var fullRequest = Request{
	ResourceTags: []Tag{{Key: "rt", Value: "1"}},
	RequestTags:  []Tag{{Key: "qt", Value: "2"}}, TagKeys: []string{"untag"},
	PolicyARN: "arn:aws:iam::aws:policy/ReadOnlyAccess", PermissionsBoundary: "arn:aws:iam::111122223333:policy/b",
	PassedToService: ServiceEC2, AssociatedResourceARN: "arn:aws:iam::111122223333:instance-profile/p",
	RoleSessionName: "s1", ExternalID: "ext", SourceIdentity: "me", TransitiveTagKeys: []string{"qt"},
	Federated: []ContextKey{{Key: "issuer.example:sub", Values: []policy.Value{policy.String("sub")}}},
}

// keyClasses names the keys a Context holds as wantActionKeys does.
func keyClasses(pc *policy.Context, untag bool) []string {
	seen := map[string]bool{}
	for _, k := range pc.Keys() {
		switch {
		case strings.HasPrefix(k, "aws:resourcetag/"):
			seen["tags"] = true
		case strings.HasPrefix(k, "iam:resourcetag/"):
			seen["itags"] = true
		case strings.HasPrefix(k, "aws:requesttag/"):
			seen["req"] = true
		case k == "aws:tagkeys":
			if untag {
				seen["aws:TagKeys"] = true
			} else if !seen["req"] && len(pc.Get(k)) > 0 && pc.Get(k)[0].Text() == "untag" {
				seen["aws:TagKeys"] = true
			}
		case k == "issuer.example:sub":
			seen["web"] = true
		default:
			for _, name := range []string{"iam:PermissionsBoundary", "iam:PolicyARN", "iam:PassedToService", "iam:AssociatedResourceArn",
				"sts:RoleSessionName", "sts:ExternalId", "sts:SourceIdentity", "sts:TransitiveTagKeys"} {
				if strings.EqualFold(k, name) {
					seen[name] = true
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestActionKeys(t *testing.T) {
	for action, want := range wantActionKeys {
		var pc policy.Context
		fullRequest.fill(&pc, action)
		got := keyClasses(&pc, strings.Contains(strings.ToLower(action), ":untag"))
		want = append([]string(nil), want...)
		sort.Strings(want)
		if want == nil {
			want = []string{}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("keys of %s (-reference +fill):\n%s", action, diff)
		}
		if _, ok := actionKeys[strings.ToLower(action)]; !ok {
			t.Errorf("%s is not in actionKeys", action)
		}
	}
	for action := range actionKeys {
		found := false
		for a := range wantActionKeys {
			found = found || strings.EqualFold(a, action)
		}
		if !found {
			t.Errorf("actionKeys has %s, which the reference table of this test lacks", action)
		}
	}
}

// ActionKnown is exported for the API's coverage test (awsquery).
func TestActionKnown(t *testing.T) {
	if !ActionKnown("iam:AttachUserPolicy") || ActionKnown("iam:NoSuchAction") {
		t.Error("ActionKnown does not read actionKeys")
	}
}
